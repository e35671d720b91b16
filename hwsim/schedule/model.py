"""The simpy model behind hwsim.schedule.scheduler: frames, cores, the DMA engine and the
periodic firmware task, in integer cycles.

Processes (each a small generator taking `env`):
- `inference_task`: the firmware thread that waits for each frame and runs it; a
  frame starts at its arrival or, if the previous frame is still running, when
  that one ends (or is skipped when `drop_when_busy`).
- `node`: one op of one frame; started when its last predecessor ends, it waits
  for its weights (DMA), takes a core (`cores`, a PriorityResource: earliest in
  execution order first), copies its weights itself when there is no DMA, then
  computes.
- `dma_transfers`: one per frame, moving each DMA node's bytes in execution order
  on the `dma` Resource, at most `dma_buffers` transfers ahead of compute.

The rest of the firmware is not a process: it is a periodic high-priority task
(`FirmwareLoad`) whose effect on a node is computed in closed form, so a 1 ms
tick costs no simulation events.

The records (`Plan`, `FirmwareLoad`, `Trace`) live in hwsim.schedule.frame_plan; a
plan without DMA on one core, or whose graph is one path, runs without simpy
(hwsim.schedule.sequential).
"""
from __future__ import annotations

import heapq

import simpy

from hwsim.schedule.frame_plan import COMPUTE, COPY, DMA, FirmwareLoad, Plan, Trace  # noqa: F401


class CorePool:
    """Which cores are free; a node takes the lowest-numbered one."""

    def __init__(self, count: int):
        self.free = list(range(count))

    def take(self) -> int:
        return heapq.heappop(self.free)

    def give(self, core: int) -> None:
        heapq.heappush(self.free, core)


class FrameState:
    """One frame in flight: predecessors still to finish per node, weight arrival
    and node completion events (for DMA nodes), and the frame's end."""

    def __init__(self, env: simpy.Environment, plan: Plan, frame: int):
        self.frame = frame
        self.waiting = {n: 0 for n in plan.order}
        for n in plan.order:
            for s in plan.successors[n]:
                self.waiting[s] += 1
        self.left = len(plan.order)
        self.arrived = {n: env.event() for n in plan.dma_cycles}
        self.done = {n: env.event() for n in plan.dma_cycles}
        self.finished = env.event()


def run(plan: Plan, *, reuse_frames: bool = True) -> Trace:
    """Simulate `plan.frames` frames; the trace in the order things happened.

    A frame starts with every core and the DMA engine idle (frames run one after
    the other), so its schedule relative to its start depends only on where in
    the firmware slice it starts. With `reuse_frames` a frame starting at a phase
    already simulated replays that frame's events shifted in time (identical to
    simulating it again, much faster: in the steady state every frame does)."""
    env = simpy.Environment()
    cores = simpy.PriorityResource(env, capacity=plan.cores)
    dma = simpy.Resource(env, capacity=1)
    trace = Trace()
    env.process(inference_task(env, plan, cores, CorePool(plan.cores), dma, trace,
                               {} if reuse_frames else None))
    env.run()
    return trace


def inference_task(env, plan: Plan, cores, pool: CorePool, dma, trace: Trace, seen):
    """Wait for each frame and run it; frames queue behind a running frame.
    `seen` (None: simulate every frame) maps a start phase to the template of a
    frame already simulated from that phase."""
    rank = {n: i for i, n in enumerate(plan.order)}
    for frame in range(plan.frames):
        arrival = frame * plan.period_cycles
        if env.now > arrival and plan.drop_when_busy:
            trace.dropped.append(frame)
            continue
        if env.now < arrival:
            yield env.timeout(arrival - env.now)
        start = env.now
        phase = start % plan.firmware.slice_cycles if plan.firmware.busy_cycles else 0
        if seen is not None and phase in seen:
            key = seen[phase]
            yield env.timeout(trace.templates[key][1])
        else:
            trace.live = []
            state = FrameState(env, plan, frame)
            if plan.dma_cycles:
                env.process(dma_transfers(env, plan, dma, state, trace))
            for n in plan.order:
                if state.waiting[n] == 0:
                    env.process(node(env, plan, cores, pool, state, n, rank, trace))
            yield state.finished
            key = frame
            trace.templates[key] = (tuple((n, kind, core, s - start, e - start, work)
                                          for _, n, kind, core, s, e, work in trace.live),
                                    env.now - start)
            if seen is not None:
                seen[phase] = key
        trace.blocks.append((frame, start, key))
        trace.frames.append((frame, arrival, start, env.now))


def dma_transfers(env, plan: Plan, dma, state: FrameState, trace: Trace):
    """Move each DMA node's data in execution order; transfer k waits until the
    node `dma_buffers` transfers back has finished with its buffer."""
    nodes = list(plan.dma_cycles)
    for k, n in enumerate(nodes):
        if k >= plan.dma_buffers:
            yield state.done[nodes[k - plan.dma_buffers]]
        with dma.request() as req:
            yield req
            start = env.now
            yield env.timeout(plan.dma_cycles[n])
            trace.live.append((state.frame, n, DMA, None, start, env.now, plan.dma_cycles[n]))
        state.arrived[n].succeed()


def node(env, plan: Plan, cores, pool: CorePool, state: FrameState, n: str, rank, trace: Trace):
    """One op: wait for its data, take a core, copy (no DMA), compute, hand over."""
    if n in state.arrived:
        yield state.arrived[n]
    copy = plan.copy_cycles.get(n, 0)
    steps = ((COPY, copy), (COMPUTE, plan.compute_cycles[n])) if copy else (
        (COMPUTE, plan.compute_cycles[n]),)
    with cores.request(priority=rank[n]) as req:
        yield req
        core = pool.take()
        for kind, work in steps:
            start = plan.firmware.resume(env.now) if work else env.now
            end = plan.firmware.finish(env.now, work)
            if end > env.now:
                yield env.timeout(end - env.now)
            trace.live.append((state.frame, n, kind, core, start, end, work))
        if n in state.done:
            state.done[n].succeed()
        # Start the successors before releasing the core: their requests queue
        # first (a process start is an urgent event, the release's grant is not),
        # so the freed core goes to the earliest ready node in execution order.
        for s in plan.successors[n]:
            state.waiting[s] -= 1
            if state.waiting[s] == 0:
                env.process(node(env, plan, cores, pool, state, s, rank, trace))
        pool.give(core)
    state.left -= 1
    if state.left == 0:
        state.finished.succeed()
