"""Lane-packed group sums: several units' grouped-table entries added by one int64 add.

A grouped dense layer (hwsim/execute/grouped.py) sums, per sample and unit, one entry
per group of g inputs. Those sums need about 20 bits, yet numpy either adds int16
entries into int32 sums with a cast per element, or moves int32 entries, twice the
bytes. The plan packs the units' entries into the lanes of int64 words instead. With
m[c, u] = min over levels a of T[a, w[c, u]], the smallest entry connection c can add
to unit u, the lane of unit u holds T[a, w[c, u]] - m[c, u] >= 0 per connection, so
whatever the input levels its lane sums to at most

    R_u = sum over connections c of (max over a - min over a of T[a, w[c, u]]).

Lanes of w = bits(max over u of R_u) bits therefore never carry into each other.
Unit u sits in lane u // words of word u % words (lane j of every word is a run of
units), lane j at bits j*w. The top lane needs no such room: it holds the unit's sum
itself, signed (its offsets sum(m) + bias, packed, are added once into the first
group's rows), where that sum's range fits the bits above the lower lanes; else it is
offset like the others. Adding the gathered words adds every lane at once; each unit's
sum is then its lane, shifted down, masked (lower lanes), plus offset[u] =
sum over c of m[c, u] + bias[u] (lower lanes): exact, integer adds, shifts and masks
only. The entries are packed before the group sums are built (grouped_columns), so the
tables are built on words.

Used where at least MIN_LANES lanes of the proven width fit a word (w <= 21; with
fewer, int64 words move more bytes per unit than the int16 or int32 entries they would
replace): `plan_packing` returns None otherwise. Unpacking costs a few array passes
whatever the batch, so a plan built for a known batch of fewer than MIN_SAMPLES samples
(`execute`) is not packed (benchmarks/executor_speed.py: `--shape-only kws-dscnn --batch
N` shows its L11.dense, 12 units over 32 groups, slower packed at 8 to 128 samples; the
digits-mlp run, its 10-unit L2.dense over 64 groups faster at 364). What packing saves
is in the sum over the groups (a third of the adds, no cast); what it costs, the
unpacking, is a dozen array passes per layer however few groups there are: a layer
summing fewer than MIN_GROUPS group rows per output is not packed (measured on the
digits-ae test set, every dense layer alone, by benchmarks/executor_speed.py: its 6-,
11- and 16-group layers faster as int16 rows). Where the lanes fit, the plan still keeps a
layer's int rows when they sum for less than the words and their unpacking, or when
numpy's gather copies them without a memmove call where it would not the words
(hwsim/execute/plan.py, SUM_COSTS and COPY_ROW_BYTES).
The counters still count the device's per-connection kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORD_BITS = 63                       # the lanes below the top one fill at most these bits
MIN_LANES = 3                        # fewer lanes per word: no packing
MIN_SAMPLES = 256                    # a plan built for a smaller known batch: no packing
MIN_GROUPS = 32                      # fewer group rows summed per output: no packing


@dataclass(frozen=True)
class Packing:
    width: int                       # w: bits per lane
    lanes: int                       # units per word
    words: int                       # words per row (before the row padding of the plan)
    units: int
    shifts: tuple[int, ...]          # lane j starts at bit j * w
    mask: int                        # 2^w - 1
    offsets: np.ndarray              # int32 (units,): added after unpacking (0: folded)
    fold: np.ndarray                 # int64 (words,): added once into the first group's rows
    lows: np.ndarray                 # int64 (K,): per weight index, its smallest level entry
    signed_top: bool                 # the top lane holds the sum itself


def plan_packing(level_rows: np.ndarray, w: np.ndarray, bias: np.ndarray,
                 samples: int | None = None, groups: int | None = None) -> Packing | None:
    """The lanes of a grouped dense layer: level_rows T[0..L-1] (L, K), weight indices
    w (connections, units), the units' bias entries. None when fewer than MIN_LANES
    lanes of the proven width fit a word (or fewer units than that), when the plan
    is built for a known batch of fewer than MIN_SAMPLES `samples`, when the layer
    sums fewer than MIN_GROUPS `groups` rows per output (whether the int rows beat the
    words is the plan's choice: hwsim/execute/plan.py)."""
    if samples is not None and samples < MIN_SAMPLES:
        return None
    if groups is not None and groups < MIN_GROUPS:
        return None
    lows, highs = level_rows.min(axis=0), level_rows.max(axis=0)
    spread = np.add.reduce((highs - lows)[w], axis=0, dtype=np.int64)     # R_u
    units = w.shape[1]
    width = max(1, int(spread.max()).bit_length())
    words = -(-units // min(WORD_BITS // width, units))
    lanes = -(-units // words)                       # the lanes the units really fill
    if lanes < MIN_LANES:
        return None
    shifts = tuple(range(0, WORD_BITS, width))[:lanes]
    offsets = np.add.reduce(lows[w], axis=0, dtype=np.int64) + bias
    top = slice(sum(words for _ in range(lanes - 1)), units)          # the top lane's units
    room = 1 << (64 - 1 - shifts[-1])                                  # signed bits above
    signed_top = bool(offsets[top].min() >= -room and (offsets + spread)[top].max() < room)
    fold = np.zeros(words, dtype=np.int64)
    if signed_top:
        fold[:units - top.start] = np.left_shift(offsets[top], shifts[-1])
        offsets[top] = 0
    return Packing(width, lanes, words, units, shifts, (1 << width) - 1,
                   offsets.astype(np.int32), fold, lows.astype(np.int64), signed_top)


def pack_lanes(entries: np.ndarray, lows: np.ndarray, packing: Packing) -> np.ndarray:
    """Words (..., words) int64 of per-unit entries (..., units) less their lows
    (broadcast to entries): unit u in lane u // words of word u % words."""
    p = packing
    packed = np.zeros(entries.shape[:-1] + (p.words,), dtype=np.int64)
    for first, shift in zip(range(0, p.units, p.words), p.shifts):
        last = min(p.units, first + p.words)
        values = np.subtract(entries[..., first:last], lows[..., first:last], dtype=np.int64)
        packed[..., :last - first] += np.left_shift(values, shift, out=values)
    return packed


def unpack(sums: np.ndarray, packing: Packing) -> np.ndarray:
    """Per-unit int32 sums (..., units) of word sums (..., >= words) int64: each lower
    lane shifted down and masked, the top lane shifted down (signed), then the offsets
    added."""
    p = packing
    out = np.empty(sums.shape[:-1] + (p.units,), dtype=np.int32)
    lane = np.empty(sums.shape[:-1] + (p.words,), dtype=np.int64)
    for j, (first, shift) in enumerate(zip(range(0, p.units, p.words), p.shifts)):
        last = min(p.units, first + p.words)
        source, target = sums[..., :last - first], out[..., first:last]
        if j == p.lanes - 1:                       # the top lane: nothing above it
            np.right_shift(source, shift, out=target)
            continue
        if shift:
            source = np.right_shift(source, shift, out=lane[..., :last - first])
        np.bitwise_and(source, p.mask, out=target)
    return np.add(out, p.offsets, out=out)
