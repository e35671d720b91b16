"""The cost model: cycles and dynamic energy of one inference, node by node, for
the lut (the paper's method), int8 and float32 arithmetic styles.

Accelergy's split, in three pure pieces:
- hwsim.cost.actions.node_actions: action counts derived from the graph (how
  many loads, adds, branches, multiplies, soft-float calls ...);
- hwsim.cost.prices.action_prices: what one action costs on a device, in cycles
  and pJ, read from the device file (plus documented estimates for the few
  routines a device file may leave out);
- `combine`: counts x prices, summed, and split by action class.

`cost_graph(graph, device, style, options)` runs the three over a graph and
returns a `CostReport`. Formulas, assumed instruction sequences and sources:
docs/cost-model.md. Static (sleep) energy over a frame is the scheduler's; the
helper `static_energy_pj` is here for convenience.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from hwsim.cost.actions import STYLES, Actions, CostOptions, core_traits, node_actions
from hwsim.cost.prices import ACTION_CLASSES, ActionPrice, action_class, action_prices
from hwsim.specs.device import Device
from hwsim.errors import HwsimError
from hwsim.ir.graph import INT8_INPUT_BITS, execution_order, totals
from hwsim.ir.int8_kernels import REFERENCE
from hwsim.ir.ops import WEIGHTED

__all__ = [
    "ACTION_CLASSES",
    "STYLES",
    "ActionPrice",
    "CostOptions",
    "CostReport",
    "NodeCost",
    "action_class",
    "action_prices",
    "combine",
    "cost_graph",
    "dense_layer_workload",
    "static_energy_pj",
]


def combine(actions: Actions, prices: dict[str, ActionPrice]
            ) -> tuple[float, dict[str, float], float]:
    """(cycles, cycles by class, energy_pj) of a set of action counts."""
    cycles, energy = 0.0, 0.0
    by_class = dict.fromkeys(ACTION_CLASSES, 0.0)
    for action, count in actions.items():
        price = prices.get(action)
        if price is None:
            raise HwsimError(f"the device has no cost for action {action!r}")
        cycles += count * price.cycles
        energy += count * price.energy_pj
        by_class[action_class(action)] += count * price.cycles
    return cycles, by_class, energy


@dataclass(frozen=True)
class NodeCost:
    node: str
    op: str
    layer_index: int | None
    connections: int
    actions: dict[str, float]        # action -> count per inference
    cycles: float
    cycles_by_class: dict[str, float]
    energy_pj: float                 # dynamic energy
    basis: str = "formula"           # BASES: where the counts come from
    kernel: str | None = None        # weighted: the kernel chosen (hwsim.cost.int8_choice,
                                     # hwsim.cost.lut_choice)

    def __repr__(self) -> str:
        return f"NodeCost({self.node!r}, {self.cycles:,.0f} cycles, {self.energy_pj / 1e6:.3g} uJ)"


@dataclass(frozen=True)
class CostReport:
    style: str
    device: str
    workload: str
    clock_hz: int
    options: CostOptions
    nodes: tuple[NodeCost, ...]
    total_cycles: float
    energy_pj: float                 # dynamic energy of one inference
    connections: int                 # MACs of the weighted layers
    cycles_per_connection: float     # total_cycles / connections (every node included)
    cycles_by_class: dict[str, float]
    actions: dict[str, float]        # summed over the nodes
    notes: tuple[str, ...]           # estimates used, things to know

    @property
    def seconds(self) -> float:
        """Time of one inference on one core at the device clock."""
        return self.total_cycles / self.clock_hz

    def __repr__(self) -> str:
        return (f"CostReport({self.workload!r} {self.style} on {self.device!r}: "
                f"{self.total_cycles:,.0f} cycles, {self.cycles_per_connection:.2f}/connection, "
                f"{self.energy_pj / 1e6:.3g} uJ)")

    @property
    def int8_kernels(self) -> tuple[tuple[str, str], ...]:
        """(node, kernel) of the int8 weighted nodes: what the memory planner
        (MemoryOptions.int8_kernels) and the code generator are handed."""
        if self.style != "int8":
            return ()
        return tuple(sorted((n.node, n.kernel) for n in self.nodes if n.kernel))

    @property
    def lut_grouped(self) -> tuple[tuple[str, str], ...]:
        """(node, grouped variant) of the lut weighted nodes the cost model gave the
        grouped dense kernel (hwsim.cost.lut_choice)."""
        return tuple((n, k) for n, k in self.lut_chosen if k.startswith("grouped"))

    @property
    def lut_chosen(self) -> tuple[tuple[str, str], ...]:
        """(node, kernel) of the lut weighted nodes the cost model gave the grouped dense
        kernel or packed weight codes (hwsim.cost.lut_choice): what the memory planner
        (MemoryOptions.lut_grouped) and the code generator are handed."""
        from hwsim.ir.lut_kernels import PACKED_VARIANTS
        if self.style != "lut":
            return ()
        return tuple(sorted((n.node, n.kernel) for n in self.nodes if n.kernel and (
            n.kernel.startswith("grouped") or n.kernel.split("_")[-1] in PACKED_VARIANTS)))

    def to_dict(self) -> dict:
        """A JSON-ready record (units in names)."""
        return {"style": self.style, "device": self.device, "workload": self.workload,
                "clock_hz": self.clock_hz, "options": self.options.to_dict(),
                "total_cycles": self.total_cycles, "seconds": self.seconds,
                "energy_pj": self.energy_pj, "connections": self.connections,
                "cycles_per_connection": self.cycles_per_connection,
                "cycles_by_class": dict(self.cycles_by_class), "actions": dict(self.actions),
                "notes": list(self.notes),
                "nodes": [{"node": n.node, "op": n.op, "layer_index": n.layer_index,
                           "connections": n.connections, "actions": dict(n.actions),
                           "cycles": n.cycles, "cycles_by_class": dict(n.cycles_by_class),
                           "energy_pj": n.energy_pj,
                           **({"kernel": n.kernel} if n.kernel else {})} for n in self.nodes]}


def _check_style(device: Device, style: str) -> None:
    if style not in STYLES:
        raise HwsimError(f"unknown arithmetic style {style!r}; one of {', '.join(STYLES)}")
    if style == "float32" and device.core.fpu == "none":
        missing = [r for r in ("add", "mul") if r not in (device.soft_float_cycles or {})]
        if missing:
            raise HwsimError(f"device {device.name!r}: float32 needs an FPU or soft-float "
                             f"costs; soft_float lacks {', '.join(missing)}")


def _notes(device: Device, style: str, options: CostOptions, actions: Actions,
           prices: dict[str, ActionPrice], measured_inputs: bool = False
           ) -> tuple[str, ...]:
    notes = [f"{a} estimated (the device file does not give it): {prices[a].cycles:.0f} cycles"
             for a in sorted(actions) if prices[a].estimated]
    if "soft_mul_bit" in actions or (style == "int8" and device.core.multiplier == "none"):
        bits = options.multiplier_operand_bits
        k = (f"a {bits}-bit" if bits is not None else
             "the mean bits of the layer's |w| as")
        notes.append(f"software multiply (__mulsi3 over |w|) priced for {k} second "
                     "operand (the soft kernels: each |w| as often as its tap runs), the "
                     "requantization's __muldi3 for the layer's Q31 multiplier "
                     "(libgcc's routines as characterized, hwsim.cost.soft_multiply)")
    if "mul_operand_bit" in actions:
        inputs = ("the artifact's int8 input statistics (training data)" if measured_inputs
                  else "inputs taken uniform over their int8 values")
        notes.append("operand-dependent multiplier: each MUL priced by its second operand's "
                     "bits, from the graph's int8 weights (a shape-only graph: its random "
                     f"weights) and {inputs}; bound: every operand negative (32 bits)")
    if style == "int8" and options.int8_kernels != "reference":
        from hwsim.cost.int8_library import covers
        if not covers(core_traits(device)):
            notes.append(f"int8_kernels {options.int8_kernels!r}: the int8 kernel library is not "
                         f"characterized for this core (ISA {device.core.isa!r}, its SIMD MAC, "
                         "or operand-dependent shifts); weighted layers priced as "
                         "plain C loops")
    if actions.get("flash_wait") and device.memory.flash_kind == "external_xip":
        notes.append("every flash load pays the XIP streaming penalty; data kept hot in the "
                     "XIP cache, or placed in SRAM (tables_in / weights_in='sram'), costs less")
    return tuple(notes)


# Where a node's action counts come from: "characterized", the counts its kernel's own
# machine code executes, fitted exactly and proven on held-out shapes (the int8 kernel
# library, hwsim.cost.int8_library; the lut kernel library, hwsim.cost.lut_library; the
# ops library's pools, argmax, lut adds and output tables, hwsim.cost.ops_library);
# "formula", counts written from the generated
# code's shape (hwsim.cost.lut, hwsim.cost.int8's plain loops, hwsim.cost.kernels).
BASES = ("characterized", "formula")


def node_basis(graph: nx.DiGraph, node: str, style: str, traits, options: CostOptions,
               kernel: str | None = None) -> str:
    """The BASES entry of one node's counts on a core of `traits`, run by `kernel` (an
    int8 weighted node's choice; None: as `node_actions` without one)."""
    kind = graph.nodes[node]["op"].kind
    soft_add = kind == "add" and traits.multiplier == "none"   # a plain loop there
    if style == "int8" and (kind == "add" and not soft_add
                            or kind in WEIGHTED and kernel != REFERENCE
                            and (kernel is not None or options.int8_kernels != "reference")):
        from hwsim.cost.int8_library import covers
        if covers(traits):
            return "characterized"
    if (style == "lut" and options.lut_kernels == "library"
            and graph.nodes[node]["op"].kind in WEIGHTED):
        from hwsim.cost.kernels import Node
        from hwsim.cost.lut_library import call_counts, node_library_call
        found = node_library_call(Node(graph, node, graph.nodes[node]["op"], style, traits,
                                       options))
        if found is not None and call_counts(*found) is not None:
            return "characterized"
    if kind in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "argmax", "add",
                "output_table"):
        from hwsim.cost.kernels import Node
        from hwsim.cost.ops_library import node_call as ops_call
        if ops_call(Node(graph, node, graph.nodes[node]["op"], style, traits, options)):
            return "characterized"
    return "formula"


def cost_graph(graph: nx.DiGraph, device: Device, style: str,
               options: CostOptions | None = None) -> CostReport:
    """Cycles and dynamic energy of one inference of `graph` on one core of `device`."""
    options = options or CostOptions()
    _check_style(device, style)
    traits = core_traits(device)
    prices = action_prices(device)
    choices = {}
    if style == "int8" and options.int8_kernels != "library":
        from hwsim.cost.int8_choice import int8_kernel_choices
        choices = int8_kernel_choices(graph, device, options)
    elif style == "lut" and options.lut_kernels == "library":
        from hwsim.cost.lut_choice import lut_kernel_choices
        choices = lut_kernel_choices(graph, device, options)
    nodes, summed = [], {}
    for node in execution_order(graph):
        attrs = graph.nodes[node]["op"]
        choice = choices.get(node)
        kernel = choice.kernel if choice else None
        actions = (choice.chosen.actions if choice else
                   node_actions(graph, node, style, traits, options, kernel))
        cycles, by_class, energy = combine(actions, prices)
        nodes.append(NodeCost(node, attrs.kind, getattr(attrs, "layer_index", None),
                              int(getattr(attrs, "connections", 0)), actions, cycles, by_class,
                              energy, node_basis(graph, node, style, traits, options, kernel),
                              kernel or _library_kernel(attrs, style, traits, options)))
        for action, count in actions.items():
            summed[action] = summed.get(action, 0.0) + count
    total, by_class, energy = combine(summed, prices)
    connections = totals(graph)["connections"]
    return CostReport(style, device.name, str(graph.graph.get("name")), device.core.clock_hz,
                      options, tuple(nodes), total, energy, connections,
                      total / connections if connections else float("nan"), by_class, summed,
                      _notes(device, style, options, summed, prices,
                             INT8_INPUT_BITS in graph.graph))


def _library_kernel(attrs, style: str, traits, options: CostOptions) -> str | None:
    """The kernel of an int8 weighted node without a per-node choice (int8_kernels
    "library"): the library's preferred one where its data covers the core."""
    if style != "int8" or attrs.kind not in WEIGHTED:
        return None
    from hwsim.cost.int8_library import covers, preferred_kernel
    return preferred_kernel(attrs, traits) if covers(traits) else REFERENCE


def static_energy_pj(device: Device, seconds: float) -> float:
    """Sleep energy over `seconds`: sleep_ua x supply_v x time (1 uA x 1 V x 1 s = 1e6 pJ)."""
    if seconds < 0:
        raise HwsimError(f"seconds must be >= 0, got {seconds!r}")
    return device.energy.sleep_ua * device.energy.supply_v * seconds * 1e6


def dense_layer_workload(inputs: int = 256, units: int = 128, *, levels: int = 32,
                         clusters: int = 256, table_entry_bits: int = 16,
                         accumulator_bits: int = 32):
    """A shape-only workload of one dense layer (input [inputs] -> dense units),
    classification: the paper's 256x128 calibration layer by default."""
    from hwsim.specs.workload import workload_from_data
    return workload_from_data({
        "schema_version": 1, "name": f"dense-{inputs}x{units}",
        "description": f"one dense layer, {inputs} inputs, {units} units (cost calibration)",
        "task": "classification", "dataset": "none",
        "input": {"shape": [inputs], "levels": levels},
        "layers": [{"type": "dense", "units": units}],
        "discretization": {"activation_levels": levels, "weight_clusters": clusters,
                           "cluster_scope": "global"},
        "integer": {"accumulator_bits": accumulator_bits, "table_entry_bits": table_entry_bits},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 1, "learning_rate": 0.001,
                     "cluster_interval_steps": 1, "seed": 0},
        "realtime": {"frame_period_ms": 1000, "deadline_ms": 1000},
    }, "<dense_layer_workload>")
