"""One `simulate` call, end to end: build the VWW MobileNetV1 graph (random weights of
its kind), cost it, plan its memory and schedule 100 frames (in closed form on a
one-core device without DMA, hwsim/schedule/sequential.py; else with simpy), on one
device. Prints the median of several runs and each stage's median; target < 100 ms.

    python benchmarks/simulate_speed.py [--workload vww-mobilenet] [--device nrf52840]
"""
from __future__ import annotations

import argparse
import statistics
import time

from hwsim.specs.catalog import find_device
from hwsim.cost.model import cost_graph
from hwsim.memory.planner import plan_memory
from hwsim.evaluate.simulate import load_subject, simulate


def timed(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return 1000 * statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="vww-mobilenet")
    parser.add_argument("--device", default="nrf52840")
    parser.add_argument("--style", default="lut")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    device = find_device(args.device)
    subject = load_subject(args.workload)
    graph = subject.graph
    stages = {
        "graph": lambda: load_subject(args.workload),
        "cost": lambda: cost_graph(graph, device, args.style),
        "memory": lambda: plan_memory(graph, device, args.style),
        "simulate (cost + memory + schedule, 100 frames)": lambda: simulate(subject, device,
                                                                           args.style),
        "whole call (graph + cost + memory + schedule)": lambda: simulate(
            load_subject(args.workload), device, args.style),
    }
    print(f"{args.workload} on {args.device}, style {args.style}, "
          f"{graph.number_of_nodes()} nodes; median of {args.repeats} runs")
    for name, function in stages.items():
        print(f"  {name:<46} {timed(function, args.repeats):8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
