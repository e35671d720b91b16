"""Activation levels: the values, thresholds and index rules every stage shares.

tanhD (Baluja et al. 2018): ``y = tanh(x)``, ``d = 2 / (L - 1)``,
``tanhD(x) = -1 + d * floor((y + 1) / d + 0.5)``. Level index ``k`` (0..L-1) is the
ordinal of the value ``-1 + k * d``; index 0 is -1, index L-1 is +1. The level
boundaries in input space are ``t_k = atanh(-1 + (k + 1/2) d)`` (float64, strictly
increasing); a pre-activation exactly on a boundary takes the upper level:
``level_index(x) = #{k : t_k <= x}``.

Inputs in [0, 1] take I levels, ``q = floor(x * (I - 1) + 0.5)``. The integer network
compares sums against ``ceil(t_k * 2^s)`` (:func:`integer_thresholds`) and rounds average
pools to the nearest level (:func:`avg_pool_bounds`). Which layers are followed by an
activation is :func:`default_flags` (the chain rule) unless a workload overrides it.
The trainer, the exporter, random models and the loader all read these definitions.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from hwsim.ir import layers as L

MAX_SCALE_BITS = 40   # largest scale exponent s the exporter and random models try


def check_levels(levels) -> int:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    return int(levels)


@lru_cache(maxsize=64)
def _level_values(levels: int) -> np.ndarray:
    k = np.arange(levels, dtype=np.float64)
    v = (2.0 * k - (levels - 1)) / (levels - 1)      # exact -1 and +1, exactly symmetric
    v.setflags(write=False)
    return v


COUNT_THRESHOLDS_MAX = 31   # level_index counts up to this many thresholds, else bisects


@lru_cache(maxsize=64)
def _thresholds(levels: int) -> np.ndarray:
    k = np.arange(levels - 1, dtype=np.float64)
    v = (2.0 * k + 2.0 - levels) / (levels - 1)      # -1 + (k + 1/2) d, symmetric about 0
    t = np.arctanh(v)
    t.setflags(write=False)
    return t


def level_values(levels: int) -> np.ndarray:
    """The L output values ``-1 + k * d`` (float64, ascending, first -1.0, last +1.0)."""
    return _level_values(check_levels(levels)).copy()


def thresholds(levels: int) -> np.ndarray:
    """The L-1 pre-activation thresholds ``t_k = atanh(-1 + (k + 1/2) d)`` (float64, ascending).

    ``level_index(x) == np.count_nonzero(thresholds(L) <= x)`` exactly, for every x.
    """
    return _thresholds(check_levels(levels)).copy()


def level_index(x: np.ndarray, levels: int) -> np.ndarray:
    """Level ordinal 0..L-1 of pre-activation ``x``: number of thresholds ``t <= x`` (int64).

    NaN maps to L-1 (NaN sorts last); callers should not feed NaN.
    """
    t = _thresholds(check_levels(levels))
    x = np.asarray(x).astype(np.float64, copy=False)
    if len(t) > COUNT_THRESHOLDS_MAX:
        return np.searchsorted(t, x, side="right").astype(np.int64)
    # Few thresholds: count them with one compare per threshold over the whole array,
    # several times faster than a binary search per element, and the same count.
    count = np.zeros(x.shape, dtype=np.uint8)
    reached = np.empty(x.shape, dtype=bool)
    for threshold in t:
        np.greater_equal(x, threshold, out=reached)
        np.add(count, reached.view(np.uint8), out=count)
    index = count.astype(np.int64)
    nan = np.isnan(x)
    if nan.any():
        index[nan] = len(t)
    return index


def quantize_input(x: np.ndarray, input_levels: int) -> np.ndarray:
    """Input level index q = floor(x * (levels - 1) + 0.5), x clipped to [0, 1] (int64)."""
    scaled = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) * (input_levels - 1)
    return np.floor(scaled + 0.5).astype(np.int64)


def input_values(input_levels: int) -> np.ndarray:
    """The value of each input level: q / (levels - 1), in [0, 1]."""
    return np.arange(input_levels, dtype=np.float64) / (input_levels - 1)


def table_rows(first: bool, input_levels: int, levels: int) -> np.ndarray:
    """The row values of a product table: the input level values for the first
    weighted layer's table, else the activation level values; then 1.0 (the bias row)."""
    values = input_values(input_levels) if first else level_values(levels)
    return np.concatenate([values, [1.0]])


def hidden_flags(layers) -> list[bool]:
    """True for weighted layers followed by an activation (all but the last weighted one)."""
    weighted = [i for i, layer in enumerate(layers) if isinstance(layer, L.WEIGHTED_LAYERS)]
    last = weighted[-1]
    return [i in weighted and i != last for i in range(len(layers))]


def requantize_mean(mean_index: np.ndarray) -> np.ndarray:
    """Nearest level index of an average of level indices, exact halves up."""
    return np.floor(mean_index + 0.5).astype(np.int64)


def default_flags(layers, task: str) -> list[bool]:
    """The chain rule: every hidden weighted layer, and an auto-encoder's output layer."""
    hidden = hidden_flags(layers)
    return [hidden[i] or (task == "autoencoder" and isinstance(layer, L.WEIGHTED_LAYERS))
            for i, layer in enumerate(layers)]


def integer_thresholds(levels: int, scale_bits: int, bound: int) -> np.ndarray:
    """theta_k = ceil(t_k * 2^s), so acc >= theta_k exactly when acc >= t_k * 2^s; clamped
    to +-(bound + 1), which no reachable sum crosses, to fit the accumulator."""
    theta = np.ceil(np.ldexp(thresholds(levels), scale_bits))
    return np.clip(theta, -(bound + 1), bound + 1).astype(np.int64)


def avg_pool_bounds(window: int, levels: int) -> np.ndarray:
    """Level k (1..L-1) iff the index sum reaches ceil((2k - 1) * window / 2): the
    nearest level to the mean, exact halves up."""
    k = np.arange(1, levels, dtype=np.int64)
    return -((-(2 * k - 1) * window) // 2)


def chain_inputs(layers) -> tuple[tuple[int, ...], ...]:
    """The sources of a chain: layer i reads layer i - 1 (-1: the network input)."""
    return tuple((i - 1,) for i in range(len(layers)))


def level_flow(layers, inputs, flags, input_levels: int, levels: int
               ) -> tuple[list[tuple[int, int]], list[bool]]:
    """Per layer, following the DAG of `inputs` (per layer its sources, -1 the input):
    (levels_in, levels_out) of its indices, 0 meaning raw sums (levels_in: those of its
    first source), and whether it reads the input's levels (a weighted layer then reads
    the input-row table). Weighted layers and adds output L levels when activated, else
    sums; pools and flatten carry their input's levels."""
    flow: list[tuple[int, int]] = []
    reads_input: list[bool] = []
    for i, (layer, sources) in enumerate(zip(layers, inputs)):
        s = sources[0]
        levels_in = input_levels if s < 0 else flow[s][1]
        reads_input.append(s < 0 or (reads_input[s] and not isinstance(
            layers[s], (*L.WEIGHTED_LAYERS, L.Add))))
        if isinstance(layer, (*L.WEIGHTED_LAYERS, L.Add)):
            flow.append((levels_in, levels if flags[i] else 0))
        else:
            flow.append((levels_in, levels_in))
    return flow, reads_input


def level_counts(layers, task: str, input_levels: int, levels: int, flags=None, inputs=None
                 ) -> list[tuple[int, int]]:
    """(levels_in, levels_out) of every layer's indices; 0 means raw sums.
    flags: Workload.activation_flags (default: the chain rule); inputs: per layer its
    sources (default: a chain)."""
    flags = default_flags(layers, task) if flags is None else flags
    inputs = chain_inputs(layers) if inputs is None else inputs
    return level_flow(layers, inputs, flags, input_levels, levels)[0]
