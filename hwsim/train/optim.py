"""Adam (Kingma & Ba) over a tree of numpy arrays, updating in place.

``params`` may be a single array, a dict, a list/tuple, or any nesting of those
(e.g. ``[{"w": ..., "b": ...}, {}, ...]``); ``grads`` must have the same structure.
Moments are keyed by the leaf's path, so the caller may replace a parameter array by a
new one of the same shape (e.g. after weight clustering) and the moments carry over.

In place, for speed: :func:`adam_step` overwrites the parameter arrays and the moment
arrays and returns ``(params, state)`` where ``params`` is the very same object and
``state`` is a new :class:`AdamState` sharing the (updated) moment arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

import numpy as np

__all__ = ["AdamConfig", "AdamState", "adam_init", "adam_step"]


@dataclass(frozen=True)
class AdamConfig:
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        for name in ("beta1", "beta2"):
            b = getattr(self, name)
            if not 0 <= b < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {b!r}")
        if not self.eps >= 0:
            raise ValueError(f"eps must be >= 0, got {self.eps!r}")


@dataclass
class AdamState:
    step: int = 0
    m: dict[tuple, np.ndarray] = field(default_factory=dict)
    v: dict[tuple, np.ndarray] = field(default_factory=dict)


def _leaves(tree: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(tree, dict):
        for key in tree:
            yield from _leaves(tree[key], path + (key,))
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            yield from _leaves(item, path + (i,))
    else:
        yield path, tree


def adam_init(params: Any) -> AdamState:
    """Zero first and second moments for every array leaf of ``params``."""
    m, v = {}, {}
    for path, p in _leaves(params):
        m[path] = np.zeros_like(p)
        v[path] = np.zeros_like(p)
    return AdamState(0, m, v)


def adam_step(params: Any, grads: Any, state: AdamState, config: AdamConfig = AdamConfig(),
              lr: float | None = None) -> tuple[Any, AdamState]:
    """One bias-corrected Adam step, in place (see module doc).  ``lr`` overrides config.lr.

    ``p -= lr_t * m / (sqrt(v) + eps_t)`` with ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)``
    and ``eps_t = eps * sqrt(1 - b2^t)`` -- algebraically the textbook
    ``lr * m_hat / (sqrt(v_hat) + eps)``.
    """
    lr = config.lr if lr is None else lr
    b1, b2 = config.beta1, config.beta2
    t = state.step + 1
    c2 = float(np.sqrt(1.0 - b2 ** t))
    step_size = float(lr * c2 / (1.0 - b1 ** t))   # Python floats: keep the arrays' dtype
    eps_t = float(config.eps * c2)
    grad_leaves = dict(_leaves(grads))
    for path, p in _leaves(params):
        if path not in grad_leaves:
            raise ValueError(f"no gradient for parameter {path}")
        g = grad_leaves[path]
        if g.shape != p.shape:
            raise ValueError(f"gradient shape {g.shape} != parameter shape {p.shape} at {path}")
        m = state.m.get(path)
        if m is None or m.shape != p.shape:
            m = state.m[path] = np.zeros_like(p)
            state.v[path] = np.zeros_like(p)
        v = state.v[path]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        p -= step_size * m / (np.sqrt(v) + eps_t)
    return params, replace(state, step=t)
