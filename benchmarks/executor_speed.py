"""Executor speed: the integer executor on the digits test set against the continuous
float numpy forward of the same architecture, same batch, same run.

    python benchmarks/executor_speed.py [--workload digits-mlp] [--repeats 51]

Trains the workload with its defaults first (in-process), then times, in several
rounds (each case run back to back within a round, the rounds alternating so that
every case sees the same machine load): the float forward
(hwsim.train.network.forward, Mode(None, None), continuous weights) and the
executor on a prepared plan (hwsim.execute.executor.run_plan), plus the executor with its
build step (hwsim.execute.executor.execute: check the graph, prepare the gathers). Prints
the medians and the ratio executor / float; target <= 2x (issue 15).

It also times the floor of the lut path: the first weighted layer's row gather alone
(one np.take of every table entry it adds) and its integer sum alone (one
np.add.reduce of those entries into the int32 accumulators), the two numpy calls no
multiplication-free executor of that layer can skip, and the same for every weighted
layer together ("gather + sum floor"): what remains when every other cost is zero.

Both run on one thread: the executor is single-threaded, and BLAS is pinned to one
thread (unless OPENBLAS_NUM_THREADS etc. are set) because a batch this small gains
nothing from more, while on a shared machine a second BLAS thread waiting for a busy
core costs milliseconds per call.
"""
from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")   # before numpy is imported

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from hwsim.datasets import load_dataset  # noqa: E402
from hwsim.execute.executor import build_plan, execute, run_plan  # noqa: E402
from hwsim.ir.graph import build_graph  # noqa: E402
from hwsim.ir.ops import WEIGHTED  # noqa: E402
from hwsim.train.network import Mode, forward, quantize_input  # noqa: E402
from hwsim.train.pipeline import run_training  # noqa: E402
from hwsim.specs.workload import load_workload  # noqa: E402

TARGET_RATIO = 2.0


def _floor_cases(plan, run) -> dict:
    """The gather and the sum of every weighted layer alone, on the arrays the executor
    makes (rows mode: one row of units per connection and sample)."""
    cases = {}
    for step in plan.steps:
        lut = step.plan
        if step.op not in WEIGHTED or lut.mode != "rows" or not lut.single:
            continue
        group = lut.groups[0]
        taps = run.nodes[step.inputs[0]].output[group.input_index]
        index = np.moveaxis(taps, -1, 0) + group.offsets
        entries = np.take(lut.columns, index, axis=0)
        first = not cases
        for label, function in (
                ("gather", lambda c=lut.columns, i=index: np.take(c, i, axis=0)),
                ("sum", lambda e=entries, d=lut.acc_dtype: e.sum(axis=0, dtype=d))):
            if first:
                cases[f"  first layer {label} alone ({entries.size / 1e6:.1f} M)"] = function
            cases[f"floor, all {label} {step.node}"] = function
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="digits-mlp")
    parser.add_argument("--repeats", type=int, default=20, help="runs per case and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    workload = load_workload(args.workload)
    started = time.perf_counter()
    result = run_training(workload)
    trained = time.perf_counter() - started
    graph = build_graph(workload, result.integer_model, source="artifact")
    x = np.asarray(load_dataset(workload.dataset).x_test, dtype=np.float64)
    levels = quantize_input(x, workload.input_levels)
    plan = build_plan(graph)
    floor = _floor_cases(plan, run_plan(plan, levels))
    cases = {
        "float forward (continuous, numpy)":
            lambda: forward(workload.layers, result.continuous_params, x, Mode(None, None),
                            workload.task),
        "executor, prepared plan (run_plan)": lambda: run_plan(plan, levels),
        "executor with build (execute)": lambda: execute(graph, levels),
        **floor,
    }
    samples = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, function in cases.items():
            for _ in range(args.repeats):
                begin = time.perf_counter()
                function()
                samples[name].append(time.perf_counter() - begin)
    medians = {name: 1000 * statistics.median(times) for name, times in samples.items()}
    run = run_plan(plan, levels)
    print(f"{workload.name}: trained with its defaults in {trained:.1f} s; test set "
          f"{len(x)} samples, {graph.number_of_nodes()} nodes; median of {args.rounds} rounds "
          f"x {args.repeats} runs")
    for name, ms in medians.items():
        if not name.startswith("floor, all"):
            print(f"  {name:<38} {ms:8.3f} ms")
    float_ms = medians["float forward (continuous, numpy)"]
    ratio = medians["executor, prepared plan (run_plan)"] / float_ms
    with_build = medians["executor with build (execute)"] / float_ms
    p = run.per_inference
    print(f"  ratio executor / float: {ratio:.2f}x (with build {with_build:.2f}x), target <= "
          f"{TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    floor_ms = sum(ms for name, ms in medians.items() if name.startswith("floor, all"))
    print(f"  gather + sum floor of every weighted layer: {floor_ms:.3f} ms = "
          f"{floor_ms / float_ms:.2f}x the float forward")
    print(f"  per inference: {p.loads:,} loads, {p.adds:,} adds, {p.compares:,} compares, "
          f"{p.multiplies} multiplies, {p.float_ops} float ops")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
