"""Wall time of a bit-width sweep: 36 (L, K) points x every bundled device x 3
styles for digits-mlp, cold (empty cache) with 1 worker and with 2 local worker
processes (each with its own empty cache), and warm (everything cached). Checks
that the three runs give the same rows and prints the speed-up of 2 workers over 1.

    python benchmarks/sweep_speed.py [--workload digits-mlp] [--levels 2,4,...]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from hwsim.cache import open_cache
from hwsim.sweep import SweepSpec, run_sweep


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(","))


def timed_sweep(spec: SweepSpec, cache_dir: str, jobs: int):
    started = time.perf_counter()
    result = run_sweep(spec, cache=open_cache(cache_dir), jobs=jobs)
    return time.perf_counter() - started, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="digits-mlp")
    parser.add_argument("--levels", type=ints, default=(2, 4, 8, 16, 32, 64))
    parser.add_argument("--clusters", type=ints, default=(2, 4, 16, 64, 256, 1024))
    args = parser.parse_args(argv)
    spec = SweepSpec(args.workload, levels=args.levels, clusters=args.clusters)
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        cold_1, first = timed_sweep(spec, one, 1)
        cold_2, second = timed_sweep(spec, two, 2)
        warm, third = timed_sweep(spec, one, 1)
    same = (json.dumps(first.rows) == json.dumps(second.rows) == json.dumps(third.rows))
    points = len(args.levels) * len(args.clusters)
    print(f"{args.workload}: {points} (L, K) points x {len(first.rows) // points // 3} devices "
          f"x 3 styles = {len(first.rows)} rows, {first.total_units} units; "
          f"{os.cpu_count()} CPUs")
    print(f"  cold, 1 worker    {cold_1:8.1f} s  ({first.computed_units} computed)")
    print(f"  cold, 2 workers   {cold_2:8.1f} s  ({second.computed_units} computed)")
    print(f"  warm (all cached) {warm:8.1f} s  ({third.cached_units} cached, "
          f"{third.computed_units} computed)")
    print(f"  speed-up of 2 local workers over 1: {cold_1 / cold_2:.2f}x")
    print(f"  rows identical across the three runs: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
