"""Wall time of a bit-width sweep: 36 (L, K) points x every bundled device x 3
styles for digits-mlp, cold (empty cache) with 1 worker and with 2 local worker
processes (each with its own empty cache), and warm (everything cached). Checks
that the three runs give the same rows and prints the speed-up of 2 workers over 1.
Wall times are the fastest of --repeats cold runs; CPU is user + system time of
this process and its workers.

    python benchmarks/sweep_speed.py [--workload digits-mlp] [--levels 2,4,...] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time

from hwsim.sweep.cache import open_cache
from hwsim.sweep.run import SweepSpec, run_sweep


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(","))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed_sweep(spec: SweepSpec, cache_dir: str, jobs: int):
    started, cpu = time.perf_counter(), cpu_seconds()
    result = run_sweep(spec, cache=open_cache(cache_dir), jobs=jobs)
    return time.perf_counter() - started, cpu_seconds() - cpu, result


def cold_sweep(spec: SweepSpec, jobs: int, repeats: int):
    """The fastest of `repeats` runs, each with its own empty cache."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            runs.append(timed_sweep(spec, cache_dir, jobs))
    return min(runs, key=lambda run: run[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="digits-mlp")
    parser.add_argument("--levels", type=ints, default=(2, 4, 8, 16, 32, 64))
    parser.add_argument("--clusters", type=ints, default=(2, 4, 16, 64, 256, 1024))
    parser.add_argument("--repeats", type=int, default=2,
                        help="cold runs of each kind; the fastest counts (a shared machine's "
                             "other load only ever slows a run down)")
    args = parser.parse_args(argv)
    spec = SweepSpec(args.workload, levels=args.levels, clusters=args.clusters)
    load = os.getloadavg()[0]       # other work on the machine skews the speed-up
    cold_1, cpu_1, first = cold_sweep(spec, 1, args.repeats)
    cold_2, cpu_2, second = cold_sweep(spec, 2, args.repeats)
    with tempfile.TemporaryDirectory() as cache_dir:
        timed_sweep(spec, cache_dir, 2)
        warm, cpu_warm, third = timed_sweep(spec, cache_dir, 1)
    same = (json.dumps(first.rows) == json.dumps(second.rows) == json.dumps(third.rows))
    points = len(args.levels) * len(args.clusters)
    print(f"{args.workload}: {points} (L, K) points x {len(first.rows) // points // 3} devices "
          f"x 3 styles = {len(first.rows)} rows, {first.total_units} units; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} before")
    print(f"  cold, 1 worker    {cold_1:8.1f} s wall {cpu_1:8.1f} s CPU  "
          f"({first.computed_units} computed)")
    print(f"  cold, 2 workers   {cold_2:8.1f} s wall {cpu_2:8.1f} s CPU  "
          f"({second.computed_units} computed)")
    print(f"  warm (all cached) {warm:8.1f} s wall {cpu_warm:8.1f} s CPU  "
          f"({third.cached_units} cached, {third.computed_units} computed)")
    print(f"  speed-up of 2 local workers over 1: {cold_1 / cold_2:.2f}x (cold, wall)")
    print(f"  rows identical across the three runs: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
