"""Action counts: what one inference executes, node by node, in each arithmetic style.

This is the workload half of the cost model (Accelergy's split): counts of
primitive actions (`alu`, `load_16`, `branch_taken`, ...) and of a few named
extras (`flash_wait`, `loop_overhead`, `soft_mul_call`, `soft_float_mul`, ...)
derived from the op graph, the options and the *capabilities* of the core
(`CoreTraits`: addressing modes, barrel shifter, multiplier kind, SIMD lanes,
FPU). No cycle or energy number is read here; hwsim.cost.model prices the actions
with the device's tables and adds them up.

Styles:
- ``lut``: the paper's method, table lookups, integer adds and compares only;
- ``int8``: multiply-accumulate with requantization, as TFLite Micro runs it;
- ``float32``: FPU instructions, or soft-float routine calls without an FPU.

Every kernel is output-stationary and handles one output unit at a time, in
every style, so the styles compare like for like. The instruction sequences
behind each count are written out in docs/cost-model.md.

This module is the entry point (`node_actions`); the parts live in
hwsim.cost.options (`CostOptions`, `CoreTraits`), hwsim.cost.primitives (action
dicts, loads, packed fields, loop control), hwsim.cost.kernels (the loop
structure the styles share) and one module per style: hwsim.cost.lut,
hwsim.cost.int8, hwsim.cost.float32.
"""
from __future__ import annotations

import networkx as nx

from hwsim.cost.float32 import FLOAT32_COUNTERS
from hwsim.cost.int8 import INT8_COUNTERS, muldi3
from hwsim.cost.kernels import (
    MAX_UPDATE,
    UNROLLED_WINDOW,
    WEIGHTED_OPS,
    Node,
    new_maximum_probability,
)
from hwsim.cost.lut import LUT_COUNTERS
from hwsim.cost.options import (
    ACTIVATION_LAYOUTS,
    PLACES,
    ROW_POINTER_MODES,
    WEIGHT_INDEX_LAYOUTS,
    CoreTraits,
    CostOptions,
    core_traits,
)
from hwsim.cost.primitives import (
    HALF_BRANCH,
    Actions,
    field_read,
    field_write,
    load,
    nonzero,
    plus,
    shift_ops,
    storage_bits,
    times,
)
from hwsim.errors import HwsimError
from hwsim.ir.style import STYLES

__all__ = [
    "ACTIVATION_LAYOUTS",
    "FREE_OPS",
    "HALF_BRANCH",
    "MAX_UPDATE",
    "PLACES",
    "ROW_POINTER_MODES",
    "STYLES",
    "UNROLLED_WINDOW",
    "WEIGHTED_OPS",
    "WEIGHT_INDEX_LAYOUTS",
    "Actions",
    "CoreTraits",
    "CostOptions",
    "core_traits",
    "field_read",
    "field_write",
    "load",
    "muldi3",
    "new_maximum_probability",
    "node_actions",
    "plus",
    "shift_ops",
    "storage_bits",
    "times",
]

FREE_OPS = ("input", "flatten")

_COUNTERS = {"lut": LUT_COUNTERS, "int8": INT8_COUNTERS, "float32": FLOAT32_COUNTERS}


def node_actions(graph: nx.DiGraph, node: str, style: str, traits: CoreTraits,
                 options: CostOptions, kernel: str | None = None) -> Actions:
    """Action counts of one node for one inference. `kernel`: for an int8 weighted node,
    the kernel that runs it (a library kernel or "reference", hwsim.cost.int8_choice);
    None: the library's preferred kernel where `options.int8_kernels` and the data allow."""
    if style not in STYLES:
        raise HwsimError(f"unknown arithmetic style {style!r}; one of {', '.join(STYLES)}")
    attrs = graph.nodes[node]["op"]
    op = attrs.kind
    if op in FREE_OPS:
        return {}
    counter = _COUNTERS[style].get(op)
    if counter is None:
        raise HwsimError(f"node {node!r}: the cost model does not know op {op!r}")
    return nonzero(counter(Node(graph, node, attrs, style, traits, options, kernel)))
