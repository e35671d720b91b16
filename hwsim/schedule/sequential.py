"""The schedule of a plan whose nodes provably run one after another, computed without
simpy: no DMA engine, and one core or a graph that is a single path.

Why it equals the simpy model (hwsim.schedule.model) event for event: frames never
overlap, and with one core the model hands the core to the ready node earliest in
execution order. The execution order is topological, so the nodes done at any moment
are a prefix of it and the earliest node not done is ready: the nodes run in
execution order, each (its copy, then its compute) from the moment the one before it
ended, the firmware taking its share of each slice (`FirmwareLoad`, the same closed
form the model uses). On a path with several cores only one node is ever ready, and
it takes core 0, which the node before it gave back as it ended.
tests/test_schedule_sequential.py holds the two side by side.

Nothing here is event-driven; contention between cores, DMA transfers racing compute
and buffers stay with the simpy model.
"""
from __future__ import annotations

from hwsim.schedule.frame_plan import COMPUTE, COPY, Plan, Trace


def is_sequential(plan: Plan) -> bool:
    """Whether `plan` runs its nodes one after another in execution order, on core 0:
    no DMA, and one core or a graph that is one path (never two nodes ready at once,
    and a node takes the lowest-numbered free core, which is core 0 when the node
    before it has just given it back)."""
    return not plan.dma_cycles and (plan.cores == 1 or _is_path(plan))


def _is_path(plan: Plan) -> bool:
    """Each node feeds the next one in execution order, and only it."""
    order = plan.order
    return all(plan.successors[n] == (order[i + 1],) for i, n in enumerate(order[:-1])) \
        and not plan.successors[order[-1]]


def run_sequential(plan: Plan, *, reuse_frames: bool = True) -> Trace:
    """The trace `hwsim.schedule.model.run(plan, reuse_frames=...)` records, for a plan
    `is_sequential` accepts: the same frames, templates (one per start phase of the
    firmware slice with `reuse_frames`, else one per frame) and blocks."""
    if not is_sequential(plan):
        raise ValueError("run_sequential needs a plan without DMA transfers, with one core "
                         "or a graph that is one path")
    firmware = plan.firmware
    work = tuple((n, kind, cycles) for n in plan.order
                 for kind, cycles in (((COPY, plan.copy_cycles[n]),)
                                      if plan.copy_cycles.get(n, 0) else ())
                 + ((COMPUTE, plan.compute_cycles[n]),))
    trace = Trace()
    seen: dict[int, int] = {}
    now = 0
    for frame in range(plan.frames):
        arrival = frame * plan.period_cycles
        if now > arrival and plan.drop_when_busy:
            trace.dropped.append(frame)
            continue
        start = max(now, arrival)
        phase = start % firmware.slice_cycles if firmware.busy_cycles else 0
        key = seen.get(phase) if reuse_frames else None
        if key is None:
            key = frame
            trace.templates[key] = _frame(work, firmware, start)
            seen[phase] = key
        now = start + trace.templates[key][1]
        trace.blocks.append((frame, start, key))
        trace.frames.append((frame, arrival, start, now))
    return trace


def _frame(work, firmware, start: int) -> tuple[tuple[tuple, ...], int]:
    """One frame started at cycle `start`: its events relative to the start (node,
    kind, core, start, end, work) and its duration."""
    events, cycle = [], start
    for n, kind, cycles in work:
        begin = firmware.resume(cycle) if cycles else cycle
        end = firmware.finish(cycle, cycles)
        events.append((n, kind, 0, begin - start, end - start, cycles))
        cycle = end
    return tuple(events), cycle - start
