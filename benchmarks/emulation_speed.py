"""How much faster the cost model answers than emulation of the same network: the
median time of one cost-model evaluation (hwsim.cost.model.cost_graph, all nodes) against
the median time to emulate one inference of the generated machine code (unicorn,
block and flash-read hooks, as `hwsim validate` runs it). Target: >= 100x.

    python benchmarks/emulation_speed.py [--artifact DIR | --workload NAME]
                                         [--device samd21] [--style lut] [--repeats 20]

Without --artifact the workload (default har-cnn) is costed and emulated with random
weights of its kind (timing needs shapes only). Compiling is timed separately; it
is paid once per network, not per inference.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from hwsim.specs.catalog import find_device
from hwsim.machine.codegen import generate, target_for_device
from hwsim.machine.codegen.int8 import quantize_input
from hwsim.cost.model import cost_graph
from hwsim.machine.emulate import emulate, price
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.machine.toolchain import build_program
from hwsim.machine.validate import codegen_options
from hwsim.specs.workload import load_workload


def _median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--artifact", help="a trained artifact directory")
    source.add_argument("--workload", default="har-cnn", help="bundled workload (har-cnn)")
    parser.add_argument("--device", default="samd21")
    parser.add_argument("--style", default="lut", choices=("lut", "int8"))
    parser.add_argument("--repeats", type=int, default=20, help="cost-model evaluations (20)")
    parser.add_argument("--inferences", type=int, default=5, help="emulated inferences (5)")
    args = parser.parse_args(argv)
    if args.artifact:
        from hwsim.artifact.load import load_artifact
        g = graph_from_artifact(load_artifact(args.artifact))
        name = args.artifact
    else:
        g = graph_from_workload(load_workload(args.workload))
        name = f"{args.workload} (random weights)"
    device = find_device(args.device)
    options = codegen_options()
    model = _median_seconds(lambda: cost_graph(g, device, args.style, options), args.repeats)
    target = target_for_device(device)
    rng = np.random.default_rng(0)
    x = rng.integers(0, g.graph["input_levels"], size=(1, *g.graph["input_shape"]))
    inputs = quantize_input(g, x) if args.style == "int8" else x
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        build = build_program(generate(g, target, args.style, target.memory_map(device)), tmp)
        compile_s = time.perf_counter() - started
        per_inference = []
        for _ in range(args.inferences):
            started = time.perf_counter()
            run = emulate(build, inputs)
            price(run.profile, device)
            per_inference.append(time.perf_counter() - started)
    emulation = statistics.median(per_inference)
    cycles = cost_graph(g, device, args.style, options).total_cycles
    print(f"{name}, {args.style} on {device.name} ({target.name}), {cycles:,.0f} cycles")
    print(f"  cost model: median {1e3 * model:.2f} ms per evaluation ({args.repeats} runs)")
    print(f"  emulation:  median {1e3 * emulation:.1f} ms per inference ({args.inferences} runs, "
          f"priced); compile + link once: {compile_s:.2f} s")
    print(f"  ratio: the cost model is {emulation / model:,.0f}x faster (target >= 100x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
