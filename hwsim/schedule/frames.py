"""The frames of a schedule, kept compactly: each distinct frame once (a template of
events relative to the frame's start), and per frame that ran, which template it
replays and when it started.

Frames run one after another and never overlap, so every total the schedule
reports (busy cycles per core, cycles some core is awake, the memory peak) is a sum
or a maximum over templates, computed once per template; the full timeline and
memory curve are built only when asked for, and equal what simulating every frame
event by event gives (tests/test_schedule.py holds the two side by side).
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.schedule.frame_plan import COMPUTE, DMA, Trace

_KIND_RANK = {COMPUTE: 0, "copy": 0, DMA: 1}


def _order(event: tuple) -> tuple:
    """Timeline order of an event (frame, node, kind, core, start, end, work): by start,
    end, kind (compute and copy before DMA), core, frame, node."""
    frame, node, kind, core, start, end, _ = event
    return start, end, _KIND_RANK[kind], -1 if core is None else core, frame, node


@dataclass(frozen=True)
class FrameTemplate:
    """One simulated frame, relative to its start: its events (node, kind, core, start,
    end, work), and what the totals need of it."""
    events: tuple[tuple, ...]
    end_cycle: int                                  # the last event's end
    busy_cycles: tuple[int, ...]                    # per core: compute + copy work
    awake_cycles: int                               # some core inside a node
    memory_deltas: tuple[tuple[int, int], ...]      # (cycle, bytes allocated - freed)
    peak_bytes: int


def _template(events, cores: int, successors, sizes) -> FrameTemplate:
    busy = [0] * cores
    for _, _, core, _, _, work in events:
        if core is not None:
            busy[core] += work
    spans = sorted((s, e) for _, kind, _, s, e, _ in events if kind != DMA and e > s)
    awake, reach = 0, None
    for start, end in spans:
        if reach is None or start > reach:
            awake, reach = awake + end - start, end
        elif end > reach:
            awake, reach = awake + end - reach, end
    end_of = {n: e for n, kind, _, _, e, _ in events if kind == COMPUTE}
    delta: dict[int, int] = {}
    for n, kind, _, s, e, _ in events:
        size = sizes.get(n)
        if size is None or kind != COMPUTE:
            continue
        free = max([e, *(end_of[c] for c in successors[n])])
        delta[s] = delta.get(s, 0) + size
        delta[free] = delta.get(free, 0) - size
    level = peak = 0
    for cycle in sorted(delta):
        level += delta[cycle]
        peak = max(peak, level)
    return FrameTemplate(events, max((e for *_, e, _ in events), default=0), tuple(busy),
                         awake, tuple(sorted(delta.items())), peak)


@dataclass(frozen=True)
class FrameTimeline:
    """Every frame that ran: `blocks` (frame, start cycle, template key) in frame order,
    and the `templates` they replay."""
    blocks: tuple[tuple[int, int, int], ...]
    templates: dict[int, FrameTemplate]

    @classmethod
    def from_trace(cls, trace: Trace, cores: int, successors, buffer_bytes) -> FrameTimeline:
        sizes = {n: b for n, b in (buffer_bytes or {}).items() if b > 0}
        templates = {key: _template(events, cores, successors, sizes)
                     for key, (events, _) in trace.templates.items()}
        return cls(tuple(trace.blocks), templates)

    @property
    def busy_cycles(self) -> tuple[int, ...]:
        totals = None
        for _, _, key in self.blocks:
            busy = self.templates[key].busy_cycles
            totals = list(busy) if totals is None else [a + b for a, b in zip(totals, busy)]
        return tuple(totals or ())

    @property
    def awake_cycles(self) -> int:
        return sum(self.templates[key].awake_cycles for _, _, key in self.blocks)

    @property
    def peak_bytes(self) -> int:
        return max((self.templates[key].peak_bytes for _, _, key in self.blocks), default=0)

    @property
    def last_end_cycle(self) -> int:
        return max((start + self.templates[key].end_cycle for _, start, key in self.blocks),
                   default=0)

    def events(self, frames: int | None = None) -> list[tuple]:
        """The events of the frames before `frames` (None: all), absolute, in timeline
        order."""
        chosen = [(frame, start, key) for frame, start, key in self.blocks
                  if frames is None or frame < frames]
        return sorted(((frame, n, kind, core, start + s, start + e, work)
                       for frame, start, key in chosen
                       for n, kind, core, s, e, work in self.templates[key].events), key=_order)

    def memory_over_time(self, until_cycle: int | None = None) -> tuple[tuple[int, int], ...]:
        """(cycle, bytes in use from then on) at every change, up to `until_cycle`."""
        delta: dict[int, int] = {}
        for _, start, key in self.blocks:
            if until_cycle is not None and start > until_cycle:
                break
            for cycle, change in self.templates[key].memory_deltas:
                delta[start + cycle] = delta.get(start + cycle, 0) + change
        points, level = [], 0
        for cycle in sorted(delta):
            if until_cycle is not None and cycle > until_cycle:
                break
            level += delta[cycle]
            if not points or points[-1][1] != level:
                points.append((cycle, level))
        return tuple(points)

