"""The frames a schedule runs, as plain records shared by both ways of running them: the
`Plan` (nodes, cycles, cores, frames, the firmware's periodic share), the firmware's
closed form (`FirmwareLoad`) and the `Trace` of what ran. Importing this module does
not import simpy: hwsim.schedule.sequential runs the provably sequential plans without
it, hwsim.schedule.model (simpy) runs the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field

COMPUTE, COPY, DMA = "compute", "copy", "dma"


@dataclass(frozen=True)
class FirmwareLoad:
    """The rest of the firmware as a periodic task that preempts the network: it
    occupies every core for the first `busy_cycles` of each `slice_cycles` slice
    (slices start at cycle 0)."""
    slice_cycles: int
    busy_cycles: int

    def resume(self, cycle: int) -> int:
        """The first cycle >= `cycle` at which the network may run."""
        slice_start = cycle - cycle % self.slice_cycles
        return max(cycle, slice_start + self.busy_cycles)

    def finish(self, cycle: int, work_cycles: int) -> int:
        """When `work_cycles` of network work started at `cycle` end, the firmware
        taking its share of every slice on the way."""
        if work_cycles == 0 or self.busy_cycles == 0:
            return cycle + work_cycles
        start = self.resume(cycle)
        room = self.slice_cycles - start % self.slice_cycles
        if work_cycles <= room:
            return start + work_cycles
        next_slice = start + room
        full, rest = divmod(work_cycles - room, self.slice_cycles - self.busy_cycles)
        if rest == 0:
            return next_slice + full * self.slice_cycles
        return next_slice + full * self.slice_cycles + self.busy_cycles + rest


@dataclass(frozen=True)
class Plan:
    """Everything the simpy model needs, validated by the caller. Node names are
    listed in execution order; `successors` are in execution order too."""
    order: tuple[str, ...]
    successors: dict[str, tuple[str, ...]]
    compute_cycles: dict[str, int]
    copy_cycles: dict[str, int]           # the core copies the node's data itself (no DMA)
    dma_cycles: dict[str, int]            # the DMA engine moves the node's data
    cores: int
    frames: int
    period_cycles: int
    firmware: FirmwareLoad
    dma_buffers: int
    drop_when_busy: bool


@dataclass
class Trace:
    """What the model records, compactly: each frame that ran is a block (frame,
    start cycle, template key), and a template holds the events of one simulated
    frame relative to its start (node, kind, core, start, end, work cycles) and its
    duration; a replayed frame adds a block only. `frames` holds (frame, arrival,
    start, end) per frame that ran, `dropped` the frames skipped. `live` collects the
    events of the frame being simulated, in absolute cycles."""
    frames: list[tuple[int, int, int, int]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    templates: dict[int, tuple[tuple[tuple, ...], int]] = field(default_factory=dict)
    blocks: list[tuple[int, int, int]] = field(default_factory=list)
    live: list[tuple] = field(default_factory=list)

    @property
    def events(self) -> list[tuple]:
        """Every event (frame, node, kind, core, start, end, work) in absolute cycles,
        frame by frame, each frame in the order things happened."""
        return [(frame, n, kind, core, start + s, start + e, work)
                for frame, start, key in self.blocks
                for n, kind, core, s, e, work in self.templates[key][0]]
