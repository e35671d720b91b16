"""The fit matrix: every network on every device in every arithmetic style."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from hwsim.specs.device import Device
from hwsim.evaluate.rows import simulation_detail, simulation_row
from hwsim.schedule.scheduler import ScheduleOptions
from hwsim.evaluate.simulate import Subject, simulate
from hwsim.ir.style import STYLES


@dataclass(frozen=True)
class Comparison:
    rows: tuple[dict, ...]        # hwsim.evaluate.rows.simulation_row, sorted
    details: tuple[dict, ...]     # hwsim.evaluate.rows.simulation_detail for the chosen pairs


def compare(subjects: Sequence[Subject], devices: Sequence[Device],
            styles: Sequence[str] = STYLES, *, frames: int = 20,
            detail: Callable[[str, str, str], bool] = lambda w, d, s: False,
            progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Simulate every (subject, device, style); `detail(workload, device, style)` says
    which also get a detail record (timeline, memory, per-node breakdown)."""
    rows, details = [], []
    total = len(subjects) * len(devices) * len(styles)
    done = 0
    options = ScheduleOptions(frames=frames)
    for subject in subjects:
        for device in devices:
            for style in styles:
                sim = simulate(subject, device, style, schedule_options=options)
                rows.append(simulation_row(sim, workload=subject.label, realtime=subject.realtime))
                if detail(subject.label, device.name, style):
                    details.append(simulation_detail(sim, workload=subject.label,
                                                     sram_bytes=device.memory.sram_bytes))
                done += 1
                if progress:
                    progress(done, total)
    key = lambda r: (r["workload"], r["device"], STYLES.index(r["style"]))  # noqa: E731
    return Comparison(tuple(sorted(rows, key=key)), tuple(details))
