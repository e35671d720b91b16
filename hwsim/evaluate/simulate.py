"""Put a network on a device: cost model + memory planner + simpy schedule, and
the answers a user comes for (fits RAM, flash and deadline, each with its margin;
latency, cycles, energy per inference, average power, battery life)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx

from hwsim.ir.integer import check_accumulator
from hwsim.cost.model import CostReport, cost_graph
from hwsim.cost.actions import CostOptions
from hwsim.specs.device import Device
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.memory.planner import MemoryOptions, MemoryReport, plan_memory
from hwsim.schedule.scheduler import ScheduleOptions, ScheduleResult, schedule_frames
from hwsim.errors import HwsimError
from hwsim.importers.network import import_network, is_model_path, load_network
from hwsim.specs.workload import Realtime



@dataclass(frozen=True)
class Subject:
    """What is simulated: a graph and its real-time cadence."""
    label: str
    kind: str            # "artifact" or "workload" (random weights of the right kind)
    graph: nx.DiGraph
    realtime: Realtime
    notes: tuple[str, ...] = ()   # e.g. what an imported model's mapping dropped


@dataclass(frozen=True)
class Fit:
    check: str           # "ram", "flash" or "deadline"
    fits: bool
    margin: float        # bytes (ram, flash) or ms (deadline); negative: short by that much
    unit: str


@dataclass(frozen=True)
class Simulation:
    subject: str
    device: str
    style: str
    cost: CostReport
    memory: MemoryReport
    schedule: ScheduleResult
    fits: tuple[Fit, ...]
    notes: tuple[str, ...] = ()   # the subject's

    @property
    def fits_all(self) -> bool:
        return all(f.fits for f in self.fits)

    def summary(self) -> dict:
        """The headline numbers, JSON-ready, units in names."""
        s = self.schedule
        return {
            "subject": self.subject, "device": self.device, "style": self.style,
            "fits": {f.check: {"fits": f.fits, f"margin_{f.unit}": f.margin} for f in self.fits},
            "cycles_per_inference": self.cost.total_cycles,
            "cycles_per_connection": self.cost.cycles_per_connection,
            "latency_ms_max": max(s.latency_ms) if s.latency_ms else None,
            "deadline_misses": s.deadline_misses,
            "utilisation": list(s.utilisation),
            "energy_per_inference_uj": s.energy_per_inference_pj / 1e6,
            "average_power_uw": s.average_power_uw,
            "battery_life_hours": s.battery_life_hours,
            "ram_bytes": self.memory.ram_bytes, "flash_bytes": self.memory.flash_bytes,
            "notes": list(self.notes) + list(self.cost.notes) + list(self.memory.notes) + list(s.warnings),
        }


def load_subject(name_or_path: str, seed: int = 0, *, levels: int | None = None,
                 clusters: int | None = None) -> Subject:
    """A trained artifact directory, or a workload (bundled name, YAML path, or a
    .tflite/.onnx model file imported as one) costed with random weights of its kind;
    `levels`/`clusters` override the workload's L and K."""
    path = Path(name_or_path)
    if path.is_dir():
        from hwsim.artifact.load import load_artifact    # (and the trainer's export): artifacts only
        if levels is not None or clusters is not None:
            raise HwsimError(f"{path}: a trained artifact has its own L and K; --levels and "
                             "--clusters apply to workloads and models")
        artifact = load_artifact(path)
        if artifact.integer_model is not None:     # the loader proves it too; kept explicit
            check_accumulator(artifact.integer_model, str(path))
        return Subject(str(path), "artifact", graph_from_artifact(artifact),
                       artifact.workload.realtime)
    if is_model_path(name_or_path):
        imported = import_network(name_or_path, levels=levels, clusters=clusters)
        workload = imported.workload
        return Subject(workload.name, "workload", graph_from_workload(workload, seed),
                       workload.realtime, imported.notes)
    workload = load_network(name_or_path, levels=levels, clusters=clusters)
    return Subject(workload.name, "workload", graph_from_workload(workload, seed),
                   workload.realtime)


def streamed_bytes(graph: nx.DiGraph, style: str) -> dict[str, int]:
    """Per weighted node, the bytes of weights (and, for lut, its table) to move into
    SRAM before it runs when they are not executed in place."""
    entry = graph.graph["table_entry_bits"] // 8
    out = {}
    for node, a in graph.nodes(data="op"):
        if not a.weighted:
            continue
        if style == "lut":
            rows, k = a.table_shape
            out[node] = math.ceil(a.params * a.index_bits / 8) + rows * k * entry
        elif style == "int8":
            out[node] = a.weights + 4 * a.biases
        else:
            out[node] = 4 * a.params
    return out


def _output_buffers(memory: MemoryReport) -> dict[str, int]:
    return {b.nodes[0]: b.size_bytes for b in memory.buffers if b.kind == "activation"}


def described_memory(cost: CostReport, device: Device,
                     memory_options: MemoryOptions | None = None) -> MemoryOptions:
    """Memory options that describe the code the cost model priced: the scratch of the
    int8 kernels it chose, and the lut layers' stored layout (the lut kernel library or
    the per-layer loops, hwsim.cost.lut_library.device_lut_kernels; the weight index
    layout)."""
    from hwsim.cost.lut_library import device_lut_kernels
    from hwsim.cost.options import core_traits
    return replace(memory_options or MemoryOptions(), int8_kernels=cost.int8_kernels,
                   lut_grouped=cost.lut_chosen,
                   lut_kernels=device_lut_kernels(core_traits(device), cost.options),
                   weight_indices=cost.options.weight_indices)


def simulate(subject: Subject, device: Device, style: str, *,
             cost_options: CostOptions | None = None,
             memory_options: MemoryOptions | None = None,
             schedule_options: ScheduleOptions | None = None,
             stream_weights: bool = False) -> Simulation:
    """Cost, plan and schedule one subject on one device in one arithmetic style.
    stream_weights: weights and tables are moved to SRAM before each layer (by DMA
    where the device has it) and read from SRAM, instead of read in place."""
    cost_options = cost_options or CostOptions()
    if stream_weights:
        cost_options = CostOptions(**{**cost_options.__dict__, "tables_in": "sram",
                                      "weights_in": "sram"})
    cost = cost_graph(subject.graph, device, style, cost_options)
    memory_options = described_memory(cost, device, memory_options)
    memory = plan_memory(subject.graph, device, style, memory_options)
    node_cycles = {n.node: math.ceil(n.cycles) for n in cost.nodes}
    schedule = schedule_frames(subject.graph, device, subject.realtime, node_cycles,
                            node_energy_pj={n.node: n.energy_pj for n in cost.nodes},
                            node_dma_bytes=streamed_bytes(subject.graph, style)
                            if stream_weights else None,
                            buffer_bytes=_output_buffers(memory),
                            options=schedule_options or ScheduleOptions())
    worst_ms = max(schedule.latency_ms) if schedule.latency_ms else math.inf
    fits = (Fit("ram", memory.fits_ram, memory.ram_margin_bytes, "bytes"),
            Fit("flash", memory.fits_flash, memory.flash_margin_bytes, "bytes"),
            Fit("deadline", schedule.deadline_misses == 0,
                round(subject.realtime.deadline_ms - worst_ms, 6), "ms"))
    return Simulation(subject.label, device.name, style, cost, memory, schedule, fits,
                      subject.notes)
