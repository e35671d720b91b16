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

import numpy as np

from hwsim.ir.levels import _level_values, _thresholds, check_levels, level_index, level_values, thresholds  # noqa: F401

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
