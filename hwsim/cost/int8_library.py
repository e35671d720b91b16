"""Action counts of int8 weighted layers run by the int8 kernel library (CMSIS-NN class,
hwsim/machine/kernels/int8), from its characterization data: the counts the library's
own compiled code executes, fitted exactly as functions of the kernel's trip counts and
proven on held-out shapes (hwsim.machine.characterize, `hwsim characterize`).

    actions = library_actions(node)     # None: no characterization for this core

The kernel comes from the one selection rule (hwsim.ir.int8_kernels.kernel_call); the
data file from the core's ISA (hwsim.ir.int8_kernels.TARGET_OF_ISA: Cortex-M33/M55 use
the Armv7E-M build). Cores without data (RV32I: the kernels would call __mulsi3, whose
time depends on the operands) and cores whose shifts or multiplies take operand-dependent
time (serial_shifter, operand_multiplier) are not covered: the caller keeps its formulas.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.ir.int8_kernels import TARGET_OF_ISA, kernel_call, monomial_value, parse_monomial
from hwsim.ir.int8_trip_counts import trip_counts

PARAMETER_READ = "parameter_read"


def data_path(target: str) -> Path:
    return characterized.data_path("int8", target)


def library_data(target: str) -> dict | None:
    """The characterization data of one build, or None when there is none."""
    return characterized.characterization_data("int8", target)


def library_target(isa: str) -> str | None:
    """The characterized library build a core of `isa` runs, or None."""
    target = TARGET_OF_ISA.get(isa)
    return target if target is not None and library_data(target) is not None else None


def covers(tr) -> bool:
    """Whether the library's data prices int8 weighted layers on a core of traits `tr`
    (hwsim.cost.options.CoreTraits): a characterized build for its ISA, a SIMD MAC in the
    cycle table exactly when the build uses one, and shifts and multiplies whose time does
    not depend on the operands."""
    target = library_target(tr.isa)
    if target is None or tr.serial_shifter or tr.operand_multiplier:
        return False
    # The build's SIMD must match the core's: SMLAD needs the DSP extension, and on a core
    # with a SIMD MAC the build does not use (GAP9's sdotp) the kernels an engineer ships
    # (PULP-NN) use it: the formulas' SIMD model describes them better.
    return (tr.simd_lanes > 1) == _uses_simd(target)


@lru_cache(maxsize=None)
def _uses_simd(target: str) -> bool:
    return any("simd_mac" in k["counts"] for k in library_data(target)["kernels"].values())


def kernel_counts(target: str, call) -> dict[str, Fraction] | None:
    """Characterized action counts of one library call, or None when its kernel is not
    in the target's data."""
    counts = _kernel_counts(target, call)
    return None if counts is None else dict(counts)


@lru_cache(maxsize=4096)
def _kernel_counts(target: str, call) -> tuple | None:
    record = _record(target, call.kernel)
    if record is None:
        return None
    monomials, coefficients = record
    counts = trip_counts(call)
    values = [monomial_value(m, counts) for m in monomials]
    return tuple((action, sum((c * v for c, v in zip(cs, values) if c), Fraction(0)))
                 for action, cs in coefficients)


@lru_cache(maxsize=4096)
def _float_counts(target: str, call) -> tuple | None:
    counts = _kernel_counts(target, call)
    return None if counts is None else tuple((a, float(c)) for a, c in counts)


@lru_cache(maxsize=None)
def _record(target: str, kernel: str) -> tuple | None:
    """A kernel's basis (parsed) and coefficients (Fractions) from the target's data."""
    record = library_data(target)["kernels"].get(kernel)
    if record is None:
        return None
    monomials = tuple(parse_monomial(m) for m in record["basis"])
    coefficients = tuple((action, tuple(Fraction(c) for c in cs))
                         for action, cs in sorted(record["counts"].items()))
    return monomials, coefficients


def library_actions(n) -> Actions | None:
    """The cost model's actions of an int8 weighted node (hwsim.cost.kernels.Node) run by
    the library on its core (its chosen kernel, `n.kernel`, else the preferred one), or
    None when the library's data does not cover it."""
    return call_actions(kernel_call(n.attrs, n.kernel), n.tr, n.opt)


def call_actions(call, tr, opt) -> Actions | None:
    """The cost model's actions of one library call on a core of traits `tr`
    (hwsim.cost.options.CoreTraits) with options `opt`, or None (not covered)."""
    if not covers(tr):
        return None
    counts = _float_counts(library_target(tr.isa), call)
    if counts is None:
        return None
    actions: dict[str, float] = {}

    def add(action: str, count: float) -> None:
        actions[action] = actions.get(action, 0.0) + count

    for action, count in counts:
        if action in ("burst_load", "burst_store"):     # extra words of push/pop/ldm/ldrd
            add("load_32" if action == "burst_load" else "store_32", count)
            add("alu", -count)
        elif action == "mac" and not tr.has_mac:
            add("mul", count)
            add("alu", count)
        elif action == PARAMETER_READ:
            if opt.weights_in == "flash":
                add("flash_wait", count)
        else:
            add(action, count)
    return {a: c for a, c in actions.items() if c}
