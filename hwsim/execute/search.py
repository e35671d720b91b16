"""Build time of the executor's threshold searches (thresholds, average-pool bounds):
the number of sorted values <= x for every element x of a node's sums.

The device does a binary search (the counters count its steps, docs/graph.md section
8). The executor gets the same level with fewer array passes when it can: a bucket
search. With s the largest shift such that 2^s <= the smallest gap between two
distinct values, the bucket x >> s (an arithmetic shift) holds at most one distinct
value, so, x first clamped to [v_min - 1, v_max] (which keeps its level),

    b = (x >> s) - (first bucket);  level = pairs[(b << 1) | (x >= inner[b])]

with inner[b] the bucket's value (a sentinel if none) and pairs[2b], pairs[2b + 1]
the level below and at or above it: a clamp, a shift, a subtract, two small gathers,
one compare, a shift and an or per element, against ceil(log2(n + 1)) rounds of
gather, compare, shift and add. Values spread so unevenly that the buckets would
exceed BUCKETS_MAX keep the binary search (`bucket_shift` None). When the clamped
range itself is small (at most DIRECT_MAX values), the bucket table is simply every
level of it: level = direct[clamp(x) - (v_min - 1)], a clamp, a subtract and one
gather; for int32 sums the executor subtracts first (in intp, no overflow) and lets the
gather clip its index to the table, which is the same clamp: a subtract and one gather.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SENTINEL = 1 << 62                   # beyond any sum: pads search arrays to 2^steps
BUCKETS_MAX = 1 << 12                # bucket tables larger than this: binary search
DIRECT_MAX = 1 << 20                 # clamped ranges up to this: one level per value


@dataclass(frozen=True)
class Search:
    """A binary search for the number of sorted values <= x, in n = ceil(log2(len + 1))
    steps: level = 0; for step in 2^(n-1), ..., 2, 1: if x >= padded[level + step]:
    level += step. With `direct` or `bucket_shift` set, the executor finds the same
    level by the searches of the module doc (the counters still count the binary
    search)."""
    padded: np.ndarray                # int64, padded[k] = values[k - 1], sentinels beyond
    padded32: np.ndarray              # the same in int32, for int32 sums
    shifts: tuple[int, ...]           # n-1, ..., 1, 0 (step = 1 << shift)
    bits: int                         # load width of one value
    memory: str
    bucket_shift: int | None = None   # s; None (and no direct table): binary search
    narrow: bool = False              # the clamp fits int32: int32 sums use the tables too
    clamp: tuple[int, int] = (0, 0)   # (v_min - 1, v_max)
    first_bucket: int = 0             # (v_min - 1) >> s
    inner: np.ndarray | None = None   # int64 per bucket: its value, else the int32 maximum
    inner32: np.ndarray | None = None
    pairs: np.ndarray | None = None   # levels (buckets * 2) below / at or above inner
    direct: np.ndarray | None = None  # the level of every value v_min - 1 .. v_max
    levels: np.dtype = np.dtype(np.intp)  # of pairs, direct and every search's levels


@lru_cache(maxsize=None)
def level_dtype(count: int) -> np.dtype:
    """The narrowest unsigned type holding the levels 0..count of `count` sorted values
    (uint8 up to 255 values): the level tables and the levels a search returns, so a
    level table gathers from few cache lines and a level array moves a byte a value."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if count <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.intp)


def _clamped_int32(values: np.ndarray) -> np.ndarray:
    info = np.iinfo(np.int32)
    return np.clip(values, info.min, info.max).astype(np.int32)


def _fast(values: np.ndarray) -> dict:
    """The fast searches' fields for sorted int64 `values`: a per-value level table over
    a range of at most DIRECT_MAX values, else buckets up to BUCKETS_MAX, else {}."""
    low, high = int(values[0]) - 1, int(values[-1])
    info = np.iinfo(np.int32)
    fields = {"clamp": (low, high), "narrow": info.min <= low and high <= info.max}
    if high - low < DIRECT_MAX:          # level(v) = #values <= v: a running count
        levels = np.cumsum(np.bincount(values - low, minlength=high - low + 1))
        return {**fields, "direct": levels.astype(level_dtype(len(values)))}
    gaps = np.diff(np.unique(values))
    shift = int(gaps.min()).bit_length() - 1 if len(gaps) else 0
    first = low >> shift
    count = (high >> shift) - first + 1
    if count > BUCKETS_MAX or low < -SENTINEL or high > SENTINEL:
        return {}
    starts = (np.arange(first, first + count, dtype=np.int64) << shift)
    below = np.searchsorted(values, starts, side="left")          # values < bucket start
    inside = np.searchsorted(values, starts + (1 << shift), side="left") > below
    inner = np.full(count, info.max, dtype=np.int64)
    inner[inside] = values[below[inside]]
    at_or_above = np.where(inside, np.searchsorted(values, inner, side="right"), below)
    pairs = np.stack([below, at_or_above], axis=1).reshape(-1).astype(level_dtype(len(values)))
    return {**fields, "bucket_shift": shift, "first_bucket": first, "inner": inner,
            "inner32": _clamped_int32(inner), "pairs": pairs}


def make_search(values: np.ndarray, bits: int, memory: str) -> Search:
    values = np.asarray(values, dtype=np.int64)
    n = len(values).bit_length()
    padded = np.full(1 << n, SENTINEL, dtype=np.int64)
    padded[0] = -SENTINEL
    padded[1:len(values) + 1] = values
    return Search(padded, _clamped_int32(padded), tuple(reversed(range(n))), bits, memory,
                  levels=level_dtype(len(values)), **_fast(values))
