"""An imported model as a hwsim workload: the same IR as workloads/*.yaml.

`workload_from_model` maps the ops of an `ImportedModel` onto the IR's layer configs
and builds a shape-only `Workload` (dataset `none`) through the workload reader, so an
imported graph is checked, hashed, overridden and costed exactly like the MLPerf
shape-only workloads (random integer weights of the right kind, `graph_from_workload`).
`load_network` is the one place where a subject name or path is resolved: a
`.tflite`/`.onnx` path is imported, anything else is a bundled workload or YAML.

Mapping (docs/import.md §7): conv2d -> Conv2D, depthwise_conv2d -> DepthwiseConv2D
(depth multiplier 1), dense -> Dense (a Flatten before it when its input is a map),
avg_pool / max_pool -> AvgPool2D / MaxPool2D, a global mean -> AvgPool2D over the whole
map (+ Flatten unless the dims are kept), add of two activations -> Add, a reshape to a
vector -> Flatten (any other reshape that keeps the shape is no layer), pad -> 'same'
padding of the window op reading it when it equals TensorFlow's same padding. Fused and
standalone relu / relu6 / clamp become the layer's activation; softmax, logistic,
quantize, dequantize, a mul or add by a constant have no layer and are listed in
`ImportedNetwork.dropped`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hwsim.importers.diagnostics import fail
from hwsim.specs.workload import Workload, load_workload, workload_from_data

if TYPE_CHECKING:     # the model records are imported where a model is converted, so that
    # resolving a workload name (every command's start) does not load them
    from hwsim.importers.model import ImportedModel, Op
    from hwsim.importers.tflm_arena import TFLMArena

MODEL_SUFFIXES = (".tflite", ".onnx")
# The defaults of the MLPerf shape-only workloads (workloads/kws-dscnn.yaml and siblings).
DEFAULT_LEVELS = 32
DEFAULT_CLUSTERS = 256
DEFAULT_INTEGER = {"accumulator_bits": 32, "table_entry_bits": 16}
INPUT_LEVELS = 256          # an 8-bit input tensor (float inputs are costed as int8 ones)
DEFAULT_PERIOD_MS = 1000.0  # a model file carries no cadence: one inference a second
_UNUSED_TRAINING = {"epochs": 1, "finetune_epochs": 1, "batch_size": 32, "learning_rate": 0.001,
                    "cluster_interval_steps": 100, "seed": 0}
_PASS_THROUGH = {"softmax", "logistic", "quantize", "dequantize"}
_ACTIVATIONS = {"relu", "relu6", "clamp"}


@dataclass(frozen=True)
class ImportedNetwork:
    """The workload made from a model file, what had no layer, and the file's own counts."""
    workload: Workload
    dropped: tuple[str, ...]          # ops with no IR layer, each "<op source>: <what>"
    parameters: int                    # the imported model's count (docs/import.md §1)
    macs: int
    biases_added: int                  # IR layers always have a bias; bias-free ops get one
    requantization_bytes: int          # TFLite Micro's per-channel multipliers and shifts (RAM there)
    tflm_arena: TFLMArena | None = None  # TFLite Micro's arena for a .tflite model (tflm_arena.py)

    @property
    def notes(self) -> tuple[str, ...]:
        """What a user of the costed graph should know about the mapping."""
        w = self.workload
        notes = [f"imported {Path(w.source_file or w.name).name}: {self.parameters:,} parameters, "
                 f"{self.macs:,} MACs; costed with random weights of its shape "
                 f"(L {w.discretization.activation_levels}, K {w.discretization.weight_clusters}), "
                 f"one frame every {w.realtime.frame_period_ms:g} ms"]
        if self.biases_added:
            notes.append(f"{self.biases_added} biases added to bias-free layers (every IR layer "
                         "has one)")
        if self.requantization_bytes:
            notes.append(f"TFLite Micro keeps {self.requantization_bytes:,} B of per-channel "
                         "requantization (conv and depthwise: multiplier and shift, 8 B per "
                         "output channel) in its persistent arena; hwsim counts it in flash")
        notes += [f"no IR layer: {d}" for d in self.dropped]
        if self.tflm_arena is not None:
            notes.append(str(self.tflm_arena))
        return tuple(notes)


def op_index_of(layer_name: str) -> int:
    """The index in `ImportedModel.ops` of the op a workload layer was made from (layer
    names are the op's kind and index, e.g. 'conv2d0', 'dense5.flatten')."""
    stem = layer_name.split(".")[0]
    digits = len(stem) - len(stem.rstrip("0123456789"))
    return int(stem[-digits:])


def is_model_path(name_or_path: str | Path) -> bool:
    return str(name_or_path).lower().endswith(MODEL_SUFFIXES)


def _same_pads(size_hw, kernel_hw, stride_hw) -> tuple[int, int, int, int]:
    """TensorFlow's SAME padding (top, bottom, left, right) of a window op."""
    pads = []
    for size, kernel, stride in zip(size_hw, kernel_hw, stride_hw):
        out = (size + stride - 1) // stride
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


@dataclass
class _Builder:
    model: ImportedModel
    items: list
    where: dict          # tensor -> (layer name or "input", shape without batch)
    padded: dict         # tensor -> (source tensor, (top, bottom, left, right), pad op)
    activated: set
    dropped: list
    problems: list
    biases_added: int = 0

    def shape(self, tensor: str) -> tuple[int, ...]:
        return tuple(self.model.tensors[tensor].shape[1:])

    def add(self, op: Op, index: int, item: dict, sources: list[str], suffix: str = "") -> str:
        name = f"{op.kind}{index}{suffix}" if suffix else f"{op.kind}{index}"
        item = {"name": name, **item}
        inputs = [self.where[s][0] for s in sources]
        item["inputs"] = inputs
        self.items.append(item)
        return name

    def source(self, op: Op, tensor: str):
        if tensor in self.padded:
            self.problems.append(f"{op.source}: reads the output of {self.padded[tensor][2].source}; "
                                 "a pad is supported only before a convolution or pool")
            return None
        if tensor not in self.where:
            self.problems.append(f"{op.source}: reads {tensor!r}, which no supported op produces")
            return None
        return self.where[tensor]

    def window_padding(self, op: Op, kernel_hw, pool: bool) -> tuple[str, str] | None:
        """(input tensor, 'same'|'valid') of a conv/pool, a preceding pad folded in."""
        tensor, pads = op.inputs[0], (0, 0, 0, 0)
        if tensor in self.padded:
            tensor, pads, _ = self.padded[tensor]
        if tensor not in self.where:
            self.source(op, tensor)
            return None
        shape = self.where[tensor][1]
        if len(shape) != 3:
            self.problems.append(f"{op.source}: input shape {list(shape)} is not a (H, W, C) map")
            return None
        if op.dilation_hw != (1, 1):
            self.problems.append(f"{op.source}: dilation {list(op.dilation_hw)} has no IR layer "
                                 "(hwsim convolutions are undilated)")
            return None
        padded_hw = (shape[0] + pads[0] + pads[1], shape[1] + pads[2] + pads[3])
        if op.padding == "same":
            own = _same_pads(padded_hw, kernel_hw, op.stride_hw)
        elif op.padding == "explicit":
            own = op.explicit_pads_tblr
        else:
            own = (0, 0, 0, 0)
        total = tuple(a + b for a, b in zip(pads, own))
        if not any(total):
            return tensor, "valid"
        if total == _same_pads(shape[:2], kernel_hw, op.stride_hw) and not pool:
            return tensor, "same"
        if pool and total == _same_pads(shape[:2], kernel_hw, op.stride_hw):
            self.problems.append(f"{op.source}: a padded pool (TensorFlow SAME padding "
                                 f"{list(total)}) has no IR layer: hwsim pools are 'valid'")
        else:
            self.problems.append(f"{op.source}: padding (top, bottom, left, right) {list(total)} "
                                 "is neither none nor TensorFlow's SAME padding "
                                 f"{list(_same_pads(shape[:2], kernel_hw, op.stride_hw))}")
        return None


def _flat(b: _Builder, op: Op, index: int, tensor: str) -> str:
    """The tensor as a vector: a Flatten layer when it is a map."""
    shape = b.where[tensor][1]
    key = f"{tensor}#flat"
    if len(shape) == 1 or key in b.where:
        return tensor if len(shape) == 1 else key
    flat_name = b.add(op, index, {"type": "flatten"}, [tensor], ".flatten")
    b.where[key] = (flat_name, (math.prod(shape),))
    return key


def _convert(b: _Builder, op: Op, index: int) -> None:
    model, kind = b.model, op.kind
    out = op.outputs[0]
    if kind in ("conv2d", "depthwise_conv2d"):
        weight = model.tensors[op.inputs[1]].shape
        kernel_hw = (weight[1], weight[2])
        found = b.window_padding(op, kernel_hw, pool=False)
        if found is None:
            return
        tensor, padding = found
        item = {"kernel": list(kernel_hw), "stride": list(op.stride_hw), "padding": padding}
        if kind == "conv2d":
            item = {"type": "conv2d", "filters": weight[0], **item}
        else:
            if op.depth_multiplier != 1:
                b.problems.append(f"{op.source}: depth multiplier {op.depth_multiplier} has no IR "
                                  "layer (hwsim depthwise convolutions have multiplier 1)")
                return
            item = {"type": "depthwise_conv2d", **item}
        b.biases_added += 0 if len(op.inputs) > 2 and op.inputs[2] else weight[0 if kind == "conv2d" else 3]
        b.where[out] = (b.add(op, index, item, [tensor]), b.shape(out))
        if op.activation != "none":
            b.activated.add(b.where[out][0])
    elif kind == "dense":
        if b.source(op, op.inputs[0]) is None:
            return
        if model.tensors[op.inputs[0]].shape[0] != 1:
            b.problems.append(f"{op.source}: batch {model.tensors[op.inputs[0]].shape[0]}; an "
                              "imported network runs one sample (batch 1)")
            return
        tensor = _flat(b, op, index, op.inputs[0])
        units = model.tensors[op.inputs[1]].shape[0]
        if not (len(op.inputs) > 2 and op.inputs[2]):
            b.biases_added += units
        b.where[out] = (b.add(op, index, {"type": "dense", "units": units}, [tensor]), b.shape(out))
        if op.activation != "none":
            b.activated.add(b.where[out][0])
    elif kind in ("avg_pool", "max_pool"):
        found = b.window_padding(op, op.pool_hw, pool=True)
        if found is None:
            return
        item = {"type": "avg_pool2d" if kind == "avg_pool" else "max_pool2d",
                "size": list(op.pool_hw), "stride": list(op.stride_hw)}
        b.where[out] = (b.add(op, index, item, [found[0]]), b.shape(out))
        if op.activation != "none":
            b.dropped.append(f"{op.source}: fused {op.activation} of a pool (its input levels "
                             "are already activated)")
    elif kind == "mean":
        if b.source(op, op.inputs[0]) is None:
            return
        shape = b.where[op.inputs[0]][1]
        if len(shape) != 3 or sorted(op.axes) != [1, 2]:
            b.problems.append(f"{op.source}: a mean over axes {list(op.axes)} of shape "
                              f"{[1, *shape]} is not a global average pool (axes 1 and 2 of NHWC)")
            return
        item = {"type": "avg_pool2d", "size": [shape[0], shape[1]]}
        b.where[out] = (b.add(op, index, item, [op.inputs[0]]), (1, 1, shape[2]))
        if len(b.shape(out)) == 1:
            b.where[out] = b.where[_flat(b, op, index, out)]
    elif kind in ("add", "mul"):
        constants = [t for t in op.inputs if model.tensors[t].is_constant]
        if constants:
            what = "rescale" if kind == "mul" else "offset"
            b.dropped.append(f"{op.source}: {kind} by a constant (a {what})")
            live = [t for t in op.inputs if not model.tensors[t].is_constant]
            if live and b.source(op, live[0]) is not None:
                b.where[out] = b.where[live[0]]
            return
        if kind == "mul":
            b.problems.append(f"{op.source}: a mul of two activations has no IR layer")
            return
        if any(b.source(op, t) is None for t in op.inputs):
            return
        shapes = {b.where[t][1] for t in op.inputs}
        if len(shapes) != 1:
            b.problems.append(f"{op.source}: a broadcasting add ({' + '.join(str(list(s)) for s in shapes)}) "
                              "has no IR layer (hwsim adds tensors of one shape)")
            return
        b.where[out] = (b.add(op, index, {"type": "add"}, list(op.inputs)), b.shape(out))
        if op.activation != "none":
            b.activated.add(b.where[out][0])
    elif kind == "reshape":
        if b.source(op, op.inputs[0]) is None:
            return
        before, after = b.where[op.inputs[0]][1], b.shape(out)
        if after == before:
            b.where[out] = b.where[op.inputs[0]]
        elif len(after) == 1:
            b.where[out] = b.where[_flat(b, op, index, op.inputs[0])]
        elif [n for n in after if n != 1] == [n for n in before if n != 1] and len(before) == 3 \
                and len(after) == 3:
            b.where[out] = b.where[op.inputs[0]]   # (1, 1, C) <-> (1, 1, C) kept as a map
        else:
            b.problems.append(f"{op.source}: a reshape from {list(before)} to {list(after)} has no "
                              "IR layer (only flattening to a vector)")
    elif kind == "pad":
        if b.source(op, op.inputs[0]) is None:
            return
        pads = op.pads
        if len(pads) != 4 or any(pads[0]) or any(pads[3]):
            b.problems.append(f"{op.source}: only spatial padding of an NHWC map is supported, "
                              f"got {[list(p) for p in pads]}")
            return
        b.padded[out] = (op.inputs[0], (*pads[1], *pads[2]), op)
    elif kind in _ACTIVATIONS:
        if b.source(op, op.inputs[0]) is None:
            return
        b.where[out] = b.where[op.inputs[0]]
        producer = b.where[out][0]
        if producer == "input":
            b.dropped.append(f"{op.source}: {kind} of the network input")
        else:
            b.activated.add(producer)
    elif kind in _PASS_THROUGH:
        if b.source(op, op.inputs[0]) is None:
            return
        b.where[out] = b.where[op.inputs[0]]
        b.dropped.append(f"{op.source}: {kind}")
    else:                                        # pragma: no cover - OP_KINDS is closed
        b.problems.append(f"{op.source}: op kind {kind!r} has no IR layer")


def workload_from_model(model: ImportedModel, *, levels: int | None = None,
                        clusters: int | None = None, period_ms: float = DEFAULT_PERIOD_MS
                        ) -> ImportedNetwork:
    """The shape-only workload of an imported model (HwsimError naming the file and the
    ops that have no IR layer)."""
    from hwsim.importers.model import macs, parameter_count
    from hwsim.importers.tflm_arena import tflm_arena
    path = model.source_path
    problems = []
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise fail(path, [f"{len(model.inputs)} inputs and {len(model.outputs)} outputs; an "
                          "imported network has one of each"])
    in_tensor = model.tensors[model.inputs[0]]
    if len(in_tensor.shape) < 2 or in_tensor.shape[0] != 1 or len(in_tensor.shape) not in (2, 4):
        raise fail(path, [f"input {in_tensor.name!r} has shape {list(in_tensor.shape)}; expected "
                          "[1, features] or [1, H, W, C]"])
    b = _Builder(model, [], {in_tensor.name: ("input", tuple(in_tensor.shape[1:]))}, {}, set(),
                 [], problems)
    for index, op in enumerate(model.ops):
        _convert(b, op, index)
    if problems:
        raise fail(path, problems)
    out = model.outputs[0]
    if out not in b.where or not b.items or b.where[out][0] != b.items[-1]["name"]:
        raise fail(path, [f"output {out!r} is not produced by the last layer"])
    out_shape = b.shape(out)
    in_shape = tuple(in_tensor.shape[1:])
    task = ("autoencoder" if math.prod(out_shape) == math.prod(in_shape) and len(out_shape) == 1
            else "classification")
    consumers: dict[str, list[str]] = {}
    for item in b.items:
        for source in item["inputs"]:
            consumers.setdefault(source, []).append(item["type"])
    for item in b.items[:-1]:       # the rule activates every layer not feeding only adds
        users = consumers.get(item["name"], [])
        if item["name"] in b.activated and users and all(u == "add" for u in users):
            item["activation"] = True
    data = {
        "schema_version": 1,
        "name": _workload_name(path),
        "description": f"imported from {Path(path).name} ({model.format})",
        "task": task, "dataset": "none",
        "input": {"shape": list(in_shape), "levels": INPUT_LEVELS},
        "layers": b.items,
        "discretization": {"activation_levels": levels or DEFAULT_LEVELS,
                           "weight_clusters": clusters or DEFAULT_CLUSTERS,
                           "cluster_scope": "global"},
        "integer": dict(DEFAULT_INTEGER),
        "training": dict(_UNUSED_TRAINING),
        "realtime": {"frame_period_ms": period_ms, "deadline_ms": period_ms},
    }
    workload = workload_from_data(_plain(data), path)
    return ImportedNetwork(workload, tuple(b.dropped), parameter_count(model), macs(model),
                           b.biases_added, requantization_bytes(model),
                           tflm_arena(model) if model.format == "tflite" else None)


def requantization_bytes(model: ImportedModel) -> int:
    """What TFLite Micro allocates in its persistent arena for the per-channel output
    multipliers and shifts (two int32 per output channel) of its int8 conv and depthwise
    kernels (`conv.cc`, `depthwise_conv.cc` Prepare)."""
    total = 0
    for op in model.ops:
        if op.kind in ("conv2d", "depthwise_conv2d") and \
                model.tensors[op.outputs[0]].dtype in ("int8", "uint8"):
            total += 8 * model.tensors[op.outputs[0]].shape[-1]
    return total


def _plain(value):
    """Numpy integers to Python ints (the workload reader and its hash take plain data)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _workload_name(path: str) -> str:
    stem = Path(path).stem.lower()
    name = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "-" for c in stem).strip("-_.")
    return name or "model"


def import_network(path: str | Path, *, levels: int | None = None, clusters: int | None = None
                   ) -> ImportedNetwork:
    """Read a .tflite/.onnx file and make its workload."""
    from hwsim.importers.load import load_model
    return workload_from_model(load_model(path), levels=levels, clusters=clusters)


def load_network(name_or_path: str | Path, *, levels: int | None = None,
                 clusters: int | None = None) -> Workload:
    """A subject by name or path: a .tflite/.onnx model file imported as a workload, or a
    bundled workload name / workload YAML (with L and K overridden when given)."""
    if is_model_path(name_or_path):
        return import_network(name_or_path, levels=levels, clusters=clusters).workload
    workload = load_workload(name_or_path)
    if levels is not None or clusters is not None:
        workload = workload.with_overrides(levels=levels, clusters=clusters)
    return workload
