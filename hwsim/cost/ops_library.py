"""Action counts of pools, argmax and the lut residual add run by the ops kernel library
(hwsim/machine/kernels/ops), from its characterization data: the counts the node's
function and the library call execute, fitted exactly as functions of the call's trip
counts (hwsim.ir.ops_kernels.trip_counts) and proven on held-out shapes
(hwsim.machine.ops_characterize, `hwsim characterize --style ops`).

    actions = ops_actions(node)     # None: not covered (the caller keeps its formulas)

The kernels select without branches, so the counts depend on the shape only: exact for
any data (no expected value, no bound). Covered: cores whose ISA has a characterized
build (on a serial shifter, a build whose data counts its shifts apart: the RISC-V
builds, hwsim.cost.serial_shift); the int8 average pool's multiply by the reciprocal is
counted apart on RV32IM (`mul_reciprocal`, the reciprocal its second operand), so a
multiplier timed by that operand (Ibex RV32MSlow) takes its time from the reciprocal's
bits, exactly; lut nodes where the lut kernel library's data
covers the core and options (hwsim.cost.lut_library.covers: the code `hwsim validate`
generates calls both libraries there), int8 nodes where the int8 library runs
(int8_kernels not "reference" and hwsim.cost.int8_library.covers: the code generator
keeps the plain loops, ops included, on cores the int8 library does not cover).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.cost.serial_shift import counts_shifts, with_role_amounts
from hwsim.ir.int8_kernels import monomial_value, parse_monomial
from hwsim.ir.lut_kernels import library_target
from hwsim.ir.ops_kernels import OpsCall, node_ops_call, trip_counts

PARAMETER_READ = "parameter_read"


def library_data(target: str) -> dict | None:
    return characterized.characterization_data("ops", target)


def characterized_target(isa: str) -> str | None:
    target = library_target(isa)
    return target if target is not None and library_data(target) is not None else None


def node_call(n) -> tuple[str, OpsCall] | None:
    """(build, call) of node `n` (hwsim.cost.kernels.Node) when the data covers it."""
    if n.style == "lut":
        from hwsim.cost.lut_library import covers
        if not covers(n.tr, n.opt):       # the per-layer loops' code: no library calls
            return None
    else:                                     # with the int8 library only (not RV32I)
        from hwsim.cost.int8_library import covers
        if n.opt.int8_kernels == "reference" or not covers(n.tr):
            return None
    target = characterized_target(n.tr.isa)
    if target is None or (n.tr.serial_shifter and not _counts_shifts(target)):
        return None
    call = node_ops_call(n.graph, n.name, n.style)
    if call is None or (call.function == "avg_pool_i8" and n.tr.operand_multiplier
                        and not _counts_reciprocal(target)):
        return None
    if call.function not in library_data(target)["kernels"]:
        return None
    return target, call


@lru_cache(maxsize=None)
def _counts_shifts(target: str) -> bool:
    return counts_shifts(library_data(target))


@lru_cache(maxsize=None)
def _counts_reciprocal(target: str) -> bool:
    """Whether a build's int8 average counts its multiply by the reciprocal apart."""
    return "mul_reciprocal" in library_data(target)["kernels"].get("avg_pool_i8", {}).get(
        "counts", {})


@lru_cache(maxsize=None)
def _record(target: str, function: str) -> tuple:
    record = library_data(target)["kernels"][function]
    monomials = tuple(parse_monomial(m) for m in record["basis"])
    coefficients = tuple((action, tuple(Fraction(c) for c in cs))
                         for action, cs in sorted(record["counts"].items()))
    return monomials, coefficients


def call_counts(target: str, call: OpsCall) -> dict[str, Fraction]:
    """Characterized action counts of one call on build `target`."""
    monomials, coefficients = _record(target, call.function)
    counts = trip_counts(call, target == "rv32i")
    values = [Fraction(monomial_value(m, counts)) for m in monomials]
    return {action: sum((c * v for c, v in zip(cs, values) if c), Fraction(0))
            for action, cs in coefficients}


def ops_actions(n) -> Actions | None:
    """The cost model's actions of node `n` run by the ops library, or None."""
    found = node_call(n)
    if found is None:
        return None
    actions: dict[str, float] = {}

    def add(action: str, count: float) -> None:
        actions[action] = actions.get(action, 0.0) + count

    counts = with_role_amounts(call_counts(*found), found[1].shift_amounts, n.name)
    for action, count in counts.items():
        if action in ("burst_load", "burst_store"):     # extra words of push/pop/ldm
            add("load_32" if action == "burst_load" else "store_32", float(count))
            add("alu", -float(count))
        elif action == PARAMETER_READ:
            if n.opt.weights_in == "flash":
                add("flash_wait", float(count))
        elif action == "mul_reciprocal" and n.tr.operand_multiplier:
            add("mul_base", float(count))           # its time follows the reciprocal
            add("mul_operand_bit", float(count) * max(found[1].reciprocal.bit_length(), 1))
        elif action == "mul_reciprocal":
            add("mul", float(count))
        else:
            add(action, float(count))
    return {a: c for a, c in actions.items() if c}


def with_ops(counter):
    """A node counter that prices the node from the ops library's data where it covers
    it, else by `counter` (the per-node loops' formulas)."""
    def count(n) -> Actions:
        actions = ops_actions(n)
        return actions if actions is not None else counter(n)
    count.__doc__ = counter.__doc__
    return count


def searched_in_add(n) -> bool:
    """Whether threshold node `n` is searched inside the ops add before it."""
    preds = list(n.graph.predecessors(n.name))
    if len(preds) != 1 or n.graph.nodes[preds[0]]["op"].kind != "add":
        return False
    from dataclasses import replace
    return node_call(replace(n, name=preds[0], attrs=n.graph.nodes[preds[0]]["op"])) is not None
