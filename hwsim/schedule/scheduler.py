"""Schedule a network's op graph on a device, frame after frame, in integer cycles.

`schedule_frames` takes the per-node costs as plain mappings (the caller glues the cost
model and the memory planner to it) and runs the model of hwsim.schedule.model (simpy),
or its closed form hwsim.schedule.sequential when the nodes provably run one after
another (no DMA; one core, or a graph that is one path): frames arriving at the workload's period, the rest of the
firmware preempting the network, one or more cores, DMA overlapping compute and
sleep between frames. It returns a frozen `ScheduleResult`: the timeline, latency
and deadline misses per frame, utilisation per core, memory in use over time,
energy per inference, average power and battery life. The model and its formulas
are in docs/scheduler.md.

Longer than 300 lines: the options, the plan built from the graph and the result
assembled from one simpy run belong to one concern, the schedule.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction

import networkx as nx

from hwsim.specs.device import Device
from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order
from hwsim.schedule.frames import FrameTimeline
from hwsim.schedule.frame_plan import FirmwareLoad, Plan, Trace
from hwsim.schedule.sequential import is_sequential, run_sequential
from hwsim.schedule.timeline import TIMELINE_FIELDS, timeline_rows, write_timeline  # noqa: F401
from hwsim.specs.workload import Realtime

__all__ = ["ScheduleOptions", "ScheduleEvent", "FrameRecord", "ScheduleResult", "schedule_frames",
           "timeline_rows", "write_timeline", "copy_cycles_per_byte", "make_plan", "run_frames"]


MAX_FRAMES = 100_000          # frames one schedule simulates (bounds the work up front)
MAX_FIRMWARE_SLICE_MS = 60_000.0


@dataclass(frozen=True)
class ScheduleOptions:
    """How to run the schedule.

    frames: frames to simulate. cores: cores the network may use (None: all the
    device has). firmware_share: share (0 <= x < 1) of every core the rest of the
    firmware takes, as a periodic high-priority task running the first x *
    firmware_slice_ms of every slice. use_dma: move node_dma_bytes with the
    device's DMA engine when it has one (False: the core copies them).
    dma_buffers: weight buffers the DMA fills ahead of compute (2: double
    buffering; 1: no prefetch). drop_frames_when_busy: skip a frame that arrives
    while the previous one is still running (False: it waits its turn)."""
    frames: int = 100
    cores: int | None = None
    firmware_share: float = 0.0
    firmware_slice_ms: float = 1.0
    use_dma: bool = True
    dma_buffers: int = 2
    drop_frames_when_busy: bool = False

    def __post_init__(self):
        problems = []
        if not _is_int(self.frames) or not 1 <= self.frames <= MAX_FRAMES:
            problems.append(f"frames must be an integer from 1 to {MAX_FRAMES}, "
                            f"got {self.frames!r}")
        if self.cores is not None and (not _is_int(self.cores) or self.cores < 1):
            problems.append(f"cores must be an integer >= 1 or None, got {self.cores!r}")
        if not _is_number(self.firmware_share) or not 0 <= self.firmware_share < 1:
            problems.append(f"firmware_share must be a number from 0 up to (not including) 1, "
                            f"got {self.firmware_share!r}")
        if not _is_number(self.firmware_slice_ms) or \
                not 0 < self.firmware_slice_ms <= MAX_FIRMWARE_SLICE_MS:
            problems.append(f"firmware_slice_ms must be a number > 0 and <= "
                            f"{MAX_FIRMWARE_SLICE_MS:g}, got {self.firmware_slice_ms!r}")
        if not _is_int(self.dma_buffers) or self.dma_buffers < 1:
            problems.append(f"dma_buffers must be an integer >= 1, got {self.dma_buffers!r}")
        if problems:
            raise HwsimError("ScheduleOptions: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class ScheduleEvent:
    """One interval of the timeline. kind: 'compute' (the node's own cycles),
    'copy' (the core copying the node's data, no DMA) or 'dma' (the DMA engine
    moving it; core is None). work_cycles <= end_cycle - start_cycle: the rest is
    the firmware preempting the node."""
    frame: int
    node: str
    kind: str
    core: int | None
    start_cycle: int
    end_cycle: int
    work_cycles: int


@dataclass(frozen=True)
class FrameRecord:
    """One frame: when it arrived, started and ended, and its latency (arrival to
    the end of its last node); all None but arrival when it was dropped."""
    frame: int
    arrival_cycle: int
    start_cycle: int | None
    end_cycle: int | None
    latency_cycles: int | None
    latency_ms: float | None
    deadline_met: bool | None
    dropped: bool


@dataclass(frozen=True)
class ScheduleResult:
    graph_name: str
    device_name: str
    options: ScheduleOptions
    clock_hz: int
    cores: int
    frame_period_cycles: int
    deadline_cycles: int                 # a latency above this misses the deadline
    firmware_slice_cycles: int
    firmware_cycles_per_slice: int
    frame_records: tuple[FrameRecord, ...]
    simulated_cycles: int                # max(frames x period, end of the last event)
    busy_cycles: tuple[int, ...]         # per core: network work (compute + copy)
    awake_cycles: int                    # some core inside a network node
    peak_buffer_bytes: int
    dynamic_energy_pj: float             # all frames: node energy + core copies
    sleep_energy_pj: float               # sleep current over simulated - awake cycles
    energy_per_inference_pj: float
    average_power_uw: float              # (dynamic + sleep) energy / simulated time
    network_power_uw: float              # dynamic energy only / simulated time
    battery_life_hours: float            # the network as the battery's only load
    battery_life_network_share_hours: float   # the network's own energy only
    warnings: tuple[str, ...] = field(default=())
    timeline: FrameTimeline | None = field(default=None, repr=False, compare=False)

    @cached_property
    def events(self) -> tuple[ScheduleEvent, ...]:
        """Every event of every frame, by start, end, kind (compute, copy, dma), core."""
        return self.events_before(None)

    def events_before(self, frames: int | None) -> tuple[ScheduleEvent, ...]:
        """The events of the frames numbered below `frames` (None: all), in timeline order."""
        return tuple(ScheduleEvent(*e) for e in self.timeline.events(frames))

    @cached_property
    def memory_over_time(self) -> tuple[tuple[int, int], ...]:
        """(cycle, bytes in use from then on) at every change, all frames."""
        return self.timeline.memory_over_time()

    def memory_until(self, cycle: int) -> tuple[tuple[int, int], ...]:
        """memory_over_time up to and including `cycle`."""
        return self.timeline.memory_over_time(cycle)

    def __repr__(self) -> str:
        worst = max(self.latency_cycles, default=0)
        return (f"ScheduleResult({self.graph_name!r} on {self.device_name!r}, "
                f"{len(self.frame_records)} frames, worst latency {worst} cycles, "
                f"{self.deadline_misses} misses, {self.average_power_uw:.3g} uW)")

    @property
    def latency_cycles(self) -> tuple[int, ...]:
        """Latency of every frame that ran, in frame order."""
        return tuple(f.latency_cycles for f in self.frame_records if not f.dropped)

    @property
    def latency_ms(self) -> tuple[float, ...]:
        return tuple(f.latency_ms for f in self.frame_records if not f.dropped)

    @property
    def late_frames(self) -> tuple[int, ...]:
        return tuple(f.frame for f in self.frame_records if f.deadline_met is False)

    @property
    def dropped_frames(self) -> tuple[int, ...]:
        return tuple(f.frame for f in self.frame_records if f.dropped)

    @property
    def deadline_misses(self) -> int:
        """Frames that ran late plus frames dropped."""
        return len(self.late_frames) + len(self.dropped_frames)

    @property
    def utilisation(self) -> tuple[float, ...]:
        """Per core: network busy cycles / simulated cycles (firmware excluded)."""
        return tuple(b / self.simulated_cycles for b in self.busy_cycles)

    @property
    def sleep_cycles(self) -> int:
        return self.simulated_cycles - self.awake_cycles


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _cycles_of_ms(ms: float, clock_hz: int) -> Fraction:
    """Exact cycles of `ms` milliseconds (the decimal value of the float)."""
    return Fraction(repr(float(ms))) * clock_hz / 1000


def copy_cycles_per_byte(device: Device) -> Fraction:
    """Cycles the core spends copying one byte itself: per word (word_bits, at
    most 32) one load from flash (with its extra wait cycles) and one store."""
    width = min(device.core.word_bits, 32)
    width = 8 if width < 16 else 16 if width < 32 else 32
    per_word = (Fraction(repr(float(device.cycles[f"load_{width}"])))
                + Fraction(repr(float(device.memory.flash_load_extra_cycles)))
                + Fraction(repr(float(device.cycles[f"store_{width}"]))))
    return per_word / (width // 8)


def _check_mapping(name: str, mapping, nodes: set[str], problems: list[str], *,
                   integer: bool, required: bool) -> None:
    if mapping is None:
        return
    if not isinstance(mapping, Mapping):
        problems.append(f"{name} must be a mapping of node name to value, got "
                        f"{type(mapping).__name__}")
        return
    unknown = sorted(str(n) for n in mapping if n not in nodes)
    if unknown:
        problems.append(f"{name} names nodes not in the graph: {', '.join(unknown)}")
    missing = sorted(n for n in nodes if n not in mapping) if required else []
    if missing:
        problems.append(f"{name} has no value for nodes: {', '.join(missing)}")
    bad = []
    for n in sorted(str(n) for n in mapping if n in nodes):
        value = mapping[n]
        ok = _is_int(value) if integer else _is_number(value)
        if not ok or value < 0:
            bad.append(f"{n}={value!r}")
    if bad:
        kind = "non-negative integers" if integer else "non-negative finite numbers"
        problems.append(f"{name} values must be {kind}, got {', '.join(bad)}")


def make_plan(graph: nx.DiGraph, device: Device, realtime: Realtime | None,
              node_cycles: Mapping[str, int], *,
              node_energy_pj: Mapping[str, float] | None = None,
              node_dma_bytes: Mapping[str, int] | None = None,
              buffer_bytes: Mapping[str, int] | None = None,
              options: ScheduleOptions = ScheduleOptions()) -> tuple[Plan, int]:
    """Check every input of `simulate` (all problems in one HwsimError); the simpy
    model's Plan and the deadline in cycles."""
    problems: list[str] = []
    try:
        order = execution_order(graph)
    except nx.NetworkXUnfeasible:
        raise HwsimError(f"graph {graph.graph.get('name')!r} has a cycle; cannot schedule it")
    except KeyError as exc:
        raise HwsimError(f"graph {graph.graph.get('name')!r}: node without an 'order' "
                         f"attribute ({exc}); build graphs with hwsim.ir.graph")
    if not order:
        problems.append("the graph has no nodes")
    nodes = set(order)
    if node_cycles is None:
        problems.append("node_cycles is missing: every node needs its compute cycles")
    _check_mapping("node_cycles", node_cycles, nodes, problems, integer=True, required=True)
    _check_mapping("node_energy_pj", node_energy_pj, nodes, problems, integer=False,
                   required=True)
    _check_mapping("node_dma_bytes", node_dma_bytes, nodes, problems, integer=True,
                   required=False)
    _check_mapping("buffer_bytes", buffer_bytes, nodes, problems, integer=True, required=False)
    clock_hz = device.core.clock_hz
    period = deadline = None
    if realtime is None:
        problems.append("realtime is missing: the workload needs frame_period_ms and deadline_ms")
    else:
        bad = [f"realtime.{name} must be a number > 0, got {value!r}"
               for name in ("frame_period_ms", "deadline_ms")
               if not _is_number(value := getattr(realtime, name)) or value <= 0]
        problems.extend(bad)
        if not bad:
            period = round(_cycles_of_ms(realtime.frame_period_ms, clock_hz))
            deadline = math.floor(_cycles_of_ms(realtime.deadline_ms, clock_hz))
            if period < 1:
                problems.append(f"realtime.frame_period_ms {realtime.frame_period_ms!r} is "
                                f"shorter than one cycle at {clock_hz} Hz")
    slice_cycles = round(_cycles_of_ms(options.firmware_slice_ms, clock_hz))
    firmware_cycles = round(Fraction(repr(float(options.firmware_share))) * slice_cycles)
    if slice_cycles < 1:
        problems.append(f"options.firmware_slice_ms {options.firmware_slice_ms!r} is shorter "
                        f"than one cycle at {clock_hz} Hz")
    elif firmware_cycles >= slice_cycles:
        problems.append(f"options.firmware_share {options.firmware_share!r} leaves no cycle of "
                        f"a {slice_cycles}-cycle slice to the network")
    use_dma = options.use_dma and device.dma.present
    if use_dma and node_dma_bytes and not (device.dma.bytes_per_cycle or 0) > 0:
        problems.append(f"device {device.name!r}: dma.present but dma.bytes_per_cycle is "
                        f"{device.dma.bytes_per_cycle!r}")
    if problems:
        raise HwsimError(f"cannot schedule {graph.graph.get('name')!r} on {device.name!r}: "
                         + "; ".join(problems))

    index = {n: i for i, n in enumerate(order)}
    moved = {n: int(b) for n in order if (b := (node_dma_bytes or {}).get(n, 0)) > 0}
    dma_cycles, copy_cycles = {}, {}
    if use_dma:
        rate = Fraction(repr(float(device.dma.bytes_per_cycle)))
        dma_cycles = {n: math.ceil(b / rate) for n, b in moved.items()}
    else:
        per_byte = copy_cycles_per_byte(device)
        copy_cycles = {n: math.ceil(b * per_byte) for n, b in moved.items()}
    plan = Plan(order=tuple(order),
                successors={n: tuple(sorted(graph.successors(n), key=index.__getitem__))
                            for n in order},
                compute_cycles={n: int(node_cycles[n]) for n in order},
                copy_cycles=copy_cycles, dma_cycles=dma_cycles,
                cores=options.cores or device.core.count, frames=options.frames,
                period_cycles=period, firmware=FirmwareLoad(slice_cycles, firmware_cycles),
                dma_buffers=options.dma_buffers, drop_when_busy=options.drop_frames_when_busy)
    return plan, deadline


def _frame_records(trace: Trace, plan: Plan, deadline: int, clock_hz: int):
    ran = {f: (arrival, start, end) for f, arrival, start, end in trace.frames}
    records = []
    for frame in range(plan.frames):
        if frame in ran:
            arrival, start, end = ran[frame]
            latency = end - arrival
            records.append(FrameRecord(frame, arrival, start, end, latency,
                                       latency * 1000 / clock_hz, latency <= deadline, False))
        else:
            records.append(FrameRecord(frame, frame * plan.period_cycles, None, None, None, None,
                                       None, True))
    return tuple(records)


def run_frames(plan: Plan) -> Trace:
    """The frames of `plan`: computed in closed form when its nodes provably run one
    after another (hwsim.schedule.sequential), else simulated with simpy (imported only
    then: contention between cores and DMA are event-driven)."""
    if is_sequential(plan):
        return run_sequential(plan)
    from hwsim.schedule.model import run
    return run(plan)


def schedule_frames(graph: nx.DiGraph, device: Device, realtime: Realtime, node_cycles: Mapping[str, int],
             *, node_energy_pj: Mapping[str, float] | None = None,
             node_dma_bytes: Mapping[str, int] | None = None,
             buffer_bytes: Mapping[str, int] | None = None,
             options: ScheduleOptions = ScheduleOptions()) -> ScheduleResult:
    """Run `options.frames` frames of `graph` on `device` at `realtime`'s cadence.

    node_cycles: every node's compute cycles. node_energy_pj: every node's energy
    (None: active_pj_per_cycle x node_cycles). node_dma_bytes: bytes of weights or
    tables to move before a node runs (DMA, or the core copies them). buffer_bytes:
    a node's output buffer, for memory over time (missing nodes: 0)."""
    plan, deadline = make_plan(graph, device, realtime, node_cycles,
                               node_energy_pj=node_energy_pj, node_dma_bytes=node_dma_bytes,
                               buffer_bytes=buffer_bytes, options=options)
    trace = run_frames(plan)
    clock_hz = device.core.clock_hz
    timeline = FrameTimeline.from_trace(trace, plan.cores, plan.successors, buffer_bytes)
    records = _frame_records(trace, plan, deadline, clock_hz)
    simulated = max(plan.frames * plan.period_cycles, timeline.last_end_cycle)
    busy = timeline.busy_cycles or (0,) * plan.cores
    awake = timeline.awake_cycles
    peak = timeline.peak_bytes

    energy = device.energy
    active_pj = energy.active_pj_per_cycle
    per_frame = sum(node_energy_pj[n] if node_energy_pj is not None else active_pj * node_cycles[n]
                    for n in plan.order) + active_pj * sum(plan.copy_cycles.values())
    ran = len(trace.frames)
    dynamic_pj = per_frame * ran
    sleep_uw = energy.sleep_ua * energy.supply_v
    sleep_pj = sleep_uw * (simulated - awake) / clock_hz * 1e6
    seconds = simulated / clock_hz
    average_uw = (dynamic_pj + sleep_pj) / seconds / 1e6
    network_uw = dynamic_pj / seconds / 1e6
    battery_uwh = device.battery.capacity_mah * device.battery.voltage_v * 1000
    warnings = []
    if plan.cores > device.core.count:
        warnings.append(f"options.cores {plan.cores} exceeds the device's {device.core.count} "
                        f"core(s): a what-if")
    return ScheduleResult(
        graph_name=str(graph.graph.get("name")), device_name=device.name, options=options,
        clock_hz=clock_hz, cores=plan.cores, frame_period_cycles=plan.period_cycles,
        deadline_cycles=deadline, firmware_slice_cycles=plan.firmware.slice_cycles,
        firmware_cycles_per_slice=plan.firmware.busy_cycles,
        frame_records=records, simulated_cycles=simulated, busy_cycles=tuple(busy),
        awake_cycles=awake, peak_buffer_bytes=peak,
        dynamic_energy_pj=dynamic_pj, sleep_energy_pj=sleep_pj,
        energy_per_inference_pj=(dynamic_pj + sleep_pj) / ran, average_power_uw=average_uw,
        network_power_uw=network_uw,
        battery_life_hours=battery_uwh / average_uw if average_uw > 0 else math.inf,
        battery_life_network_share_hours=battery_uwh / network_uw if network_uw > 0 else math.inf,
        warnings=tuple(warnings), timeline=timeline)

