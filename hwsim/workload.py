"""Workload descriptions: the network, its data, its bit-widths, its training
budget and its real-time cadence.

`workload_from_data` parses a mapping (tests build workloads from dicts);
`load_workload` reads YAML. Every problem is reported at once with its YAML path.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from hwsim.bundled import resolve
from hwsim.errors import Problem
from hwsim.spec import Reader, raise_if_problems, read_yaml
from hwsim.train import layers as L

SCHEMA_VERSION = 1
TASKS = ("classification", "autoencoder")
DATASET_NAMES = ("digits", "har", "none")
SCOPES = ("global", "per_layer")
ACCUMULATOR_BITS = (16, 32)
TABLE_ENTRY_BITS = (8, 16, 32)
MIN_LEVELS, MAX_LEVELS = 2, 256
MIN_CLUSTERS, MAX_CLUSTERS = 2, 4096
PADDINGS = ("valid", "same")
LAYER_TYPES = ("dense", "conv1d", "conv2d", "depthwise_conv2d", "max_pool1d", "avg_pool1d",
               "max_pool2d", "avg_pool2d", "flatten", "add")
INPUT = "input"   # the name of the network input in `inputs` lists
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Discretization:
    """activation_levels L and weight_clusters K; None means continuous."""
    activation_levels: int | None
    weight_clusters: int | None
    cluster_scope: str

    @property
    def is_discrete(self) -> bool:
        return self.activation_levels is not None and self.weight_clusters is not None


@dataclass(frozen=True)
class IntegerFormat:
    accumulator_bits: int
    table_entry_bits: int


@dataclass(frozen=True)
class Training:
    epochs: int
    batch_size: int
    learning_rate: float
    cluster_interval_steps: int
    finetune_epochs: int
    seed: int
    finetune_learning_rate: float


@dataclass(frozen=True)
class Realtime:
    frame_period_ms: float
    deadline_ms: float


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    task: str
    dataset: str | None
    input_shape: tuple[int, ...]
    input_levels: int
    layers: tuple[L.Layer, ...]
    inputs: tuple[tuple[int, ...], ...]   # per layer: indices of its inputs, -1 the network input
    names: tuple[str, ...]
    activation_overrides: tuple[bool | None, ...]   # per layer `activation:`; None = the rule
    discretization: Discretization
    integer: IntegerFormat
    training: Training
    realtime: Realtime
    data: dict = dataclasses.field(repr=False, compare=False)
    source_file: str | None = dataclasses.field(default=None, compare=False)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[-1]

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Output shape of every layer (batch excluded)."""
        shapes: list[tuple[int, ...]] = []
        for layer, sources in zip(self.layers, self.inputs):
            incoming = self.input_shape if sources[0] < 0 else shapes[sources[0]]
            shapes.append(layer.output_shape(incoming))
        return tuple(shapes)

    @property
    def activation_flags(self) -> list[bool]:
        """Which layers are followed by the discretized activation (tanhD; tanh in the
        continuous baseline). Rule: weighted layers and adds are, except the output
        layer (unless the task is an auto-encoder) and layers whose every consumer is
        an add (the add is activated instead); a layer's `activation:` overrides it."""
        consumers: dict[int, list[int]] = {i: [] for i in range(len(self.layers))}
        for i, sources in enumerate(self.inputs):
            for s in sources:
                if s >= 0:
                    consumers[s].append(i)
        last = len(self.layers) - 1
        flags = []
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, (*L.WEIGHTED_LAYERS, L.Add)):
                flags.append(False)
            elif self.activation_overrides[i] is not None:
                flags.append(self.activation_overrides[i])
            elif i == last:
                flags.append(self.task == "autoencoder")
            else:
                feeds_adds = bool(consumers[i]) and all(
                    isinstance(self.layers[c], L.Add) for c in consumers[i])
                flags.append(not feeds_adds)
        return flags

    @property
    def is_chain(self) -> bool:
        return all(sources == (i - 1,) for i, sources in enumerate(self.inputs))

    @property
    def sha256(self) -> str:
        """Content hash of the workload as parsed (overrides included), for provenance."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, *, levels: int | str | None = None, clusters: int | str | None = None,
                       scope: str | None = None, seed: int | None = None) -> "Workload":
        """The same workload with L, K, the cluster scope or the seed replaced
        (validated like the file)."""
        data = json.loads(json.dumps(self.data))
        if levels is not None:
            data["discretization"]["activation_levels"] = levels
        if clusters is not None:
            data["discretization"]["weight_clusters"] = clusters
        if scope is not None:
            data["discretization"]["cluster_scope"] = scope
        if seed is not None:
            data["training"]["seed"] = seed
        return workload_from_data(data, self.source_file or "<overrides>")


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


def _layer_graph(top: Reader, shape, task, dataset, problems):
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
    chain = all(found == [i - 1] for i, found in enumerate(sources))
    if not chain and dataset not in (None, "none"):
        top.problem("layers", "branches and add layers are for shape-only workloads "
                              "(dataset: none): the trainer trains chains")
    return layers, [tuple(f) for f in sources], names, overrides


def _levels_or_continuous(r: Reader, key: str, low: int, high: int) -> int | None | str:
    value = r.raw(key)
    if value is None:
        return "bad"
    if value == "continuous":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    r.problem(key, f"must be an integer from {low} to {high} or 'continuous', got {value!r}")
    return "bad"


def workload_from_data(data: Any, source: str = "<dict>") -> Workload:
    """Build a Workload from a parsed mapping, or raise SpecError listing every problem."""
    problems: list[Problem] = []
    top = Reader(data, "", problems)
    version = top.int("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        top.problem("schema_version", f"must be {SCHEMA_VERSION}, got {version}")
    name = top.str("name")
    if name is not None and not _NAME.match(name):
        top.problem("name", f"must be lower-case letters, digits, '-', '_' or '.', got {name!r}")
    description = top.str("description")
    task = top.choice("task", TASKS)
    dataset = top.choice("dataset", DATASET_NAMES)

    shape, input_levels = None, None
    inp = top.section("input")
    if inp:
        raw_shape = inp.list("shape")
        if raw_shape is not None:
            if all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in raw_shape):
                shape = tuple(raw_shape)
            else:
                inp.problem("shape", f"must be a list of positive integers, got {raw_shape!r}")
        input_levels = inp.int("levels", minimum=2, maximum=256)
        inp.finish()

    layers, sources, names, overrides = _layer_graph(top, shape, task, dataset, problems)

    disc = top.section("discretization")
    discretization = None
    if disc:
        levels = _levels_or_continuous(disc, "activation_levels", MIN_LEVELS, MAX_LEVELS)
        clusters = _levels_or_continuous(disc, "weight_clusters", MIN_CLUSTERS, MAX_CLUSTERS)
        scope = disc.choice("cluster_scope", SCOPES, False, default="global")
        disc.finish()
        if "bad" not in (levels, clusters) and scope:
            discretization = Discretization(levels, clusters, scope)

    fmt = top.section("integer")
    integer = None
    if fmt:
        acc = fmt.int("accumulator_bits")
        entry = fmt.int("table_entry_bits")
        fmt.finish()
        if acc is not None and acc not in ACCUMULATOR_BITS:
            fmt.problem("accumulator_bits", f"must be 16 or 32, got {acc}")
            acc = None
        if entry is not None and entry not in TABLE_ENTRY_BITS:
            fmt.problem("table_entry_bits", f"must be 8, 16 or 32, got {entry}")
            entry = None
        if acc and entry and entry > acc:
            fmt.problem("table_entry_bits", f"must not exceed accumulator_bits ({acc}), got {entry}")
        elif acc and entry:
            integer = IntegerFormat(acc, entry)

    tr = top.section("training")
    training = None
    if tr:
        values = (tr.int("epochs", minimum=0), tr.int("batch_size", positive=True),
                  tr.number("learning_rate", positive=True),
                  tr.int("cluster_interval_steps", positive=True),
                  tr.int("finetune_epochs", minimum=0), tr.int("seed", minimum=0))
        finetune_rate = tr.number("finetune_learning_rate", False, positive=True,
                                  default=values[2])
        tr.finish()
        values = values + (finetune_rate,)
        if None not in values:
            training = Training(*values)

    rt = top.section("realtime")
    realtime = None
    if rt:
        period = rt.number("frame_period_ms", positive=True)
        deadline = rt.number("deadline_ms", positive=True)
        rt.finish()
        if period and deadline and deadline > period:
            rt.problem("deadline_ms", f"must not exceed frame_period_ms ({period:g}), got {deadline:g}")
        elif period and deadline:
            realtime = Realtime(period, deadline)
    top.finish()
    raise_if_problems(source, problems)
    return Workload(name, description, task, None if dataset == "none" else dataset, shape,
                    input_levels, tuple(layers), tuple(sources), tuple(names),
                    tuple(overrides), discretization,
                    integer, training, realtime, data, None if source.startswith("<") else source)


def load_workload(name_or_path: str | Path) -> Workload:
    """A bundled workload by name, or a workload YAML by path."""
    path = resolve("workloads", str(name_or_path))
    return workload_from_data(read_yaml(path), str(path))
