"""Action counts of lut weighted layers run by the lut kernel library
(hwsim/machine/kernels/lut), from its characterization data: the counts the library's own
compiled code executes, fitted exactly as functions of the kernel's trip counts
(hwsim.ir.lut_kernels.trip_counts) and proven on held-out shapes
(hwsim.machine.lut_characterize, `hwsim characterize --style lut`); and of the grouped
dense kernel the cost model may choose instead for a dense layer (hwsim.cost.lut_choice),
from its own data (`grouped_counts`).

    actions = library_actions(node)     # None: not covered (the caller keeps its formulas)

A node's counts are its call's (the kernel's record) plus `node_call`, the generated node
function around the call (loading the parameter structs' addresses, the call), measured
once per build on a generated network.

The call comes from the one selection rule (hwsim.ir.lut_kernels.lut_call); the data file
from the core's ISA. The fused threshold's binary search is data dependent: its taken
steps are the ones in the output level's binary digits, costed at half the steps per
output (uniform levels; bound: 0 to all steps). Not covered: 32-bit table entries, K >
256. A node given packed weight codes (hwsim.cost.lut_choice) is priced from its packed
variant's record (hwsim.ir.lut_kernels.with_kernel). On RISC-V the shifts are
counted apart (shift, its 4-bit and 1-bit steps: a serial shifter's time,
hwsim.cost.serial_shift); a shift by the table's row shift or by the search's first step
is counted per execution and priced at the node's amount (`node_shift_amounts`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.cost.serial_shift import counts_shifts, with_role_amounts
from hwsim.ir.int8_kernels import monomial_value, parse_monomial
from hwsim.ir.lut_grouped import grouped_trip_counts
from hwsim.ir.lut_kernels import LutCall, library_target, trip_counts

PARAMETER_READ = "parameter_read"


def data_path(target: str) -> Path:
    return characterized.data_path("lut", target)


def library_data(target: str) -> dict | None:
    """The characterization data of one build, or None when there is none."""
    return characterized.characterization_data("lut", target)


def characterized_target(isa: str) -> str | None:
    """The characterized library build a core of `isa` runs, or None."""
    target = library_target(isa)
    return target if target is not None and library_data(target) is not None else None


def covers(tr, opt) -> bool:
    """Whether the library's data prices lut weighted layers on a core of traits `tr`
    with options `opt`: lut_kernels "library", a characterized build for the ISA (whose
    data counts shifts apart where the core's shifter is serial) and the constants all
    in flash or all in SRAM (one parameter-read count covers them)."""
    places = {opt.tables_in, opt.weights_in, opt.thresholds_in}
    return (opt.lut_kernels == "library" and characterized_target(tr.isa) is not None
            and (not tr.serial_shifter or _counts_shifts(characterized_target(tr.isa)))
            and len(places) == 1)


@lru_cache(maxsize=None)
def _counts_shifts(target: str) -> bool:
    return counts_shifts(library_data(target))


def device_lut_kernels(tr, opt) -> str:
    """What lut code describes a core of traits `tr` under options `opt`: "library" where
    the library's data prices it (`covers`), else "loops"."""
    return "library" if covers(tr, opt) else "loops"


@lru_cache(maxsize=None)
def _record(target: str, function: str) -> tuple | None:
    """A kernel function's basis (parsed) and coefficients (Fractions) from the data."""
    record = library_data(target)["kernels"].get(function)
    return None if record is None else parse_record(record)


def parse_record(record: dict) -> tuple:
    """A characterization record's (basis, counts) as (monomials, ((action, integer
    coefficients, their common denominator), ...)): the exact Fractions of the data over
    one denominator per action, so evaluating a call is integer arithmetic."""
    monomials = tuple(parse_monomial(m) for m in record["basis"])
    coefficients = []
    for action, cs in sorted(record["counts"].items()):
        fractions = [Fraction(c) for c in cs]
        denominator = math.lcm(*(f.denominator for f in fractions))
        coefficients.append((action, tuple(int(f * denominator) for f in fractions),
                             denominator))
    return monomials, tuple(coefficients)


def has_record(target: str, call: LutCall) -> bool:
    """Whether the data of `target` characterizes `call`'s kernel function."""
    return _record(target, f"{call.kernel}_{call.variant}") is not None


def record_counts(record: dict, call: LutCall, level_bits=None) -> dict[str, Fraction]:
    """A kernel record's (basis, counts) action counts of one call."""
    return _evaluate(*parse_record(record), call, level_bits)


@lru_cache(maxsize=4096)
def call_counts(target: str, call: LutCall, level_bits=None) -> Mapping[str, Fraction] | None:
    """Characterized action counts of one library call (`level_bits`: the ones in the
    output levels; None: half the search steps per output), or None."""
    record = _record(target, f"{call.kernel}_{call.variant}")
    if record is None:
        return None
    return MappingProxyType(_evaluate(*record, call, level_bits))     # cached: read-only


def _evaluate(monomials, coefficients, call: LutCall, level_bits) -> dict[str, Fraction]:
    return evaluate(monomials, coefficients, trip_counts(call, level_bits))


def evaluate(monomials, coefficients, counts: dict) -> dict[str, Fraction]:
    """Action counts of parsed record coefficients at trip counts `counts`."""
    values = [monomial_value(m, counts) for m in monomials]
    if not all(isinstance(v, int) for v in values):        # a mean search (x.5 steps)
        values = [Fraction(v) for v in values]
    return {action: Fraction(sum(c * v for c, v in zip(cs, values) if c)) / denominator
            for action, cs, denominator in coefficients}


def node_library_call(n) -> tuple[str, LutCall] | None:
    """(library build, call) of a lut weighted node (hwsim.cost.kernels.Node) when the
    library's data covers it, else None."""
    from hwsim.ir.lut_kernels import node_call
    if not covers(n.tr, n.opt):
        return None
    target = characterized_target(n.tr.isa)
    call = node_call(n.graph, n.name, target)
    return None if call is None else (target, call)


def library_actions(n) -> Actions | None:
    """The cost model's actions of a lut weighted node run by the library (its fused
    threshold's search included), or None when the data does not cover it. `n.kernel`:
    a grouped variant (hwsim.ir.lut_grouped.kernel_name) runs the grouped dense kernel,
    priced from its own data (`grouped_counts`)."""
    found = node_library_call(n)
    if found is None:
        return None
    if n.kernel and n.kernel.startswith("grouped"):
        from hwsim.ir.lut_grouped import node_grouped_call
        counts = grouped_counts(found[0], node_grouped_call(n.graph, n.name, n.kernel))
    else:
        from hwsim.ir.lut_kernels import with_kernel
        counts = call_counts(found[0], with_kernel(found[1], n.kernel))
    if counts is None:
        return None
    counts = with_role_amounts(counts, node_shift_amounts(n, found[1]), n.name)
    return node_call_actions(n, counts, library_data(found[0]).get("node_call", {}))


def node_shift_amounts(n, call: LutCall) -> dict[str, int]:
    """What the library's shifts by a register shift by for node `n` (role -> bits)."""
    from hwsim.ir.lut_kernels import lut_shift_amounts
    return lut_shift_amounts(n.graph.nodes[n.name]["op"].table_shape[1], call)


def node_call_actions(n, counts: dict, wrapper: dict) -> Actions:
    """A call's characterized counts and the node function's own (`wrapper`) as the
    cost model's actions: extra words of multi-word loads and stores as single-word ones,
    parameter reads as flash waits where the constants are in flash."""
    actions: dict[str, float] = {}
    for action, count in [*counts.items(), *wrapper.items()]:
        if action in ("burst_load", "burst_store"):     # extra words of push/pop/ldm/ldrd
            word = "load_32" if action == "burst_load" else "store_32"
            actions[word] = actions.get(word, 0.0) + float(count)
            actions["alu"] = actions.get("alu", 0.0) - float(count)
        elif action == PARAMETER_READ:
            if n.opt.weights_in == "flash":
                actions["flash_wait"] = actions.get("flash_wait", 0.0) + float(count)
        else:
            actions[action] = actions.get(action, 0.0) + float(count)
    return {a: c for a, c in actions.items() if c}


def searched_in_library(n) -> bool:
    """Whether threshold node `n` is searched inside the library call before it (it then
    runs no code of its own)."""
    preds = list(n.graph.predecessors(n.name))
    if len(preds) != 1 or n.graph.nodes[preds[0]]["op"].kind not in (
            "dense", "conv1d", "conv2d", "depthwise_conv2d"):
        return False
    from hwsim.cost.kernels import Node
    found = node_library_call(Node(n.graph, preds[0], n.graph.nodes[preds[0]]["op"], n.style,
                                   n.tr, n.opt))
    return found is not None and call_counts(*found) is not None


# ----------------------------------------------------------------------------- grouped

def grouped_data(target: str) -> dict | None:
    """The grouped dense kernel's characterization data of one build
    (hwsim/cost/data/lut_grouped_<target>.json, `hwsim characterize --style lut_grouped`,
    hwsim.machine.lut_grouped_characterize: one record per (K, g), exact functions of
    hwsim.ir.lut_grouped.grouped_trip_counts), or None."""
    return characterized.characterization_data("lut_grouped", target)


@lru_cache(maxsize=None)
def _grouped_record(target: str, function: str) -> tuple | None:
    data = grouped_data(target)
    record = data["kernels"].get(function) if data else None
    return None if record is None else parse_record(record)


@lru_cache(maxsize=4096)
def grouped_counts(target: str, call, level_bits=None) -> Mapping[str, Fraction] | None:
    """Characterized action counts of one grouped call (hwsim.ir.lut_grouped.GroupedCall or
    hwsim.ir.lut_grouped_conv.GroupedConvCall;
    the fused search at half its steps per output, as the library call's), or None (no
    data for its K, g)."""
    from hwsim.ir.lut_grouped_conv import GroupedConvCall, conv_trip_counts
    record = _grouped_record(target, call.function) if call is not None else None
    if record is None:
        return None
    trips = conv_trip_counts if isinstance(call, GroupedConvCall) else grouped_trip_counts
    return MappingProxyType(evaluate(*record, trips(call, level_bits)))
