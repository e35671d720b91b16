"""Shifts on a core whose shifter is serial (the device's serial_shifter, PicoRV32 without
its barrel shifter): a shift by n takes `shift` + (n // 4) `shift_4_bits` + (n % 4)
`shift_bit`. The characterized RISC-V kernel libraries count their shifts as these actions
(hwsim.machine.characterize with a serial-shifter counting table); a shift by a register
whose amount is a parameter of the call (a table's row shift, ...) is counted as
`shift_by_<role>` per execution, and its steps are added here from the call's value of that
role. On a barrel shifter `shift` is an alu instruction and the steps cost nothing
(hwsim.cost.prices)."""
from __future__ import annotations

from collections.abc import Mapping

from hwsim.errors import HwsimError

ROLE_PREFIX = "shift_by_"
STEP_ACTIONS = ("shift_4_bits", "shift_bit")


def shift_steps(amount: int) -> dict[str, int]:
    """The steps of one shift by `amount` (0..31) on a serial shifter."""
    return {"shift_4_bits": amount // 4, "shift_bit": amount % 4}


def role_action(role: str) -> str:
    return ROLE_PREFIX + role


def with_role_amounts(counts: Mapping, amounts: Mapping[str, int], what: str) -> dict:
    """`counts` (action -> count) with every shift_by_<role> replaced by its steps at the
    call's amount of that role (`amounts`: role -> bits)."""
    out = {a: c for a, c in counts.items() if not a.startswith(ROLE_PREFIX)}
    for action, count in counts.items():
        if not action.startswith(ROLE_PREFIX):
            continue
        role = action[len(ROLE_PREFIX):]
        if role not in amounts:
            raise HwsimError(f"{what}: no value for the shift amount {role!r}")
        for step, n in shift_steps(amounts[role]).items():
            out[step] = out.get(step, 0) + count * n
    return out


def counts_shifts(data: dict) -> bool:
    """Whether a characterized build's data (kernels -> records with counts) counts its
    shifts apart, so that it prices a serial shifter (a RISC-V build)."""
    return any("shift" in k["counts"] for k in data["kernels"].values())
