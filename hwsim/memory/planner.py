"""Memory of a deployed network on a device: tensor lifetimes from the schedule, an
arena plan, scratch buffers, parameter memory per arithmetic style, the device's
reserved memory; peak RAM and flash and whether they fit. docs/memory.md explains
every rule and number here.

    report = plan_memory(graph, device, "lut", MemoryOptions(activations="packed"))
    report.ram_bytes, report.fits_ram, report.ram_margin_bytes, report.ram_lines
    memory_timeline(graph, report)        # [(node, live arena bytes), ...]
    compare_styles(graph, device)         # lut / int8 / float32 side by side

Longer than 300 lines: every memory rule of docs/memory.md (lifetimes, fusion, scratch,
parameters per style, reserved memory) lives here, so the document has one counterpart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

from hwsim.memory.code_bytes import code_size
from hwsim.memory.lut_layout import TABLE_LINES, lut_library, lut_parameter_bytes
from hwsim.memory.scratch import INT8_CHOICES, lut_grouped_scratch_bytes, scratch_bytes
from hwsim.memory.arena import (METHODS, ArenaPlan, Buffer, chain_conflict, live_bytes_per_step,
                         plan_arena)
from hwsim.specs.device import Device
from hwsim.errors import HwsimError
from hwsim.ir.style import STYLES
from hwsim.ir.graph import execution_order

LUT_KERNELS = ("library", "loops")
WEIGHT_INDEX_LAYOUTS = ("auto", "aligned", "packed")

ALIAS_OPS = ("flatten", "output_table")   # views of their input: no buffer of their own

INT8_REQUANT_BYTES_PER_CHANNEL = 8        # int32 multiplier + int32 shift
INT8_ADD_PARAM_BYTES = 24                 # multiplier + shift for both inputs and the output


@dataclass(frozen=True)
class MemoryOptions:
    """How the network is laid out. `activations` and `tables_in` concern the lut style.

    activations: "bytes" (one byte per level index) or "packed" (ceil(log2 L) bits).
    tables_in: "flash"; "sram" (tables, thresholds and value tables in SRAM only, loaded
        at boot from outside internal flash); "sram_from_flash" (in SRAM, copied at boot
        from an image kept in flash: counted in both).
    materialise_sums: lut style: store a weighted layer's (or add's) sums in a buffer
        before its threshold instead of fusing the threshold into the kernel; adds are
        not fused either. (int8 and float32 always fuse the activation, as TFLite Micro.)
    fuse_adds: lut style: a weighted layer whose sums go only into an add is computed
        inside the add's kernel, so its sums are never stored.
    scratch: plan the int8/float32 kernels' scratch buffers in the arena.
    planner: "auto", "greedy_by_size" or "chain_exact" (hwsim.memory.arena).
    alignment_bytes: every buffer size rounded up to this (TFLite Micro uses 16).
    include_code: add the code size to flash (measured where the target has a code
        record, else an estimate: hwsim.memory.code_bytes).
    int8_kernels: (node, kernel) pairs, the int8 weighted nodes' kernels as the cost model
        chose them (hwsim.cost.model.CostReport.int8_kernels); a node not listed: the int8
        library's preferred kernel (hwsim.ir.int8_kernels).
    lut_kernels: lut style: "library" (weighted layers call the lut kernel library where it
        has a build for the device's ISA, as generated; hwsim.memory.lut_layout) or "loops"
        (the per-layer loops); evaluate hands over what the cost model prices
        (hwsim.cost.lut_library.device_lut_kernels).
    weight_indices: lut style: with the library, which weighted layers store packed codes
        is `lut_grouped`'s (the cost model's choice, hwsim.cost.lut_choice: "auto" packs
        where it is faster or the network would not otherwise fit flash, "packed" wherever K allows,
        "aligned" never); with the per-layer loops "packed" is the what-if of
        ceil(log2 K)-bit indices, which no generated loop reads.
    lut_grouped: lut style: (node, kernel) pairs of the weighted nodes as the cost model
        chose their kernels (the grouped dense kernel or packed
        weight codes, CostReport.lut_chosen; a byte-code call or a node not listed: byte
        codes): their layout and scratch.
    """

    activations: str = "bytes"
    tables_in: str = "flash"
    materialise_sums: bool = False
    fuse_adds: bool = True
    scratch: bool = True
    planner: str = "auto"
    alignment_bytes: int = 1
    include_code: bool = True
    int8_kernels: tuple[tuple[str, str], ...] = ()
    lut_kernels: str = "library"
    weight_indices: str = "auto"
    lut_grouped: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "int8_kernels", tuple(tuple(p) for p in self.int8_kernels))
        object.__setattr__(self, "lut_grouped", tuple(tuple(p) for p in self.lut_grouped))
        problems = []
        choices = {"activations": ("bytes", "packed"),
                   "tables_in": ("flash", "sram", "sram_from_flash"), "planner": METHODS,
                   "lut_kernels": LUT_KERNELS, "weight_indices": WEIGHT_INDEX_LAYOUTS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, "
                                f"got {getattr(self, name)!r}")
        for name in ("materialise_sums", "fuse_adds", "scratch", "include_code"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.alignment_bytes, int) or isinstance(self.alignment_bytes, bool) \
                or self.alignment_bytes < 1:
            problems.append(f"alignment_bytes must be an int >= 1, got {self.alignment_bytes!r}")
        bad = [p for p in self.int8_kernels if len(p) != 2 or p[1] not in INT8_CHOICES]
        if bad:
            problems.append(f"int8_kernels: each entry is (node, kernel) with kernel one of "
                            f"{', '.join(INT8_CHOICES)}, got {list(bad[0])!r}")
        if problems:
            raise HwsimError("MemoryOptions: " + "; ".join(problems))


@dataclass(frozen=True)
class TensorBuffer:
    """One arena buffer: a tensor (kind "activation": the output of `nodes[0]`, shared
    by the views in `nodes[1:]`) or a kernel's scratch (kind "scratch")."""

    name: str
    kind: str
    nodes: tuple[str, ...]
    size_bytes: int
    first_step: int
    last_step: int
    offset_bytes: int = 0


@dataclass(frozen=True)
class MemoryLine:
    """One line of a breakdown. `estimate`: not derived from the graph or measured data
    (the code size of a target without a code record, hwsim.memory.code_bytes)."""

    name: str
    bytes: int
    estimate: bool = False


@dataclass(frozen=True)
class MemoryReport:
    graph: str
    device: str
    style: str
    options: MemoryOptions
    steps: tuple[tuple[str, int], ...]           # (node, step) in execution order
    buffers: tuple[TensorBuffer, ...]            # with their arena offsets
    plan: ArenaPlan                              # activations and scratch
    activation_plan: ArenaPlan                   # activations only
    ram_lines: tuple[MemoryLine, ...]
    flash_lines: tuple[MemoryLine, ...]
    parameter_bytes: int                         # weights as deployed (see param_lines)
    param_lines: tuple[MemoryLine, ...]
    reserved_sram_bytes: int
    reserved_flash_bytes: int
    device_sram_bytes: int                       # the device's SRAM
    device_flash_bytes: int                      # the device's flash
    notes: tuple[str, ...] = field(default=())

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    @property
    def lower_bound_bytes(self) -> int:
        return self.plan.lower_bound_bytes

    @property
    def ram_bytes(self) -> int:
        return sum(line.bytes for line in self.ram_lines)

    @property
    def flash_bytes(self) -> int:
        return sum(line.bytes for line in self.flash_lines)

    @property
    def static_ram_bytes(self) -> int:
        """RAM in use at every step: everything but the arena."""
        return self.ram_bytes - self.arena_bytes

    @property
    def network_ram_bytes(self) -> int:
        return self.ram_bytes - self.reserved_sram_bytes

    @property
    def network_flash_bytes(self) -> int:
        return self.flash_bytes - self.reserved_flash_bytes

    @property
    def ram_margin_bytes(self) -> int:
        """Device SRAM minus what is needed (negative: short by that much)."""
        return self.device_sram_bytes - self.ram_bytes

    @property
    def flash_margin_bytes(self) -> int:
        return self.device_flash_bytes - self.flash_bytes

    @property
    def fits_ram(self) -> bool:
        return self.ram_margin_bytes >= 0

    @property
    def fits_flash(self) -> bool:
        return self.flash_margin_bytes >= 0

    @property
    def fits(self) -> bool:
        return self.fits_ram and self.fits_flash

    def __repr__(self) -> str:
        return (f"MemoryReport({self.graph} on {self.device}, {self.style}: RAM {self.ram_bytes} B "
                f"(margin {self.ram_margin_bytes}), flash {self.flash_bytes} B "
                f"(margin {self.flash_margin_bytes}), arena {self.arena_bytes} B by "
                f"{self.plan.method}, lower bound {self.lower_bound_bytes} B)")


@dataclass(frozen=True)
class StyleComparison:
    lut: MemoryReport
    int8: MemoryReport
    float32: MemoryReport

    def report(self, style: str) -> MemoryReport:
        if style not in STYLES:
            raise HwsimError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        return getattr(self, style)

    def ratio_to_float32(self, style: str, what: str) -> float:
        """`what`: "parameters" (weights as deployed), "flash" or "ram" (the network's
        own, reserved memory excluded)."""
        attribute = {"parameters": "parameter_bytes", "flash": "network_flash_bytes",
                     "ram": "network_ram_bytes"}
        if what not in attribute:
            raise HwsimError(f"what must be one of {', '.join(attribute)}, got {what!r}")
        return (getattr(self.report(style), attribute[what])
                / getattr(self.float32, attribute[what]))

    @property
    def lut_parameters_below_third_of_float32(self) -> bool:
        return self.ratio_to_float32("lut", "parameters") < 1 / 3


def _fused_steps(g: nx.DiGraph, order: list[str], style: str, options: MemoryOptions):
    """Step of each node, and the nodes whose sums are never stored (fused).

    Fused into one kernel, sharing one step: a weighted layer (or add) and the
    threshold that is the only consumer of its sums (all styles; the lut style keeps
    them apart with `materialise_sums`); in the lut style with `fuse_adds`, also the
    weighted layers whose sums go only into an add, with the add. A group's step is
    taken when its last node (in execution order) runs: what any member reads stays
    live until then."""
    group = {node: node for node in order}

    def root(node: str) -> str:
        while group[node] != node:
            node = group[node]
        return node

    lut_apart = style == "lut" and options.materialise_sums
    fused: set[str] = set()
    for node in order:
        op = g.nodes[node]["op"].kind
        for p in g.predecessors(node):
            if g.edges[p, node]["kind"] != "sums" or g.out_degree(p) != 1:
                continue
            if (op == "threshold" and not lut_apart) or (
                    op == "add" and style == "lut" and options.fuse_adds and not lut_apart
                    and g.nodes[p]["op"].weighted):
                group[root(p)] = root(node)
                fused.add(p)
    last = {root(node): node for node in order}          # the last member of each group
    step: dict[str, int] = {}
    count = -1
    for node in order:
        if last[root(node)] == node:
            count += 1
            step[root(node)] = count
    return {node: step[root(node)] for node in order}, fused


def _tensor_bytes(g: nx.DiGraph, node: str, style: str, options: MemoryOptions) -> int:
    consumers = list(g.successors(node))
    edge = g.edges[node, consumers[0]]
    elements = edge["elements"]
    if style == "float32":
        return 4 * elements
    if edge["kind"] == "sums":
        if style == "lut":
            return elements * math.ceil(g.graph["accumulator_bits"] / 8)
        return elements                   # requantized to int8 (an add's or argmax's input)
    if style == "lut" and options.activations == "packed":
        return edge["packed_bytes"]
    return elements


def tensor_buffers(g: nx.DiGraph, style: str, options: MemoryOptions | None = None,
                   with_scratch: bool | None = None) -> tuple[TensorBuffer, ...]:
    """The arena buffers of graph `g` in `style`, with lifetimes in steps (offsets 0).
    `with_scratch` defaults to `options.scratch`."""
    options = options or MemoryOptions()
    return _layout(g, style, options, options.scratch if with_scratch is None else with_scratch)[2]


def _layout(g: nx.DiGraph, style: str, options: MemoryOptions, with_scratch: bool):
    """(execution order, step of each node, buffers)."""
    if style not in STYLES:
        raise HwsimError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    order = execution_order(g)
    step, fused = _fused_steps(g, order, style, options)
    owner: dict[str, str | None] = {}
    members: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    last: dict[str, int] = {}
    scratch = []
    for node in order:
        attrs = g.nodes[node]["op"]
        preds = list(g.predecessors(node))
        for p in preds:
            if owner[p] is not None:
                last[owner[p]] = max(last[owner[p]], step[node])
        if attrs.kind in ALIAS_OPS:
            owner[node] = owner[preds[0]]
            if owner[node] is not None:
                members[owner[node]].append(node)
        elif attrs.kind == "argmax" or node in fused or g.out_degree(node) == 0:
            owner[node] = None
        else:
            owner[node] = node
            members[node] = [node]
            size[node] = _tensor_bytes(g, node, style, options)
            last[node] = step[node]
        extra = (scratch_bytes(attrs, style, dict(options.int8_kernels).get(node))
                 + lut_grouped_scratch_bytes(g, node, dict(options.lut_grouped).get(node))
                 if with_scratch else 0)
        if extra:
            scratch.append(TensorBuffer(f"scratch:{node}", "scratch", (node,), extra,
                                        step[node], step[node]))
    tensors = [TensorBuffer(name, "activation", tuple(nodes), size[name], step[name], last[name])
               for name, nodes in members.items()]
    return order, step, tuple(tensors + scratch)


def _arena(buffers: tuple[TensorBuffer, ...], options: MemoryOptions) -> ArenaPlan:
    plain = [Buffer(b.name, b.size_bytes, b.first_step, b.last_step) for b in buffers]
    return plan_arena(plain, options.planner, options.alignment_bytes)


def parameter_lines(g: nx.DiGraph, style: str, device: Device | None = None,
                    options: MemoryOptions | None = None) -> tuple[MemoryLine, ...]:
    """Bytes of the network's parameters as deployed in `style` (lut: as the code
    generated for `device` stores them, hwsim.memory.lut_layout)."""
    nodes = [a for _, a in g.nodes(data="op")]
    lut = [a for a in nodes if a.weighted]
    weights = sum(a.weights for a in lut)
    biases = sum(a.biases for a in lut)
    if style == "float32":
        return (MemoryLine("weights (float32)", 4 * weights),
                MemoryLine("biases (float32)", 4 * biases))
    if style == "int8":
        channels = sum(a.output_shape[-1] for a in lut)
        adds = sum(1 for a in nodes if a.kind == "add")
        return (MemoryLine("weights (int8)", weights), MemoryLine("biases (int32)", 4 * biases),
                MemoryLine("requantization (multiplier + shift)",
                           INT8_REQUANT_BYTES_PER_CHANNEL * channels + INT8_ADD_PARAM_BYTES * adds))
    options = options or MemoryOptions()
    return tuple(MemoryLine(name, size) for name, size in
                 lut_parameter_bytes(g, lut_library(device, options), options.lut_grouped))


def plan_memory(g: nx.DiGraph, device: Device, style: str,
                options: MemoryOptions | None = None) -> MemoryReport:
    """RAM and flash of graph `g` on `device` in arithmetic `style` (lut, int8, float32).
    A network that does not fit is not an error: see `fits_ram` and the margins."""
    options = options or MemoryOptions()
    order, step, buffers = _layout(g, style, options, options.scratch)
    activations = tuple(b for b in buffers if b.kind == "activation")
    plan = _arena(buffers, options)
    activation_plan = _arena(activations, options) if len(activations) < len(buffers) else plan
    placed = tuple(TensorBuffer(b.name, b.kind, b.nodes, b.size_bytes, b.first_step, b.last_step,
                                plan.offsets_bytes[i]) for i, b in enumerate(buffers))
    params = parameter_lines(g, style, device, options)
    moved = style == "lut" and options.tables_in != "flash"
    sram_params, flash_params = [], []
    for p in params:
        if not (moved and p.name in TABLE_LINES):
            flash_params.append(p)
            continue
        sram_params.append(MemoryLine(f"{p.name} (in SRAM)", p.bytes))
        if options.tables_in == "sram_from_flash":
            flash_params.append(MemoryLine(f"{p.name} (boot image)", p.bytes))
    mem = device.memory
    # Scratch: what planning the scratch buffers into the arena added to it.
    activation_arena = min(activation_plan.arena_bytes, plan.arena_bytes)
    ram = [MemoryLine("arena: activations", activation_arena),
           MemoryLine("arena: scratch", plan.arena_bytes - activation_arena),
           *sram_params,
           MemoryLine("reserved (rest of the firmware)", mem.reserved_sram_bytes)]
    flash = [*flash_params, MemoryLine("reserved (rest of the firmware)", mem.reserved_flash_bytes)]
    if options.include_code:
        code = code_size(g, style, device, options.int8_kernels, options.lut_kernels,
                         options.lut_grouped)
        flash.append(MemoryLine("code" if code.measured else "code (estimate)", code.bytes,
                                estimate=not code.measured))
    notes = []
    if options.planner == "auto" and plan.method != "chain_exact":
        notes.append(f"not a chain ({chain_conflict(plan.buffers)}): greedy_by_size used")
    return MemoryReport(
        graph=g.graph.get("name", "?"), device=device.name, style=style, options=options,
        steps=tuple((n, step[n]) for n in order), buffers=placed, plan=plan,
        activation_plan=activation_plan, ram_lines=tuple(ram), flash_lines=tuple(flash),
        parameter_bytes=sum(p.bytes for p in params), param_lines=params,
        reserved_sram_bytes=mem.reserved_sram_bytes, reserved_flash_bytes=mem.reserved_flash_bytes,
        device_sram_bytes=mem.sram_bytes, device_flash_bytes=mem.flash_bytes, notes=tuple(notes))


def memory_timeline(g: nx.DiGraph, report: MemoryReport) -> list[tuple[str, int]]:
    """Arena bytes live at each node's step, in execution order (a fused threshold
    shares its kernel's step). Add `report.static_ram_bytes` for the whole RAM."""
    order = execution_order(g)
    if tuple(order) != tuple(n for n, _ in report.steps):
        raise HwsimError(f"memory_timeline: the report is for graph {report.graph!r}, whose "
                         f"execution order differs from graph {g.graph.get('name')!r}")
    live = live_bytes_per_step(report.plan.buffers, report.plan.alignment_bytes)
    return [(node, live[step] if step < len(live) else 0) for node, step in report.steps]


def compare_styles(g: nx.DiGraph, device: Device,
                   options: MemoryOptions | None = None) -> StyleComparison:
    """The three styles' reports; `ratio_to_float32` compares them."""
    options = options or MemoryOptions()
    return StyleComparison(*(plan_memory(g, device, style, options) for style in STYLES))

