"""Running a memory image on a built simulator and reading the testbench's events.

    run = run_firmware(simulator, words, max_cycles=1_000_000, wait_states=0)
    run.marks            # (Event(clock, value), ...) one per MARK write, in order
    run.exit_code        # the word written to EXIT, None if the run did not exit
    run.timed_out        # True when max_cycles was reached first

Clocks count rising edges after reset; an event carries the edge at which the memory
accepted the write, so the difference between two MARK clocks is the cost of the code
between the two stores (plus one store, identical for every block measured).
"""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hwsim.errors import HwsimError
from hwsim.machine.rtl.image import write_hex


@dataclass(frozen=True)
class Event:
    clock: int
    value: int


@dataclass(frozen=True)
class RtlRun:
    marks: tuple[Event, ...]
    results: tuple[Event, ...]
    exit_code: int | None
    clocks: int                       # rising edges simulated after reset
    timed_out: bool
    wait_states: int

    def mark_clocks(self) -> tuple[int, ...]:
        return tuple(m.clock for m in self.marks)

    def clocks_between_marks(self) -> tuple[int, ...]:
        """Clock differences between consecutive MARK writes."""
        clocks = self.mark_clocks()
        return tuple(b - a for a, b in zip(clocks, clocks[1:]))


def parse_output(text: str, wait_states: int) -> RtlRun:
    """An RtlRun from sim_main.cpp's HWSIM lines (other lines are ignored)."""
    marks, results, exit_code, end = [], [], None, None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] != "HWSIM":
            continue
        kind = fields[1]
        if kind == "ERROR":
            raise HwsimError("RTL testbench: " + " ".join(fields[2:]))
        if kind == "MARK" and len(fields) == 4:
            marks.append(Event(int(fields[2]), int(fields[3])))
        elif kind == "RESULT" and len(fields) == 4:
            results.append(Event(int(fields[2]), int(fields[3])))
        elif kind == "EXIT" and len(fields) == 4:
            exit_code = int(fields[3])
        elif kind == "END" and len(fields) == 4:
            end = (int(fields[2]), fields[3])
    if end is None:
        raise HwsimError("RTL testbench output has no END line (the simulator crashed?)")
    return RtlRun(tuple(marks), tuple(results), exit_code, end[0], end[1] == "timeout",
                  wait_states)


def run_firmware(simulator: Path | str, image: Path | str | Sequence[int], *,
                 max_cycles: int, wait_states: int = 0,
                 timeout_s: float | None = None) -> RtlRun:
    """Run a $readmemh file (path) or a list of words on `simulator` (from build_core)."""
    if max_cycles <= 0:
        raise HwsimError(f"max_cycles must be positive, got {max_cycles}")
    if not 0 <= wait_states <= 255:
        raise HwsimError(f"wait_states must be 0..255, got {wait_states}")
    simulator = Path(simulator).resolve()
    if not simulator.is_file():
        raise HwsimError(f"{simulator}: no simulator binary (build it with build_core)")
    with tempfile.TemporaryDirectory(prefix="hwsim-rtl-") as scratch:
        if isinstance(image, (str, Path)):
            hex_path = Path(image).resolve()
            if not hex_path.is_file():
                raise HwsimError(f"{hex_path}: no such memory image")
        else:
            hex_path = write_hex(list(image), Path(scratch) / "firmware.hex")
        command = [str(simulator), f"+firmware={hex_path}", f"+max_cycles={max_cycles}",
                   f"+wait_states={wait_states}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, cwd=scratch,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise HwsimError(f"{simulator.name} ran over {timeout_s} s "
                             f"(max_cycles {max_cycles})") from None
    if done.returncode != 0:
        raise HwsimError(f"{simulator} exited with {done.returncode}: "
                         f"{(done.stdout + done.stderr).strip()[-2000:]}")
    return parse_output(done.stdout, wait_states)
