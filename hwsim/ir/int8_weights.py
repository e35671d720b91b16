"""The int8 style's weights, derived from the graph: one home for the code generator
(hwsim.machine.codegen.int8_reference, which stores them) and the cost model (the operand
statistics of a multiplier whose time follows its operand, hwsim.cost.int8_library).

    w, b = layer_float(g, node)          # the layer's discretized weights and biases
    w_q, s_w = symmetric_int8(w)         # s_w = max|w| / 127, w_q = round(w / s_w)
"""
from __future__ import annotations

import numpy as np


def layer_float(g, node: str) -> tuple[np.ndarray, np.ndarray]:
    """The weights (taps, units) and biases of a weighted node: the bias row of its
    product table (the codebook times 2^scale_bits) at its weight and bias indices."""
    a = g.nodes[node]["op"]
    table = np.asarray(g.graph["tables"][a.table], dtype=np.float64)
    scale = float(1 << g.graph["scale_bits"])
    w = table[-1][np.asarray(a.weight_index)] / scale
    b = table[-1][np.asarray(a.bias_index)] / scale
    return w, b


def symmetric_int8(w: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-layer symmetric int8: (round(w / s_w) clipped to [-127, 127], s_w)."""
    top = float(np.abs(w).max(initial=0.0))
    s_w = top / 127 if top > 0 else 1.0
    return np.clip(np.rint(w / s_w), -127, 127).astype(np.int64), s_w


def int8_weights(g, node: str) -> np.ndarray | None:
    """The node's int8 weights as the generated code stores them, or None when the graph
    carries no weights (a shape-only graph)."""
    a = g.nodes[node]["op"]
    if "tables" not in g.graph or a.table not in g.graph["tables"] \
            or np.asarray(a.weight_index).size == 0:
        return None
    return symmetric_int8(layer_float(g, node)[0])[0]
