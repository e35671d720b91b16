"""What a program executed in the emulator, device-independent: a `Profile` of
basic blocks and their execution counts, per graph node they ran for.

Each distinct block is disassembled once (hwsim.machine.disasm) and its instructions are
attributed to the function the PC is in (ELF symbols). Compiler helpers
(__mulsi3, __aeabi_lmul ...) count for the node that called them; a call
instruction counts for the function it calls. A block's final conditional branch
was taken when the next block starts at its target. The emulator ends a block at a
control transfer, and also where nothing transfers control (its translation blocks stop
at a 4 KiB page boundary): such a block and the one that follows it are one straight run
(`StraightRuns`), as the core's fetch and pipeline see them. The block hooks count
transitions from the run of blocks before (`next_run`: the blocks each entered by
falling through from the one before, as far back as that goes) to the next block's
address, so that what a core carries across a branch that falls through is counted
per execution (`Profile.runs`, hwsim.machine.emulate_price)."""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field, replace

from hwsim.machine.codegen import Program
from hwsim.machine.disasm import Instruction, _capstone, decode
from hwsim.errors import HwsimError
from hwsim.machine.toolchain import ElfImage

HARNESS = "harness"            # _start, hwsim_main, hwsim_halt
RUNTIME = "network_run"        # the schedule calling the node functions


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
    # RISC-V `mul` only, when recorded (emulate(..., mul_operands=True)): owner ->
    # {significant bits of rs2 read unsigned: executions}
    mul_operand_bits: dict[str, dict[int, int]] = field(default_factory=dict)
    # RISC-V shifts by a register, when recorded (emulate(..., register_shifts=True)):
    # owner -> {amount in bits: executions}
    shift_amounts: dict[str, dict[int, int]] = field(default_factory=dict)
    # runs of two or more blocks, each entered by falling through from the one before
    # (block keys in order) -> (executions of the last block entered so, of which its
    # final branch was taken)
    runs: dict[tuple, tuple[int, int]] = field(default_factory=dict)

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


def restricted(profile: Profile, keys) -> Profile:
    """`profile` with only the executions of blocks `keys` ((address, size, owner)): a
    run keeps its blocks from the last one outside them on."""
    keys = set(keys)
    runs: dict[tuple, tuple[int, int]] = {}
    for run, (n, t) in profile.runs.items():
        inside = len(run)
        while inside and run[inside - 1] in keys:
            inside -= 1
        suffix = run[inside:]
        if len(suffix) > 1:
            before = runs.get(suffix, (0, 0))
            runs[suffix] = (before[0] + n, before[1] + t)
    return replace(profile, runs=runs, **{
        name: {k: v for k, v in getattr(profile, name).items() if k in keys}
        for name in ("executions", "taken", "flash_reads")})


def owner_table(image: ElfImage, program: Program):
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


# Actions of an instruction that transfers control: a block ending in any other one was
# cut by the emulator, not by the code.
CONTROL_ACTIONS = frozenset({"cond_branch", "jump", "jump_register", "call", "return",
                             "multi_load_return"})


class StraightRuns:
    """Joins the emulator's blocks into the code's straight runs while a block hook counts
    them (`joined`): where the previous block ends in no control transfer and the next
    one follows it, the previous block's key grows by the next one instead of a new
    block being counted. Network emulation and every test firmware
    (hwsim.machine.kernels.harness._emulate) count so."""

    def __init__(self, image: ElfImage, arch: str):
        self._image, self._arch, self._md = image, arch, _capstone(arch)
        self._cut: dict[tuple[int, int], bool] = {}

    def cut(self, address: int, size: int) -> bool:
        """Whether the block at `address` of `size` bytes ends in no control transfer."""
        key = (address, size)
        if key not in self._cut:
            last = decode(self._arch, code_bytes(self._image, address, size), address,
                          self._md)[-1]
            self._cut[key] = last.action not in CONTROL_ACTIONS
        return self._cut[key]

    def joined(self, state: dict, flash: dict, address: int, size: int) -> bool:
        """Whether the block at `address` (`size` bytes) continues the straight run
        state["prev"] (an (address, size, owner) key): then that key grows by it, and
        its flash reads so far (`flash`, per key) move with it, and the run of blocks
        state["run"] (next_run) ends in the grown key."""
        previous = state["prev"]
        if (previous is None or address != previous[0] + previous[1]
                or not self.cut(previous[0], previous[1])):
            return False
        state["prev"] = (previous[0], previous[1] + size, previous[2])
        if state.get("run"):                    # the run of blocks before ends in it too
            state["run"] = (*state["run"][:-1], state["prev"])
        if previous in flash:
            flash[state["prev"]] = flash.get(state["prev"], 0) + flash.pop(previous)
        return True

    def hook(self, on_block, state: dict, flash: dict):
        """Block hook `on_block` (unicorn's arguments) called only where a block does not
        continue the straight run state["prev"] (`joined`)."""
        def joining(mu, address, size, data):
            if not self.joined(state, flash, address, size):
                on_block(mu, address, size, data)
        return joining


def code_bytes(image: ElfImage, address: int, size: int) -> bytes:
    """The image bytes of executed code at `address`."""
    for seg in image.segments:
        if seg.address <= address and address + size <= seg.address + len(seg.data):
            return seg.data[address - seg.address:address - seg.address + size]
    raise HwsimError(f"executed code at 0x{address:x} is outside the image")


# The longest run of blocks counted: a longer one is counted from its last RUN_BLOCKS
# blocks (its first block then entered with nothing held ahead), which bounds the hooks'
# work per block. A branch that falls through takes a held fetch and at most
# PREFETCH_DEPTH are held (hwsim.machine.emulate_price), so what a run carries is settled
# within a few blocks; only blocks that each run exactly as many fetches ahead as they take
# keep it longer.
RUN_BLOCKS = 64


def next_run(run: tuple | None, key: tuple) -> tuple:
    """The run of blocks ending in block `key` (address, size, owner) entered after
    `run` (None at the start): `run` and `key` when `key` starts where the run's last
    block ends (it fell through), else `key` alone; at most RUN_BLOCKS blocks."""
    if run is not None and key[0] == run[-1][0] + run[-1][1]:
        return (*run[1 - RUN_BLOCKS:], key)
    return (key,)


def fall_through_runs(transitions: dict, blocks: dict) -> dict[tuple, tuple[int, int]]:
    """Profile.runs from the hook's `transitions` ((run, next address) -> count; `blocks`:
    the decoded blocks of every run's last key)."""
    runs: dict[tuple, tuple[int, int]] = {}
    for (run, address), count in transitions.items():
        if run is not None and len(run) > 1:
            last = blocks[run[-1][:2]].instructions[-1]
            taken = count if last.action == "cond_branch" and last.target == address else 0
            n, t = runs.get(run, (0, 0))
            runs[run] = (n + count, t + taken)
    return runs


def build_profile(program: Program, image: ElfImage, transitions: dict, flash: dict,
                  samples: int) -> Profile:
    """The Profile of `samples` runs from the block hook's counts: `transitions`
    ((run of blocks before (next_run), next block address) -> count) and `flash`
    (block key -> loads from flash)."""
    md = _capstone(program.target.arch)
    owner_of = owner_table(image, program)
    blocks: dict[tuple[int, int], Block] = {}
    executions: dict[tuple, int] = {}
    taken: dict[tuple, int] = {}
    node_of = program.node_of_function
    for (run, address), count in transitions.items():
        if run is not None:
            prev = run[-1]
            _block(blocks, prev[:2], image, program, md, owner_of, node_of)
            last = blocks[prev[:2]].instructions[-1]
            if last.action == "cond_branch" and last.target == address:
                taken[prev] = taken.get(prev, 0) + count
    # Every executed block is the predecessor of the next one; the last block of a
    # sample (the one entering hwsim_halt) precedes hwsim_halt's own block, which the
    # hook reports before unicorn stops. So predecessor counts are execution counts.
    for (run, _address), count in transitions.items():
        if run is not None:
            executions[run[-1]] = executions.get(run[-1], 0) + count
    for key in executions:
        _block(blocks, key[:2], image, program, md, owner_of, node_of)
    return Profile(program.target.name, samples, blocks, executions, taken, dict(flash),
                   runs=fall_through_runs(transitions, blocks))


def _block(blocks, key, image, program, md, owner_of, node_of) -> None:
    if key in blocks:
        return
    address, size = key
    instructions = tuple(decode(program.target.arch, code_bytes(image, address, size),
                                address, md))
    if sum(i.size for i in instructions) != size:
        raise HwsimError(f"block 0x{address:x}+{size} did not disassemble completely")
    function = owner_of(address)[0]
    call_owner = None
    last = instructions[-1]
    if last.action == "call" and last.target is not None:
        call_owner = owner_of(last.target)[1]
    blocks[key] = Block(address, size, function, instructions, call_owner)
