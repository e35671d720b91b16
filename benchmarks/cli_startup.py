"""Start-up of the `hwsim` command: wall time of `hwsim --help`, `hwsim devices` and
`hwsim simulate har-cnn --device nrf52840` through the installed console script (the
median of --repeats runs each, and the fastest run: on a shared machine the minimum
is the figure least disturbed by other work), against the issue 15 target of 0.3 s.
Only the chosen command's module and what it needs are imported
(hwsim/cli/commands.py).

    python benchmarks/cli_startup.py [--repeats 7]

Measured as installed: pip compiles every module to bytecode when it installs a
package, so the runs use a bytecode cache (written once, by the warm-up run, under a
temporary PYTHONPYCACHEPREFIX, never into the source tree). The second column is the
same command with no bytecode cache for hwsim's own modules (PYTHONDONTWRITEBYTECODE
in a source checkout: every start compiles them again), for reference.

The last lines are the floor of `hwsim simulate`: the interpreter importing only the
third-party packages that command needs (numpy; networkx, the IR graph's type; yaml),
measured the same way, and the same with simpy, the scheduler's event engine, which a
schedule without DMA on one core (or of a graph that is one path, as har-cnn) does not
load (hwsim/schedule/sequential.py).
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

TARGET_S = 0.3
COMMANDS = (("--help",), ("devices",), ("simulate", "har-cnn", "--device", "nrf52840"))
FLOORS = (("-c", "import numpy, networkx, yaml"), ("-c", "import numpy, networkx, yaml, simpy"))


def wall(args: tuple[str, ...], env: dict) -> float:
    program = sys.executable if args in FLOORS else str(Path(sys.executable).parent / "hwsim")
    started = time.perf_counter()
    subprocess.run([program, *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def walls(args: tuple[str, ...], env: dict, repeats: int) -> tuple[float, float]:
    """(median, minimum) wall time of `repeats` runs."""
    wall(args, env)                                   # warm the file and bytecode caches
    times = [wall(args, env) for _ in range(repeats)]
    return statistics.median(times), min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    prefix = tempfile.mkdtemp(prefix="hwsim-pycache-")
    installed = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    installed["PYTHONPYCACHEPREFIX"] = prefix
    uncached = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    uncached["PYTHONDONTWRITEBYTECODE"] = "1"
    missed = 0
    print(f"{'command':51s} {'installed':>9s} {'fastest':>9s}   {'no bytecode cache':>17s}")
    try:
        for command in COMMANDS:
            median, fastest = walls(command, installed, args.repeats)
            source, _ = walls(command, uncached, args.repeats)
            ok = median <= TARGET_S
            missed += not ok
            print(f"hwsim {' '.join(command):45s} {median:7.3f} s {fastest:7.3f} s   "
                  f"{source:15.3f} s   "
                  f"({median / TARGET_S:.2f}x the {TARGET_S} s target{'' if ok else ': MISSED'})")
        for floor in FLOORS:
            median, fastest = walls(floor, installed, args.repeats)
            print(f"floor: python {' '.join(floor)!s:39s} {median:7.3f} s {fastest:7.3f} s")
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
