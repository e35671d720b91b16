"""Pricing what executed (a `Profile`, hwsim.machine.emulate_profile) with a device's cycle
table: cycles and priced actions per inference per graph node.

load_8/16/32 and store_8/16/32 from the device table; a conditional branch
branch_taken or branch_not_taken as it went; an unconditional jump `jump` (the
device's, else branch_taken), a RISC-V jump through a register that is not a return
`jump_register` (the device's, else jump); RISC-V mulh/mulhu/mulhsu `mulh` (else mul); a shift
alu, or with the device's serial_shifter shift + shift_4_bits + shift_bit by its amount
(a shift by a register by its recorded amount, Profile.shift_amounts, else by 31);
with the device's operand_multiplier and recorded operand widths, a RISC-V `mul`
mul_base + mul_operand_bit per significant bit of its second operand;
a call call_return (the return is then free); push/pop/ldm/stm alu + N x (load_32
or store_32 - alu) (1 + N on the bundled cores); mul, mac (else mul + alu),
simd_mac, div from the table; everything else alu. Each load from flash adds the
device's memory.flash_load_extra_cycles. Pipeline hazards of RISC-V code, counted from
consecutive instructions of a block (`hazards`): load_use when an instruction reads the
register the load right before it wrote, jalr_dependency when a jalr (jr, ret, a call
through a register) reads the result of the instruction right before it or of a load
two before it (a load's result is ready one cycle later: `lw ra; addi sp; ret`, measured
on CV32E40P's RTL, tests/test_rtl.py); the device's cycles (0 when its table does not
give them). Instruction fetch with wait states on Ibex and CV32E40P (the fetch-wait
actions of hwsim.machine.fetch_waits, `fetch_actions`, measured on their RTL, docs/rtl.md
"With wait states"), the fetches held ahead at a branch that falls through carried into
the block after it (`fetches_carried`, `_carry_fetches`), priced by the -ws1 device files
(0 elsewhere)."""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.cost.prices import fetch_cycles
from hwsim.specs.device import FALLBACK_ACTIONS, HAZARD_ACTIONS, Device
from hwsim.machine.disasm import Instruction
from hwsim.machine.emulate_profile import HARNESS, Profile
from hwsim.machine.fetch_waits import NONE_HELD, Held, fetch_actions, fetches_carried, nonzero
from hwsim.machine.load_stalls import JALR
from hwsim.machine.register_shifts import UNRECORDED_BITS, recorded_correction
from hwsim.errors import HwsimError


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


def shift_actions(bits: int, device: Device) -> dict[str, float]:
    """A shift instruction by `bits` (-1: by a register, priced as 31): alu, or on a core
    with a serial shifter (device.serial_shifter) shift + (bits // 4) shift_4_bits +
    (bits % 4) shift_bit."""
    if device.serial_shifter is None:
        return {"alu": 1.0}
    bits = UNRECORDED_BITS if bits < 0 else bits
    return {"shift": 1.0, "shift_4_bits": float(bits // 4), "shift_bit": float(bits % 4)}


def _actions(i: Instruction, device: Device) -> dict[str, float]:
    """Priced actions of one instruction (conditional branches are resolved by the
    caller): action -> count. "burst_load"/"burst_store" are the extra words of a
    push/pop/ldm/stm/ldrd/strd, priced load_32 (store_32) - alu each."""
    a, cycles = i.action, device.cycles
    if a == "shift":
        return shift_actions(i.registers, device)
    if a in ("alu", "load_8", "load_16", "load_32", "store_8", "store_16", "store_32"):
        return {a: 1.0}
    if a in ("jump", "jump_register"):
        return {a: 1.0}
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
    if a == "mulh" and "mul" in cycles:
        return {"mulh": 1.0}
    if a in ("mul", "mulh", "simd_mac", "div"):
        if a not in cycles:
            raise HwsimError(f"the device has no cycle cost for {a!r} ({i.text}): the code "
                             "was built for another core")
        return {a: 1.0}
    if a == "float":
        raise HwsimError(f"float instruction executed ({i.text}): not priced")
    return {"alu": 1.0}


def hazards(instructions) -> dict[str, float]:
    """The pipeline hazards within a straight run of RISC-V instructions: load_use and
    jalr_dependency counts (see the module doc; Arm instructions carry no registers)."""
    counts: dict[str, float] = {}
    for before, after in zip(instructions, instructions[1:]):
        if before.writes is None or before.writes not in after.reads:
            continue
        if before.action.startswith("load_"):
            counts["load_use"] = counts.get("load_use", 0.0) + 1.0
        if after.mnemonic in JALR:
            counts["jalr_dependency"] = counts.get("jalr_dependency", 0.0) + 1.0
    for load, between, jalr in zip(instructions, instructions[1:], instructions[2:]):
        if (jalr.mnemonic in JALR and load.action.startswith("load_")
                and load.writes is not None and load.writes in jalr.reads
                and between.writes != load.writes):      # a load's result, one later
            counts["jalr_dependency"] = counts.get("jalr_dependency", 0.0) + 1.0
    return counts


def unit_prices(device: Device) -> dict[str, float]:
    """Cycles of every action `price` reports, on `device`."""
    prices = dict(device.cycles)
    for action, fallback in FALLBACK_ACTIONS.items():      # jump, mulh when not given
        if action not in prices and fallback in prices:
            prices[action] = prices[fallback]
    prices = dict.fromkeys(HAZARD_ACTIONS, 0.0) | prices
    prices["burst_load"] = device.cycles["load_32"] - device.cycles["alu"]
    prices["burst_store"] = device.cycles["store_32"] - device.cycles["alu"]
    prices["flash_wait"] = device.memory.flash_load_extra_cycles
    if device.operand_multiplier is not None:
        prices["mul_base"] = device.operand_multiplier.base_cycles
        prices["mul_operand_bit"] = device.operand_multiplier.cycles_per_bit
    if device.serial_shifter is not None:
        prices["shift"] = device.serial_shifter.base_cycles
        prices["shift_4_bits"] = device.serial_shifter.cycles_per_4_bits
        prices["shift_bit"] = device.serial_shifter.cycles_per_bit
    for action, extra in fetch_cycles(device).items():      # instruction fetch waits
        if action in prices:
            prices[action] += extra
    return prices


def instruction_cycles(instructions, device: Device, taken: bool | None = None,
                       held: Held = NONE_HELD) -> float:
    """Cycles of straight-line instructions on `device`, each priced as `price` prices it
    (a call as call_return), with their hazards; a conditional branch only last, and
    then `taken` says how it went; `held`: fetches held ahead as they start
    (fetches_carried of a run before them that fell through)."""
    prices = unit_prices(device)
    instructions = list(instructions)
    actions: dict[str, float] = hazards(instructions)
    run, if_taken, if_not_taken = fetch_actions(instructions, held)
    _add(actions, run, 1.0)
    for n, i in enumerate(instructions):
        if i.action == "cond_branch":
            if taken is None or n != len(instructions) - 1:
                raise HwsimError(f"instruction_cycles: conditional branch {i.text!r}")
            _add(actions, {"branch_taken": 1.0} | if_taken if taken else
                 {"branch_not_taken": 1.0} | if_not_taken, 1.0)
        else:
            _add(actions, _actions(i, device), 1.0)
    return sum(count * prices[a] for a, count in actions.items())


def _add(target: dict, actions: dict, n: float) -> None:
    for action, count in actions.items():
        target[action] = target.get(action, 0.0) + count * n


def _carry_fetches(profile: Profile, per_node: dict[str, dict[str, float]]) -> None:
    """Fetches held ahead at a conditional branch that falls through go on into the block
    after it (fetches_carried; Ibex at one wait state, tests/test_rtl.py): each run of
    blocks entered by falling through (Profile.runs) hands its last block the fetches
    carried down the run, and that block, executed so as often as the run says and its
    branch taken as often, counts its fetch actions from them: the change against
    counting from none is added to its node."""
    carried: dict[tuple, Held] = {}

    def held_after(run: tuple) -> Held:
        if run not in carried:
            before = held_after(run[:-1]) if len(run) > 1 else NONE_HELD
            carried[run] = fetches_carried(profile.blocks[run[-1][:2]].instructions, before)
        return carried[run]

    for run, (n, t) in profile.runs.items():
        held = held_after(run[:-1])
        if held == NONE_HELD:
            continue
        instructions = profile.blocks[run[-1][:2]].instructions
        change: dict[str, float] = {}
        for sign, start in ((1.0, held), (-1.0, NONE_HELD)):
            actions, if_taken, if_not_taken = fetch_actions(instructions, start)
            _add(change, actions, sign * n)
            _add(change, if_taken, sign * t)
            _add(change, if_not_taken, sign * (n - t))
        _add(per_node.setdefault(run[-1][2], {}), nonzero(change), 1.0)


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
            fixed: dict[str, float] = hazards(block.instructions)
            run, if_taken, if_not_taken = fetch_actions(block.instructions)
            _add(fixed, run, 1.0)
            for i in body:
                _add(fixed, _actions(i, device), 1.0)
            cache[(address, size)] = (fixed, tail, len(body), if_taken, if_not_taken)
        fixed, tail, count, if_taken, if_not_taken = cache[(address, size)]
        actions = per_node.setdefault(owner, {})
        _add(actions, fixed, n)
        executed[owner] = executed.get(owner, 0.0) + count * n
        if tail is not None and tail.action == "cond_branch":
            t = profile.taken.get(key, 0)
            _add(actions, {"branch_taken": t, "branch_not_taken": n - t}, 1.0)
            _add(actions, if_taken, t)
            _add(actions, if_not_taken, n - t)
            executed[owner] += n
        elif tail is not None:
            callee = block.call_owner if block.call_owner is not None else owner
            _add(per_node.setdefault(callee, {}), {"call_return": 1.0}, n)
            executed[callee] = executed.get(callee, 0.0) + n
        reads = profile.flash_reads.get(key, 0)
        if reads:
            _add(actions, {"flash_wait": 1.0}, reads)
    _carry_fetches(profile, per_node)
    if device.operand_multiplier is not None:
        for owner, widths in profile.mul_operand_bits.items():
            actions = per_node.setdefault(owner, {})
            count = sum(widths.values())
            actions["mul"] = actions.get("mul", 0.0) - count
            _add(actions, {"mul_base": float(count),
                           "mul_operand_bit": float(sum(max(b, 1) * n
                                                        for b, n in widths.items()))}, 1.0)
    if device.serial_shifter is not None:
        for owner, amounts in profile.shift_amounts.items():
            _add(per_node.setdefault(owner, {}), recorded_correction(amounts), 1.0)
    nodes = {}
    samples = profile.samples
    for owner, actions in per_node.items():
        per_inference = {a: c / samples for a, c in actions.items() if c}
        total = sum(count * prices[a] for a, count in per_inference.items())
        nodes[owner] = NodeCycles(owner, total, per_inference, executed.get(owner, 0.0) / samples)
    total = sum(n.cycles for o, n in nodes.items() if o != HARNESS)
    count = sum(n.instructions for o, n in nodes.items() if o != HARNESS)
    return EmulatedCost(device.name, profile.target, samples, nodes, total, count)
