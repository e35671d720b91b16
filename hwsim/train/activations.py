"""tanhD (tanh discretized to L levels, Baluja et al. 2018) and continuous tanh.

Paper definition: ``y = tanh(x)``, ``d = 2 / (L - 1)``,
``tanhD(x) = -1 + d * floor((y + 1) / d + 0.5)``.  Level index ``k`` (0..L-1) is the
ordinal of the value ``-1 + k * d``; index 0 is -1, index L-1 is +1.

Thresholds and the tie convention
---------------------------------
The level boundaries in input space are ``t_k = atanh(-1 + (k + 1/2) d)``, k = 0..L-2
(computed in float64, strictly increasing).  ``floor(v + 0.5)`` rounds an exact half *up*,
so a pre-activation sitting exactly on a boundary takes the upper level:

    level_index(x) = #{k : t_k <= x}        (">=" comparisons, ties go up)

:func:`tanhd_forward` computes the index exactly this way (``np.searchsorted(thresholds,
x, side="right")`` on x promoted to float64), so the float trainer, the thresholds and
an integer pass comparing against (scaled) thresholds agree bit for bit.  The literal
float formula (:func:`tanhd_formula`) can differ from it only for x within rounding error
of a boundary (e.g. L = 2 and |x| < 1e-16, where ``tanh(x) + 1`` rounds to 1).

Training uses the straight-through estimator: the backward pass of tanhD is the
derivative of the continuous tanh, ``dy * (1 - tanh(x)**2)``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "check_levels",
    "level_values",
    "thresholds",
    "level_index",
    "tanhd_forward",
    "tanhd_backward",
    "tanhd_formula",
    "tanh_forward",
    "tanh_backward",
]


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
    x = np.asarray(x)
    return np.searchsorted(t, x.astype(np.float64, copy=False), side="right").astype(np.int64)


def tanhd_forward(x: np.ndarray, levels: int):
    """``(values, level_idx, cache)``.

    ``values = level_values(L)[level_idx]`` in the dtype of ``x`` (float inputs; integer
    inputs give float64), ``level_idx`` int64 of the same shape; ``cache`` is tanh(x)
    for :func:`tanhd_backward`.
    """
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    idx = level_index(x, levels)
    values = _level_values(levels).astype(dtype)[idx]
    return values, idx, np.tanh(x.astype(dtype, copy=False))


def tanhd_backward(cache: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Straight-through gradient: ``dy * (1 - tanh(x)**2)``."""
    return dy * (1 - cache * cache)


def tanhd_formula(x: np.ndarray, levels: int) -> np.ndarray:
    """The paper's formula evaluated literally in floating point (reference only)."""
    levels = check_levels(levels)
    x = np.asarray(x)
    d = 2.0 / (levels - 1)
    return -1.0 + d * np.floor((np.tanh(x) + 1.0) / d + 0.5)


def tanh_forward(x: np.ndarray):
    """Continuous baseline: ``(tanh(x), cache)``."""
    y = np.tanh(x)
    return y, y


def tanh_backward(cache: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy * (1 - cache * cache)
