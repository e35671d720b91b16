"""The role of each RISC-V `mul` instruction (site) of a characterized int8 kernel, from
the second operands (rs2, unsigned) it took over the characterization's runs: what an
operand-dependent multiplier's time follows (Ibex's RV32MSlow: 1 + 1 cycle per
significant bit of rs2), so the cost model prices each site from what it multiplies by
(hwsim.cost.int8_library.call_actions):

- mul_weight, mul_input, mul_multiplier (hwsim.cost.int8_library.MUL_OPERANDS): by the
  data, priced from the model's operand statistics;
- mul_by_<name>: address arithmetic by a shape value of the call
  (hwsim.ir.int8_kernels.mul_parameters), priced at that value's bits;
- mul: anything else (a loop variable, a constant), priced at the device's `mul`.

    roles = site_roles(runs)                 # mul address -> role
"""
from __future__ import annotations

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import MUL_BY, KernelCall, mul_parameters

# RISC-V runs give every weight this value, so a mul by a weight reads 0xFFFFFFFF, and
# every input this zero point: a mul by an input reads it (0xFFFFFF80) in the kernels that
# fold the input offset into the bias (hwsim.ir.int8_kernels.FOLDED_OFFSET), 0 (input plus
# offset) in the others. Distinct from each other, from Q31 multipliers and from shapes.
DESIGNED_WEIGHT = -1
DESIGNED_INPUT = -128


def site_roles(runs) -> dict[int, str]:
    """The role of each RISC-V mul instruction, from the second operands it took over
    `runs` (fixed path, weights DESIGNED_WEIGHT, inputs DESIGNED_INPUT): a weight reads
    0xFFFFFFFF, a Q31 multiplier is in [2^30, 2^31), an input reads DESIGNED_INPUT (offset
    folded into the bias) or 0 (input plus its offset); a mul that took any other value is
    address arithmetic (`parameter_role`)."""
    seen: dict[int, set] = {}
    for run in runs:
        for address, value in run.mul_operands:
            seen.setdefault(address, set()).add(value)
    inputs = {0, DESIGNED_INPUT & 0xFFFFFFFF}
    roles = {}
    for address, values in seen.items():
        if DESIGNED_WEIGHT & 0xFFFFFFFF in values:
            roles[address] = "mul_weight"
        elif any((1 << 30) <= v < (1 << 31) for v in values):
            roles[address] = "mul_multiplier"
        else:
            roles[address] = "mul_input" if values <= inputs else parameter_role(address, runs)
    return roles


def parameter_role(address: int, runs) -> str:
    """An address mul site's role: mul_by_<name> when its second operand is the call's
    shape value `name` (hwsim.ir.int8_kernels.mul_parameters, the first that matches) in
    every run, one value per run, that value varying between runs; else `mul`."""
    per_run = [{v for (a, v) in run.mul_operands if a == address} for run in runs]
    if (len(runs) < 2 or not all(isinstance(r.case.call, KernelCall) for r in runs)
            or any(len(v) != 1 for v in per_run) or len(set().union(*per_run)) < 2):
        return "mul"
    shapes = [mul_parameters(r.case.call) for r in runs]
    for name in shapes[0]:
        if all(v == {s[name]} for v, s in zip(per_run, shapes)):
            return MUL_BY + name
    return "mul"


def check_parameter_sites(run, roles: dict[int, str]) -> None:
    """Raise unless every mul_by_<name> site of `run` multiplied by the call's `name` (a
    held-out run proves the roles the fitted runs gave)."""
    for (address, value) in run.mul_operands:
        role = roles.get(address, "mul")
        if role.startswith(MUL_BY):
            name = role[len(MUL_BY):]
            if value != mul_parameters(run.case.call)[name]:
                raise HwsimError(f"{run.case.describe()}: the mul at {address:#x} multiplies "
                                 f"by {value}, not by the call's {name}")


def loop_mul_bits(run, roles: dict[int, str]) -> tuple[int, int]:
    """(executions, their operands' significant bits summed) of the run's muls that keep
    the plain `mul` role: address arithmetic by a loop variable (a clipped window's first
    tap, an im2col row), whose operands the call does not fix. Their mean over the
    characterization's runs prices them on an operand-dependent multiplier
    (`loop_mul_record`)."""
    executions = bits = 0
    for (address, value), n in run.mul_operands.items():
        if roles.get(address, "mul") == "mul":
            executions += n
            bits += n * max(value.bit_length(), 1)
    return executions, bits


def loop_mul_record(fitted, held_out) -> dict | None:
    """A kernel's `loop_mul_bits` data record from its measured runs ((executions, bits)
    each): `mean`, the mean significant bits over the fitted runs' executions, and `low`,
    `high`, the range of each run's own mean over fitted and held-out runs (the bound of
    the estimate); None when no run has such a mul."""
    runs = [(n, b) for n, b in (*fitted, *held_out) if n]
    executions = sum(n for n, _ in fitted)
    if not runs or not executions:
        return None
    means = [b / n for n, b in runs]
    return {"mean": round(sum(b for _, b in fitted) / executions, 4),
            "low": round(min(means), 4), "high": round(max(means), 4)}
