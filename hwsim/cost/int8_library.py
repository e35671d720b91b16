"""Action counts of int8 weighted layers run by the int8 kernel library (CMSIS-NN class,
hwsim/machine/kernels/int8), from its characterization data: the counts the library's
own compiled code executes, fitted exactly as functions of the kernel's trip counts and
proven on held-out shapes (hwsim.machine.characterize, `hwsim characterize`).

    actions = library_actions(node)     # None: no characterization for this core

The kernel comes from the one selection rule (hwsim.ir.int8_kernels.kernel_call); the
data file from the core's ISA (hwsim.ir.int8_kernels.TARGET_OF_ISA: Cortex-M33/M55 use
the Armv7E-M build). Cores without data and cores whose shifts take time by their amount
(serial_shifter) where the build's data does not count its shifts apart are not
covered: the caller keeps its formulas. The RISC-V data (RV32IM, RV32I's soft kernels)
count them (shift, its steps, and a shift by a register by role, priced at the node's
requantization shifts: hwsim.cost.requantize_shifts.library_shift_amounts), so PicoRV32
with or without its multiplier runs the library. On a core whose MUL time
follows its second operand (operand_multiplier, Ibex RV32MSlow) the characterized muls
are priced by their operands' roles and statistics (hwsim.cost.mul_operands).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.cost.requantize_shifts import library_shift_amounts, weighted_shift
from hwsim.cost.serial_shift import ROLE_PREFIX, counts_shifts, with_role_amounts
from hwsim.ir.int8_scales import int8_scales, weighted_multiplier
from hwsim.ir.int8_weights import int8_weights
from hwsim.cost.mul_operands import (MUL_OPERANDS, WORST_MUL_BITS, mul_operand_bits,
                                     parameter_bits)
from hwsim.cost.soft_multiply import SOFT_CALLS, WORST_SOFT_TERMS, node_soft_terms
from hwsim.cost.soft_multiply import call_actions as soft_call_actions
from hwsim.ir.int8_kernels import (MUL_BY, SOFT_KERNELS, TARGET_OF_ISA, candidate_kernels,
                                   kernel_call, monomial_value, parse_monomial,
                                   requantize_path)
from hwsim.ir.int8_trip_counts import trip_counts
from hwsim.ir.ops import WEIGHTED

PARAMETER_READ = "parameter_read"
# A shift by a register of unknown amount: its bound.
WORST_SHIFT_BITS = 31
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
    cycle table exactly when the build uses one, and shifts whose time does not depend on
    their amount or a build whose data counts them apart (a multiplier timed by its
    operand is priced by operand role)."""
    target = library_target(tr.isa)
    if target is None or (tr.serial_shifter and not _counts_shifts(target)):
        return False
    # The build's SIMD must match the core's: SMLAD needs the DSP extension, and on a core
    # with a SIMD MAC the build does not use (GAP9's sdotp) the kernels an engineer ships
    # (PULP-NN) use it: the formulas' SIMD model describes them better.
    return (tr.simd_lanes > 1) == _uses_simd(target)


@lru_cache(maxsize=None)
def _counts_shifts(target: str) -> bool:
    return counts_shifts(library_data(target))


@lru_cache(maxsize=None)
def _uses_simd(target: str) -> bool:
    return any("simd_mac" in k["counts"] for k in library_data(target)["kernels"].values())


def kernel_counts(target: str, call, path: str = "right") -> dict[str, Fraction] | None:
    """Characterized action counts of one library call whose requantization takes `path`
    (hwsim.ir.int8_kernels.REQUANTIZE_PATHS), or None when its kernel (on that path) is
    not in the target's data."""
    counts = _kernel_counts(target, call, path)
    return None if counts is None else dict(counts)


@lru_cache(maxsize=4096)
def _kernel_counts(target: str, call, path: str = "right") -> tuple | None:
    record = _record(target, call.kernel, path)
    if record is None:
        return None
    monomials, coefficients = record
    counts = trip_counts(call)
    values = [monomial_value(m, counts) for m in monomials]
    return tuple((action, sum((c * v for c, v in zip(cs, values) if c), Fraction(0)))
                 for action, cs in coefficients)


@lru_cache(maxsize=4096)
def _float_counts(target: str, call, path: str = "right") -> tuple | None:
    counts = _kernel_counts(target, call, path)
    return None if counts is None else tuple((a, float(c)) for a, c in counts)


def _path_record(target: str, kernel: str, path: str) -> dict | None:
    """A kernel's data record on requantization `path`: the kernel's own (right shifts)
    or its `left_shift` record (every channel shifted left; the add has one path)."""
    record = library_data(target)["kernels"].get(kernel)
    if record is None or path == "right" or kernel == "add":
        return record
    return record.get("left_shift")


@lru_cache(maxsize=None)
def _record(target: str, kernel: str, path: str = "right") -> tuple | None:
    """A kernel's basis (parsed) and coefficients (Fractions) from the target's data."""
    record = _path_record(target, kernel, path)
    if record is None:
        return None
    monomials = tuple(parse_monomial(m) for m in record["basis"])
    coefficients = tuple((action, tuple(Fraction(c) for c in cs))
                         for action, cs in sorted(record["counts"].items()))
    return monomials, coefficients


def left_shifted(g) -> tuple[str, ...]:
    """The int8 weighted nodes of graph `g` whose requantization shifts left (shift >= 0:
    a real multiplier s_w s_x / s_out of 1/2 or more, hwsim.ir.int8_scales), priced from
    the kernels' `left_shift` records (on Armv7E-M such a call runs the C kernels instead
    of the assembly passes: docs/int8-kernels.md); none when the graph carries no
    weights."""
    weighted = [n for n, op in g.nodes(data="op") if op.kind in WEIGHTED]
    if any(int8_weights(g, n) is None for n in weighted):
        return ()
    scales = int8_scales(g)
    return tuple(n for n in weighted if weighted_multiplier(g, n, scales)[1] >= 0)


@lru_cache(maxsize=None)
def loop_mul_bits(target: str, kernel: str, path: str = "right") -> float | None:
    """The mean significant bits of a kernel's muls by a loop variable (the plain `mul`
    sites, hwsim.machine.mul_sites.loop_mul_bits) over its characterization's runs on
    requantization `path`, or None in data characterized before they were (priced `mul`
    then). Not exact: the record's `low` and `high` bound it per call."""
    record = (_path_record(target, kernel, path) or {}).get("loop_mul_bits")
    return None if record is None else float(record["mean"])


def library_actions(n) -> Actions | None:
    """The cost model's actions of an int8 weighted node (hwsim.cost.kernels.Node) run by
    the library on its core (its chosen kernel, `n.kernel`, else the preferred one), or
    None when the library's data does not cover it."""
    call = kernel_call(n.attrs, n.kernel or preferred_kernel(n.attrs, n.tr))
    bits = mul_operand_bits(n, call) if n.tr.operand_multiplier else None
    soft = node_soft_terms(n, call) if call.kernel in SOFT_KERNELS else None
    shifts = library_shift_amounts(n, call.kernel) if n.tr.serial_shifter else None
    return call_actions(call, n.tr, n.opt, bits, soft, node_call=True, shift_amounts=shifts,
                        path=requantize_path(weighted_shift(n)))


def preferred_kernel(op, tr) -> str:
    """The library's preferred kernel of a weighted op on a core of traits `tr` (without
    a multiplier: its soft kernel, hwsim.ir.int8_kernels.SOFT_KERNELS)."""
    return candidate_kernels(op.kind, tuple(op.input_shape), op.layer,
                             tr.multiplier != "none")[0]


def node_call_counts(target: str, kernel: str) -> tuple:
    """The generated node function's own counts around a call of `kernel` (its argument
    set-up, the calls in and out: hwsim.machine.int8_node_call), as (action, count) pairs;
    none in data characterized before they were."""
    record = library_data(target).get("node_call", {}).get("counts", {}).get(kernel, {})
    return tuple((a, float(c)) for a, c in sorted(record.items()))


def call_actions(call, tr, opt, mul_bits: dict[str, float] | None = None,
                 soft_terms: dict | None = None, node_call: bool = False,
                 shift_amounts: dict[str, int] | None = None, path: str = "right"
                 ) -> Actions | None:
    """The cost model's actions of one library call on a core of traits `tr`
    (hwsim.cost.options.CoreTraits) with options `opt`, or None (not covered); with
    `node_call`, the generated node function's own counts around it added. `path`: its
    requantization path (hwsim.ir.int8_kernels.requantize_path; "left" is priced from
    the kernel's left_shift record, not covered in data without one). On a core
    whose MUL time follows its second operand, a mul of each role (MUL_OPERANDS) takes
    mul_base + mul_operand_bit x the role's mean bits (`mul_bits`, else WORST_MUL_BITS:
    the bound), an address mul by a shape value of the call (mul_by_<name>,
    hwsim.machine.mul_sites) that value's bits (`parameter_bits`), one by a loop variable
    (plain `mul`) the kernel's measured mean (`loop_mul_bits`). A soft
    kernel's libgcc calls (SOFT_CALLS) are priced from libgcc's characterization at the
    mean bits of their operands (`soft_terms`, hwsim.cost.soft_multiply.node_soft_terms;
    else WORST_SOFT_TERMS, the bound). A RISC-V build's shifts by a register are counted
    by role (hwsim.ir.int8_kernels.shift_roles): their steps at `shift_amounts` (else the
    worst, 31 bits: hwsim.cost.requantize_shifts.library_shift_amounts)."""
    if not covers(tr):
        return None
    counts = _float_counts(library_target(tr.isa), call, path)
    if counts is None:
        return None
    if any(a.startswith(ROLE_PREFIX) for a, _ in counts):
        roles = {a[len(ROLE_PREFIX):] for a, _ in counts if a.startswith(ROLE_PREFIX)}
        counts = tuple(with_role_amounts(dict(counts), shift_amounts or dict.fromkeys(
            roles, WORST_SHIFT_BITS), call.kernel).items())
    if node_call:
        counts = counts + node_call_counts(library_target(tr.isa), call.kernel)
    loop_bits = loop_mul_bits(library_target(tr.isa), call.kernel, path)
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
        elif action in MUL_OPERANDS and tr.operand_multiplier:
            add("mul_base", count)
            add("mul_operand_bit", count * (mul_bits or WORST_MUL_BITS)[action])
        elif action in MUL_OPERANDS:
            add("mul", count)
        elif action.startswith(MUL_BY) and tr.operand_multiplier:     # by a shape value
            add("mul_base", count)
            add("mul_operand_bit", count * parameter_bits(call, action))
        elif action.startswith(MUL_BY):
            add("mul", count)
        elif action == "mul" and tr.operand_multiplier and loop_bits is not None:
            add("mul_base", count)                                   # by a loop variable
            add("mul_operand_bit", count * loop_bits)
        elif action in SOFT_CALLS:
            calls, bits, ones = (soft_terms or {}).get(action) or (1, *WORST_SOFT_TERMS[action])
            for name, per_call in soft_call_actions(library_target(tr.isa), action[5:],
                                                    bits / max(calls, 1), ones / max(calls, 1),
                                                    tr.serial_shifter).items():
                add(name, count * per_call)
        elif action == PARAMETER_READ:
            if opt.weights_in == "flash":
                add("flash_wait", count)
        else:
            add(action, count)
    return {a: c for a, c in actions.items() if c}
