"""Executor speed: the integer executor on a workload's test set against the continuous
float numpy forward of the same architecture, same batch, same run.

    python benchmarks/executor_speed.py [--workload digits-mlp --workload digits-ae]
        [--rounds 10] [--repeats 20]
    python benchmarks/executor_speed.py --shape-only kws-dscnn [--batch 16]

Trains each workload with its defaults first (in-process; default digits-mlp and
digits-ae), then times the headline cases alone: the float forward
(hwsim.train.network.forward, Mode(None, None), continuous weights), the executor on a
prepared plan (hwsim.execute.executor.run_plan) and the executor with its build step
(hwsim.execute.executor.execute: check the graph, prepare the gathers and the grouped
tables). Each round runs every headline case in its own warm loop: one discarded run,
then `repeats` timed runs, the cases alternating round by round so that every case
sees the same machine load. Prints the medians and the best runs, and the ratio
executor / float of each; target <= 2x (issue 15). On a shared machine the best runs
move less with the other jobs' load than the medians; the round-by-round ratio (each
round's best executor run against the float forward's best run of the same round, the
median over rounds) pairs runs that saw the same load.

The first line says whether the executor's compiled row sums (hwsim/execute/host.py)
are in use, and if not why: the executor then runs on numpy's gathers alone.

The breakdown is timed apart, after the headline (so that its many cases, each with
its own arrays, do not run between the headline's): the executor on numpy's gathers
(the compiled row sums turned off: its grouped tables and lane packing), the same with
grouping off (GROUPED_TABLE_MAX_ENTRIES = 0: one gather per connection), the plan build
alone, the prepared plan's steps one by one, every layer that numpy's plan groups summed
by the compiled loop over those grouped tables (against the plan's own per-connection
rows), and, on numpy's gathers, the grouped gather and sum of every weighted layer
alone, and every grouped dense layer alone lane-packed and as int rows (where packing
pays, hwsim/execute/packed.py MIN_GROUPS).

The steps say where the time goes; on numpy's gathers, the grouped gather and sum of
a layer alone is the one np.take of the
group-sum rows it reads (one per g input channels, hwsim/execute/grouped.py), the one
integer sum of those rows (into int32 sums, or of lane-packed int64 words,
hwsim/execute/packed.py) and the unpacking of packed sums, on the arrays the executor
makes ("grouped gather + sum"): what remains of a layer when every other cost is zero.

--shape-only WORKLOAD (random weights of its kind, random inputs, no training and no
float forward): every weighted node numpy's plan groups, alone, grouped against
per-connection gathers on numpy's gathers (and a lane-packed dense layer against its
unpacked int16/int32 rows), and the plan's own (compiled where the loop takes the
layer), interleaved run by run (medians), for convolutions and other shapes.

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
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from hwsim.datasets import load_dataset  # noqa: E402
from hwsim.execute.executor import build_plan, execute, run_plan  # noqa: E402
from hwsim.execute import grouped, host, packed  # noqa: E402
from hwsim.execute import plan as plan_module  # noqa: E402
from hwsim.execute.ops import RUNNERS, combined_index  # noqa: E402
from hwsim.execute.packed import unpack  # noqa: E402
from hwsim.ir.graph import build_graph, graph_from_workload  # noqa: E402
from hwsim.ir.ops import WEIGHTED  # noqa: E402
from hwsim.train.network import Mode, forward, quantize_input  # noqa: E402
from hwsim.train.pipeline import run_training  # noqa: E402
from hwsim.specs.workload import load_workload  # noqa: E402

TARGET_RATIO = 2.0
_WHO = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


def _floor_cases(plan, run) -> dict:
    """The grouped gather and the sum of every weighted layer alone, on the arrays the
    executor makes (one row of units, or of lane-packed words, per group of g inputs
    and sample), and the unpacking of lane-packed sums."""
    cases = {}
    for step in plan.steps:
        lut = step.plan
        if step.op not in WEIGHTED or lut.grouping is None or not lut.single:
            continue
        index = combined_index(lut.grouping, run.nodes[step.inputs[0]].output,
                               lut.groups[0].offsets)
        entries = np.take(lut.columns, index, axis=0)
        words = "" if lut.packing is None else f" ({lut.packing.lanes} units a word)"
        label = (f"{step.node} g={lut.grouping.size}, {entries.shape[0]} rows of "
                 f"{entries.shape[-1]} x {lut.columns.dtype}{words} per sample, "
                 f"{entries.nbytes / 1e6:.1f} MB")
        cases[f"numpy: grouped gather, {label}"] = (
            lambda c=lut.columns, i=index: np.take(c, i, axis=0))
        if lut.packing is None:
            halved = f" (halved {lut.halvings}x in int16)" if lut.halvings else ""
            cases[f"numpy: grouped sum,    {label}{halved}"] = (
                lambda e=entries, p=lut: _halved_sum(e, p))
            continue
        cases[f"numpy: grouped sum,    {label}"] = lambda e=entries: np.add.reduce(e, axis=0)
        cases[f"numpy: grouped unpack, {label}"] = (
            lambda s=np.add.reduce(entries, axis=0), p=lut.packing: unpack(s, p))
    return cases


def _halved_sum(entries, lut):
    """The sum of int group rows as the executor does it: halved in int16 first where
    the plan proved it safe (hwsim/execute/ops.py _grouped_sums), in place as there,
    then summed in the accumulator type. Run after run the halvings add into rows
    halved before (their values change, wrapping in int16; the time does not)."""
    rows = len(entries)
    for _ in range(lut.halvings):
        half = rows >> 1
        np.add(entries[:half], entries[rows - half:rows], out=entries[:half])
        rows -= half
    return entries[:rows].sum(axis=0, dtype=lut.acc_dtype)


def _step_cases(plan, levels) -> dict:
    """Each step of the prepared plan alone, on the arrays run_plan gives it."""
    values = run_plan(plan, levels).nodes
    return {f"node {step.node}": (
        lambda step=step: RUNNERS[step.op](step, [values[s].output for s in step.inputs],
                                           "raise", None))
        for step in plan.steps if step.op != "input"}


def _grouped_compiled(plan, numpy_plan, levels) -> dict:
    """Each weighted layer that numpy's plan groups, summed by the compiled loop over
    those grouped tables (rows or lane-packed words), beside the plan's own per-connection
    rows ("node ..."): why the plan gives the loop one row per connection."""
    if not host.available():
        return {}
    steps = _step_cases(numpy_plan, levels)
    return {f"compiled over grouped tables: {step.node} g={step.plan.grouping.size}"
            f"{' packed' if step.plan.packing is not None else ''}": steps[f"node {step.node}"]
            for step, own in zip(numpy_plan.steps, plan.steps)
            if step.op in WEIGHTED and step.plan.grouping is not None
            and step.plan.row_offsets is not None and own.plan.grouping is None}


def _switches() -> int:
    """Involuntary context switches of this thread so far (the scheduler took the core)."""
    return resource.getrusage(_WHO).ru_nivcsw


def _timings(cases: dict, rounds: int, repeats: int) -> tuple[dict, dict, dict, dict]:
    """Per case, the median and the best (fastest) run, ms, the runs left out of the
    median, and each round's best run: each round runs every case in its own warm loop
    (one discarded run, then `repeats` timed runs). A run during which the scheduler
    gave the core to another process (an involuntary context switch) times that process
    too: it is left out of the median (counted; kept if every run of a case was
    switched)."""
    samples = {name: [] for name in cases}
    switched = {name: [] for name in cases}
    rounds_best = {name: [] for name in cases}
    for _ in range(rounds):
        for name, function in cases.items():
            function()
            runs = []
            for _ in range(repeats):
                before = _switches()
                begin = time.perf_counter()
                function()
                elapsed = time.perf_counter() - begin
                (switched if _switches() != before else samples)[name].append(elapsed)
                runs.append(elapsed)
            rounds_best[name].append(1000 * min(runs))
    medians = {name: 1000 * statistics.median(samples[name] or switched[name])
               for name in cases}
    best = {name: 1000 * min(samples[name] + switched[name]) for name in cases}
    return medians, best, {name: len(runs) for name, runs in switched.items()}, rounds_best


def _numpy(function):
    """`function` run on numpy's gathers (the compiled row sums turned off)."""
    def run():
        with host.numpy_only():
            return function()
    return run


def _plans(graph):
    """The graph's plan, the plan of numpy's gathers (built with the compiled row sums
    off: grouped tables, lane packing) and the same with grouping off (one gather per
    connection)."""
    plan = build_plan(graph)
    with host.numpy_only():
        numpy_plan = build_plan(graph)
        cap, grouped.GROUPED_TABLE_MAX_ENTRIES = grouped.GROUPED_TABLE_MAX_ENTRIES, 0
        try:
            return plan, numpy_plan, build_plan(graph)
        finally:
            grouped.GROUPED_TABLE_MAX_ENTRIES = cap


def _unpacked(graph):
    """numpy's plan of the graph with lane packing off (int16 or int32 group rows)."""
    lanes, packed.MIN_LANES = packed.MIN_LANES, 1 << 30
    try:
        with host.numpy_only():
            return build_plan(graph)
    finally:
        packed.MIN_LANES = lanes


def _packing_cases(graph, levels) -> dict:
    """Every grouped dense layer alone, lane-packed wherever its lanes fit (MIN_GROUPS
    0, the plan's KEEP_FASTER_ROWS off) and as int group rows (packing off): where
    packing pays (hwsim/execute/packed.py, hwsim/execute/plan.py SUM_COSTS)."""
    groups, packed.MIN_GROUPS = packed.MIN_GROUPS, 0
    keep, plan_module.KEEP_FASTER_ROWS = plan_module.KEEP_FASTER_ROWS, False
    try:
        with host.numpy_only():
            forced = build_plan(graph)
    finally:
        packed.MIN_GROUPS, plan_module.KEEP_FASTER_ROWS = groups, keep
    on, off = _step_cases(forced, levels), _step_cases(_unpacked(graph), levels)
    cases = {}
    for step in forced.steps:
        if getattr(step.plan, "packing", None) is not None:
            label = (f"numpy: {step.node} ({step.plan.grouping.groups} groups, "
                     f"{step.plan.units} units)")
            cases[f"{label} lane-packed"] = _numpy(on[f"node {step.node}"])
            cases[f"{label} int rows"] = _numpy(off[f"node {step.node}"])
    return cases


def _shape_only(name: str, batch: int, rounds: int, repeats: int) -> int:
    workload = load_workload(name)
    graph = graph_from_workload(workload, 0)
    levels = np.random.default_rng(0).integers(0, workload.input_levels,
                                               (batch, *workload.input_shape))
    plan, numpy_plan, ungrouped = _plans(graph)
    modes = ("grouped", "per connection", "grouped, not packed", "compiled")
    cases = {}
    for on, off, rows, compiled in zip(_step_cases(numpy_plan, levels).items(),
                                       _step_cases(ungrouped, levels).items(),
                                       _step_cases(_unpacked(graph), levels).items(),
                                       _step_cases(plan, levels).items()):
        step = next(s for s in numpy_plan.steps if f"node {s.node}" == on[0])
        if step.op in WEIGHTED and step.plan.grouping is not None:
            packing = step.plan.packing is not None
            functions = (_numpy(on[1]), _numpy(off[1])) + ((_numpy(rows[1]),) if packing else (
                None,)) + (compiled[1],)
            cases[(on[0], step.plan.grouping.size, packing)] = functions
    interleaved = {(key, modes[index]): function for key, functions in cases.items()
                   for index, function in enumerate(functions) if function is not None}
    medians = _timings(interleaved, rounds, repeats)[0]
    print(f"{workload.name} (shape-only, random weights), batch {batch}: the layers numpy's "
          f"gathers group, alone, median of {rounds} rounds x {repeats} runs; compiled row "
          f"sums: {_host_line()}")
    for key in cases:
        node, size, packing = key
        on, off = medians[(key, "grouped")], medians[(key, "per connection")]
        rows = (f"; not packed {medians[(key, modes[2])]:8.3f} ms, packed "
                f"{medians[(key, modes[2])] / on:.2f}x faster" if packing else "")
        compiled = medians.get((key, "compiled"))
        print(f"  {node:<28} numpy g={size}: grouped {on:8.3f} ms, per connection {off:8.3f} "
              f"ms, {off / on:.2f}x faster{rows}; the plan's own (compiled where there) "
              f"{compiled:8.3f} ms")
    return 0


def _host_line() -> str:
    status = host.status()
    return (f"in use ({status.reason})" if status.available else
            f"NOT in use ({status.reason}): numpy's gathers")


FLOAT = "float forward (continuous, numpy)"
PREPARED = "executor, prepared plan (run_plan)"
WITH_BUILD = "executor with build (execute)"


def _report(name: str, args) -> bool:
    """Train, time and print one workload; True when the target is met."""
    workload = load_workload(name)
    started = time.perf_counter()
    result = run_training(workload)
    trained = time.perf_counter() - started
    graph = build_graph(workload, result.integer_model, source="artifact")
    x = np.asarray(load_dataset(workload.dataset).x_test, dtype=np.float64)
    levels = quantize_input(x, workload.input_levels)
    plan, numpy_plan, ungrouped = _plans(graph)
    headline = {
        FLOAT: lambda: forward(workload.layers, result.continuous_params, x, Mode(None, None),
                               workload.task),
        PREPARED: lambda: run_plan(plan, levels),
        WITH_BUILD: lambda: execute(graph, levels),
    }
    breakdown = {
        "executor, numpy's gathers (run_plan)": _numpy(lambda: run_plan(numpy_plan, levels)),
        "executor, numpy's gathers, grouping off": _numpy(lambda: run_plan(ungrouped, levels)),
        "plan build alone (build_plan)": lambda: build_plan(graph),
        **_step_cases(plan, levels),
        **_grouped_compiled(plan, numpy_plan, levels),
        **_floor_cases(numpy_plan, run_plan(plan, levels)),
        **_packing_cases(graph, levels),
    }
    medians, best, switched, rounds_best = _timings(headline, args.rounds, args.repeats)
    parts = _timings(breakdown, args.rounds, args.repeats)
    medians, best = {**medians, **parts[0]}, {**best, **parts[1]}
    run = run_plan(plan, levels)
    print(f"{workload.name}: trained with its defaults in {trained:.1f} s; test set "
          f"{len(x)} samples, {graph.number_of_nodes()} nodes; median and best of {args.rounds} "
          f"rounds x {args.repeats} runs (each case in its own warm loop; runs switched out "
          f"by the scheduler, left out of the medians: float {switched[FLOAT]}, run_plan "
          f"{switched[PREPARED]}, execute {switched[WITH_BUILD]}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); compiled row sums: "
          f"{_host_line()}")
    float_ms, float_best = medians[FLOAT], best[FLOAT]
    for case, ms in medians.items():
        print(f"  {case:<66} {ms:8.3f} ms {ms / float_ms:5.2f}x float; best {best[case]:7.3f} "
              f"ms {best[case] / float_best:5.2f}x")
    ratio, best_ratio = medians[PREPARED] / float_ms, best[PREPARED] / float_best
    with_build, best_build = medians[WITH_BUILD] / float_ms, best[WITH_BUILD] / float_best
    met = ratio <= TARGET_RATIO and best_ratio <= TARGET_RATIO
    paired = statistics.median(run / floated for run, floated in zip(
        rounds_best[PREPARED], rounds_best[FLOAT]))
    print(f"  ratio executor / float: median {ratio:.2f}x (with build {with_build:.2f}x), best "
          f"runs {best_ratio:.2f}x (with build {best_build:.2f}x), target <= {TARGET_RATIO:g}x "
          f"on both: {'met' if met else 'MISSED'}; round by round (each round's best run "
          f"against the float forward's of the same round), median {paired:.2f}x")
    floor_ms = sum(ms for case, ms in medians.items() if case.startswith("numpy: grouped "))
    floor_best = sum(ms for case, ms in best.items() if case.startswith("numpy: grouped "))
    print(f"  numpy: grouped gather + sum (+ unpack) of every weighted layer: median "
          f"{floor_ms:.3f} ms "
          f"= {floor_ms / float_ms:.2f}x the float forward; best {floor_best:.3f} ms = "
          f"{floor_best / float_best:.2f}x")
    grouped_ms = sum(ms for case, ms in best.items() if case.startswith("compiled over "))
    if grouped_ms:
        own = sum(best[f"node {case.split(': ')[1].split(' g=')[0]}"] for case in best
                  if case.startswith("compiled over "))
        print(f"  compiled loop, those layers alone (best runs): per connection (the plan's) "
              f"{own:.3f} ms, over numpy's grouped tables {grouped_ms:.3f} ms")
    nodes_ms = sum(ms for case, ms in best.items() if case.startswith("node "))
    print(f"  the nodes alone add up to {nodes_ms:.3f} ms (best runs) of run_plan's "
          f"{best[PREPARED]:.3f} ms")
    for step in numpy_plan.steps:
        lut = step.plan
        if step.op in WEIGHTED and lut.grouping is not None:
            levels_l, size = lut.grouping.radix[0].size, lut.grouping.size
            channels = run.nodes[step.inputs[0]].output.shape[-1]
            larger = -(-channels // (size + 1)) * levels_l ** (size + 1) * lut.units
            stored = (f"{lut.columns.dtype}" if lut.packing is None else
                      f"in {lut.packing.lanes} lanes of {lut.packing.width} bits per int64")
            print(f"  numpy: {step.node}: g={size} over {levels_l} levels, {lut.grouping.groups} "
                  f"groups of {channels} inputs, tables {lut.columns.shape[0] * lut.units:,} "
                  f"entries ({stored}, {lut.columns.nbytes / 1e6:.1f} MB); g={size + 1} would "
                  f"need {larger:,} (cap "
                  f"{grouped.GROUPED_TABLE_MAX_ENTRIES:,})")
    p = run.per_inference
    print(f"  per inference: {p.loads:,} loads, {p.adds:,} adds, {p.compares:,} compares, "
          f"{p.multiplies} multiplies, {p.float_ops} float ops")
    return met


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", action="append",
                        help="a workload with a dataset (repeatable; default digits-mlp and "
                             "digits-ae)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per case and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shape-only", metavar="WORKLOAD",
                        help="grouped against per-connection gathers per node, random weights")
    parser.add_argument("--batch", type=int, default=16, help="samples (--shape-only)")
    args = parser.parse_args(argv)
    if args.shape_only:
        return _shape_only(args.shape_only, args.batch, args.rounds, args.repeats)
    met = [_report(name, args) for name in args.workload or ("digits-mlp", "digits-ae")]
    return 0 if all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
