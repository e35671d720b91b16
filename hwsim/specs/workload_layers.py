"""The `layers` list of a workload: each item's geometry from the shapes of its
inputs, names and `inputs` references (dangling ones, duplicates and cycles are
reported), and the rules of the whole layer graph (one weighted output layer,
activation overrides, branches only in shape-only workloads)."""
from __future__ import annotations

import math

import networkx as nx

from hwsim.errors import Problem
from hwsim.specs.yaml_reader import Reader
from hwsim.ir import layers as L

PADDINGS = ("valid", "same")
LAYER_TYPES = ("dense", "conv1d", "conv2d", "depthwise_conv2d", "max_pool1d", "avg_pool1d",
               "max_pool2d", "avg_pool2d", "flatten", "add")
INPUT = "input"   # the name of the network input in `inputs` lists


def _pair(r: Reader, key: str, default: int | None) -> tuple[int, int] | None:
    """An int or [h, w] list of positive ints."""
    value = r.raw(key, default is None)
    if value is None:
        return (default, default) if default is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return (value, value)
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        return (value[0], value[1])
    r.problem(key, f"must be a positive integer or a list [h, w] of them, got {value!r}")
    return None


def _layer(r: Reader, shape: tuple[int, ...] | None):
    """Build one layer from its spec given the incoming shape (None if unknown)."""
    kind = r.choice("type", LAYER_TYPES)
    if kind is None:
        r.seen.update(r.data)
        return None
    channels = shape[-1] if shape else None
    layer = None
    try:
        if kind == "dense":
            units = r.int("units", positive=True)
            r.finish()
            if units and shape is not None:
                if len(shape) != 1:
                    r.problem(None, f"dense needs a flat input, got shape {list(shape)}; "
                                    "add a flatten layer before it")
                    return None
                layer = L.Dense(shape[0], units)
        elif kind == "conv1d":
            filters = r.int("filters", positive=True)
            kernel = r.int("kernel", positive=True)
            stride = r.int("stride", False, positive=True, default=1)
            padding = r.choice("padding", PADDINGS, False, default="valid")
            r.finish()
            if None not in (filters, kernel, stride, padding, channels):
                layer = L.Conv1D(channels, filters, kernel, stride, padding)
        elif kind == "conv2d":
            filters = r.int("filters", positive=True)
            kernel = _pair(r, "kernel", None)
            stride = _pair(r, "stride", 1)
            padding = r.choice("padding", PADDINGS, False, default="valid")
            r.finish()
            if None not in (filters, kernel, stride, padding, channels):
                layer = L.Conv2D(channels, filters, *kernel, *stride, padding)
        elif kind == "depthwise_conv2d":
            kernel = _pair(r, "kernel", None)
            stride = _pair(r, "stride", 1)
            padding = r.choice("padding", PADDINGS, False, default="valid")
            r.finish()
            if None not in (kernel, stride, padding, channels):
                layer = L.DepthwiseConv2D(channels, *kernel, *stride, padding)
        elif kind in ("max_pool1d", "avg_pool1d"):
            size = r.int("size", positive=True)
            stride = r.int("stride", False, positive=True)
            r.finish()
            cls = L.MaxPool1D if kind == "max_pool1d" else L.AvgPool1D
            layer = cls(size, stride) if size else None
        elif kind in ("max_pool2d", "avg_pool2d"):
            size = _pair(r, "size", None)
            stride = _pair(r, "stride", 0)
            r.finish()
            cls = L.MaxPool2D if kind == "max_pool2d" else L.AvgPool2D
            if size and stride:
                stride = stride if stride != (0, 0) else size
                layer = cls(*size, *stride)
        elif kind == "add":
            r.finish()
            layer = None if shape is None else L.Add(2)   # arity set by the caller
        else:
            r.finish()
            layer = L.Flatten()
        if layer is not None and shape is not None:
            layer.output_shape(shape)
    except ValueError as exc:
        r.problem(None, str(exc))
        return None
    return layer


def _references(top: Reader, items: list) -> tuple[list[str], list[list[int]]]:
    """Names of the layers and, per layer, the indices of its inputs (-1: the network
    input); dangling references, duplicate names and cycles are reported."""
    names, raw_inputs = [], []
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        name = item.get("name", f"layers[{index}]")
        path = top.item_path("layers", index)
        if not isinstance(name, str) or not name.strip() or name == INPUT:
            top.problems.append(Problem(f"{path}.name", f"must be a non-empty string other than "
                                                        f"{INPUT!r}, got {name!r}"))
            name = f"layers[{index}]"
        elif name in names:
            top.problems.append(Problem(f"{path}.name", f"{name!r} is used by layers"
                                                        f"[{names.index(name)}] already"))
        names.append(name)
        raw_inputs.append(item.get("inputs"))
    position = {n: i for i, n in enumerate(names)}
    sources: list[list[int]] = []
    for index, raw in enumerate(raw_inputs):
        path = f"{top.item_path('layers', index)}.inputs"
        if raw is None:
            sources.append([index - 1])
            continue
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
            top.problems.append(Problem(path, f"must be a non-empty list of layer names (or "
                                              f"{INPUT!r}), got {raw!r}"))
            sources.append([index - 1])
            continue
        found = []
        for j, ref in enumerate(raw):
            if ref == INPUT:
                found.append(-1)
            elif ref not in position:
                top.problems.append(Problem(f"{path}[{j}]", f"names no layer: {ref!r} (dangling "
                                                            f"reference from {names[index]!r})"))
            else:
                found.append(position[ref])
        sources.append(found)
    graph = nx.DiGraph()
    graph.add_edges_from((s, i) for i, found in enumerate(sources) for s in found if s >= 0)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        loop = " -> ".join(names[a] for a, _ in cycle) + f" -> {names[cycle[0][0]]}"
        top.problem("layers", f"the layers form a cycle: {loop}")
    else:
        for i, found in enumerate(sources):
            for s in found:
                if s >= i:
                    top.problems.append(Problem(f"{top.item_path('layers', i)}.inputs",
                                                f"{names[s]!r} comes later (layers[{s}]); list "
                                                "layers in execution order"))
    return names, sources


def _given_inputs(item, index: int) -> list:
    """The inputs a layer item names (one implicit input when it names none)."""
    raw = item.get("inputs") if isinstance(item, dict) else None
    return raw if isinstance(raw, list) and raw else [index - 1]


# Size limits of a workload (docs/workloads.md): far above any network that fits an
# earbud, hearing-aid or wearable core, low enough that costing, training or a
# random model of it cannot ask for gigabytes before anything is checked.
MAX_PARAMETERS = 16_000_000             # weights and biases, all layers together
MAX_TENSOR_ELEMENTS = 16_000_000        # the input and every layer's output, each


def _check_size(top: Reader, shape, layers, shapes) -> None:
    if shape is not None and math.prod(shape) > MAX_TENSOR_ELEMENTS:
        top.problem("input", f"shape {list(shape)} has {math.prod(shape):,} elements, more "
                             f"than the limit of {MAX_TENSOR_ELEMENTS:,}")
    for i, (layer, out) in enumerate(zip(layers, shapes)):
        if out is not None and math.prod(out) > MAX_TENSOR_ELEMENTS:
            top.problem(f"layers[{i}]", f"output shape {list(out)} has {math.prod(out):,} "
                                        f"elements, more than the limit of "
                                        f"{MAX_TENSOR_ELEMENTS:,}")
    params = sum(L.num_params(layer) for layer in layers if isinstance(layer, L.WEIGHTED_LAYERS))
    if params > MAX_PARAMETERS:
        top.problem("layers", f"{params:,} parameters, more than the limit of "
                              f"{MAX_PARAMETERS:,}")


def read_layers(top: Reader, shape, task, dataset, problems):
    """Build the layers in order, each from the shapes of its inputs; check that the
    graph has one output, a weighted one, of the right size."""
    items = top.list("layers")
    if not items:
        return [], [], [], []
    names, sources = _references(top, items)
    broken = len(problems)
    layers: list = []
    shapes: list = []
    overrides: list = []
    for index, item in enumerate(items):
        r = Reader(item, top.item_path("layers", index), problems)
        r.seen.update(("name", "inputs"))
        overrides.append(r.bool("activation", False) if r.ok else None)
        if overrides[-1] is not None and r.data.get("type") not in ("dense", "conv1d", "conv2d",
                                                                      "depthwise_conv2d", "add"):
            r.problem("activation", "only dense, convolution and add layers have an activation")
        incoming = [shape if s < 0 else (shapes[s] if s < index else None) for s in sources[index]]
        known = incoming[0] if incoming and all(x is not None for x in incoming) else None
        if not r.ok:
            layers.append(None)
            shapes.append(None)
            continue
        kind = r.data.get("type")
        if len(incoming) != len(_given_inputs(item, index)):
            known = None                    # a dangling reference, reported already
        elif kind != "add" and len(incoming) != 1:
            r.problem("inputs", f"a {kind} layer takes one input, got {len(incoming)}")
            known = None
        if kind == "add" and -1 in sources[index]:
            r.problem("inputs", f"an add cannot read {INPUT!r} directly (input levels have no "
                                "value table); put a layer before it")
            known = None
        elif kind == "add" and len(incoming) < 2 and known is not None:
            r.problem("inputs", "an add layer needs at least two inputs")
            known = None
        if kind == "add" and known is not None and len(set(incoming)) != 1:
            r.problem("inputs", f"add inputs must have one shape, got "
                                f"{', '.join(str(list(x)) for x in incoming)}")
            known = None
        layer = _layer(r, known)
        if isinstance(layer, L.Add):
            layer = L.Add(len(incoming))
        layers.append(layer)
        shapes.append(layer.output_shape(known) if layer is not None and known else None)
    if len(problems) > broken or None in layers:
        return layers, sources, names, overrides
    consumed = {s for found in sources for s in found}
    sinks = [i for i in range(len(layers)) if i not in consumed]
    if len(sinks) != 1:
        top.problem("layers", f"must have exactly one output layer (consumed by no other), got "
                              f"{', '.join(names[i] for i in sinks)}")
        return layers, sources, names, overrides
    last = sinks[0]
    if not isinstance(layers[last], L.WEIGHTED_LAYERS) or last != len(layers) - 1:
        top.problem("layers", f"must end with a dense or convolution layer (the output "
                              f"layer); layers[{len(layers) - 1}] is not one")
    out = shapes[last]
    if task == "classification" and len(out) != 1:
        top.problem("layers", f"a classification must end with a dense layer (one score "
                              f"per class), got output shape {list(out)}")
    if task == "autoencoder" and shape is not None and math.prod(out) != math.prod(shape):
        top.problem("layers", f"an autoencoder must output as many values as its input "
                              f"({math.prod(shape)}), got {math.prod(out)}")
    for i, override in enumerate(overrides):
        users = [j for j, found in enumerate(sources) if i in found]
        blocking = [names[j] for j in users if not isinstance(layers[j], L.Add)]
        if override is False and blocking:
            problems.append(Problem(f"layers[{i}].activation",
                                    f"false, but {', '.join(blocking)} reads its output, and a "
                                    "table lookup needs level indices (only an add can take "
                                    "raw sums)"))
    if task == "classification" and overrides[last]:
        problems.append(Problem(f"layers[{last}].activation", "the output layer of a "
                                "classification has no activation (its sums are the scores)"))
    if task == "autoencoder" and overrides[last] is False:
        problems.append(Problem(f"layers[{last}].activation", "the output layer of an "
                                "auto-encoder needs its activation (its levels map to the outputs)"))
    _check_size(top, shape, layers, shapes)
    return layers, [tuple(f) for f in sources], names, overrides
