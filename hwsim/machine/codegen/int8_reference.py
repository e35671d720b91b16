"""The int8 style's numbers: quantization derived from the graph (`Int8Plan`) and the
bit-exact numpy reference of the generated int8 network (`int8_forward`). The
scheme is described in hwsim.machine.codegen.int8 and docs/codegen.md."""
from __future__ import annotations

import numpy as np

from hwsim.ir.int8_scales import ADD_LEFT_SHIFT, add_quant, int8_scales, weighted_multiplier
from hwsim.ir.int8_weights import layer_float, symmetric_int8
from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.codegen.geometry import axis_windows
from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order

OFFSET = 128
POOL_SHIFT = 16


# ----------------------------------------------------------------------------- quantization

def _window_taps(g, node) -> np.ndarray | None:
    """For 'same'-padded layers: the kernel taps each output position reads, as a
    boolean (positions, taps) mask; None for valid padding."""
    a = g.nodes[node]["op"]
    layer = a.layer
    if a.padding != "same":
        return None
    if a.kind == "conv1d":
        length, cin = a.input_shape
        windows = axis_windows(length, layer.kernel, layer.stride, "same")
        mask = np.zeros((len(windows), layer.kernel * cin), dtype=bool)
        for p, w in enumerate(windows):
            mask[p, w.first_tap * cin:(w.first_tap + w.taps) * cin] = True
        return mask
    h, w_in, cin = a.input_shape
    rows = axis_windows(h, layer.kernel_h, layer.stride_h, "same")
    cols = axis_windows(w_in, layer.kernel_w, layer.stride_w, "same")
    per_tap = 1 if a.kind == "depthwise_conv2d" else cin
    mask = np.zeros((len(rows), len(cols), layer.kernel_h * layer.kernel_w * per_tap), dtype=bool)
    for r, rw in enumerate(rows):
        for c, cw in enumerate(cols):
            for i in range(rw.first_tap, rw.first_tap + rw.taps):
                start = (i * layer.kernel_w + cw.first_tap) * per_tap
                mask[r, c, start:start + cw.taps * per_tap] = True
    return mask.reshape(len(rows) * len(cols), -1)


class Int8Plan:
    """Scales and integer parameters of every node, derived from the graph."""

    def __init__(self, g):
        self.g = g
        self.params: dict[str, dict] = {}
        for node in execution_order(g):
            op = g.nodes[node]["op"].kind
            if not (op in WEIGHTED or op in ("input", "threshold", "flatten", "output_table",
                                             "argmax", "add")
                    or op.startswith(("max_pool", "avg_pool"))):
                raise HwsimError(f"node {node!r}: the int8 style does not support op {op!r}")
        self.scale: dict[str, float] = int8_scales(g)
        for node in execution_order(g):
            op = g.nodes[node]["op"].kind
            if op in WEIGHTED:
                self._plan_weighted(node)
            elif op == "add":
                self._plan_add(node)

    def _source_scale(self, node: str) -> float:
        (src,) = list(self.g.predecessors(node))
        return self.scale[src]

    def _plan_weighted(self, node: str) -> None:
        g = self.g
        w, b = layer_float(g, node)
        s_x = self._source_scale(node)
        w_q, s_w = symmetric_int8(w)                                        # (taps, units)
        activated = threshold_consumer(g, node) is not None
        bias = np.rint(b / (s_w * s_x)).astype(np.int64)
        mask = _window_taps(g, node)
        if mask is None:
            bias_q = (bias - OFFSET * w_q.sum(axis=0))[None, :]               # (1, units)
            classes = np.zeros(1, dtype=np.int64)
        else:
            unique, classes = np.unique(mask, axis=0, return_inverse=True)
            bias_q = bias[None, :] - OFFSET * (unique.astype(np.int64) @ w_q)  # (classes, units)
        multiplier, shift = weighted_multiplier(g, node, self.scale)
        self.params[node] = {"w": w_q, "bias": bias_q, "bias_plain": bias,
                             "bias_class": np.asarray(classes).ravel(),
                             "multiplier": multiplier, "shift": shift,
                             "low": -127 if activated else -128, "high": 127}

    def _plan_add(self, node: str) -> None:
        """TFLite's int8 ADD (add.cc): both inputs rescaled to twice the larger input
        scale after a left shift of 20, the sum requantized to the output scale: 1/127
        before a threshold (clamp [-127, 127]), else the sum of the input scales (the sum
        of two int8 values then never clips)."""
        s1, s2 = (self.scale[p] for p in self.g.predecessors(node))
        activated = threshold_consumer(self.g, node) is not None
        multiplier, shift = add_quant(s1, s2, self.scale[node])
        self.params[node] = {"multiplier": multiplier, "shift": shift,
                             "low": -127 if activated else -128, "high": 127}

    def pool_reciprocal(self, window: int) -> int:
        return round((1 << POOL_SHIFT) / window)


# ----------------------------------------------------------------------------- reference

def requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier on int64 arrays (exact C semantics)."""
    left, right = max(shift, 0), max(-shift, 0)
    x = (acc.astype(np.int64) << left)
    x = ((x + (1 << 31)) % (1 << 32)) - (1 << 31)                 # int32 wrap of the shift
    ab = x * int(multiplier)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))   # C division truncates
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def quantize_input(g, x_levels) -> np.ndarray:
    """Input level indices -> the int8 input: round(q / (levels - 1) * 127)."""
    x = np.asarray(x_levels, dtype=np.int64)
    levels = g.graph["input_levels"]
    return np.rint(x * 127 / (levels - 1)).astype(np.int8)


def _weighted_forward(plan: Int8Plan, node: str, x: np.ndarray) -> np.ndarray:
    """x: (N, *input_shape) int8 -> (N, *output_shape) int8."""
    from hwsim.ir.geometry import extract_patches_1d, extract_patches_2d
    from hwsim.ir.integer import PAD
    a = plan.g.nodes[node]["op"]
    p = plan.params[node]
    layer, op = a.layer, a.kind
    w = p["w"]
    n = len(x)
    xo = x.astype(np.int64) + OFFSET
    if op == "dense":
        acc = xo.reshape(n, -1) @ w + p["bias"][0][None, :]
        out_shape = a.output_shape
    else:
        padding = a.padding
        if op == "conv1d":
            patches = extract_patches_1d(xo, layer.kernel, layer.stride, padding, fill=PAD)
        else:
            patches = extract_patches_2d(xo, layer.kernel_h, layer.kernel_w, layer.stride_h,
                                         layer.stride_w, padding, fill=PAD)
        if op == "depthwise_conv2d":
            taps = patches.reshape(n, -1, layer.kernel_h * layer.kernel_w, layer.channels)
            taps = np.where(taps == PAD, 0, taps)
            acc = np.einsum("nptc,tc->npc", taps, w)
        else:
            flat = patches.reshape(n, -1, layer.fan_in)
            flat = np.where(flat == PAD, 0, flat)
            acc = flat @ w
        bias = p["bias"][p["bias_class"]] if len(p["bias"]) > 1 else p["bias"][[0]]
        acc = acc + bias[None, :, :]
        out_shape = a.output_shape
    q = requantize(acc, p["multiplier"], p["shift"])
    return np.clip(q, p["low"], p["high"]).reshape(n, *out_shape).astype(np.int8)


def _pool_forward(plan: Int8Plan, node: str, x: np.ndarray) -> np.ndarray:
    from hwsim.ir.geometry import extract_patches_1d, extract_patches_2d
    a = plan.g.nodes[node]["op"]
    layer, op = a.layer, a.kind
    xi = x.astype(np.int64)
    if op.endswith("1d"):
        patches = extract_patches_1d(xi, layer.size, layer.stride)        # (N, P, size, C)
        axes, window = (2,), layer.size
    else:
        patches = extract_patches_2d(xi, layer.size_h, layer.size_w, layer.stride_h,
                                     layer.stride_w)
        axes, window = (3, 4), layer.size_h * layer.size_w
    if op.startswith("max"):
        return patches.max(axis=axes).astype(np.int8)
    total = patches.sum(axis=axes)
    r = plan.pool_reciprocal(window)
    out = (total * r + (1 << (POOL_SHIFT - 1))) >> POOL_SHIFT
    return np.clip(out, -128, 127).astype(np.int8)


def _add_forward(plan: Int8Plan, node: str, inputs: list[np.ndarray]) -> np.ndarray:
    """TFLite's int8 ADD with the plan's parameters (input offsets 0, output offset 0)."""
    p = plan.params[node]
    m, s = p["multiplier"], p["shift"]
    scaled = [requantize(v.astype(np.int64) << ADD_LEFT_SHIFT, int(m[k]), int(s[k]))
              for k, v in enumerate(inputs)]
    q = requantize(scaled[0] + scaled[1], int(m[2]), int(s[2]))
    return np.clip(q, p["low"], p["high"]).astype(np.int8)


def int8_forward(g, x_levels) -> dict[str, np.ndarray]:
    """The int8 network on input level indices: every node's int8 output (argmax:
    class ids), as the generated C computes it."""
    plan = Int8Plan(g)
    x = quantize_input(g, x_levels)
    values = {}
    for node in execution_order(g):
        a = g.nodes[node]["op"]
        op = a.kind
        if op == "input":
            values[node] = x
            continue
        if op == "add":
            values[node] = _add_forward(plan, node, [values[p] for p in g.predecessors(node)])
            continue
        (src,) = list(g.predecessors(node))
        v = values[src]
        if op in WEIGHTED:
            values[node] = _weighted_forward(plan, node, v)
        elif op in ("threshold", "output_table"):
            values[node] = v
        elif op == "flatten":
            values[node] = v.reshape(len(v), -1)
        elif op == "argmax":
            values[node] = np.argmax(v.reshape(len(v), -1), axis=1)
        else:
            values[node] = _pool_forward(plan, node, v)
    return values
