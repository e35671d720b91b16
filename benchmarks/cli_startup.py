"""Start-up of the `hwsim` command: wall time of `hwsim --help`, `hwsim devices` and
`hwsim simulate digits-mlp --device nrf52840` through the installed console script
(the median of --repeats runs each), against the issue 15 target of 0.3 s. Only the
chosen command's module and what it needs are imported (hwsim/cli/commands.py).

    python benchmarks/cli_startup.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3
COMMANDS = (("--help",), ("devices",), ("simulate", "digits-mlp", "--device", "nrf52840"))


def wall(args: tuple[str, ...]) -> float:
    script = Path(sys.executable).parent / "hwsim"
    started = time.perf_counter()
    subprocess.run([str(script), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    for command in COMMANDS:
        wall(command)                                   # warm the file cache
        median = statistics.median(wall(command) for _ in range(args.repeats))
        ok = median <= TARGET_S
        print(f"hwsim {' '.join(command):45s} {median:6.3f} s  "
              f"({median / TARGET_S:.2f}x the {TARGET_S} s target{'' if ok else ': MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
