"""Speed of the simpy schedule: one `simulate` call for the VWW graph over 100 frames.

    python benchmarks/schedule_speed.py [--workload vww-mobilenet] [--device nrf52840]
                                        [--frames 100] [--repeats 7]

Synthetic costs: node_cycles = connections x 10 (outputs x 10 for nodes without
connections), node_dma_bytes = each weighted node's parameter count, buffer_bytes
= each node's output count. Reported: the median wall time of the simpy model
alone (hwsim.schedule.model.run, with and without replaying identical frames) and
of the whole `simulate` call (input checks + simpy + timeline, memory and energy
summaries; the graph, cost model and memory planner are not in it). Target: the
whole `simulate` call < 100 ms. If the workload file is missing, the largest
bundled workload (most graph nodes) is used instead and the output says so.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from hwsim.specs.device import load_device
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.schedule.scheduler import ScheduleOptions, make_plan, schedule_frames
from hwsim.schedule.model import run
from hwsim.specs.workload import load_workload

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def pick_workload(name: str):
    """The named workload, or the bundled one with the most graph nodes."""
    try:
        workload = load_workload(name)
        return workload, graph_from_workload(workload), None
    except HwsimError as exc:
        candidates = []
        for path in sorted((REPO / "workloads").glob("*.yaml")):
            w = load_workload(path)
            candidates.append((len(graph_from_workload(w)), w.name, w))
        _, _, workload = max(candidates, key=lambda c: (c[0], c[1]))
        return workload, graph_from_workload(workload), f"{name}: {exc}; using {workload.name}"


def median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="vww-mobilenet")
    parser.add_argument("--device", default="nrf52840")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    workload, graph, note = pick_workload(args.workload)
    device = load_device(REPO / "devices" / f"{args.device}.yaml")
    cycles = {n: (a.get("connections") or a.get("outputs") or 0) * 10
              for n, a in graph.nodes(data=True)}
    dma_bytes = {n: a["params"] for n, a in graph.nodes(data=True) if a.get("params")}
    buffers = {n: a.get("outputs", 0) for n, a in graph.nodes(data=True)}
    options = ScheduleOptions(frames=args.frames)
    kwargs = dict(node_dma_bytes=dma_bytes, buffer_bytes=buffers, options=options)

    plan, _ = make_plan(graph, device, workload.realtime, cycles, **kwargs)
    simpy_ms = median_ms(lambda: run(plan), args.repeats)
    simpy_every_ms = median_ms(lambda: run(plan, reuse_frames=False), args.repeats)
    whole_ms = median_ms(lambda: schedule_frames(graph, device, workload.realtime, cycles, **kwargs),
                         args.repeats)
    result = schedule_frames(graph, device, workload.realtime, cycles, **kwargs)

    if note:
        print(f"note: {note}")
    print(f"{workload.name} ({len(graph)} nodes) on {device.name} "
          f"({plan.cores} core(s), DMA {'yes' if device.dma.present else 'no: core copies'}), "
          f"{args.frames} frames, median of {args.repeats}")
    print(f"  simpy model, identical frames replayed : {simpy_ms:8.2f} ms")
    print(f"  simpy model, every frame simulated     : {simpy_every_ms:8.2f} ms")
    print(f"  whole schedule_frames() call                  : {whole_ms:8.2f} ms "
          f"(target < {TARGET_MS:g} ms: {'met' if whole_ms < TARGET_MS else 'MISSED'})")
    print(f"  {len(result.events)} timeline events; {result!r}")
    return 0 if whole_ms < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
