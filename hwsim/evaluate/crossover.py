"""The crossover map: where the paper's table-lookup networks (lut) beat int8 and
float32, in cycles and in dynamic energy per inference, per device and per layer class,
over a grid of activation levels L and weight clusters K; and the verdict at the
network's own (L, K): the style with the fewest cycles and the least energy, by how
much, and on a SoC core the network's share of the product's battery per style.

    found = crossover_map(load_network("kws-dscnn"), [find_device("nrf52840"), soc])
    found.columns[0].ratio(8, 16)          # lut / int8 cycles at L = 8, K = 16

Cost model only, no schedule. lut is costed on a shape-only graph at each (L, K) (random
integer weights of the workload's kind, graph seed `SEED`, as `hwsim simulate` costs a
workload), built once per point and shared by every column. int8 and float32 read
neither L nor K (tests/test_crossover.py checks it), so they are costed once per column
on the graph at the network's own (L, K). A SoC's cores are columns of their own, named
as their devices are (SOC.CORE). The battery share of a SoC core comes from
hwsim.evaluate.soc.product_battery with the network's dynamic power at the core, the
energy of one inference per frame period: the schedule's figure for a core that keeps
up (`keeps_up`; `hwsim simulate --core` schedules it for the last word).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from hwsim.artifact.load import JSON_NAME, load_artifact
from hwsim.cost.actions import CostOptions
from hwsim.cost.model import cost_graph
from hwsim.errors import HwsimError
from hwsim.evaluate.soc import ProductBattery, placed_on_core, product_battery
from hwsim.ir.graph import graph_from_workload
from hwsim.importers.network import load_network
from hwsim.ir.style import STYLES
from hwsim.specs.device import Device
from hwsim.specs.soc import Soc
from hwsim.specs.workload import MAX_CLUSTERS, MAX_LEVELS, MIN_CLUSTERS, MIN_LEVELS, Workload

DEFAULT_LEVELS = (2, 4, 8, 16, 32, 64)
DEFAULT_CLUSTERS = (2, 4, 8, 16, 32, 64, 128, 256)
SEED = 0                       # the random integer model of every shape-only graph
LAYER_CLASSES = ("dense", "conv1d", "conv2d", "depthwise", "other")
_CLASS_OF_KIND = {"dense": "dense", "conv1d": "conv1d", "conv2d": "conv2d",
                  "depthwise_conv2d": "depthwise"}
MEASURES = ("cycles", "energy")
BASELINES = tuple(s for s in STYLES if s != "lut")


def load_crossover_network(name_or_path: str) -> Workload:
    """The workload to map: a trained artifact's (its own L and K are the verdict's point;
    the grid is shape-only), or what hwsim.importers.network.load_network finds (a bundled
    workload, a workload YAML, a .tflite/.onnx model)."""
    path = Path(name_or_path)
    if path.is_dir() or (path / JSON_NAME).exists():
        return load_artifact(path).workload
    return load_network(name_or_path)


def layer_classes(graph: nx.DiGraph) -> dict[str, str]:
    """Each node's layer class: a weighted node's kind, a threshold node the class of the
    weighted layer it belongs to, everything else (pools, adds, argmax...) "other"."""
    weighted = {op.layer_index: _CLASS_OF_KIND[op.kind] for _, op in graph.nodes(data="op")
                if op.kind in _CLASS_OF_KIND}
    classes = {}
    for node, op in graph.nodes(data="op"):
        if op.kind in _CLASS_OF_KIND:
            classes[node] = _CLASS_OF_KIND[op.kind]
        elif op.kind == "threshold":
            classes[node] = weighted.get(getattr(op, "layer_index", None), "other")
        else:
            classes[node] = "other"
    return classes


@dataclass(frozen=True)
class StyleCost:
    """One style's cycles and dynamic energy of one inference on one core, in total and
    per layer class (the classes the network has)."""
    style: str
    cycles: float
    energy_pj: float
    cycles_by_class: dict[str, float]
    energy_pj_by_class: dict[str, float]

    def value(self, measure: str, layer_class: str | None = None) -> float:
        if measure not in MEASURES:
            raise HwsimError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
        if layer_class is None:
            return self.cycles if measure == "cycles" else self.energy_pj
        by_class = self.cycles_by_class if measure == "cycles" else self.energy_pj_by_class
        return by_class[layer_class]


def style_cost(graph: nx.DiGraph, device: Device, style: str,
               options: CostOptions | None = None) -> StyleCost:
    """hwsim.cost.model.cost_graph of the graph, summed per layer class."""
    report = cost_graph(graph, device, style, options)
    classes = layer_classes(graph)
    present = [c for c in LAYER_CLASSES if c in classes.values()]
    cycles, energy = dict.fromkeys(present, 0.0), dict.fromkeys(present, 0.0)
    for node in report.nodes:
        cycles[classes[node.node]] += node.cycles
        energy[classes[node.node]] += node.energy_pj
    return StyleCost(style, report.total_cycles, report.energy_pj, cycles, energy)


def winner(costs: dict[str, float]) -> tuple[str, float]:
    """The style with the least cost and its margin: the runner-up's cost / the winner's
    (1.0 with a single style; ties go to the first style of STYLES)."""
    ranked = sorted(costs, key=lambda s: (costs[s], STYLES.index(s)))
    best = costs[ranked[0]]
    if len(ranked) == 1:
        return ranked[0], 1.0
    second = costs[ranked[1]]
    return ranked[0], (second / best if best > 0 else float("inf"))


@dataclass(frozen=True)
class Cell:
    """lut at one (L, K) on one column; `note` says why it could not be costed."""
    levels: int
    clusters: int
    lut: StyleCost | None
    note: str | None = None


@dataclass(frozen=True)
class Column:
    """One device (or one core of a SoC) of a crossover map."""
    device: str                      # the Device's name (a SoC core: SOC.CORE)
    baselines: dict[str, StyleCost]  # int8 and float32 (those the core can cost)
    unavailable: dict[str, str]      # style -> why it cannot be costed on this core
    cells: tuple[Cell, ...]          # the grid, L-major
    own: Cell | None                 # lut at the network's own (L, K)
    clock_hz: int
    soc: str | None = None
    core: str | None = None
    core_class: str | None = None
    battery: dict[str, ProductBattery] = field(default_factory=dict)   # SoC cores, per style
    keeps_up: dict[str, bool] = field(default_factory=dict)            # SoC cores, per style

    def cell(self, levels: int, clusters: int) -> Cell:
        """The grid's cell at (L, K), or the network's own point."""
        for cell in (*self.cells, *((self.own,) if self.own else ())):
            if (cell.levels, cell.clusters) == (levels, clusters):
                return cell
        raise HwsimError(f"the crossover map has no point L={levels} K={clusters}")

    def costs(self, cell: Cell | None, measure: str = "cycles",
              layer_class: str | None = None) -> dict[str, float]:
        """Style -> cost at a cell (lut from the cell, int8 and float32 from the column),
        the styles that could be costed; a layer class the network lacks gives {}."""
        found = dict(self.baselines)
        if cell is not None and cell.lut is not None:
            found["lut"] = cell.lut
        if layer_class is not None and any(layer_class not in c.cycles_by_class
                                           for c in found.values()):
            return {}
        return {s: found[s].value(measure, layer_class) for s in STYLES if s in found}

    def ratio(self, levels: int, clusters: int, against: str = "int8", measure: str = "cycles",
              layer_class: str | None = None) -> float | None:
        """lut / `against` at (L, K): below 1 lut wins; None when either is not costed."""
        costs = self.costs(self.cell(levels, clusters), measure, layer_class)
        if "lut" not in costs or against not in costs or costs[against] <= 0:
            return None
        return costs["lut"] / costs[against]


@dataclass(frozen=True)
class CrossoverMap:
    network: str
    own: tuple[int, int] | None       # the network's own (L, K); None when continuous
    levels: tuple[int, ...]
    clusters: tuple[int, ...]
    classes: tuple[str, ...]          # the layer classes the network has
    columns: tuple[Column, ...]
    frame_period_ms: float | None
    deadline_ms: float | None


def check_grid(levels: Sequence[int], clusters: Sequence[int]) -> tuple[tuple, tuple]:
    """The grid axes sorted and without repeats; each value in the workload's range."""
    problems = []
    for name, values, low, high in (("levels", levels, MIN_LEVELS, MAX_LEVELS),
                                    ("clusters", clusters, MIN_CLUSTERS, MAX_CLUSTERS)):
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int)
               or not low <= v <= high]
        if bad:
            problems.append(f"{name} must be integers from {low} to {high}, got "
                            f"{', '.join(map(repr, bad))}")
    if not levels or not clusters:
        if levels or clusters:
            problems.append("give both levels and clusters for a grid, or neither")
    if problems:
        raise HwsimError("crossover grid: " + "; ".join(problems))
    return tuple(sorted(set(levels))), tuple(sorted(set(clusters)))


def _columns_of(targets: Sequence[Device | Soc]) -> list[tuple[Device, Soc | None, str | None]]:
    """(device, SoC, core name) per column: a SoC's cores each, a device alone."""
    columns = []
    for target in targets:
        if isinstance(target, Soc):
            columns += [(core.device, target, name) for name, core in target.cores.items()]
        else:
            columns.append((target, None, None))
    return columns


def _try_cost(graph, device, style, options) -> tuple[StyleCost | None, str | None]:
    try:
        return style_cost(graph, device, style, options), None
    except HwsimError as exc:
        return None, str(exc)


def _soc_answers(soc: Soc, core: str, costs: dict[str, StyleCost], workload: Workload,
                 load: str | None, clock_hz: int):
    """Per style: the product battery with the network's dynamic power at this core, and
    whether one inference fits its deadline in the time the audio pipeline leaves."""
    realtime = workload.realtime
    if realtime is None:
        return {}, {}
    share = soc.cores[core].audio_share
    battery, keeps_up = {}, {}
    for style, cost in costs.items():
        network_core_mw = cost.energy_pj * 1e-9 * 1000 / realtime.frame_period_ms
        battery[style] = product_battery(soc, load, network_core_mw)
        keeps_up[style] = 1000 * cost.cycles / clock_hz <= realtime.deadline_ms * (1 - share)
    return battery, keeps_up


def crossover_map(workload: Workload, targets: Sequence[Device | Soc],
                  levels: Sequence[int] = DEFAULT_LEVELS,
                  clusters: Sequence[int] = DEFAULT_CLUSTERS, *,
                  options: CostOptions | None = None, load: str | None = None) -> CrossoverMap:
    """lut against int8 and float32 for `workload` on every device and SoC core of
    `targets`, over the (L, K) grid (empty axes: the network's own point only).
    `load`: the SoCs' baseline load for the battery share (None: each file's default)."""
    levels, clusters = check_grid(levels, clusters)
    d = workload.discretization
    own = (d.activation_levels, d.weight_clusters) if d.is_discrete else None
    if own is None and not levels:
        raise HwsimError(f"workload {workload.name!r} is continuous: give levels and clusters "
                         "to map")
    graphs: dict[tuple[int, int], nx.DiGraph | str] = {}

    def graph_at(point: tuple[int, int]) -> nx.DiGraph | str:
        if point not in graphs:
            try:
                graphs[point] = graph_from_workload(
                    workload if point == own else workload.with_overrides(
                        levels=point[0], clusters=point[1]), SEED)
            except HwsimError as exc:
                graphs[point] = str(exc)
        return graphs[point]

    def options_on(graph, style: str, soc: Soc | None, core: str | None) -> CostOptions | None:
        """On a SoC core, tables and weights are read from the tier they are placed in
        (a graph the planner refuses keeps `options`: costing it names the problem)."""
        if soc is None:
            return options
        try:
            return placed_on_core(graph, soc, core, style, options)[1]
        except HwsimError:
            return options

    def lut_cell(point, device, soc=None, core=None) -> Cell:
        graph = graph_at(point)
        if isinstance(graph, str):
            return Cell(*point, None, graph)
        return Cell(*point, *_try_cost(graph, device, "lut", options_on(graph, "lut", soc, core)))

    base_point = own or (levels[0], clusters[0])
    base_graph = graph_at(base_point)
    if isinstance(base_graph, str):
        raise HwsimError(f"workload {workload.name!r} at L={base_point[0]} K={base_point[1]}: "
                         f"{base_graph}")
    columns = []
    for device, soc, core in _columns_of(targets):
        tried = {style: _try_cost(base_graph, device, style,
                                  options_on(base_graph, style, soc, core))
                 for style in BASELINES}
        baselines = {style: cost for style, (cost, _) in tried.items() if cost is not None}
        unavailable = {style: why for style, (cost, why) in tried.items() if cost is None}
        cells = tuple(lut_cell((L, K), device, soc, core) for L in levels for K in clusters)
        in_grid = [c for c in cells if (c.levels, c.clusters) == own]
        own_cell = (in_grid[0] if in_grid else lut_cell(own, device, soc, core)) if own else None
        if own_cell is not None and own_cell.lut is None:
            unavailable["lut"] = own_cell.note
        extra = {}
        if soc is not None:
            at_own = dict(baselines, **({"lut": own_cell.lut} if own_cell and own_cell.lut
                                       else {}))
            battery, keeps_up = _soc_answers(soc, core, at_own, workload, load,
                                             device.core.clock_hz)
            extra = dict(soc=soc.name, core=core, core_class=soc.cores[core].core_class,
                         battery=battery, keeps_up=keeps_up)
        columns.append(Column(device.name, baselines, unavailable, cells, own_cell,
                              device.core.clock_hz, **extra))
    classes = tuple(c for c in LAYER_CLASSES if c in layer_classes(base_graph).values())
    realtime = workload.realtime
    return CrossoverMap(workload.name, own, levels, clusters, classes, tuple(columns),
                        realtime.frame_period_ms if realtime else None,
                        realtime.deadline_ms if realtime else None)


__all__ = ["BASELINES", "Cell", "Column", "CrossoverMap", "DEFAULT_CLUSTERS", "DEFAULT_LEVELS",
           "LAYER_CLASSES", "MEASURES", "StyleCost", "check_grid", "crossover_map",
           "layer_classes", "load_crossover_network", "style_cost", "winner"]
