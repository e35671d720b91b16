"""Memory tiers of a SoC core: which tier each buffer of a planned network takes.

The planner's MemoryReport gives the buffers (code, weights, tables, the activation
arena); `place_in_tiers` puts each, in the planner's order, into the first tier of the
core's list (the order the SoC file gives) that may hold its content and still has
room, after what the rest of the firmware reserves there. It does not change the cost
model's prices: the placement is reported (tier of every buffer, why one does not fit),
so a user sees whether the network fits beside the audio pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.memory.planner import MemoryReport, TABLE_LINES
from hwsim.specs.soc import MemoryTier

RESERVED_LINE = "reserved (rest of the firmware)"


@dataclass(frozen=True)
class TierBuffer:
    """One buffer and where it went (tier None: it fits nowhere; `why` says why)."""
    name: str
    content: str             # code | weights | tables | activations
    size_bytes: int
    tier: str | None
    why: str | None = None


@dataclass(frozen=True)
class TierUse:
    tier: str
    kind: str
    size_bytes: int
    reserved_bytes: int
    network_bytes: int

    @property
    def free_bytes(self) -> int:
        return self.size_bytes - self.reserved_bytes - self.network_bytes


@dataclass(frozen=True)
class TierPlacement:
    buffers: tuple[TierBuffer, ...]
    tiers: tuple[TierUse, ...]

    @property
    def fits(self) -> bool:
        return all(b.tier is not None for b in self.buffers)

    def to_dict(self) -> dict:
        return {"fits": self.fits,
                "buffers": [{"name": b.name, "content": b.content, "bytes": b.size_bytes,
                             "tier": b.tier, "why": b.why} for b in self.buffers],
                "tiers": [{"tier": t.tier, "kind": t.kind, "size_bytes": t.size_bytes,
                           "reserved_bytes": t.reserved_bytes, "network_bytes": t.network_bytes,
                           "free_bytes": t.free_bytes} for t in self.tiers]}


def content_of(line_name: str) -> str:
    """The content class of a memory-report line (code, tables, weights, activations)."""
    if line_name.startswith("arena"):
        return "activations"
    if line_name.startswith("code"):
        return "code"
    if any(line_name.startswith(t) for t in TABLE_LINES):
        return "tables"
    return "weights"


def network_buffers(memory: MemoryReport) -> list[tuple[str, str, int]]:
    """(name, content, bytes) of what the network itself needs, in the planner's order:
    the activation arena first (it wants the fastest memory), then parameters, code."""
    lines = [*memory.ram_lines, *memory.flash_lines]
    out = [(l.name, content_of(l.name), l.bytes) for l in lines
           if l.name != RESERVED_LINE and l.bytes > 0 and "(boot image)" not in l.name]
    return sorted(out, key=lambda b: b[1] != "activations")


def place_in_tiers(memory: MemoryReport, tiers: tuple[MemoryTier, ...]) -> TierPlacement:
    """First fit, in the file's tier order, of every network buffer."""
    return place_buffers(network_buffers(memory), tiers)


def place_buffers(buffers, tiers: tuple[MemoryTier, ...]) -> TierPlacement:
    """First fit of (name, content, bytes) buffers, in order, into the tiers in order."""
    used = {t.name: 0 for t in tiers}
    placed = []
    for name, content, size in buffers:
        reasons = []
        chosen = None
        for t in tiers:
            if content not in t.holds:
                reasons.append(f"{t.name} does not hold {content}")
                continue
            free = t.free_bytes - used[t.name]
            if size > free:
                reasons.append(f"{t.name} has {max(free, 0)} B free of {t.size_bytes} B "
                               f"({t.reserved_bytes} B reserved)")
                continue
            chosen = t.name
            used[t.name] += size
            break
        why = None if chosen else f"needs {size} B: " + "; ".join(reasons)
        placed.append(TierBuffer(name, content, size, chosen, why))
    uses = tuple(TierUse(t.name, t.kind, t.size_bytes, t.reserved_bytes, used[t.name])
                 for t in tiers)
    return TierPlacement(tuple(placed), uses)
