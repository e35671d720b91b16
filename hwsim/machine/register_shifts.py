"""RISC-V shifts by a register (sll, srl, sra): their amount (rs2 & 31), which a serial
shifter's time follows (the device's serial_shifter, PicoRV32), recorded in the emulator
per executed instruction, and how those records price a run and characterize a kernel.

hwsim.machine.emulate_price prices a shift by a register it has no record of as a shift
by 31 (the bound); `recorded_correction` turns those into the recorded amounts. In a
characterization, a shift site (instruction address) whose amount is a parameter of the
call takes that parameter's role (`shift_roles`, like a mul's operand role,
hwsim.machine.characterize.site_roles): its executions are counted as shift_by_<role>
(hwsim.cost.serial_shift) and the cost model adds the steps from the call's value."""
from __future__ import annotations

from collections.abc import Mapping

from hwsim.cost.serial_shift import role_action, shift_steps
from hwsim.machine.toolchain import ElfImage

BY_REGISTER = ("sll", "srl", "sra")
UNRECORDED_BITS = 31          # the amount emulate_price takes for an unrecorded one


def register_shift_hooks(mu, image: ElfImage, on_amount) -> None:
    """At every RISC-V shift by a register of `image`, call on_amount(its address, the
    amount it shifts by: rs2 & 31)."""
    from hwsim.machine.operand_hooks import rs2_hooks
    rs2_hooks(mu, image, BY_REGISTER, lambda address, value: on_amount(address, value & 31))


def recorded_correction(amounts: Mapping[int, int]) -> dict[str, float]:
    """Step counts to add to a price() of shifts by a register (amount -> executions),
    each priced there at UNRECORDED_BITS, so that they take their recorded amounts."""
    out: dict[str, float] = {}
    for amount, n in amounts.items():
        for (step, real), unrecorded in zip(shift_steps(amount).items(),
                                            shift_steps(UNRECORDED_BITS).values()):
            out[step] = out.get(step, 0.0) + (real - unrecorded) * n
    return out


def shift_roles(runs: list[tuple[Mapping, Mapping[str, int]]]) -> dict[int, str | None]:
    """Per shift site, the role whose value it shifts by in every run where that value
    varies between runs, else None: its recorded amounts are counted as they are (a
    constant, or amounts that follow the loop, e.g. a table built in doubling steps), and
    the exact fit over the trip counts and its held-out proof say whether that is a
    function of the call. `runs`: (the run's (address, amount) -> executions, the call's
    role -> value) each."""
    seen: dict[int, list[tuple[int, Mapping[str, int]]]] = {}
    for amounts, values in runs:
        for (address, amount) in amounts:
            seen.setdefault(address, []).append((amount, values))
    roles: dict[int, str | None] = {}
    for address, pairs in sorted(seen.items()):
        names = sorted(set(pairs[0][1]))
        varying = [r for r in names if all(v.get(r) == a for a, v in pairs)
                   and len({v[r] for _, v in pairs}) > 1]
        roles[address] = varying[0] if varying else None
    return roles


def site_counts(amounts: Mapping, roles: Mapping[int, str | None]) -> dict[str, int]:
    """Counts to add to a characterization's price() (every action one cycle, shifts by a
    register at UNRECORDED_BITS): a constant site's recorded steps; a role site's
    executions as shift_by_<role>, without steps."""
    out: dict[str, int] = {}
    for (address, amount), n in amounts.items():
        role = roles.get(address)
        real = shift_steps(amount) if role is None else {}
        for step, unrecorded in shift_steps(UNRECORDED_BITS).items():
            out[step] = out.get(step, 0) + (real.get(step, 0) - unrecorded) * n
        if role is not None:
            out[role_action(role)] = out.get(role_action(role), 0) + n
    return out


def run_shift_roles(runs) -> dict[int, str | None]:
    """`shift_roles` over kernel harness runs (hwsim.machine.kernels.harness.KernelRun)
    that recorded their shifts."""
    return shift_roles([(r.shift_amounts, r.shift_parameters) for r in runs
                        if r.shift_amounts is not None])


def with_shift_sites(counts: Mapping[str, int], run, shifts: Mapping | None) -> dict[str, int]:
    """A harness run's counts (priced with a serial-shifter counting table) with its shifts
    by a register by site (`site_counts`; roles `shifts`, else the run's own)."""
    shifts = run_shift_roles([run]) if shifts is None else shifts
    out = dict(counts)
    for action, n in site_counts(run.shift_amounts, shifts).items():
        out[action] = out.get(action, 0) + n
    return out
