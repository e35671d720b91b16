"""The int8 style's scales and requantization multipliers, derived from the graph: one
home for the code generator (hwsim.machine.codegen.int8_reference, which stores them)
and the cost model (on a core without a multiplier, the requantization's software
multiply loops over the bits of the Q31 multiplier, hwsim.cost.soft_multiply).

    scales = int8_scales(g)                   # node -> the scale of its int8 output
    multiplier, shift = weighted_multiplier(g, node, scales)

Scales: the network input 1/127; a weighted layer or add followed by a threshold 1/127
(clamp [-127, 127]); a weighted layer otherwise max over its units of
sum |w| x 127 s_x + |b| over 127 (it can never clip), an add the sum of its input
scales; shape ops keep their input's scale; argmax 1.
"""
from __future__ import annotations

import math

import numpy as np

from hwsim.ir.graph import execution_order
from hwsim.ir.int8_weights import layer_float, symmetric_int8
from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.ops import WEIGHTED

ADD_LEFT_SHIFT = 20     # TFLite's int8 ADD (add.cc: data->left_shift = 20)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(Q31 multiplier, shift) with real = multiplier * 2^(shift - 31), TFLite's
    QuantizeMultiplier (std::round: halves away from zero; a shift above 30 saturates);
    shift > 0 is a left shift."""
    if real <= 0:
        return 0, 0
    q, shift = math.frexp(real)
    fixed = math.floor(q * (1 << 31) + 0.5)        # q > 0: halves away from zero, exact
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return fixed, shift


def add_quant(scale1: float, scale2: float, output_scale: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers, shifts) of (input 1, input 2, output) of an int8 add, as TFLite's
    add.cc derives them from the scales."""
    twice_max = 2 * max(scale1, scale2)
    reals = (scale1 / twice_max, scale2 / twice_max,
             twice_max / ((1 << ADD_LEFT_SHIFT) * output_scale))
    pairs = [quantize_multiplier(r) for r in reals]
    return (np.array([p[0] for p in pairs], dtype=np.int32),
            np.array([p[1] for p in pairs], dtype=np.int32))


def _weighted_scale(g, node: str, s_x: float) -> float:
    if threshold_consumer(g, node) is not None:
        return 1 / 127
    w, b = layer_float(g, node)
    bound = float((np.abs(w).sum(axis=0) * 127 * s_x + np.abs(b)).max(initial=0.0))
    return bound / 127 if bound > 0 else 1.0


def int8_scales(g) -> dict[str, float]:
    """The scale of every node's int8 output (module docstring)."""
    scales: dict[str, float] = {}
    for node in execution_order(g):
        kind = g.nodes[node]["op"].kind
        sources = [scales[p] for p in g.predecessors(node)]
        if kind == "input":
            scales[node] = 1 / 127
        elif kind in WEIGHTED:
            scales[node] = _weighted_scale(g, node, sources[0])
        elif kind == "add":
            activated = threshold_consumer(g, node) is not None
            scales[node] = 1 / 127 if activated else sum(sources)
        elif kind == "argmax":
            scales[node] = 1.0
        elif sources:
            scales[node] = sources[0]
    return scales


def weighted_multiplier(g, node: str, scales: dict[str, float]) -> tuple[int, int]:
    """(Q31 multiplier, shift) of a weighted node's requantization: s_w s_x / s_out."""
    (source,) = list(g.predecessors(node))
    s_w = symmetric_int8(layer_float(g, node)[0])[1]
    return quantize_multiplier(s_w * scales[source] / scales[node])
