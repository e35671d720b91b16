"""The float passes of the layer configs: Glorot init, forward and backward (im2col +
matmul, channels-last).

Dense/Conv1D/Conv2D gather patches with :mod:`hwsim.ir.geometry` and do one matmul;
DepthwiseConv2D loops over its kh*kw kernel offsets (strided slices reading exactly the
same taps), pooling reduces gathered patches. Weighted layers compute pre-activations
only; activations live in :mod:`hwsim.train.activations`. Data and weight layouts:
:mod:`hwsim.ir.layers`.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from hwsim.ir.geometry import (
    extract_patches_1d,
    extract_patches_2d,
    fold_patches_1d,
    fold_patches_2d,
    pad_2d,
    patch_indices_2d,
)
from hwsim.ir.layers import (
    AvgPool1D,
    AvgPool2D,
    Conv1D,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    Layer,
    MaxPool1D,
    MaxPool2D,
)

__all__ = ["init_params", "forward", "backward"]


# --------------------------------------------------------------------------- init

def _fan_out(layer: Layer) -> int:
    if isinstance(layer, Dense):
        return layer.out_features
    if isinstance(layer, Conv1D):
        return layer.kernel * layer.out_channels
    if isinstance(layer, Conv2D):
        return layer.kernel_h * layer.kernel_w * layer.out_channels
    if isinstance(layer, DepthwiseConv2D):
        return layer.kernel_h * layer.kernel_w
    raise TypeError(f"{type(layer).__name__} has no weights")


def init_params(layer: Layer, rng: np.random.Generator, dtype=np.float32
                ) -> dict[str, np.ndarray]:
    """Glorot (Xavier) uniform weights, zero biases; ``{}`` for layers without weights.

    ``w ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))`` (fan_out = kernel area x
    output channels for convolutions, as Keras), the usual choice for tanh units.
    """
    shapes = layer.param_shapes()
    if not shapes:
        return {}
    limit = math.sqrt(6.0 / (layer.fan_in + _fan_out(layer)))
    return {"w": rng.uniform(-limit, limit, size=shapes["w"]).astype(dtype),
            "b": np.zeros(shapes["b"], dtype=dtype)}


# --------------------------------------------------------------------------- passes

def _check_input(layer: Layer, x: np.ndarray) -> tuple[int, ...]:
    if x.ndim < 2:
        raise ValueError(f"{type(layer).__name__}: input must be batched (N, ...), "
                         f"got shape {x.shape}")
    return layer.output_shape(x.shape[1:])


def _dense_fwd(layer, params, x):
    return x @ params["w"] + params["b"], (x,)


def _dense_bwd(layer, params, cache, dy):
    (x,) = cache
    return dy @ params["w"].T, {"w": x.T @ dy, "b": dy.sum(axis=0)}


def _conv1d_fwd(layer, params, x):
    p = extract_patches_1d(x, layer.kernel, layer.stride, layer.padding, fill=0)
    cols = p.reshape(p.shape[:-2] + (-1,))                     # (N, L', k*C)
    return cols @ params["w"] + params["b"], (cols, x.shape)


def _conv1d_bwd(layer, params, cache, dy):
    cols, xshape = cache
    w = params["w"]
    grads = {"w": cols.reshape(-1, cols.shape[-1]).T @ dy.reshape(-1, dy.shape[-1]),
             "b": dy.sum(axis=(0, 1))}
    dcols = (dy @ w.T).reshape(dy.shape[:2] + (layer.kernel, layer.in_channels))
    dx = fold_patches_1d(dcols, xshape[1], layer.kernel, layer.stride, layer.padding)
    return dx, grads


def _conv2d_fwd(layer, params, x):
    p = extract_patches_2d(x, layer.kernel_h, layer.kernel_w, layer.stride_h, layer.stride_w,
                           layer.padding, fill=0)
    cols = p.reshape(p.shape[:3] + (-1,))                      # (N, H', W', kh*kw*C)
    return cols @ params["w"] + params["b"], (cols, x.shape)


def _conv2d_bwd(layer, params, cache, dy):
    cols, xshape = cache
    w = params["w"]
    grads = {"w": cols.reshape(-1, cols.shape[-1]).T @ dy.reshape(-1, dy.shape[-1]),
             "b": dy.sum(axis=(0, 1, 2))}
    dcols = (dy @ w.T).reshape(dy.shape[:3] + (layer.kernel_h, layer.kernel_w,
                                               layer.in_channels))
    dx = fold_patches_2d(dcols, xshape[1], xshape[2], layer.kernel_h, layer.kernel_w,
                         layer.stride_h, layer.stride_w, layer.padding)
    return dx, grads


def _dw_geometry(layer, xshape):
    rows, cols, pad_h, pad_w = patch_indices_2d(xshape[1], xshape[2], layer.kernel_h,
                                                layer.kernel_w, layer.stride_h,
                                                layer.stride_w, layer.padding)
    oh, ow = rows.shape[0], cols.shape[0]
    span_h = layer.stride_h * (oh - 1) + 1
    span_w = layer.stride_w * (ow - 1) + 1
    taps = [(i * layer.kernel_w + j,
             np.s_[:, i:i + span_h:layer.stride_h, j:j + span_w:layer.stride_w, :])
            for i in range(layer.kernel_h) for j in range(layer.kernel_w)]
    return pad_h, pad_w, taps


def _dw_fwd(layer, params, x):
    # a loop over the kh*kw kernel offsets of strided slices: the same taps as
    # extract_patches_2d, without materialising the patches
    pad_h, pad_w, taps = _dw_geometry(layer, x.shape)
    xp = pad_2d(x, pad_h, pad_w, fill=0)
    w = params["w"]
    y = None
    for r, sl in taps:
        term = xp[sl] * w[r]
        y = term if y is None else y + term
    return y + params["b"], (xp, x.shape)


def _dw_bwd(layer, params, cache, dy):
    xp, xshape = cache
    pad_h, pad_w, taps = _dw_geometry(layer, xshape)
    w = params["w"]
    dw = np.empty_like(w, dtype=np.result_type(w, dy))
    dxp = np.zeros(xp.shape, dtype=np.result_type(xp, dy))
    for r, sl in taps:
        dw[r] = np.einsum("nhwc,nhwc->c", xp[sl], dy)
        dxp[sl] += dy * w[r]
    dx = dxp[:, pad_h[0]:pad_h[0] + xshape[1], pad_w[0]:pad_w[0] + xshape[2], :]
    return dx, {"w": dw, "b": dy.sum(axis=(0, 1, 2))}


def _pool_patches(layer, x):
    if isinstance(layer, (MaxPool1D, AvgPool1D)):
        return extract_patches_1d(x, layer.size, layer.stride)           # (N, L', s, C)
    p = extract_patches_2d(x, layer.size_h, layer.size_w, layer.stride_h, layer.stride_w)
    return p.reshape(p.shape[:3] + (-1, p.shape[-1]))                    # (N, H', W', s, C)


def _pool_fold(layer, dp, xshape):
    if isinstance(layer, (MaxPool1D, AvgPool1D)):
        return fold_patches_1d(dp, xshape[1], layer.size, layer.stride)
    dp = dp.reshape(dp.shape[:3] + (layer.size_h, layer.size_w, dp.shape[-1]))
    return fold_patches_2d(dp, xshape[1], xshape[2], layer.size_h, layer.size_w,
                           layer.stride_h, layer.stride_w)


def _maxpool_fwd(layer, params, x):
    p = _pool_patches(layer, x)
    if np.isnan(p).any():                                      # argmax: the first NaN wins
        arg = np.argmax(p, axis=-2)[..., None, :]              # first maximum wins ties
        return np.take_along_axis(p, arg, axis=-2)[..., 0, :], (arg, p.shape, x.shape)
    # The window's taps one after another: what argmax and a gather give (a strictly
    # greater tap replaces the maximum, so the first maximum wins ties), faster for the
    # few taps of a pool window.
    y = p[..., 0, :].copy()
    arg = np.zeros(y.shape, dtype=np.intp)
    for tap in range(1, p.shape[-2]):
        value = p[..., tap, :]
        greater = value > y
        np.copyto(y, value, where=greater)
        np.copyto(arg, tap, where=greater)
    return y, (arg[..., None, :], p.shape, x.shape)


def _maxpool_bwd(layer, params, cache, dy):
    arg, pshape, xshape = cache
    dp = np.zeros(pshape, dtype=dy.dtype)
    np.put_along_axis(dp, arg, dy[..., None, :], axis=-2)
    return _pool_fold(layer, dp, xshape), {}


def _avgpool_fwd(layer, params, x):
    p = _pool_patches(layer, x)
    return p.mean(axis=-2), (p.shape, x.shape)


def _avgpool_bwd(layer, params, cache, dy):
    pshape, xshape = cache
    dp = np.broadcast_to((dy / pshape[-2])[..., None, :], pshape)
    return _pool_fold(layer, dp, xshape), {}


def _flatten_fwd(layer, params, x):
    return x.reshape(x.shape[0], -1), (x.shape,)


def _flatten_bwd(layer, params, cache, dy):
    return dy.reshape(cache[0]), {}


_PASSES: dict[type, tuple[Callable, Callable]] = {
    Dense: (_dense_fwd, _dense_bwd),
    Conv1D: (_conv1d_fwd, _conv1d_bwd),
    Conv2D: (_conv2d_fwd, _conv2d_bwd),
    DepthwiseConv2D: (_dw_fwd, _dw_bwd),
    MaxPool1D: (_maxpool_fwd, _maxpool_bwd),
    MaxPool2D: (_maxpool_fwd, _maxpool_bwd),
    AvgPool1D: (_avgpool_fwd, _avgpool_bwd),
    AvgPool2D: (_avgpool_fwd, _avgpool_bwd),
    Flatten: (_flatten_fwd, _flatten_bwd),
}


def _passes(layer) -> tuple[Callable, Callable]:
    try:
        return _PASSES[type(layer)]
    except KeyError:
        raise TypeError(f"not a layer config: {layer!r}") from None


def forward(layer: Layer, params: dict[str, np.ndarray], x: np.ndarray):
    """``(y, cache)``: pre-activations (weighted layers) or pooled/flattened values.

    dtype-preserving when ``x`` and ``params`` share a dtype.  Raises ValueError if ``x``
    does not fit the layer.
    """
    fwd = _passes(layer)[0]
    x = np.asarray(x)
    _check_input(layer, x)
    return fwd(layer, params, x)


def backward(layer: Layer, params: dict[str, np.ndarray], cache, dy: np.ndarray):
    """``(dx, grads)`` for upstream gradient ``dy`` (same shape as ``y``).

    ``grads`` has the keys and shapes of ``params`` (``{}`` for layers without weights).
    """
    return _passes(layer)[1](layer, params, cache, np.asarray(dy))
