"""Arena planners: give every buffer an offset in one block of RAM so that no two
buffers that are live at the same step share a byte.

A buffer lives from `first_step` to `last_step`, both inclusive (TFLite Micro's
convention: from the step of its producer to the step of its last consumer). The
planners know nothing about networks; hwsim.memory.planner turns a graph into buffers.

- `greedy_by_size`: TFLite Micro's GreedyMemoryPlanner. Buffers sorted by size,
  largest first (a stable sort: ties keep their input order); each is placed at the
  lowest offset where it overlaps no already placed buffer whose lifetime overlaps.
- `chain_exact`: optimal when at most two multi-step buffers are live at any step
  (a chain, with any number of one-step buffers such as scratch). Its arena equals
  the lower bound, the largest live set; see `chain_exact` for the construction.
- `auto`: `chain_exact` where it applies, else `greedy_by_size`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hwsim.errors import HwsimError

METHODS = ("greedy_by_size", "chain_exact", "auto")


@dataclass(frozen=True)
class Buffer:
    """A block of `size_bytes` live from `first_step` to `last_step` inclusive."""

    name: str
    size_bytes: int
    first_step: int
    last_step: int

    def __post_init__(self) -> None:
        if not isinstance(self.size_bytes, int) or self.size_bytes < 0:
            raise HwsimError(f"buffer {self.name!r}: size_bytes must be an int >= 0, "
                             f"got {self.size_bytes!r}")
        if not (isinstance(self.first_step, int) and isinstance(self.last_step, int)):
            raise HwsimError(f"buffer {self.name!r}: steps must be ints, got "
                             f"{self.first_step!r}..{self.last_step!r}")
        if self.first_step < 0 or self.last_step < self.first_step:
            raise HwsimError(f"buffer {self.name!r}: needs 0 <= first_step <= last_step, got "
                             f"{self.first_step}..{self.last_step}")

    def live_at(self, step: int) -> bool:
        return self.first_step <= step <= self.last_step

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first_step <= other.last_step and other.first_step <= self.last_step


@dataclass(frozen=True)
class ArenaPlan:
    """Offsets of `buffers` in an arena of `arena_bytes`. `lower_bound_bytes` is the
    largest live set (no plan can do better); `method` is the planner that ran."""

    method: str
    arena_bytes: int
    lower_bound_bytes: int
    alignment_bytes: int
    buffers: tuple[Buffer, ...]
    offsets_bytes: tuple[int, ...]       # one per buffer, same order

    def offset_of(self, name: str) -> int:
        for buffer, offset in zip(self.buffers, self.offsets_bytes):
            if buffer.name == name:
                return offset
        raise HwsimError(f"arena plan: no buffer named {name!r}")

    @property
    def offsets(self) -> dict[str, int]:
        return {b.name: o for b, o in zip(self.buffers, self.offsets_bytes)}

    @property
    def excess_bytes(self) -> int:
        """Bytes above the lower bound (0: the plan is optimal)."""
        return self.arena_bytes - self.lower_bound_bytes

    def __repr__(self) -> str:
        return (f"ArenaPlan({self.method}, {self.arena_bytes} B, lower bound "
                f"{self.lower_bound_bytes} B, {len(self.buffers)} buffers)")


def aligned(size_bytes: int, alignment_bytes: int) -> int:
    """`size_bytes` rounded up to a multiple of `alignment_bytes`."""
    return -(-size_bytes // alignment_bytes) * alignment_bytes


def live_bytes_per_step(buffers: tuple[Buffer, ...] | list[Buffer],
                        alignment_bytes: int = 1) -> list[int]:
    """Bytes live at each step 0..last step of any buffer."""
    steps = max((b.last_step for b in buffers), default=-1) + 1
    live = [0] * steps
    for b in buffers:
        size = aligned(b.size_bytes, alignment_bytes)
        for step in range(b.first_step, b.last_step + 1):
            live[step] += size
    return live


def lower_bound_bytes(buffers, alignment_bytes: int = 1) -> int:
    """The largest live set: no arena can be smaller."""
    return max(live_bytes_per_step(buffers, alignment_bytes), default=0)


def greedy_by_size(buffers, alignment_bytes: int = 1) -> tuple[int, ...]:
    """TFLite Micro's GreedyMemoryPlanner: offsets, one per buffer (input order)."""
    sizes = [aligned(b.size_bytes, alignment_bytes) for b in buffers]
    order = sorted(range(len(buffers)), key=lambda i: -sizes[i])     # stable
    offsets: list[int | None] = [None] * len(buffers)
    placed: list[int] = []                  # indices, kept sorted by offset
    for i in order:
        candidate = 0
        for j in placed:
            if not buffers[i].overlaps_in_time(buffers[j]) or sizes[j] == 0:
                continue
            if offsets[j] >= candidate + sizes[i]:
                break                       # the gap below buffer j is large enough
            candidate = max(candidate, offsets[j] + sizes[j])
        offsets[i] = candidate
        placed.append(i)
        placed.sort(key=lambda j: offsets[j])
    return tuple(offsets)


def chain_conflict(buffers) -> str | None:
    """Why `chain_exact` does not apply (a step where three or more multi-step
    buffers are live), or None when it does."""
    long = [b for b in buffers if b.last_step > b.first_step]
    for step, live in enumerate(_live_sets(long)):
        if len(live) > 2:
            names = ", ".join(b.name for b in live)
            return f"{len(live)} multi-step buffers live at step {step} ({names})"
    return None


def chain_exact(buffers, alignment_bytes: int = 1) -> tuple[int, ...]:
    """Offsets achieving the lower bound when at most two multi-step buffers are live
    at any step (ping-pong placement).

    Proof. Let A be the largest live set. The multi-step buffers form an interval
    graph with cliques of at most 2, so colouring them by start step with the first
    colour free of live neighbours uses two colours, bottom and top. Bottom buffers go
    at offset 0, top buffers end at A (offset A - size), and the one-step buffers of a
    step are stacked upward from the end of that step's bottom buffer. Buffers of one
    colour never coexist, one-step buffers of different steps never coexist, and at
    any step s: bottom + one-step buffers + top = live(s) <= A, so the stack ends at
    or below the top buffer's offset. Every offset fits in [0, A]: the arena is A.
    """
    why = chain_conflict(buffers)
    if why is not None:
        raise HwsimError(f"chain_exact does not apply: {why}; use greedy_by_size")
    sizes = [aligned(b.size_bytes, alignment_bytes) for b in buffers]
    arena = lower_bound_bytes(buffers, alignment_bytes)
    offsets: list[int] = [0] * len(buffers)
    bottom_end: dict[int, int] = {}          # step -> end of the bottom buffer live there
    long = sorted((i for i, b in enumerate(buffers) if b.last_step > b.first_step),
                  key=lambda i: (buffers[i].first_step, i))
    colour: dict[int, int] = {}
    for i in long:
        used = {colour[j] for j in colour if buffers[j].overlaps_in_time(buffers[i])}
        colour[i] = 0 if 0 not in used else 1
        if colour[i] == 0:
            offsets[i] = 0
            for step in range(buffers[i].first_step, buffers[i].last_step + 1):
                bottom_end[step] = sizes[i]
        else:
            offsets[i] = arena - sizes[i]
    stack: dict[int, int] = {}
    for i, b in enumerate(buffers):
        if b.last_step == b.first_step:
            base = stack.get(b.first_step, bottom_end.get(b.first_step, 0))
            offsets[i] = base
            stack[b.first_step] = base + sizes[i]
    return tuple(offsets)


def plan_arena(buffers, method: str = "auto", alignment_bytes: int = 1) -> ArenaPlan:
    """Plan `buffers` (unique names) with `method`: greedy_by_size, chain_exact or
    auto (chain_exact where it applies, else greedy_by_size)."""
    buffers = tuple(buffers)
    if method not in METHODS:
        raise HwsimError(f"plan_arena: method must be one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(alignment_bytes, int) or alignment_bytes < 1:
        raise HwsimError(f"plan_arena: alignment_bytes must be an int >= 1, "
                         f"got {alignment_bytes!r}")
    counts = Counter(b.name for b in buffers)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise HwsimError(f"plan_arena: duplicate buffer names {', '.join(map(repr, duplicates))}")
    if method == "auto":
        method = "chain_exact" if chain_conflict(buffers) is None else "greedy_by_size"
    planner = chain_exact if method == "chain_exact" else greedy_by_size
    offsets = planner(buffers, alignment_bytes)
    arena = max((o + aligned(b.size_bytes, alignment_bytes) for b, o in zip(buffers, offsets)),
                default=0)
    plan = ArenaPlan(method, arena, lower_bound_bytes(buffers, alignment_bytes), alignment_bytes,
                     buffers, offsets)
    problems = plan_conflicts(plan)
    if problems:                              # a planner bug, never the user's input
        raise AssertionError(f"{method} produced overlapping buffers: {problems[:3]}")
    return plan


def plan_conflicts(plan: ArenaPlan) -> list[str]:
    """Pairs of buffers live at the same step whose byte ranges overlap (empty: valid)."""
    problems = []
    spans = [(b, o, o + aligned(b.size_bytes, plan.alignment_bytes))
             for b, o in zip(plan.buffers, plan.offsets_bytes)]
    for n, (a, a_start, a_end) in enumerate(spans):
        if a_start < 0 or a_end > plan.arena_bytes:
            problems.append(f"{a.name} [{a_start}, {a_end}) outside the arena")
        for b, b_start, b_end in spans[n + 1:]:
            if a.overlaps_in_time(b) and a_start < b_end and b_start < a_end:
                problems.append(f"{a.name} [{a_start}, {a_end}) and {b.name} [{b_start}, {b_end})")
    return problems


def _live_sets(buffers) -> list[list[Buffer]]:
    steps = max((b.last_step for b in buffers), default=-1) + 1
    live: list[list[Buffer]] = [[] for _ in range(steps)]
    for b in buffers:
        for step in range(b.first_step, b.last_step + 1):
            live[step].append(b)
    return live
