"""The cost model: cycles and dynamic energy of one inference, node by node, for
the lut (the paper's method), int8 and float32 arithmetic styles.

Accelergy's split, in three pure pieces:
- hwsim.cost_actions.node_actions: action counts derived from the graph (how
  many loads, adds, branches, multiplies, soft-float calls ...);
- `action_prices`: what one action costs on a device, in cycles and pJ, read
  from the device file (plus documented estimates for the few routines a device
  file may leave out);
- `combine`: counts x prices, summed, and split by action class.

`cost_graph(graph, device, style, options)` runs the three over a graph and
returns a `CostReport`. Formulas, assumed instruction sequences and sources:
docs/cost-model.md. Static (sleep) energy over a frame is the scheduler's; the
helper `static_energy_pj` is here for convenience.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from hwsim.cost_actions import STYLES, Actions, CostOptions, core_traits, node_actions
from hwsim.cost_shapes import shape_for
from hwsim.device import Device
from hwsim.errors import HwsimError
from hwsim.graph import execution_order, totals

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

ACTION_CLASSES = ("load", "store", "alu", "branch", "multiply", "float", "call")

# Named actions that are not rows of the device's cycle table.
_EXTRA_CLASS = {
    "flash_wait": "load",             # extra cycles of a load from flash/FRAM/MRAM/XIP
    "literal_load": "load",           # a constant or address from the literal pool (flash)
    "loop_overhead": "branch",        # index/pointer steps + compare + taken branch
    "loop_last": "branch",            # the same, the last iteration: the branch falls through
    "stack_word": "call",             # one register saved or restored by a prologue/epilogue
    "stack_load": "load",             # a value reloaded from the stack (register pressure)
    "stack_store": "store",           # a value spilled to the stack
    "soft_mul_call": "call",          # __mulsi3 call, return and set-up
    "soft_mul_bit": "multiply",       # one iteration of its shift-and-add loop
    "float_compare": "float",
}

# Composite actions, priced as the sum of their parts on the device.
RECIPES: dict[str, Actions] = {
    "float_compare": {"float_add": 1.0, "alu": 1.0},           # VCMP + VMRS
}


def family_recipes(device: Device) -> dict[str, Actions]:
    """Composite actions whose instruction sequence depends on the ISA family
    (hwsim.cost_shapes): loop control; a stack word (one register of a PUSH/POP/LDM/STM,
    1 + N cycles on Cortex-M, or one SW/LW on RISC-V); a literal-pool load; and, on
    RV32 without a multiplier, libgcc's __mulsi3 from its instruction sequence
    (mv, li; per bit of the second operand: andi, beqz (taken when the bit is 0),
    add (when 1), srli, slli, bnez (taken but for the last bit); ret) with half the
    bits set."""
    shape = shape_for(device.core.isa)
    recipes = {"loop_overhead": {"alu": shape.loop_alu, "branch_taken": 1.0},
               "loop_last": {"alu": shape.loop_alu, "branch_not_taken": 1.0},
               "literal_load": {"load_32": 1.0, "flash_wait": 1.0},
               "stack_load": {"load_32": 1.0}, "stack_store": {"store_32": 1.0}}
    if shape.family == "rv32":
        recipes["stack_word"] = {"load_32": 0.5, "store_32": 0.5}
        if device.core.multiplier == "none":
            recipes["soft_mul_call"] = {"call_return": 1.0, "alu": 2.0, "branch_taken": -1.0,
                                        "branch_not_taken": 1.0}
            recipes["soft_mul_bit"] = {"alu": 3.5, "branch_taken": 1.5, "branch_not_taken": 0.5}
    else:
        recipes["stack_word"] = {"load_32": 0.5, "store_32": 0.5, "alu": -1.0}
    return recipes

# Estimates used only when the device file does not give the routine. Sources and
# derivations in docs/cost-model.md ("Estimated routines").
EXPF_SOFT_MACS = 1930 / (166 + 102)   # expf = 7.2 x (fmul + fadd): Cortex-M0 libgcc, devices.md D
ESTIMATES: dict[str, Actions] = {
    # tanh(x) = 1 - 2 / (exp(2x) + 1): expf plus 1 fmul, 2 fadd, 1 fdiv.
    "soft_float_tanh": {"soft_float_mul": EXPF_SOFT_MACS + 1, "soft_float_add": EXPF_SOFT_MACS + 2,
                        "soft_float_div": 1.0},
    "float_tanh": {"float_mul": EXPF_SOFT_MACS + 1, "float_add": EXPF_SOFT_MACS + 2,
                   "float_div": 1.0, "call_return": 1.0, "alu": 20.0},
    "soft_float_div": {"soft_float_mul": 475 / 166},             # libgcc M0 ratio fdiv / fmul
    "soft_float_compare": {"soft_float_add": 1.0},               # upper bound: same unpacking
    "float_div": {"float_mul": 7.0, "float_add": 3.0},           # Newton-Raphson reciprocal
}


def action_class(action: str) -> str:
    """The class an action is reported under: load, store, alu, branch, multiply
    (and divide), float (FPU and soft-float) or call."""
    if action in _EXTRA_CLASS:
        return _EXTRA_CLASS[action]
    if action.startswith("load_"):
        return "load"
    if action.startswith("store_"):
        return "store"
    if action.startswith("branch_"):
        return "branch"
    if action in ("mul", "mac", "simd_mac", "div"):
        return "multiply"
    if action.startswith(("float_", "soft_float_")):
        return "float"
    if action == "call_return":
        return "call"
    if action == "alu":
        return "alu"
    raise HwsimError(f"unknown action {action!r}")



@dataclass(frozen=True)
class ActionPrice:
    """One action on one device: cycles, dynamic energy, and whether the figure is
    an estimate of a routine the device file does not give."""
    cycles: float
    energy_pj: float
    estimated: bool = False


def _base_prices(device: Device) -> dict[str, ActionPrice]:
    pj_per_cycle = device.energy.active_pj_per_cycle
    given = device.energy.pj_per_action
    prices = {action: ActionPrice(cycles, given.get(action, cycles * pj_per_cycle))
              for action, cycles in device.cycles.items()}

    def per_cycle(cycles: float) -> ActionPrice:
        return ActionPrice(cycles, cycles * pj_per_cycle)

    prices["flash_wait"] = per_cycle(device.memory.flash_load_extra_cycles)
    if device.soft_multiply is not None:
        prices["soft_mul_call"] = per_cycle(device.soft_multiply.call_cycles)
        prices["soft_mul_bit"] = per_cycle(device.soft_multiply.cycles_per_bit)
    for routine, cycles in (device.soft_float_cycles or {}).items():
        prices[f"soft_float_{routine}"] = per_cycle(cycles)
    return prices


def action_prices(device: Device) -> dict[str, ActionPrice]:
    """Cycles and pJ of every action the device can price: its cycle table (energy
    from energy.pj_per_action where given, else cycles x active pJ/cycle), flash
    waits, the software multiply and soft-float routines, the composite actions,
    and estimates for routines the file leaves out."""
    prices = _base_prices(device)

    def composite(recipe: Actions) -> ActionPrice | None:
        parts = [(prices.get(a), n) for a, n in recipe.items()]
        if any(p is None for p, _ in parts):
            return None
        return ActionPrice(sum(p.cycles * n for p, n in parts),
                           sum(p.energy_pj * n for p, n in parts),
                           any(p.estimated for p, _ in parts))

    for action, recipe in {**RECIPES, **family_recipes(device)}.items():
        price = composite(recipe)
        if price is not None:
            prices[action] = price
    # Estimates may build on each other (tanh uses div): order matters.
    for action in ("soft_float_div", "soft_float_compare", "float_div", "soft_float_tanh",
                   "float_tanh"):
        if action not in prices:
            price = composite(ESTIMATES[action])
            if price is not None:
                prices[action] = ActionPrice(price.cycles, price.energy_pj, True)
    return prices


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
                           "energy_pj": n.energy_pj} for n in self.nodes]}


def _check_style(device: Device, style: str) -> None:
    if style not in STYLES:
        raise HwsimError(f"unknown arithmetic style {style!r}; one of {', '.join(STYLES)}")
    if style == "float32" and device.core.fpu == "none":
        missing = [r for r in ("add", "mul") if r not in (device.soft_float_cycles or {})]
        if missing:
            raise HwsimError(f"device {device.name!r}: float32 needs an FPU or soft-float "
                             f"costs; soft_float lacks {', '.join(missing)}")


def _notes(device: Device, style: str, options: CostOptions, actions: Actions,
           prices: dict[str, ActionPrice]) -> tuple[str, ...]:
    notes = [f"{a} estimated (the device file does not give it): {prices[a].cycles:.0f} cycles"
             for a in sorted(actions) if prices[a].estimated]
    if "soft_mul_bit" in actions:
        bits = options.multiplier_operand_bits
        k = (f"a {bits}-bit" if bits is not None else
             "an 8-bit (first layer) or 7-bit (hidden layers)")
        notes.append(f"software multiply (__mulsi3) priced for {k} second operand; a negative "
                     "(sign-extended) operand costs 32 bits")
    if actions.get("flash_wait") and device.memory.flash_kind == "external_xip":
        notes.append("every flash load pays the XIP streaming penalty; data kept hot in the "
                     "XIP cache, or placed in SRAM (tables_in / weights_in='sram'), costs less")
    return tuple(notes)


def cost_graph(graph: nx.DiGraph, device: Device, style: str,
               options: CostOptions | None = None) -> CostReport:
    """Cycles and dynamic energy of one inference of `graph` on one core of `device`."""
    options = options or CostOptions()
    _check_style(device, style)
    traits = core_traits(device)
    prices = action_prices(device)
    nodes, summed = [], {}
    for node in execution_order(graph):
        attrs = graph.nodes[node]
        actions = node_actions(graph, node, style, traits, options)
        cycles, by_class, energy = combine(actions, prices)
        nodes.append(NodeCost(node, attrs["op"], attrs.get("layer_index"),
                              int(attrs.get("connections", 0)), actions, cycles, by_class, energy))
        for action, count in actions.items():
            summed[action] = summed.get(action, 0.0) + count
    total, by_class, energy = combine(summed, prices)
    connections = totals(graph)["connections"]
    return CostReport(style, device.name, str(graph.graph.get("name")), device.core.clock_hz,
                      options, tuple(nodes), total, energy, connections,
                      total / connections if connections else float("nan"), by_class, summed,
                      _notes(device, style, options, summed, prices))


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
    from hwsim.workload import workload_from_data
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
