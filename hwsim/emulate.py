"""Running a built program in an ISA emulator (unicorn) and pricing what executed.

    run = emulate(build, x_levels)             # outputs, node outputs, execution profile
    cost = price(run.profile, device)          # cycles per node with the device's table

Counting: a block hook counts every executed basic block (per block and per
graph node it runs for, and per successor address, which tells whether its final
conditional branch was taken); each distinct block is disassembled once
(hwsim.disasm) and its instructions are attributed to the function the PC is
in (ELF symbols). Compiler helpers (__mulsi3, __aeabi_lmul ...) count for the
node that called them; a call instruction counts for the function it calls. A
read hook on the flash range counts loads from flash (each pays the device's
memory.flash_load_extra_cycles). `check_instructions=True` also runs a
per-instruction hook on the first sample; its per-mnemonic totals must equal
the block-hook totals.

Pricing (`price`): load_8/16/32 and store_8/16/32 from the device table; a
conditional branch branch_taken or branch_not_taken as it went; an unconditional
jump branch_taken; a call call_return (the return is then free); push/pop/ldm/stm
alu + N x (load_32 or store_32 - alu) (1 + N on the bundled cores); mul, mac
(else mul + alu), simd_mac, div from the table; everything else alu.
"""
from __future__ import annotations

import bisect
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from hwsim.codegen import Program
from hwsim.device import Device
from hwsim.disasm import Instruction, _capstone, decode
from hwsim.errors import HwsimError
from hwsim.toolchain import Build, ElfImage, read_elf

HARNESS = "harness"            # _start, hwsim_main, hwsim_halt
RUNTIME = "network_run"        # the schedule calling the node functions
TIMEOUT_S = 600
CPU_MODELS = {"cortex-m0": "UC_CPU_ARM_CORTEX_M0", "cortex-m4": "UC_CPU_ARM_CORTEX_M4"}
NUMPY_TYPES = {"uint8_t": np.uint8, "int8_t": np.int8, "int16_t": np.int16,
               "uint16_t": np.uint16, "int32_t": np.int32, "uint32_t": np.uint32}


@dataclass(frozen=True)
class Block:
    address: int
    size: int
    function: str
    instructions: tuple[Instruction, ...]
    call_owner: str | None           # the node a final call instruction is charged to


@dataclass(frozen=True)
class Profile:
    """What executed over a batch, device-independent."""
    target: str
    samples: int
    blocks: dict[tuple[int, int], Block]
    executions: dict[tuple[int, int, str], int]     # (address, size, owner) -> count
    taken: dict[tuple[int, int, str], int]          # ... -> final branch taken
    flash_reads: dict[tuple[int, int, str], int]

    @property
    def instructions(self) -> int:
        return sum(n * len(self.blocks[(a, s)].instructions)
                   for (a, s, _), n in self.executions.items())

    def mnemonic_counts(self) -> Counter:
        counts: Counter = Counter()
        for (a, s, _), n in self.executions.items():
            for i in self.blocks[(a, s)].instructions:
                counts[i.mnemonic] += n
        return counts

    def owners(self) -> list[str]:
        return sorted({o for (_, _, o) in self.executions})


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


@dataclass(frozen=True)
class NodeCycles:
    node: str
    cycles: float                       # per inference
    actions: dict[str, float]           # priced action -> count per inference
    instructions: float                 # per inference


@dataclass(frozen=True)
class EmulatedCost:
    device: str
    target: str
    samples: int
    nodes: dict[str, NodeCycles]        # graph nodes + "network_run" (+ "harness")
    total_cycles: float                 # per inference, harness excluded
    instructions: float

    def cycles_of(self, node: str) -> float:
        return self.nodes[node].cycles if node in self.nodes else 0.0


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


def _owner_table(image: ElfImage, program: Program):
    """address -> (function name, node it runs for or None for a compiler helper)."""
    functions = [f for f in image.functions if f.size > 0]
    starts = [f.address for f in functions]
    node_of = program.node_of_function

    def owner_of(address: int) -> tuple[str, str | None]:
        k = bisect.bisect_right(starts, address) - 1
        if k < 0 or address >= functions[k].address + functions[k].size:
            return "?", None
        name = functions[k].name.split(".")[0]
        if name in node_of:
            return name, node_of[name]
        if name == "network_run":
            return name, RUNTIME
        if name in ("_start", "hwsim_main", "hwsim_halt"):
            return name, HARNESS
        return name, None                   # helper: counts for its caller
    return owner_of


def emulate(build: Build, inputs, *, check_instructions: bool = False) -> EmulationRun:
    """Run the built program on every sample of `inputs`: input level indices
    (N, *input_shape) for the lut style, int8 values for the int8 style
    (hwsim.codegen.int8.quantize_input)."""
    program = build.program
    x = np.asarray(inputs)
    if x.ndim < 2 or len(x) == 0:
        raise HwsimError(f"inputs must be a batch (N, ...) with N >= 1, got shape {list(x.shape)}")
    x = x.reshape(len(x), -1)
    if x.shape[1] != program.input.elements:
        raise HwsimError(f"inputs have {x.shape[1]} elements per sample, the program expects "
                         f"{program.input.elements}")
    in_type = NUMPY_TYPES[program.input.ctype]
    info = np.iinfo(in_type)
    if x.min() < info.min or x.max() > info.max:
        raise HwsimError(f"inputs must fit {program.input.ctype}")
    image = read_elf(build.elf_path)
    machine = _Machine(build, image)
    mu, uc = machine.mu, machine.uc_mod
    owner_of = _owner_table(image, program)
    owners: dict[int, str | None] = {}
    transitions: dict[tuple, int] = {}
    flash: dict[tuple, int] = {}
    state = {"prev": None, "owner": HARNESS}

    def on_block(_mu, address, size, _data):
        owner = owners.get(address, 0)
        if owner == 0:
            owner = owners[address] = owner_of(address)[1]
        if owner is None:
            owner = state["owner"]
        else:
            state["owner"] = owner
        key = (address, size, owner)
        t = (state["prev"], address)
        transitions[t] = transitions.get(t, 0) + 1
        state["prev"] = key

    def on_flash_read(_mu, _access, _address, _size, _value, _data):
        prev = state["prev"]
        flash[prev] = flash.get(prev, 0) + 1

    mu.hook_add(uc.UC_HOOK_BLOCK, on_block)
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
        state["prev"], state["owner"] = None, HARNESS
        machine.run(input_address, sample.astype(in_type).tobytes())
        final = (state["prev"], None)                 # the last block has no successor
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
    profile = _profile(program, image, transitions, flash, len(x))
    node_outputs = {node: np.stack(values) for node, values in snapshots.items()}
    return EmulationRun(program, len(x), np.stack(outputs), node_outputs, profile, check,
                        seconds)


def _arena(image: ElfImage, program: Program) -> int:
    return image.address_of("hwsim_arena") - program.memory_map.ram_origin


def _code_bytes(image: ElfImage, address: int, size: int) -> bytes:
    for seg in image.segments:
        if seg.address <= address and address + size <= seg.address + len(seg.data):
            return seg.data[address - seg.address:address - seg.address + size]
    raise HwsimError(f"executed code at 0x{address:x} is outside the image")


def _profile(program: Program, image: ElfImage, transitions: dict, flash: dict,
             samples: int) -> Profile:
    md = _capstone(program.target.arch)
    owner_of = _owner_table(image, program)
    blocks: dict[tuple[int, int], Block] = {}
    executions: dict[tuple, int] = {}
    taken: dict[tuple, int] = {}
    node_of = program.node_of_function
    for (prev, address), count in transitions.items():
        if prev is not None:
            _block(blocks, prev[:2], image, program, md, owner_of, node_of)
            last = blocks[prev[:2]].instructions[-1]
            if last.action == "cond_branch" and last.target == address:
                taken[prev] = taken.get(prev, 0) + count
    # Every executed block is the predecessor of the next one; the last block of a
    # sample (the one entering hwsim_halt) precedes hwsim_halt's own block, which the
    # hook reports before unicorn stops. So predecessor counts are execution counts.
    for (prev, _address), count in transitions.items():
        if prev is not None:
            executions[prev] = executions.get(prev, 0) + count
    for key in executions:
        _block(blocks, key[:2], image, program, md, owner_of, node_of)
    return Profile(program.target.name, samples, blocks, executions, taken, dict(flash))


def _block(blocks, key, image, program, md, owner_of, node_of) -> None:
    if key in blocks:
        return
    address, size = key
    instructions = tuple(decode(program.target.arch, _code_bytes(image, address, size),
                                address, md))
    if sum(i.size for i in instructions) != size:
        raise HwsimError(f"block 0x{address:x}+{size} did not disassemble completely")
    function = owner_of(address)[0]
    call_owner = None
    last = instructions[-1]
    if last.action == "call" and last.target is not None:
        call_owner = owner_of(last.target)[1]
    blocks[key] = Block(address, size, function, instructions, call_owner)


def _check(arch: str, image: ElfImage, delta: dict, per_address: dict[int, int]
           ) -> InstructionCheck:
    """Per address, the block-hook count must equal the per-instruction count. The one
    allowed difference: Thumb-2 instructions inside an IT block whose condition fails
    are issued (and priced: they take their cycle) but unicorn's code hook skips them."""
    md = _capstone(arch)
    by_block: Counter = Counter()
    decoded: dict[int, Instruction] = {}
    for (prev, _address), count in delta.items():
        if prev is None:
            continue
        for i in decode(arch, _code_bytes(image, prev[0], prev[1]), prev[0], md):
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


# ----------------------------------------------------------------------------- pricing

def _actions(i: Instruction, cycles: dict[str, float]) -> dict[str, float]:
    """Priced actions of one instruction (conditional branches are resolved by the
    caller): action -> count. "burst_load"/"burst_store" are the extra words of a
    push/pop/ldm/stm/ldrd/strd, priced load_32 (store_32) - alu each."""
    a = i.action
    if a in ("alu", "load_8", "load_16", "load_32", "store_8", "store_16", "store_32"):
        return {a: 1.0}
    if a == "jump":
        return {"branch_taken": 1.0}
    if a == "call":
        return {"call_return": 1.0}
    if a == "return":
        return {}
    if a in ("multi_load", "multi_load_return", "load_double"):
        return {"alu": 1.0, "burst_load": float(i.registers)}
    if a in ("multi_store", "store_double"):
        return {"alu": 1.0, "burst_store": float(i.registers)}
    if a == "mac":
        return {"mac": 1.0} if "mac" in cycles else {"mul": 1.0, "alu": 1.0}
    if a in ("mul", "simd_mac", "div"):
        if a not in cycles:
            raise HwsimError(f"the device has no cycle cost for {a!r} ({i.text}): the code "
                             "was built for another core")
        return {a: 1.0}
    if a == "float":
        raise HwsimError(f"float instruction executed ({i.text}): not priced")
    return {"alu": 1.0}


def unit_prices(device: Device) -> dict[str, float]:
    """Cycles of every action `price` reports, on `device`."""
    prices = dict(device.cycles)
    prices["burst_load"] = device.cycles["load_32"] - device.cycles["alu"]
    prices["burst_store"] = device.cycles["store_32"] - device.cycles["alu"]
    prices["flash_wait"] = device.memory.flash_load_extra_cycles
    return prices


def _add(target: dict, actions: dict, n: float) -> None:
    for action, count in actions.items():
        target[action] = target.get(action, 0.0) + count * n


def price(profile: Profile, device: Device) -> EmulatedCost:
    """Cycles per inference per graph node: executed instructions priced with the
    device's cycle table, flash loads with memory.flash_load_extra_cycles."""
    prices = unit_prices(device)
    per_node: dict[str, dict[str, float]] = {}
    executed: dict[str, float] = {}
    cache: dict[tuple[int, int], tuple] = {}
    for key, n in profile.executions.items():
        address, size, owner = key
        block = profile.blocks[(address, size)]
        if (address, size) not in cache:
            body = list(block.instructions)
            tail = body.pop() if body[-1].action in ("cond_branch", "call") else None
            fixed: dict[str, float] = {}
            for i in body:
                _add(fixed, _actions(i, device.cycles), 1.0)
            cache[(address, size)] = (fixed, tail, len(body))
        fixed, tail, count = cache[(address, size)]
        actions = per_node.setdefault(owner, {})
        _add(actions, fixed, n)
        executed[owner] = executed.get(owner, 0.0) + count * n
        if tail is not None and tail.action == "cond_branch":
            t = profile.taken.get(key, 0)
            _add(actions, {"branch_taken": t, "branch_not_taken": n - t}, 1.0)
            executed[owner] += n
        elif tail is not None:
            callee = block.call_owner if block.call_owner is not None else owner
            _add(per_node.setdefault(callee, {}), {"call_return": 1.0}, n)
            executed[callee] = executed.get(callee, 0.0) + n
        reads = profile.flash_reads.get(key, 0)
        if reads:
            _add(actions, {"flash_wait": 1.0}, reads)
    nodes = {}
    samples = profile.samples
    for owner, actions in per_node.items():
        per_inference = {a: c / samples for a, c in actions.items() if c}
        total = sum(count * prices[a] for a, count in per_inference.items())
        nodes[owner] = NodeCycles(owner, total, per_inference, executed.get(owner, 0.0) / samples)
    total = sum(n.cycles for o, n in nodes.items() if o != HARNESS)
    count = sum(n.instructions for o, n in nodes.items() if o != HARNESS)
    return EmulatedCost(device.name, profile.target, samples, nodes, total, count)


__all__ = [
    "EmulatedCost",
    "EmulationRun",
    "InstructionCheck",
    "NodeCycles",
    "Profile",
    "emulate",
    "price",
    "unit_prices",
]
