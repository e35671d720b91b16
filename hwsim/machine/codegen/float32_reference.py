"""The float32 style's numbers: the network the generated float32 C computes
(hwsim.machine.codegen.float32), in numpy float64, and the tolerance the emulated
outputs are held to.

The network: the artifact's discretized weights and biases (w = T[bias row, w_index] /
2^s, the values the integer tables were built from, as hwsim.machine.codegen.int8 takes
them), float inputs q / (levels - 1) of the input levels, tanh after every thresholded
layer (the continuous baseline's activation, hwsim.train.network), 'same' padding
reading 0, pools on the values, adds of the values, argmax of the last sums; an
auto-encoder's output is its last tanh values.
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.geometry import extract_patches_1d, extract_patches_2d
from hwsim.ir.graph import execution_order
from hwsim.ir.ops import WEIGHTED

# |C - reference| <= ABS_TOLERANCE + REL_TOLERANCE x |reference| per value. The C sums in
# float32 in another order than numpy's float64 (rounding of ~fan-in x 2^-24 relative)
# and computes tanh as 1 - 2 / (exp(2x) + 1) with a degree-6 polynomial exp (error
# below 1e-6); an argmax must agree unless the reference's two best scores are closer
# than the tolerance.
ABS_TOLERANCE = 1e-4
REL_TOLERANCE = 1e-4


def layer_values(g, node) -> tuple[np.ndarray, np.ndarray]:
    """(w (taps, units), b (units,)) of a weighted node: its discretized values."""
    a = g.nodes[node]["op"]
    table = np.asarray(g.graph["tables"][a.table], dtype=np.float64)
    scale = float(1 << g.graph["scale_bits"])
    return (table[-1][np.asarray(a.weight_index)] / scale,
            table[-1][np.asarray(a.bias_index)] / scale)


def float_input(g, x_levels) -> np.ndarray:
    """Input level indices -> the float32 inputs q / (levels - 1)."""
    levels = g.graph["input_levels"]
    return (np.asarray(x_levels, dtype=np.float64) / (levels - 1)).astype(np.float32)


def _weighted(g, node: str, x: np.ndarray) -> np.ndarray:
    a = g.nodes[node]["op"]
    layer, op = a.layer, a.kind
    w, b = layer_values(g, node)
    n = len(x)
    if op == "dense":
        return x.reshape(n, -1) @ w + b
    if op == "conv1d":
        patches = extract_patches_1d(x, layer.kernel, layer.stride, a.padding)
    else:
        patches = extract_patches_2d(x, layer.kernel_h, layer.kernel_w, layer.stride_h,
                                     layer.stride_w, a.padding)
    if op == "depthwise_conv2d":
        taps = patches.reshape(n, -1, layer.kernel_h * layer.kernel_w, layer.channels)
        out = np.einsum("nptc,tc->npc", taps, w) + b
    else:
        out = patches.reshape(n, -1, layer.fan_in) @ w + b
    return out.reshape(n, *a.output_shape)


def _pool(g, node: str, x: np.ndarray) -> np.ndarray:
    a = g.nodes[node]["op"]
    layer = a.layer
    if a.kind.endswith("1d"):
        patches, axes = extract_patches_1d(x, layer.size, layer.stride), (2,)
    else:
        patches = extract_patches_2d(x, layer.size_h, layer.size_w, layer.stride_h,
                                     layer.stride_w)
        axes = (3, 4)
    return patches.max(axis=axes) if a.kind.startswith("max") else patches.mean(axis=axes)


# The nodes without weights: (first input, all inputs) -> output.
_STEPS = {
    "threshold": lambda v, inputs: np.tanh(v),
    "add": lambda v, inputs: np.sum(inputs, axis=0),
    "output_table": lambda v, inputs: v,          # the tanh values are the output
    "flatten": lambda v, inputs: v.reshape(len(v), -1),
    "argmax": lambda v, inputs: np.argmax(v.reshape(len(v), -1), axis=1),
}


def float32_forward(g, x_levels) -> dict[str, np.ndarray]:
    """Every node's output (float64; argmax: class ids) on input level indices."""
    x = float_input(g, x_levels).astype(np.float64)
    values: dict[str, np.ndarray] = {}
    for node in execution_order(g):
        op = g.nodes[node]["op"]
        if op.kind == "input":
            values[node] = x.reshape(len(x), *op.output_shape)
            continue
        inputs = [values[s] for s in g.predecessors(node)]
        if op.kind in WEIGHTED:
            values[node] = _weighted(g, node, inputs[0])
        elif op.kind in _STEPS:
            values[node] = _STEPS[op.kind](inputs[0], inputs)
        else:
            values[node] = _pool(g, node, inputs[0])
    return values


def compare_float_outputs(g, node_outputs: dict[str, np.ndarray], x_levels) -> str:
    """"" when every emulated node output is within the tolerance of the reference
    (an argmax: the same class, or a near tie of the reference's scores), else the
    first difference."""
    expected = float32_forward(g, x_levels)
    n = len(x_levels)
    for node, got in node_outputs.items():
        if node not in expected:
            continue
        want = np.asarray(expected[node], dtype=np.float64).reshape(n, -1)
        have = np.asarray(got, dtype=np.float64).reshape(n, -1)
        if want.shape != have.shape:
            return f"node {node!r}: shape {list(have.shape)} vs reference {list(want.shape)}"
        if g.nodes[node]["op"].kind == "argmax":
            (src,) = list(g.predecessors(node))
            scores = np.asarray(expected[src]).reshape(n, -1)
            for s in np.flatnonzero(want[:, 0] != have[:, 0]):
                gap = scores[s, int(want[s, 0])] - scores[s, int(have[s, 0])]
                if gap > ABS_TOLERANCE + REL_TOLERANCE * abs(scores[s, int(want[s, 0])]):
                    return (f"node {node!r}, sample {s}: class {int(have[s, 0])}, reference "
                            f"{int(want[s, 0])} (scores {gap:.3g} apart)")
            continue
        bad = np.argwhere(np.abs(have - want) > ABS_TOLERANCE + REL_TOLERANCE * np.abs(want))
        if len(bad):
            s, u = bad[0]
            return (f"node {node!r}, sample {s}, element {u}: got {have[s, u]:.9g}, reference "
                    f"{want[s, u]:.9g} (tolerance {ABS_TOLERANCE:g} + {REL_TOLERANCE:g} x |ref|)")
    return ""
