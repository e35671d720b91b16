"""The machine-code proof: disassemble a built ELF (capstone) and list, per
function, the multiply/divide instructions, the float instructions and the calls
to compiler helper routines (__mulsi3, __aeabi_*, __muldi3, soft-float ...), and
check the architecture the ELF declares. For the lut style every list must be
empty; for int8 they show where the multiplies are.

`decode` also classifies each instruction into the action it is priced as
(hwsim.machine.emulate prices executed instructions with a device's cycle table):
load_8/16/32, store_8/16/32, alu, cond_branch (taken or not, decided at run
time), jump (unconditional: the device's `jump`, else a taken branch), jump_register
(RISC-V jr / jalr that is not a return or call: the device's `jump_register`, else
`jump`), call
(call_return: one call and its return), return (0: its cost is in call_return),
mul, mulh (RISC-V upper word: the device's `mulh`, else `mul`), shift (RISC-V:
alu, or the device's serial shifter), mac,
simd_mac, div, multi_load / multi_store (push/pop/ldm/stm: 1 + N), float."""
from __future__ import annotations

import re
from dataclasses import dataclass

from hwsim.errors import HwsimError
from hwsim.machine.toolchain import ElfImage, architecture, check_architecture, read_elf

ARM_MULTIPLY = re.compile(r"^(mul|mla|mls|smul|umul|smla|umla|smus|smua|smmu|smml|smls|umaal|"
                          r"sdiv|udiv)")
ARM_SIMD_MAC = re.compile(r"^(smlad|smladx|smlsd|smlsdx|smuad|smuadx|smusd|smusdx|smlald|"
                          r"smlsld)")
RISCV_MULTIPLY = ("mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu")
# Compiler runtime routines: integer multiply/divide helpers and soft-float.
HELPER = re.compile(r"^__(aeabi_|mul|div|mod|udiv|umod|ashl|ashr|lshr|neg|cmp|ucmp|"
                    r"add[sdt]f|sub[sdt]f|mul[sdt]f|div[sdt]f|fix|float|extend|trunc|"
                    r"eq[sdt]f|ne[sdt]f|lt[sdt]f|le[sdt]f|gt[sdt]f|ge[sdt]f|unord|clz|ctz|popcount)")


@dataclass(frozen=True)
class Instruction:
    address: int
    size: int
    mnemonic: str            # normalised: no .w/.n suffix, no c. prefix
    text: str                # as disassembled
    action: str              # see the module doc
    registers: int = 0       # multi_load / multi_store: registers moved; RISC-V shift: its
                             # amount in bits (-1 for a shift by a register)
    target: int | None = None    # direct branch / call target
    multiply: bool = False
    float_op: bool = False
    in_it_block: bool = False    # Thumb-2 conditional non-branch instruction (IT block)
    reads: tuple[str, ...] = ()  # RISC-V: the registers it reads (for pipeline hazards)
    writes: str | None = None    # RISC-V: the register it writes (never zero), or None


def _capstone(arch: str):
    import capstone as cs
    if arch == "arm":
        md = cs.Cs(cs.CS_ARCH_ARM, cs.CS_MODE_THUMB | cs.CS_MODE_MCLASS)
    else:
        md = cs.Cs(cs.CS_ARCH_RISCV, cs.CS_MODE_RISCV32)
    md.detail = True
    return md


def _arm_action(i, mnemonic: str) -> tuple[str, int, int | None]:
    from capstone import arm
    base = mnemonic
    conditional = i.cc not in (arm.ARM_CC_AL, arm.ARM_CC_INVALID)
    if base in ("b", "bal") or re.fullmatch(r"b(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)",
                                            base):
        target = i.operands[0].imm if i.operands else None
        return ("cond_branch" if conditional else "jump"), 0, target
    if base in ("cbz", "cbnz"):
        return "cond_branch", 0, i.operands[-1].imm
    if base in ("bl", "blx"):
        target = i.operands[0].imm if i.operands and i.operands[0].type == arm.ARM_OP_IMM else None
        return "call", 0, target
    if base == "bx":
        return ("return" if i.op_str.strip() == "lr" else "jump"), 0, None
    if base in ("push", "stm", "stmia", "stmdb", "stmea", "stmfd"):
        return "multi_store", _reg_count(i, base), None
    if base in ("pop", "ldm", "ldmia", "ldmdb", "ldmfd"):
        pops_pc = "pc" in i.op_str
        return ("multi_load_return" if pops_pc else "multi_load"), _reg_count(i, base), None
    if base.startswith("ldrd"):
        return "load_double", 2, None
    if base.startswith("strd"):
        return "store_double", 2, None
    if base.startswith("ldr"):
        if "pc" in i.op_str.split(",")[0]:
            return "jump", 0, None
        width = "8" if base[3:4] == "b" or base.startswith(("ldrsb", "ldrb")) else \
            "16" if base.startswith(("ldrh", "ldrsh")) else "32"
        return f"load_{width}", 0, None
    if base.startswith("str"):
        width = "8" if base.startswith("strb") else "16" if base.startswith("strh") else "32"
        return f"store_{width}", 0, None
    if ARM_SIMD_MAC.match(base):
        return "simd_mac", 0, None
    if base in ("sdiv", "udiv"):
        return "div", 0, None
    if base.startswith(("mla", "mls", "smla", "umla", "smlal", "umlal", "umaal")):
        return "mac", 0, None
    if ARM_MULTIPLY.match(base):
        return "mul", 0, None
    if base.startswith("v"):
        return "float", 0, None
    if base in ("mov", "movs", "add", "adds") and i.op_str.split(",")[0].strip() == "pc":
        return "jump", 0, None
    return "alu", 0, None


def _reg_count(i, base: str) -> int:
    regs = i.op_str[i.op_str.find("{") + 1:i.op_str.find("}")]
    count = 0
    for part in regs.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            count += int(b.strip().lstrip("r")) - int(a.strip().lstrip("r")) + 1
        elif part:
            count += 1
    return count


_RV_BRANCH = ("beq", "bne", "blt", "bge", "bltu", "bgeu", "beqz", "bnez", "blez", "bgez",
              "bltz", "bgtz", "bgt", "ble", "bgtu", "bleu")


def _riscv_action(i, mnemonic: str) -> tuple[str, int, int | None]:
    if mnemonic in _RV_BRANCH:
        return "cond_branch", 0, i.address + i.operands[-1].imm
    if mnemonic == "j":
        return "jump", 0, i.address + i.operands[-1].imm
    if mnemonic == "jal":
        ops = i.op_str.split(",")
        rd = ops[0].strip() if len(ops) > 1 else "ra"
        return ("call" if rd == "ra" else "jump"), 0, i.address + i.operands[-1].imm
    if mnemonic in ("ret",):
        return "return", 0, None
    if mnemonic in ("jr",):
        return ("return" if i.op_str.strip() == "ra" else "jump_register"), 0, None
    if mnemonic == "jalr":
        ops = [o.strip() for o in i.op_str.split(",")]
        if len(ops) == 1 or ops[0] == "ra":          # jalr rs = jalr ra, 0(rs): a call
            return "call", 0, None
        if ops[0] == "zero":
            return ("return" if "ra" in ops[1:] else "jump_register"), 0, None
        return "jump_register", 0, None
    if mnemonic in ("lb", "lbu"):
        return "load_8", 0, None
    if mnemonic in ("lh", "lhu"):
        return "load_16", 0, None
    if mnemonic == "lw":
        return "load_32", 0, None
    if mnemonic == "sb":
        return "store_8", 0, None
    if mnemonic == "sh":
        return "store_16", 0, None
    if mnemonic == "sw":
        return "store_32", 0, None
    if mnemonic in ("slli", "srli", "srai"):
        return "shift", int(i.operands[-1].imm) & 31, None
    if mnemonic in ("sll", "srl", "sra"):
        return "shift", -1, None                     # by a register: amount unknown
    if mnemonic == "mul":
        return "mul", 0, None
    if mnemonic in ("mulh", "mulhsu", "mulhu"):
        return "mulh", 0, None
    if mnemonic in ("div", "divu", "rem", "remu"):
        return "div", 0, None
    if mnemonic.startswith("f") and mnemonic not in ("fence", "fence.i"):
        return "float", 0, None
    return "alu", 0, None


_RV_NO_DESTINATION = _RV_BRANCH + ("sb", "sh", "sw", "j", "jr", "ret", "fence", "ecall",
                                   "ebreak", "nop")


def _riscv_registers(i, mnemonic: str) -> tuple[tuple[str, ...], str | None]:
    """(registers read, register written) of a RISC-V instruction: the first register
    operand is the destination but of stores, branches and jumps without one; `jalr rs`
    and `jal target` write ra, `ret` reads it."""
    from capstone import riscv
    names = []
    for o in i.operands:
        if o.type == riscv.RISCV_OP_REG:
            names.append(i.reg_name(o.reg))
        elif o.type == riscv.RISCV_OP_MEM:
            names.append(i.reg_name(o.mem.base))
    if mnemonic == "ret":
        return ("ra",), None
    if mnemonic in ("jal", "jalr") and len(i.operands) == 1:
        return tuple(names), "ra"
    if mnemonic in _RV_NO_DESTINATION or not names:
        return tuple(names), None
    return tuple(names[1:]), (None if names[0] == "zero" else names[0])


def decode(arch: str, code: bytes, address: int, md=None) -> list[Instruction]:
    """Disassemble `code` at `address` and classify every instruction."""
    md = md or _capstone(arch)
    out = []
    for i in md.disasm(code, address):
        mnemonic = i.mnemonic
        if arch == "arm":
            mnemonic = re.sub(r"\.(w|n)$", "", mnemonic)
            action, regs, target = _arm_action(i, mnemonic)
            multiply = bool(ARM_MULTIPLY.match(mnemonic) or ARM_SIMD_MAC.match(mnemonic))
            in_it = action != "cond_branch" and i.cc not in (0, 15) and not mnemonic.startswith("it")
        else:
            in_it = False
            mnemonic = mnemonic.removeprefix("c.")
            action, regs, target = _riscv_action(i, mnemonic)
            multiply = mnemonic in RISCV_MULTIPLY
            reads, writes = _riscv_registers(i, mnemonic)
        out.append(Instruction(i.address, i.size, mnemonic, f"{i.mnemonic} {i.op_str}".strip(),
                               action, regs, target, multiply, action == "float", in_it,
                               *((reads, writes) if arch != "arm" else ())))
    return out


# ----------------------------------------------------------------------------- the proof

@dataclass(frozen=True)
class FunctionReport:
    function: str
    node: str | None             # the graph node it implements, if any
    address: int
    instructions: int
    multiplies: tuple[str, ...]  # "0x1a4: muls r3, r2"
    helper_calls: tuple[str, ...]    # "0x1b0: bl __aeabi_lmul"
    float_ops: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.multiplies or self.helper_calls or self.float_ops)


@dataclass(frozen=True)
class MachineCodeReport:
    elf: str
    target: str
    style: str
    architecture: str            # as the ELF declares it
    expected_architecture: str
    functions: tuple[FunctionReport, ...]

    @property
    def multiplies(self) -> int:
        return sum(len(f.multiplies) for f in self.functions)

    @property
    def helper_calls(self) -> int:
        return sum(len(f.helper_calls) for f in self.functions)

    @property
    def float_ops(self) -> int:
        return sum(len(f.float_ops) for f in self.functions)

    @property
    def multiply_free(self) -> bool:
        """No multiply or divide instruction, no helper call and no float instruction
        anywhere in the image."""
        return all(f.clean for f in self.functions)

    def to_dict(self) -> dict:
        return {"elf": self.elf, "target": self.target, "style": self.style,
                "architecture": self.architecture,
                "expected_architecture": self.expected_architecture,
                "multiply_free": self.multiply_free,
                "functions": [{"function": f.function, "node": f.node, "address": f.address,
                               "instructions": f.instructions, "multiplies": list(f.multiplies),
                               "helper_calls": list(f.helper_calls),
                               "float_ops": list(f.float_ops)} for f in self.functions]}


def function_instructions(image: ElfImage, arch: str, function, md=None) -> list[Instruction]:
    """The instructions of one function symbol, skipping literal pools ($d)."""
    seg = next((s for s in image.segments
                if s.address <= function.address < s.address + len(s.data)), None)
    if seg is None:
        return []
    start, end = function.address, function.address + function.size
    pieces, cursor = [], start
    for a, b in image.data_ranges(start, end):
        pieces.append((cursor, a))
        cursor = b
    pieces.append((cursor, end))
    out = []
    for a, b in pieces:
        if b > a:
            out += decode(arch, seg.data[a - seg.address:b - seg.address], a, md)
    return out


def prove(elf_path, target, style: str, node_of_function: dict[str, str] | None = None
          ) -> MachineCodeReport:
    """Disassemble every function of the ELF and list its multiplies, helper calls and
    float instructions; the declared architecture must be the target's."""
    image = read_elf(elf_path)
    arch = check_architecture(image, target)
    md = _capstone(target.arch)
    by_address = {s.address: s.name for s in image.functions}
    reports = []
    nodes = node_of_function or {}
    for func in image.functions:
        if func.size == 0:
            continue
        instructions = function_instructions(image, target.arch, func, md)
        multiplies = tuple(f"0x{i.address:x}: {i.text}" for i in instructions if i.multiply)
        helpers = []
        for i in instructions:
            callee = by_address.get(i.target) if i.target is not None else None
            if i.action in ("call", "jump") and callee and HELPER.match(callee):
                helpers.append(f"0x{i.address:x}: {i.mnemonic} {callee}")
        floats = tuple(f"0x{i.address:x}: {i.text}" for i in instructions if i.float_op)
        reports.append(FunctionReport(func.name, nodes.get(func.name), func.address,
                                      len(instructions), multiplies, tuple(helpers), floats))
    return MachineCodeReport(str(elf_path), target.name, style, arch, target.elf_arch,
                             tuple(reports))


def architecture_of(elf_path) -> str:
    return architecture(read_elf(elf_path))


__all__ = [
    "FunctionReport",
    "HwsimError",
    "Instruction",
    "MachineCodeReport",
    "decode",
    "function_instructions",
    "prove",
]
