"""The main job, `hwsim report`, cold (empty cache, empty output directory) and warm
(everything cached), in a scratch directory, through the installed console script.
Targets: cold <= 60 s, warm <= 3 s (issue 15) on the 2-core reference machine. A warm
run reads every trained artifact, verification, sweep simulation and the compare and
products sections from the cache (hwsim/report/sections.py) and draws the dashboard.

    python benchmarks/main_job.py [--warm-runs 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_TARGET_S = 60
WARM_TARGET_S = 3


def run(directory: Path, out: str) -> float:
    script = Path(sys.executable).parent / "hwsim"
    env = {k: v for k, v in os.environ.items() if k != "HWSIM_CACHE"}
    started = time.perf_counter()
    subprocess.run([str(script), "report", "--out", out, "--cache", "cache"], cwd=directory,
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="hwsim-main-job-"))
    try:
        cold = run(directory, "cold")
        warm = [run(directory, f"warm{i}") for i in range(args.warm_runs)]
    finally:
        shutil.rmtree(directory)
    print(f"hwsim report on {os.cpu_count()} CPUs")
    median = statistics.median(warm)
    print(f"  cold (empty cache)   {cold:7.1f} s   ({cold / COLD_TARGET_S:.2f}x the "
          f"{COLD_TARGET_S} s target{'' if cold <= COLD_TARGET_S else ': MISSED'})")
    print(f"  warm (median of {len(warm)})  {median:7.2f} s   ({median / WARM_TARGET_S:.2f}x the "
          f"{WARM_TARGET_S} s target{'' if median <= WARM_TARGET_S else ': MISSED'}); runs "
          + ", ".join(f"{w:.2f}" for w in warm) + " s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
