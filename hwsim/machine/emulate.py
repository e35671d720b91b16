"""Running a built program in an ISA emulator (unicorn) and pricing what executed.

    run = emulate(build, x_levels)             # outputs, node outputs, execution profile
    cost = price(run.profile, device)          # cycles per node with the device's table

Counting: a block hook counts every executed basic block (per block and per
graph node it runs for, per successor address, which tells whether its final
conditional branch was taken, and per run of blocks it fell through from; blocks the
emulator cut where no control transfer is are joined into the code's straight runs);
each distinct block is disassembled once (hwsim.machine.disasm) and its instructions
are attributed to the function the PC is in (ELF symbols; hwsim.machine.emulate_profile). Compiler helpers (__mulsi3,
__aeabi_lmul ...) count for the node that called them; a call instruction counts
for the function it calls. A read hook on the flash range counts loads from flash
(each pays the device's memory.flash_load_extra_cycles). `check_instructions=True`
also runs a per-instruction hook on the first sample; its per-mnemonic totals must
equal the block-hook totals.

Pricing (`price`, hwsim.machine.emulate_price): the executed instructions priced with the
device's cycle table, per graph node.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from hwsim.machine.codegen import Program
from hwsim.machine.disasm import Instruction, _capstone, decode
from hwsim.machine.operand_hooks import rs2_hooks
from hwsim.machine.emulate_price import EmulatedCost, NodeCycles, price, unit_prices
from hwsim.machine.emulate_profile import (
    HARNESS,
    RUNTIME,
    Block,
    Profile,
    StraightRuns,
    build_profile,
    code_bytes,
    next_run,
    owner_table,
)
from hwsim.errors import HwsimError
from hwsim.machine.toolchain import Build, ElfImage, read_elf

TIMEOUT_S = 600
CPU_MODELS = {"cortex-m0": "UC_CPU_ARM_CORTEX_M0", "cortex-m4": "UC_CPU_ARM_CORTEX_M4"}
NUMPY_TYPES = {"uint8_t": np.uint8, "int8_t": np.int8, "int16_t": np.int16,
               "uint16_t": np.uint16, "int32_t": np.int32, "uint32_t": np.uint32,
               "float": np.float32}


@dataclass(frozen=True)
class InstructionCheck:
    """Block-hook counts against a per-instruction hook on the same execution."""
    sample: int
    block_total: int
    instruction_total: int
    mismatched_mnemonics: tuple[str, ...]
    it_skipped: int = 0              # IT-block instructions whose condition failed

    @property
    def agrees(self) -> bool:
        return (self.block_total == self.instruction_total + self.it_skipped
                and not self.mismatched_mnemonics)


@dataclass(frozen=True)
class EmulationRun:
    program: Program
    samples: int
    outputs: np.ndarray                  # the output tensor per sample (N, elements)
    node_outputs: dict[str, np.ndarray]  # materialized node tensors (N, elements)
    profile: Profile
    check: InstructionCheck | None
    seconds: float                       # wall time of the emulation

    @property
    def classes(self) -> np.ndarray:
        if self.program.output_kind != "class":
            raise HwsimError("not a classifier: no class ids")
        return self.outputs[:, 0].astype(np.int64)


# ----------------------------------------------------------------------------- emulator

class _Machine:
    """One unicorn instance with the image loaded."""

    def __init__(self, build: Build, image: ElfImage):
        import unicorn as uc
        self.uc_mod = uc
        program = build.program
        target = program.target
        self.arch = target.arch
        if target.arch == "arm":
            import unicorn.arm_const as ac
            self.mu = uc.Uc(uc.UC_ARCH_ARM, uc.UC_MODE_THUMB | uc.UC_MODE_MCLASS)
            model = getattr(ac, CPU_MODELS[target.name], None)
            if model is not None:
                self.mu.ctl_set_cpu_model(model)
            self.sp_reg, self.pc_reg = ac.UC_ARM_REG_SP, ac.UC_ARM_REG_PC
        else:
            import unicorn.riscv_const as rc
            self.mu = uc.Uc(uc.UC_ARCH_RISCV, uc.UC_MODE_RISCV32)
            self.sp_reg, self.pc_reg = rc.UC_RISCV_REG_SP, rc.UC_RISCV_REG_PC
        memory = program.memory_map
        self.flash = (memory.flash_origin, _page(memory.flash_bytes))
        self.ram = (memory.ram_origin, _page(memory.ram_bytes))
        self.mu.mem_map(self.flash[0], self.flash[1], uc.UC_PROT_READ | uc.UC_PROT_EXEC)
        self.mu.mem_map(self.ram[0], self.ram[1], uc.UC_PROT_ALL)
        for seg in image.segments:
            if seg.data:
                self.mu.mem_write(seg.address, seg.data)
        self.entry = image.address_of("_start")
        self.halt = image.address_of("hwsim_halt")
        self.stack_top = memory.ram_origin + memory.ram_bytes
        self.ram_zero = bytes(self.ram[1])

    def run(self, input_address: int, data: bytes) -> None:
        """Zero the RAM, write the input, run from _start to hwsim_halt."""
        mu = self.mu
        mu.mem_write(self.ram[0], self.ram_zero)
        mu.mem_write(input_address, data)
        mu.reg_write(self.sp_reg, self.stack_top)
        begin = self.entry | 1 if self.arch == "arm" else self.entry
        try:
            mu.emu_start(begin, self.halt, timeout=TIMEOUT_S * 1_000_000)
        except self.uc_mod.UcError as exc:
            pc = mu.reg_read(self.pc_reg)
            raise HwsimError(f"emulation failed at pc=0x{pc:x}: {exc}") from None
        pc = mu.reg_read(self.pc_reg)
        if pc != self.halt:
            raise HwsimError(f"emulation stopped at pc=0x{pc:x} before hwsim_halt "
                             f"(timeout {TIMEOUT_S} s?)")


def _page(size: int, page: int = 4096) -> int:
    return (size + page - 1) // page * page


def mul_operand_hooks(mu, image: ElfImage, on_operand) -> None:
    """At every RISC-V `mul` of `image`, call on_operand(its address, its second operand
    rs2 read unsigned): what an operand-dependent multiplier's time follows."""
    rs2_hooks(mu, image, ("mul",), on_operand)


def _mul_operand_hooks(mu, image: ElfImage, state: dict, counts: dict) -> None:
    """Record the significant bits of every RISC-V `mul`'s second operand per owner."""
    def on_operand(_address: int, value: int) -> None:
        per_owner = counts.setdefault(state["owner"], {})
        bits = value.bit_length()
        per_owner[bits] = per_owner.get(bits, 0) + 1
    mul_operand_hooks(mu, image, on_operand)


def _shift_amount_hooks(mu, image: ElfImage, state: dict, counts: dict) -> None:
    """Record the amount of every RISC-V shift by a register per owner."""
    from hwsim.machine.register_shifts import register_shift_hooks

    def on_amount(_address: int, amount: int) -> None:
        per_owner = counts.setdefault(state["owner"], {})
        per_owner[amount] = per_owner.get(amount, 0) + 1
    register_shift_hooks(mu, image, on_amount)


def emulate(build: Build, inputs, *, check_instructions: bool = False,
            mul_operands: bool = False, register_shifts: bool = False) -> EmulationRun:
    """Run the built program on every sample of `inputs`: input level indices
    (N, *input_shape) for the lut style, int8 values for the int8 style
    (hwsim.machine.codegen.int8.quantize_input), float32 values for the float32 style. `mul_operands`: also record the
    operand width of every RISC-V `mul` (Profile.mul_operand_bits; slower);
    `register_shifts`: the amount of every RISC-V shift by a register
    (Profile.shift_amounts, what a serial shifter's time follows; slower)."""
    program = build.program
    x = np.asarray(inputs)
    if x.ndim < 2 or len(x) == 0:
        raise HwsimError(f"inputs must be a batch (N, ...) with N >= 1, got shape {list(x.shape)}")
    x = x.reshape(len(x), -1)
    if x.shape[1] != program.input.elements:
        raise HwsimError(f"inputs have {x.shape[1]} elements per sample, the program expects "
                         f"{program.input.elements}")
    in_type = NUMPY_TYPES[program.input.ctype]
    info = np.finfo(in_type) if in_type == np.float32 else np.iinfo(in_type)
    if x.min() < info.min or x.max() > info.max:
        raise HwsimError(f"inputs must fit {program.input.ctype}")
    image = read_elf(build.elf_path)
    machine = _Machine(build, image)
    mu, uc = machine.mu, machine.uc_mod
    owner_of = owner_table(image, program)
    owners: dict[int, str | None] = {}
    transitions: dict[tuple, int] = {}
    flash: dict[tuple, int] = {}
    state = {"prev": None, "run": None, "owner": HARNESS}

    def on_block(_mu, address, size, _data):
        owner = owners.get(address, 0)
        if owner == 0:
            owner = owners[address] = owner_of(address)[1]
        if owner is None:
            owner = state["owner"]
        else:
            state["owner"] = owner
        key = (address, size, owner)
        t = (state["run"], address)
        transitions[t] = transitions.get(t, 0) + 1
        state["prev"], state["run"] = key, next_run(state["run"], key)

    def on_flash_read(_mu, _access, _address, _size, _value, _data):
        prev = state["prev"]
        flash[prev] = flash.get(prev, 0) + 1

    runs = StraightRuns(image, program.target.arch)   # blocks cut where no control transfer
    mu.hook_add(uc.UC_HOOK_BLOCK, runs.hook(on_block, state, flash))
    mul_bits: dict[str, dict[int, int]] = {}
    if mul_operands and program.target.arch == "riscv":
        _mul_operand_hooks(mu, image, state, mul_bits)
    shift_amounts: dict[str, dict[int, int]] = {}
    if register_shifts and program.target.arch == "riscv":
        _shift_amount_hooks(mu, image, state, shift_amounts)
    mu.hook_add(uc.UC_HOOK_MEM_READ, on_flash_read, begin=machine.flash[0],
                end=machine.flash[0] + machine.flash[1] - 1)
    steps = [f for f in program.functions if f.function and f.caller == "network_run"]
    entries = {image.address_of(f.function): i for i, f in enumerate(steps)}
    snapshots: dict[str, list] = {}

    def snapshot(index: int) -> None:
        node = steps[index].node
        tensor = program.tensors.get(node)
        if tensor is None:
            return
        raw = mu.mem_read(program.memory_map.ram_origin + _arena(image, program)
                          + tensor.offset_bytes, tensor.size_bytes)
        snapshots.setdefault(tensor.node, []).append(
            np.frombuffer(bytes(raw), dtype=NUMPY_TYPES[tensor.ctype]).copy())

    def on_entry(_mu, address, _size, _data):
        index = entries.get(address)
        if index is not None and index > 0:
            snapshot(index - 1)

    for address in entries:
        mu.hook_add(uc.UC_HOOK_CODE, on_entry, begin=address, end=address)
    input_address = image.address_of("hwsim_input")
    output_address = image.address_of("hwsim_output")
    out_type = NUMPY_TYPES[program.output.ctype]
    outputs, check = [], None
    started = time.perf_counter()
    for n, sample in enumerate(x):
        per_address: dict[int, int] = {}
        hook = None
        if check_instructions and n == 0:
            before = dict(transitions)

            def on_code(_mu, address, _size, _data, counts=per_address):
                counts[address] = counts.get(address, 0) + 1
            hook = mu.hook_add(uc.UC_HOOK_CODE, on_code)
        state["prev"], state["run"], state["owner"] = None, None, HARNESS
        machine.run(input_address, sample.astype(in_type).tobytes())
        final = (state["run"], None)                  # the last block has no successor
        transitions[final] = transitions.get(final, 0) + 1
        snapshot(len(steps) - 1)
        raw = mu.mem_read(output_address, program.output.size_bytes)
        outputs.append(np.frombuffer(bytes(raw), dtype=out_type).copy())
        if hook is not None:
            mu.hook_del(hook)
            delta = {k: v - before.get(k, 0) for k, v in transitions.items()
                     if v != before.get(k, 0)}
            check = _check(program.target.arch, image, delta, per_address)
    seconds = time.perf_counter() - started
    profile = build_profile(program, image, transitions, flash, len(x))
    if mul_bits:
        profile = replace(profile, mul_operand_bits=mul_bits)
    if shift_amounts:
        profile = replace(profile, shift_amounts=shift_amounts)
    node_outputs = {node: np.stack(values) for node, values in snapshots.items()}
    return EmulationRun(program, len(x), np.stack(outputs), node_outputs, profile, check,
                        seconds)


def _arena(image: ElfImage, program: Program) -> int:
    return image.address_of("hwsim_arena") - program.memory_map.ram_origin


def _check(arch: str, image: ElfImage, delta: dict, per_address: dict[int, int]
           ) -> InstructionCheck:
    """Per address, the block-hook count must equal the per-instruction count. The one
    allowed difference: Thumb-2 instructions inside an IT block whose condition fails
    are issued (and priced: they take their cycle) but unicorn's code hook skips them."""
    md = _capstone(arch)
    by_block: Counter = Counter()
    decoded: dict[int, Instruction] = {}
    for (run, _address), count in delta.items():
        if run is None:
            continue
        prev = run[-1]
        for i in decode(arch, code_bytes(image, prev[0], prev[1]), prev[0], md):
            by_block[i.address] += count
            decoded[i.address] = i
    halt = image.address_of("hwsim_halt")
    mismatched, skipped = set(), 0
    for address in set(by_block) | set(per_address):
        if address == halt:
            continue                 # unicorn stops on arrival (the code hook sees it)
        blocks, single = by_block.get(address, 0), per_address.get(address, 0)
        i = decoded.get(address)
        if blocks != single:
            if i is not None and i.in_it_block and blocks > single:
                skipped += blocks - single
            else:
                mismatched.add(i.mnemonic if i else f"0x{address:x}")
    block_total = sum(n for a, n in by_block.items() if a != halt)
    single_total = sum(n for a, n in per_address.items() if a != halt)
    return InstructionCheck(0, block_total, single_total, tuple(sorted(mismatched)), skipped)


__all__ = [
    "HARNESS",
    "RUNTIME",
    "Block",
    "EmulatedCost",
    "EmulationRun",
    "InstructionCheck",
    "NodeCycles",
    "Profile",
    "emulate",
    "price",
    "unit_prices",
]
