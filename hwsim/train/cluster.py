"""1-D k-means for weight clustering (Baluja et al. 2018, section 2).

In one dimension the clusters of a Lloyd iteration are contiguous runs of the sorted
distinct values, so one iteration costs ``O(k log m)`` (``m`` distinct values): assign by
``np.searchsorted`` of the midpoints between sorted centroids, update from prefix sums.
Sorting once (``np.unique``) dominates: 300k values, k = 1024 take a few tens of ms.

Conventions
-----------
* Centroids are returned sorted strictly ascending, in the floating dtype of the input
  (float64 for integer input); the assignment (int64, same shape as the input) maps every
  value to its nearest centroid; a value exactly halfway between two centroids goes to
  the lower one.
* If the input has at most ``k`` distinct values, the centroids are exactly those
  distinct values (so fewer than ``k``: the caller's codebook may be smaller than k)
  and clustering already-clustered data is the identity.
* Otherwise, with ``reseed=True`` (default) the result has exactly ``k`` centroids and
  every centroid has at least one value: a cluster that empties during Lloyd iterations
  is re-seeded by splitting the cluster with the largest SSE at its mean.  With
  ``reseed=False`` empty clusters are dropped and fewer than ``k`` centroids may come back.
* Deterministic: no randomness.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["kmeans_1d", "cluster_weights", "assign_to_codebook"]


def _float_dtype(dtype) -> np.dtype:
    return np.dtype(dtype) if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _nearest(sorted_values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (ties to the lower), centroids ascending."""
    c = centroids.astype(np.float64)
    mids = (c[:-1] + c[1:]) * 0.5
    return np.searchsorted(mids, sorted_values, side="left")


def assign_to_codebook(values: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Index (int64) of the nearest codebook entry for every value; codebook ascending."""
    cb = np.asarray(codebook, dtype=np.float64)
    if cb.ndim != 1 or cb.size == 0:
        raise ValueError("codebook must be a non-empty 1-D array")
    if np.any(np.diff(cb) <= 0):
        raise ValueError("codebook must be sorted strictly ascending")
    v = np.asarray(values, dtype=np.float64)
    return _nearest(v.ravel(), cb).astype(np.int64).reshape(v.shape)


def _init_centroids(u: np.ndarray, cnt: np.ndarray, k: int, init) -> np.ndarray:
    """Initial centroids: ascending, distinct, exactly k of them (u has > k distinct values)."""
    if isinstance(init, str):
        if init == "density":
            # optimal quantiser point density is proportional to f(x)**(1/3): place the
            # centroids at the (j + 1/2)/k quantiles of the cube-rooted histogram
            bins = max(256, 4 * k)
            hist, edges = np.histogram(u, bins=bins, range=(u[0], u[-1]), weights=cnt)
            g = np.cbrt(hist)
            g_cum = np.concatenate([[0.0], np.cumsum(g)])
            pos = (np.arange(k) + 0.5) * (g_cum[-1] / k)
            b = np.searchsorted(g_cum, pos, side="right").clip(1, bins) - 1
            frac = np.clip((pos - g_cum[b]) / np.where(g[b] > 0, g[b], 1.0), 0.0, 1.0)
            c = edges[b] + frac * (edges[b + 1] - edges[b])
        elif init == "quantile":
            cum = np.cumsum(cnt)
            pos = (np.arange(k) + 0.5) * (cum[-1] / k)
            c = u[np.searchsorted(cum, pos, side="right").clip(0, len(u) - 1)]
        elif init == "uniform":
            c = np.linspace(u[0], u[-1], k)
        else:
            raise ValueError(f"init must be 'density', 'quantile', 'uniform' or an array, "
                             f"got {init!r}")
    else:
        c = np.asarray(init, dtype=np.float64).ravel()
        if c.size == 0 or not np.all(np.isfinite(c)):
            raise ValueError("init array must hold finite values")
    c = np.unique(c)
    if c.size > k:
        raise ValueError(f"init array has {c.size} distinct values, more than k={k}")
    need = k - c.size
    if need > 0:   # top up with distinct data values evenly spaced in rank
        cand = np.setdiff1d(u[np.unique(np.linspace(0, u.size - 1, k).round().astype(np.intp))],
                            c, assume_unique=True)
        pick = np.unique(np.linspace(0, cand.size - 1, need).round().astype(np.intp))
        c = np.unique(np.concatenate([c, cand[pick]]))
    return c


def _snap(u: np.ndarray, c: np.ndarray, target: int) -> np.ndarray:
    """Fallback: centroids become data values (each then owns itself), topped up to target.

    Every centroid is replaced by its nearest member; then the worst-served values are
    added as centroids until there are ``target`` of them.
    """
    a = _nearest(u, c)
    dist = np.abs(u - c[a])
    order = np.lexsort((dist, a))
    _, first = np.unique(a[order], return_index=True)
    c = np.unique(u[order[first]])
    need = target - c.size
    if need > 0:
        dist = np.abs(u - c[_nearest(u, c)])
        worst = np.argsort(-dist, kind="stable")[:need]
        c = np.unique(np.concatenate([c, u[worst]]))
    return c


def kmeans_1d(values: np.ndarray, k: int, *, iterations: int = 500, init: Any = "density",
              reseed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on the flattened ``values``; see the module doc for the guarantees.

    ``init``: "density" (default: centroids at the (j + 1/2)/k quantiles of the
    cube-rooted value density, the asymptotically optimal quantiser spacing; on
    Laplacian-like weights it ends at several times lower SSE than "quantile"),
    "quantile" (the (j + 1/2)/k quantiles of the values themselves), "uniform" (evenly
    spaced between min and max) or an array of at most k initial centroids.  Duplicate
    starting points are topped up with distinct data values, so Lloyd starts from k.
    Iterates until the partition no longer changes or ``iterations`` is reached.
    Returns ``(centroids (c,), assignment (values.shape) int64)`` with ``c == min(k, #distinct)``
    when ``reseed`` is true.
    """
    x = np.asarray(values)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if x.size == 0:
        raise ValueError("kmeans_1d: no values to cluster")
    out_dtype = _float_dtype(x.dtype)
    flat = x.astype(np.float64, copy=False).ravel()
    if not np.all(np.isfinite(flat)):
        raise ValueError("kmeans_1d: values must be finite")
    u, inv, cnt = np.unique(flat, return_inverse=True, return_counts=True)
    m = u.size
    if m <= k:
        return u.astype(out_dtype), inv.reshape(x.shape).astype(np.int64)

    # prefix sums on values centred at their mean (less cancellation in the SSE)
    shift = float(np.dot(u, cnt) / cnt.sum())
    us = u - shift
    w_cum = np.concatenate([[0.0], np.cumsum(cnt, dtype=np.float64)])
    s_cum = np.concatenate([[0.0], np.cumsum(cnt * us)])
    q_cum = np.concatenate([[0.0], np.cumsum(cnt * us * us)])

    def means(starts, ends):
        mu = (s_cum[ends] - s_cum[starts]) / (w_cum[ends] - w_cum[starts]) + shift
        return np.clip(mu, u[starts], u[ends - 1])   # keeps means strictly ordered

    c = _init_centroids(u, cnt, k, init)
    prev = None
    for _ in range(iterations):
        bounds = np.searchsorted(u, (c[:-1] + c[1:]) * 0.5, side="right")
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [m]])
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        new = means(starts, ends)
        need = k - new.size if reseed else 0
        if need <= 0 and keep.all() and prev is not None and np.array_equal(bounds, prev):
            c = new
            break
        prev = bounds if keep.all() else None
        if need > 0:
            splittable = np.flatnonzero(ends - starts >= 2)
            if splittable.size:
                a, e = starts[splittable], ends[splittable]
                sw = w_cum[e] - w_cum[a]
                ss = s_cum[e] - s_cum[a]
                sse = (q_cum[e] - q_cum[a]) - ss * ss / sw
                pick = splittable[np.argsort(-sse, kind="stable")[:need]]
                a, e = starts[pick], ends[pick]
                cut = np.clip(np.searchsorted(u, new[pick], side="right"), a + 1, e - 1)
                rest = np.ones(new.size, dtype=bool)
                rest[pick] = False
                new = np.concatenate([new[rest], means(a, cut), means(cut, e)])
                prev = None
        c = np.unique(new)

    # polish: exact per-cluster means (bincount), nearest assignment, checks
    target = min(k, m) if reseed else None
    a = _nearest(u, c)
    sums = np.bincount(a, weights=cnt * u, minlength=c.size)
    wts = np.bincount(a, weights=cnt, minlength=c.size)
    ok = wts > 0
    lo = np.full(c.size, np.inf)
    hi = np.full(c.size, -np.inf)
    np.minimum.at(lo, a, u)
    np.maximum.at(hi, a, u)
    c = np.clip(sums[ok] / wts[ok], lo[ok], hi[ok]).astype(out_dtype)

    def valid(cands: np.ndarray) -> bool:
        if cands.size > 1 and np.any(np.diff(cands.astype(np.float64)) <= 0):
            return False
        if target is not None and cands.size != target:
            return False
        return np.bincount(_nearest(u, cands), minlength=cands.size).min() > 0

    if not valid(c):
        c = _snap(u, np.unique(c.astype(np.float64)), target or c.size).astype(out_dtype)
    assign_u = _nearest(u, c)
    if not reseed:   # drop any centroid left without members
        used = np.bincount(assign_u, minlength=c.size) > 0
        if not used.all():
            c = c[used]
            assign_u = _nearest(u, c)
    return c, assign_u[inv].reshape(x.shape).astype(np.int64)


def _leaves(tree: Any) -> list[np.ndarray]:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree)]


def _rebuild(tree: Any, it) -> Any:
    if isinstance(tree, dict):
        return {key: _rebuild(tree[key], it) for key in tree}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(item, it) for item in tree)
    return next(it)


def cluster_weights(arrays: Any, k: int, **kwargs) -> tuple[np.ndarray, Any]:
    """One global codebook for every array in ``arrays`` (weights AND biases together).

    ``arrays``: an array, a dict, a list/tuple, or any nesting of those (e.g. a list of
    per-layer ``{"w", "b"}`` dicts).  Returns ``(codebook, indices)`` where ``codebook``
    is ascending (dtype: the common floating dtype of the arrays) and ``indices`` has the
    structure of ``arrays`` with int64 index arrays of the original shapes, so that
    ``codebook[indices[...]]`` is the clustered array.  ``kwargs`` go to :func:`kmeans_1d`.
    For a per-layer codebook call this once per layer.
    """
    leaves = _leaves(arrays)
    if not leaves or all(leaf.size == 0 for leaf in leaves):
        raise ValueError("cluster_weights: no values to cluster")
    dtype = _float_dtype(np.result_type(*[leaf.dtype for leaf in leaves]))
    flat = np.concatenate([leaf.astype(dtype, copy=False).ravel() for leaf in leaves])
    codebook, assign = kmeans_1d(flat, k, **kwargs)
    pieces, start = [], 0
    for leaf in leaves:
        pieces.append(assign[start:start + leaf.size].reshape(leaf.shape))
        start += leaf.size
    return codebook, _rebuild(arrays, iter(pieces))
