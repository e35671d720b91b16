"""Losses returning ``(loss, gradient)``; both average over the batch (dtype-preserving)."""
from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_cross_entropy", "mse"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis, numerically stable."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` (N, C) against ``labels``.

    ``labels`` is either integer class ids (N,) or target distributions (N, C) (e.g. one-hot).
    Returns ``(mean loss as a Python float, dlogits (N, C) in the dtype of logits)``.
    Uses log-sum-exp, so very large logits do not overflow.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
    n, c = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(z).sum(axis=1, keepdims=True))
    logp = z - log_sum
    p = np.exp(logp)
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        if labels.shape[0] != n:
            raise ValueError(f"labels has {labels.shape[0]} entries for {n} logits rows")
        if labels.size and (labels.min() < 0 or labels.max() >= c):
            raise ValueError(f"labels must lie in 0..{c - 1}")
        rows = np.arange(n)
        loss = -logp[rows, labels].sum() / n
        grad = p
        grad[rows, labels] -= 1
    elif labels.shape == logits.shape:
        target = labels.astype(logits.dtype, copy=False)
        loss = -(target * logp).sum() / n
        grad = p * target.sum(axis=1, keepdims=True) - target
    else:
        raise ValueError(f"labels must be class ids (N,) or targets {logits.shape}, "
                         f"got shape {labels.shape}")
    return float(loss), (grad / n).astype(logits.dtype, copy=False)


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over *all* elements: ``mean((pred - target)**2)``.

    Returns ``(loss as a Python float, dpred = 2 (pred - target) / pred.size)``.
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {pred.shape} != target shape {target.shape}")
    diff = pred - target.astype(pred.dtype, copy=False)
    return float(np.mean(diff * diff)), (2 / pred.size) * diff
