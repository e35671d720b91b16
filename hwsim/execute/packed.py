"""Lane-packed group sums: several units' grouped-table entries added by one int64 add.

A grouped dense layer (hwsim/execute/grouped.py) sums, per sample and unit, one entry
per group of g inputs. Those sums need about 20 bits, yet numpy either adds int16
entries into int32 sums with a cast per element, or moves int32 entries, twice the
bytes. The plan packs the units' entries into the lanes of int64 words instead. With
m[j, u] the smallest entry of group j for unit u, the lane of unit u holds
e - m[j, u] >= 0, so over any choice of one row per group the lane sums to at most

    R_u = sum over groups j of (largest - smallest entry of (j, u)).

Lanes of w = bits(max over u of R_u) bits therefore never carry into each other, and
63 // w lanes fit a word that stays non-negative. Adding the gathered words adds every
lane at once; each unit's sum is then its lane, shifted down and masked, plus
offset[u] = sum over j of m[j, u] (the bias, folded into the first group's rows, is
inside m): exact, integer adds, shifts and masks only. Unit u sits in lane u // words
of word u % words, so lane j of every word is the run of units j * words ... .

Used where at least MIN_LANES lanes fit (w <= 21): with fewer, int64 words move more
bytes per unit than the int16 or int32 entries they would replace. The plan proves the
lane width at build time (`pack_columns` returns None when it does not fit); the
counters still count the device's per-connection kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORD_BITS = 63                       # lanes fill at most these bits: the word stays >= 0
MIN_LANES = 3                        # fewer lanes per word: no packing


@dataclass(frozen=True)
class Packing:
    width: int                       # w: bits per lane
    lanes: int                       # units per word
    words: int                       # words per row (before the row padding of the plan)
    units: int
    shifts: np.ndarray               # int64 (lanes,): lane j starts at bit j * w
    mask: int                        # 2^w - 1
    offsets: np.ndarray              # int64 (lanes, words): offset[u] at (u // words, u % words)
    lows: np.ndarray                 # int64 (K,): per weight index, its smallest level entry


def plan_packing(level_rows: np.ndarray, w: np.ndarray, bias: np.ndarray) -> Packing | None:
    """The lanes of a grouped dense layer: level_rows T[0..L-1] (L, K), weight indices
    w (connections, units), the units' bias entries. None when fewer than MIN_LANES
    lanes of the proven width fit a word (or fewer units than that)."""
    lows, highs = level_rows.min(axis=0), level_rows.max(axis=0)
    spread = np.add.reduce((highs - lows)[w], axis=0, dtype=np.int64)     # R_u
    units = w.shape[1]
    width = max(1, int(spread.max()).bit_length())
    lanes = min(WORD_BITS // width, units)
    if lanes < MIN_LANES:
        return None
    words = -(-units // lanes)
    offsets = np.zeros((lanes, words), dtype=np.int64)
    offsets.reshape(-1)[:units] = np.add.reduce(lows[w], axis=0, dtype=np.int64) + bias
    shifts = np.arange(0, WORD_BITS, width, dtype=np.int64)[:lanes]
    return Packing(width, lanes, words, units, shifts, (1 << width) - 1,
                   offsets, lows.astype(np.int64))


def pack_lanes(entries: np.ndarray, lows: np.ndarray, packing: Packing) -> np.ndarray:
    """Words (..., words) int64 of per-unit entries (..., units) less their lows
    (broadcast to entries): unit u in lane u // words of word u % words."""
    p = packing
    packed = np.zeros(entries.shape[:-1] + (p.words,), dtype=np.int64)
    for first, shift in zip(range(0, p.units, p.words), p.shifts):
        last = min(p.units, first + p.words)
        values = np.subtract(entries[..., first:last], lows[..., first:last], dtype=np.int64)
        packed[..., :last - first] |= np.left_shift(values, shift, out=values)
    return packed


def unpack(sums: np.ndarray, packing: Packing) -> np.ndarray:
    """Per-unit int32 sums (..., units) of word sums (..., >= words) int64: each lane
    shifted down, masked (all but the top lane), plus its units' offsets."""
    p = packing
    words = sums[..., :p.words]
    out = np.empty(words.shape[:-1] + (p.units,), dtype=np.int32)
    lane = np.empty(words.shape, dtype=np.int64)
    for j, (first, shift) in enumerate(zip(range(0, p.units, p.words), p.shifts)):
        last = min(p.units, first + p.words)
        np.right_shift(words, shift, out=lane)
        if j < p.lanes - 1:
            np.bitwise_and(lane, p.mask, out=lane)
        np.add(lane[..., :last - first], p.offsets[j, :last - first], out=out[..., first:last])
    return out
