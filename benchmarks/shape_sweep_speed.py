"""Wall time of a bulk sweep of costed points: a shape-only workload (kws-dscnn) over
19 activation levels x 11 weight-cluster counts = 209 (L, K) points x every bundled
device x 3 styles (10,032 rows), each point costed on a random integer model of its
kind. Cold (empty cache) with 1 local worker, 2 local worker processes, and a Dask
LocalCluster of 2 worker processes; then warm. Checks that every run gives the same
rows and prints the speed-ups over 1 worker.
Targets (issue 15): 10,000 points <= 60 s on 2 cores; Dask with 2 workers >= 1.7x.

    python benchmarks/shape_sweep_speed.py [--workload kws-dscnn] [--levels 2,...] [--clusters 2,...]
"""
from __future__ import annotations

import argparse
import tempfile
import time

from hwsim.sweep.cache import open_cache
from hwsim.sweep.run import SweepSpec, run_sweep

LEVELS = tuple(range(2, 21))
CLUSTERS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 256)


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(","))


def timed(spec: SweepSpec, cache_dir: str, **how):
    started = time.perf_counter()
    result = run_sweep(spec, cache=open_cache(cache_dir), **how)
    return time.perf_counter() - started, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="kws-dscnn")
    parser.add_argument("--levels", type=ints, default=LEVELS)
    parser.add_argument("--clusters", type=ints, default=CLUSTERS)
    args = parser.parse_args(argv)
    spec = SweepSpec(args.workload, levels=args.levels, clusters=args.clusters)
    from dask.distributed import LocalCluster
    with tempfile.TemporaryDirectory(prefix="hwsim-bench-") as scratch:
        one, reference = timed(spec, f"{scratch}/one", jobs=1)
        two, local = timed(spec, f"{scratch}/two", jobs=2)
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                          dashboard_address=None) as cluster:
            dask_s, on_dask = timed(spec, f"{scratch}/dask", executor="dask",
                                    dask_address=cluster.scheduler_address)
        warm, again = timed(spec, f"{scratch}/one", jobs=1)
    rows = len(reference.rows)
    same = reference.rows == local.rows == on_dask.rows == again.rows
    print(f"{args.workload}: {len(args.levels)} x {len(args.clusters)} (L, K) points x every "
          f"device x 3 styles = {rows} costed points")
    print(f"  cold, 1 worker              {one:7.1f} s  ({rows / one:6.0f} points/s)")
    print(f"  cold, 2 local workers       {two:7.1f} s  speed-up {one / two:.2f}x")
    print(f"  cold, Dask 2 workers        {dask_s:7.1f} s  speed-up {one / dask_s:.2f}x "
          "(a running LocalCluster)")
    print(f"  warm (all cached), 1 worker {warm:7.1f} s")
    print(f"  same rows in every run: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
