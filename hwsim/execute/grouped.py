"""Build time of grouped lookups: one gather per g input channels instead of one per
connection (the executor's counterpart of the paper's grouped tables; the device
kernels' own grouping is docs/lut-kernels.md "Grouped lookups"). A representation of
numpy's gathers: where the compiled row sums are there (hwsim/execute/host.py), a
layer of one kernel tap is summed per connection instead (faster, nothing to build).

Group j of a kernel tap is the input channels j, j + G, ..., j + (g-1) G (G = ceil(C / g)
groups: digit k of every group is the run of channels k G .. k G + G - 1, a slice of
the input). For a unit's g connections of one group (weight indices w_0..w_(g-1)), the
partial sum T[a_0, w_0] + ... + T[a_(g-1), w_(g-1)] depends
only on the g input levels, so a table of its L^g values per (tap, group, unit),
built here once per plan by integer adds of table entries, is gathered with the
combined index a_0 + L a_1 + ... + L^(g-1) a_(g-1). The executor forms that index once
per sample, position and group (shared by every unit and every tap reading the
position) by shifts when L is a power of two (a << (k log2 L)), else from small radix
tables, radix[k - 1][a] = a L^k: one shift or gather and one add per digit, no
multiply on the data path. A layer's last groups may be short (channels not a
multiple of g): their missing last digit stays 0 and their tables hold its entries as
0. A dense layer's bias entries are folded into its first group's rows.

Grouped layers: weighted, not depthwise, whose static bound fits the accumulator
(int32 sums; the checked path keeps the device's order connection by connection).
Tables are built in int32 and stored in int16 where every group sum fits (half the
memory the gathers move; the sums are int32 either way); a dense layer's tables are
built and stored lane-packed instead where the proven lane width allows
(hwsim/execute/packed.py: the entries packed first, the group sums added on words).
g is the largest size >= 2 whose tables (taps x groups x L^g rows of the units) stay within
GROUPED_TABLE_MAX_ENTRIES (8 MB of int32; a dense layer's g = 2 tables stored as int16
rows or lane-packed words may hold up to twice the entries in the same bytes,
stored_fits) and that at least halves the gathers; when the plan is built
for a known batch (`execute`), also no more table rows than that batch gathers per
connection (tables built for a few samples cost more than they save); none:
per-connection gathers.
A dense layer's int rows are summed faster in int16 than cast to int32 row by row: the
plan reads each (group, unit)'s range off its digits' extremes (group_sum_ranges, no
table needed) and counts how many times the gathered rows can be halved in int16
adds, row j plus row n - h + j, with every pair sum in range (narrow_halvings);
the rest is summed in int32. A range skewed to one side is centred (its middle taken
off the group's rows when they are built, the centres' sum added back to the layer's
sums) where that stores int16 rather than int32 rows or adds a halving (centred_rows):
digits-mlp's L1.dense halves its 32 rows twice, in 0.221 ms against 0.276 ms
lane-packed (benchmarks/executor_speed.py, the layer alone, best runs).
Every grouped sum equals the ungrouped one exactly (integer adds are associative and
no partial sum can leave the range); the counters still count the device's
per-connection kernel (docs/graph.md section 8).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.execute.packed import Packing, pack_lanes

GROUPED_TABLE_MAX_ENTRIES = 1 << 21   # per node, entries of int32 (8 MB stored); larger: smaller g


@dataclass(frozen=True)
class Grouping:
    size: int                         # g: input channels per group
    groups: int                       # per tap: ceil(channels / g)
    rows: int                         # L^g: table rows per (tap, group)
    radix: tuple[np.ndarray, ...]     # per digit k = 1..g-1: radix[k - 1][a] = a L^k
    shift: int | None                 # log2 L when L is a power of two: a << (k shift)
    digits: np.dtype                  # the narrowest unsigned type holding L^g - 1


def group_size(levels: int, channels: int, row_entries: int, taps: int,
               gathered: int | None = None, entries_shift: int = 0) -> int:
    """The largest g >= 2 whose tables fit GROUPED_TABLE_MAX_ENTRIES (for g = 2, shifted
    left by `entries_shift`: a layer of int16 rows, twice the entries in the same bytes,
    where pairs halve what would be one gather per connection; a larger g trades a
    larger table, colder in the caches, for fewer rows) and that at least halves the
    gathers (a larger table costs more per gather), else 1.
    `gathered`: the rows a known batch gathers without grouping; tables with more rows
    than that cost more to build than they save (a few samples), so the layer is not
    grouped."""
    best = 1
    for size in range(2, channels + 1):
        groups = -(-channels // size)
        rows = taps * groups * levels ** size
        if rows * row_entries > GROUPED_TABLE_MAX_ENTRIES << (entries_shift if size == 2 else 0):
            break
        if 2 * groups <= channels and (gathered is None or rows <= gathered):
            best = size
    return best


def stored_fits(nbytes: int) -> bool:
    """Whether tables of `nbytes` as stored fit the cap: GROUPED_TABLE_MAX_ENTRIES of
    int32 (8 MB)."""
    return nbytes <= GROUPED_TABLE_MAX_ENTRIES * 4


def grouping(levels: int, channels: int, size: int) -> Grouping:
    rows = levels ** size
    digits = next(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                  if rows - 1 <= np.iinfo(t).max)
    radix = tuple((np.arange(levels) * levels ** k).astype(digits) for k in range(1, size))
    shift = levels.bit_length() - 1 if levels & (levels - 1) == 0 else None
    return Grouping(size, -(-channels // size), rows, radix, shift, digits)


def grouped_columns(level_rows: np.ndarray, w: np.ndarray, taps: int, channels: int,
                    plan: Grouping, packing: Packing | None = None,
                    shift: np.ndarray | None = None) -> np.ndarray:
    """Rows ((t * groups + j) * L^g + combined index) of the units' group sums, int32
    (a grouped layer's partial sums stay below its static bound, below 2^31), or with
    `packing` their lane-packed int64 words (hwsim/execute/packed.py: the entries
    packed before they are added, so the sums are built on the words).
    level_rows: the table's level rows T[0..L-1] (L, K); w: weight indices (taps *
    channels, units), tap by tap, channel by channel.
    `shift` (taps, groups, units), int rows only: added to every row of its group (to
    the first digit's entries, before the sums are built)."""
    levels, units = level_rows.shape[0], w.shape[1]
    entries = np.zeros((taps, plan.groups * plan.size, levels, units), dtype=np.int32)
    entries[:, :channels] = level_rows[:, w].reshape(levels, taps, channels, units).transpose(
        1, 2, 0, 3)
    if packing is not None:
        lows = np.zeros((taps, plan.groups * plan.size, 1, units), dtype=np.int64)
        lows[:, :channels, 0] = packing.lows[w].reshape(taps, channels, units)
        entries = pack_lanes(entries, lows, packing)
    digits = entries.reshape(taps, plan.size, plan.groups, levels, entries.shape[-1])
    if shift is not None:
        digits[:, 0] += shift[:, :, None, :].astype(entries.dtype)
    sums = digits[:, 0]                                             # (taps, groups, L, U)
    for k in range(1, plan.size):          # digit k most significant: repeat it, add the rest
        span = sums.shape[2]
        grown = np.repeat(digits[:, k], span, axis=2)
        grown.reshape(taps, plan.groups, levels, span, -1)[...] += sums[:, :, None]
        sums = grown
    if packing is not None:                # the top lane's offsets, once per sum
        sums[0, 0] += packing.fold
    return sums.reshape(-1, entries.shape[-1])


def group_sum_ranges(level_rows: np.ndarray, w: np.ndarray, taps: int, channels: int,
                     plan: Grouping, bias: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest entry of each (tap, group, unit) of the grouped tables
    grouped_columns builds (without packing), int64 (taps, groups, units), plus `bias`
    in the first group's rows when given: each digit's level is free, so a group's
    largest sum is the sum of its connections' largest entries (a short group's
    missing digits add 0)."""
    units = w.shape[1]
    ends = []
    for end in (level_rows.min(axis=0), level_rows.max(axis=0)):
        per = np.zeros((taps, plan.groups * plan.size, units), dtype=np.int64)
        per[:, :channels] = end[w].reshape(taps, channels, units)
        sums = per.reshape(taps, plan.size, plan.groups, units).sum(axis=1)
        if bias is not None:
            sums[0, 0] += bias
        ends.append(sums)
    return ends[0], ends[1]


def narrow_halvings(lows: np.ndarray, highs: np.ndarray, dtype=np.int16) -> int:
    """How many times a single grouped layer's gathered group rows (ranges lows, highs:
    (groups, units)) can be halved in `dtype` before the sum in the accumulator type:
    each halving adds row j and row n - h + j (h = n // 2) in place, and counts only
    where every such pair sum, over every input, stays within `dtype`."""
    info = np.iinfo(dtype)
    lows, highs = lows.copy(), highs.copy()
    rows, halvings = len(lows), 0
    while rows > 1:
        half = rows // 2
        low = lows[:half] + lows[rows - half:rows]
        high = highs[:half] + highs[rows - half:rows]
        if low.min() < info.min or high.max() > info.max:
            break
        lows[:half], highs[:half] = low, high
        rows -= half
        halvings += 1
    return halvings


def _int16_span(lows: np.ndarray, highs: np.ndarray) -> bool:
    info = np.iinfo(np.int16)
    return bool(lows.min() >= info.min and highs.max() <= info.max)


def centred_rows(lows: np.ndarray, highs: np.ndarray
                 ) -> tuple[bool, int, np.ndarray | None]:
    """How a single grouped layer's int rows are stored and summed, from the ranges of
    its group rows (groups, units): (int16 rows?, halvings in int16, centres). Each
    (group, unit) may be centred, its rows less the middle of its range (the centres,
    summed over the groups, are added back to the sums): a skewed range then takes half
    the room, so the rows fit int16 or more pairs fit. Centred only where that stores
    int16 rather than int32 rows or adds a halving; else centres None."""
    plain = _int16_span(lows, highs)
    halvings = narrow_halvings(lows, highs) if plain else 0
    centres = (lows + highs) >> 1
    low, high = lows - centres, highs - centres
    if not _int16_span(low, high):
        return plain, halvings, None
    centred = narrow_halvings(low, high)
    if plain and centred <= halvings:
        return plain, halvings, None
    return True, centred, centres
