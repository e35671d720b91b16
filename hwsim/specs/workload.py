"""Workload descriptions: the network, its data, its bit-widths, its training
budget and its real-time cadence.

`workload_from_data` parses a mapping (tests build workloads from dicts);
`load_workload` reads YAML. Every problem is reported at once with its YAML path.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from hwsim.specs.bundled import resolve
from hwsim.errors import Problem
from hwsim.specs.yaml_reader import Reader, raise_if_problems, read_header, read_yaml
from hwsim.ir import layers as L
from hwsim.specs.workload_layers import INPUT, LAYER_TYPES, PADDINGS, read_layers  # noqa: F401

SCHEMA_VERSION = 1
TASKS = ("classification", "autoencoder")
DATASET_NAMES = ("digits", "har", "none")
SCOPES = ("global", "per_layer")
ACCUMULATOR_BITS = (16, 32)
TABLE_ENTRY_BITS = (8, 16, 32)
MIN_LEVELS, MAX_LEVELS = 2, 256
MIN_CLUSTERS, MAX_CLUSTERS = 2, 4096


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
    def graph_inputs(self) -> tuple[tuple[int, ...], ...] | None:
        """`inputs` for the trainer and the exporter, None for a chain (their chain path)."""
        return None if self.is_chain else self.inputs

    @property
    def sha256(self) -> str:
        """Content hash of the workload as parsed (overrides included), for provenance."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, *, levels: int | str | None = None, clusters: int | str | None = None,
                       scope: str | None = None, seed: int | None = None) -> "Workload":
        """The same workload with L, K, the cluster scope or the seed replaced
        (validated like the file)."""
        data = json.loads(json.dumps(self.data, allow_nan=False))
        if levels is not None:
            data["discretization"]["activation_levels"] = levels
        if clusters is not None:
            data["discretization"]["weight_clusters"] = clusters
        if scope is not None:
            data["discretization"]["cluster_scope"] = scope
        if seed is not None:
            data["training"]["seed"] = seed
        return workload_from_data(data, self.source_file or "<overrides>")


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
    name = read_header(top, SCHEMA_VERSION)
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

    layers, sources, names, overrides = read_layers(top, shape, task, dataset, problems)

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
