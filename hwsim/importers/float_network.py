"""An imported model as the trainer's float network: its workload's layers, the file's
float (or dequantized) weights in the trainer's layouts, and the output interval of
every weighted layer's activation; the first step of `hwsim convert` (convert.py).

Weights (docs/import.md §1 gives the imported layouts): dense `[out, in]` becomes the
trainer's `(in, out)`; conv2d `[out, kh, kw, in]` becomes `(kh * kw * in, out)` (the
trainer's patch order); depthwise `[1, kh, kw, C]` becomes `(kh * kw, C)`. An
activation is an interval `(low, high)` the layer's output is clipped to: none is
`(-inf, inf)`, relu `(0, inf)`, relu6 `(0, 6)`, clamp its bounds, each narrowed to what an
int8 output tensor can hold (its saturation, from its scale and zero point); a standalone
relu / relu6 / clamp after a weighted layer (through reshapes, max pools, quantize and
dequantize, with which a clip commutes) narrows that layer's interval. A residual add of
two activations is a layer too (float_forward sums its inputs), with the interval of
its fused or following activation.

A mul or add by a constant (one value, or one per channel) on a float weighted layer's
raw output (before any clip or max pool; ONNX's MatMul + Add bias) is folded into that
layer's weights and bias. What the trainer cannot run is refused, every such op listed
in one error: any other mul or add by a constant, an activation of the network input or
after an average pool, a softmax or logistic that is not at the end of the graph, a
pool with a fused activation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.importers.diagnostics import fail
from hwsim.importers.float_reference import float_value
from hwsim.importers.model import WEIGHTED_KINDS, ImportedModel
from hwsim.importers.network import ImportedNetwork, op_index_of
from hwsim.ir import layers as IL
from hwsim.train import layers as L

_INTERVALS = {"none": (-math.inf, math.inf), "relu": (0.0, math.inf), "relu6": (0.0, 6.0),
              "relu_n1_to_1": (-1.0, 1.0)}
_CLIP_THROUGH = {"reshape", "max_pool", "quantize", "dequantize"}   # a clip commutes with these
_TAIL = {"softmax", "logistic", "quantize", "dequantize", "reshape"}   # argmax-preserving ends


@dataclass(frozen=True)
class FloatNetwork:
    """The trainer's view of an imported network (weights float64, trainer layouts)."""
    imported: ImportedNetwork
    params: tuple[dict, ...]                       # per layer {"w", "b"} or {}
    intervals: tuple[tuple[float, float] | None, ...]   # per weighted layer or add: its clip

    @property
    def layers(self) -> tuple:
        return self.imported.workload.layers


def _trainer_weights(model: ImportedModel, op, layer) -> dict[str, np.ndarray]:
    w = float_value(model, {}, op.inputs[1]).astype(np.float64)
    if isinstance(layer, IL.Dense):
        w = w.T
    elif isinstance(layer, IL.Conv2D):
        w = w.transpose(1, 2, 3, 0).reshape(-1, w.shape[0])
    else:                                                          # depthwise
        w = w[0].reshape(-1, w.shape[3])
    shapes = layer.param_shapes()
    has_bias = len(op.inputs) > 2 and op.inputs[2]
    b = float_value(model, {}, op.inputs[2]).astype(np.float64).reshape(-1) if has_bias \
        else np.zeros(shapes["b"])
    return {"w": np.ascontiguousarray(w.reshape(shapes["w"])), "b": b.reshape(shapes["b"])}


def _representable(tensor) -> tuple[float, float]:
    """The real values an int8/uint8 activation can hold (its saturation), else all."""
    if tensor.quantization is None or tensor.dtype not in ("int8", "uint8"):
        return _INTERVALS["none"]
    info, q = np.iinfo(np.dtype(tensor.dtype)), tensor.quantization
    return (info.min - q.zero_point) * q.scale, (info.max - q.zero_point) * q.scale


def _narrow(*intervals: tuple[float, float]) -> tuple[float, float]:
    return max(i[0] for i in intervals), min(i[1] for i in intervals)


def _constant_fold(model: ImportedModel, op, channels: int) -> np.ndarray | None:
    """The constant of a mul/add as one value per output channel, or None."""
    constant = next(t for t in op.inputs if t and model.tensors[t].is_constant)
    value = float_value(model, {}, constant).astype(np.float64)
    if value.size == 1:
        return np.full(channels, float(value.reshape(-1)[0]))
    if value.size == channels and value.shape[-1] == channels:
        return value.reshape(-1)
    return None


def _intervals(model: ImportedModel, layer_of_op: dict[int, int], problems: list[str]
               ) -> tuple[dict, dict]:
    """Each weighted layer's output interval and the (scale, offset) per channel of the
    constant muls and adds on its raw output; problems for what the trainer cannot run."""
    tensors = model.tensors
    producer: dict[str, tuple[str, int | None]] = {model.inputs[0]: ("input", None)}
    intervals: dict[int, tuple[float, float]] = {}
    affine: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    raw: set[str] = set()              # unclipped, unpooled outputs of a float weighted layer
    for index, op in enumerate(model.ops):
        live = [t for t in op.inputs if t and not tensors[t].is_constant]
        source = producer.get(live[0], ("other", None)) if live else ("other", None)
        out = op.outputs[0]
        if op.kind in WEIGHTED_KINDS:
            layer = layer_of_op[index]
            intervals[layer] = _narrow(_INTERVALS[op.activation], _representable(tensors[out]))
            producer[out] = ("weighted", layer)
            channels = tensors[out].shape[-1]
            affine[layer] = (np.ones(channels), np.zeros(channels))
            if intervals[layer] == _INTERVALS["none"]:
                raw.add(out)
        elif op.kind in ("add", "mul") and len(live) == 1 and live[0] in raw:
            scale, offset = affine[source[1]]
            value = _constant_fold(model, op, len(scale))
            if value is None:
                problems.append(f"{op.source}: a {op.kind} by a constant that is neither one "
                                "value nor one per channel is not converted")
            elif op.kind == "mul":
                affine[source[1]] = (scale * value, offset * value)
            else:
                affine[source[1]] = (scale, offset + value)
            producer[out] = source
            if op.activation == "none":
                raw.add(out)
            else:
                intervals[source[1]] = _narrow(intervals[source[1]], _INTERVALS[op.activation])
        elif op.kind == "add" and len(live) == 2 and index in layer_of_op:   # residual
            layer = layer_of_op[index]
            intervals[layer] = _narrow(_INTERVALS[op.activation], _representable(tensors[out]))
            producer[out] = ("weighted", layer)
        elif op.kind in ("relu", "relu6", "clamp"):
            low, high = ((op.clamp_min, op.clamp_max) if op.kind == "clamp"
                         else _INTERVALS[op.kind])
            if source[0] != "weighted":
                where = "the network input" if source[0] == "input" else "an average pool"
                problems.append(f"{op.source}: a {op.kind} of {where} has no place in the "
                                "trainer's network (activations follow weighted layers)")
            else:
                intervals[source[1]] = _narrow(intervals[source[1]], (low, high),
                                               _representable(tensors[out]))
            producer[out] = source
        elif op.kind in ("add", "mul"):
            what = ("a residual add of two activations" if op.kind == "add" and len(live) == 2
                    else f"a {op.kind} by a constant")
            problems.append(f"{op.source}: {what} is not converted (a constant mul or add "
                            "folds only into the weighted layer right before it, on its raw "
                            "output)")
        elif op.kind in ("softmax", "logistic"):
            later = {o.kind for o in model.ops[index + 1:]}
            if not later <= _TAIL:
                problems.append(f"{op.source}: a {op.kind} inside the network is not "
                                "converted (only at its end, where the argmax ignores it)")
            producer[out] = ("tail", None)
        elif op.kind in ("avg_pool", "max_pool") and op.activation != "none":
            problems.append(f"{op.source}: a pool with a fused {op.activation} is not converted")
        elif op.kind in _CLIP_THROUGH:
            producer[out] = source
            if op.kind != "max_pool" and live and live[0] in raw:
                raw.add(out)
    return intervals, affine


def float_network(model: ImportedModel, imported: ImportedNetwork) -> FloatNetwork:
    """The imported model's weights and activations on its workload's layers (HwsimError
    listing every op the trainer cannot run)."""
    workload = imported.workload
    problems: list[str] = []
    layer_of_op = {}
    for i, (layer, name) in enumerate(zip(workload.layers, workload.names)):
        if isinstance(layer, (*L.WEIGHTED_LAYERS, L.Add)):
            layer_of_op[op_index_of(name)] = i
    intervals, affine = _intervals(model, layer_of_op, problems)
    if problems:
        raise fail(model.source_path, problems)
    params = []
    for i, (layer, name) in enumerate(zip(workload.layers, workload.names)):
        if isinstance(layer, L.WEIGHTED_LAYERS):
            p = _trainer_weights(model, model.ops[op_index_of(name)], layer)
            scale, offset = affine[i]
            params.append({"w": p["w"] * scale, "b": p["b"] * scale + offset})
        else:
            params.append({})
    return FloatNetwork(imported, tuple(params),
                        tuple(intervals.get(i) for i in range(len(workload.layers))))


def float_forward(net: FloatNetwork, params, x: np.ndarray) -> tuple[np.ndarray, list]:
    """The original network in the trainer's passes, following its graph (an add sums its
    inputs): (output, pre-activation of every weighted layer and add, None elsewhere).
    `params` replace the network's own when given."""
    x = np.asarray(x, dtype=np.float64)
    pre, outputs = [], []
    for layer, p, interval, sources in zip(net.layers, params or net.params, net.intervals,
                                           net.imported.workload.inputs):
        if isinstance(layer, L.Add):
            z = outputs[sources[0]]
            for s in sources[1:]:
                z = z + outputs[s]
        else:
            z, _ = L.forward(layer, p, x if sources[0] < 0 else outputs[sources[0]])
        pre.append(z if interval is not None else None)
        outputs.append(np.clip(z, *interval) if interval is not None else z)
    return outputs[-1], pre
