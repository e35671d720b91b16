"""Layer configs and their float forward/backward passes (im2col + matmul, channels-last).

Dense/Conv1D/Conv2D gather patches with :mod:`hwsim.train.im2col` and do one matmul;
DepthwiseConv2D loops over its kh*kw kernel offsets (strided slices reading exactly the
same taps), pooling reduces gathered patches.

Configs are frozen dataclasses holding shapes only; weights live in a separate
``dict[str, np.ndarray]`` (``{"w": ..., "b": ...}`` for weighted layers, ``{}`` otherwise).
Weighted layers compute pre-activations only; activations live in
:mod:`hwsim.train.activations`.

Data layout (batch first, channels last)
    Dense            x (N, F)        -> y (N, out_features)
    Conv1D           x (N, L, C)     -> y (N, L', out_channels)
    Conv2D           x (N, H, W, C)  -> y (N, H', W', out_channels)
    DepthwiseConv2D  x (N, H, W, C)  -> y (N, H', W', C)
    MaxPool1D/AvgPool1D x (N, L, C)  -> (N, L', C);  MaxPool2D/AvgPool2D likewise in 2-D
    Flatten          x (N, ...)      -> (N, prod(...))   (C-order, i.e. channels fastest)

Weight layouts (chosen so that im2col patches times ``w`` is one matmul)
    Dense            w (in_features, out_features);                 b (out_features,)
    Conv1D           w (kernel * in_channels, out_channels);        b (out_channels,)
                     row r = j * in_channels + c  (tap j, input channel c)
    Conv2D           w (kernel_h * kernel_w * in_channels, out_channels); b (out_channels,)
                     row r = (i * kernel_w + j) * in_channels + c  (tap (i, j), channel c)
    DepthwiseConv2D  w (kernel_h * kernel_w, channels);              b (channels,)
                     w[i * kernel_w + j, c] is tap (i, j) of channel c (depth multiplier 1)
  i.e. the row order equals the order of ``extract_patches_*(x).reshape(..., -1)``.

Padding: ``"valid"`` (default) or ``"same"`` (TensorFlow rule, output ``ceil(in / stride)``,
padding with activation 0.0); see :mod:`hwsim.train.im2col` for why "valid" is the safe
choice for an integer pass with an even number of activation levels.  Pooling layers are
"valid" only and their ``stride`` defaults to the pool size.

``macs`` counts multiply-accumulates per inference of one example (bias adds and pooling
not counted).  ``fan_in`` is the number of inputs feeding one output unit (pooling: the
window size; Flatten: 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .im2col import (
    check_padding,
    extract_patches_1d,
    extract_patches_2d,
    fold_patches_1d,
    fold_patches_2d,
    output_length,
    pad_2d,
    patch_indices_2d,
)

__all__ = [
    "Dense", "Conv1D", "Conv2D", "DepthwiseConv2D",
    "MaxPool1D", "AvgPool1D", "MaxPool2D", "AvgPool2D", "Flatten",
    "Add", "Layer", "WEIGHTED_LAYERS",
    "init_params", "forward", "backward", "num_params",
]


# --------------------------------------------------------------------------- helpers

def _pos_int(owner: object, name: str) -> None:
    value = getattr(owner, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{type(owner).__name__}: {name} must be a positive integer, "
                         f"got {value!r}")
    object.__setattr__(owner, name, int(value))


def _padding(owner: object) -> None:
    try:
        check_padding(owner.padding)
    except ValueError as exc:
        raise ValueError(f"{type(owner).__name__}: {exc}") from None


def _shape(owner: object, input_shape, rank: int, names: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in input_shape)
    except TypeError:
        raise ValueError(f"{type(owner).__name__}: input shape must be a tuple, "
                         f"got {input_shape!r}") from None
    if len(shape) != rank or any(s < 1 for s in shape):
        raise ValueError(f"{type(owner).__name__} expects an input shape {names} (batch "
                         f"excluded) of positive sizes, got {shape}")
    return shape


def _channels(owner: object, got: int, expected: int) -> None:
    if got != expected:
        raise ValueError(f"{type(owner).__name__}: input has {got} channels, layer expects "
                         f"{expected}")


def _out_len(owner: object, axis: str, length: int, kernel: int, stride: int, padding: str
             ) -> int:
    try:
        return output_length(length, kernel, stride, padding)
    except ValueError:
        raise ValueError(f"{type(owner).__name__}: {axis} kernel {kernel} does not fit the "
                         f"input {axis} {length} with padding={padding!r}") from None


# --------------------------------------------------------------------------- configs

@dataclass(frozen=True)
class Dense:
    in_features: int
    out_features: int

    def __post_init__(self):
        _pos_int(self, "in_features")
        _pos_int(self, "out_features")

    @property
    def fan_in(self) -> int:
        return self.in_features

    def output_shape(self, input_shape) -> tuple[int, ...]:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
        if isinstance(shape, tuple) and len(shape) > 1:
            raise ValueError(f"Dense expects an input shape (F,) (batch excluded), got "
                             f"{shape}: put a Flatten layer before it")
        (f,) = _shape(self, input_shape, 1, "(F,)")
        if f != self.in_features:
            raise ValueError(f"Dense: input has {f} features, layer expects {self.in_features}")
        return (self.out_features,)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w": (self.in_features, self.out_features), "b": (self.out_features,)}

    def macs(self, input_shape) -> int:
        self.output_shape(input_shape)
        return self.in_features * self.out_features


@dataclass(frozen=True)
class Conv1D:
    in_channels: int
    out_channels: int
    kernel: int
    stride: int = 1
    padding: str = "valid"

    def __post_init__(self):
        for name in ("in_channels", "out_channels", "kernel", "stride"):
            _pos_int(self, name)
        _padding(self)

    @property
    def fan_in(self) -> int:
        return self.kernel * self.in_channels

    def output_shape(self, input_shape) -> tuple[int, ...]:
        length, ch = _shape(self, input_shape, 2, "(L, C)")
        _channels(self, ch, self.in_channels)
        return (_out_len(self, "length", length, self.kernel, self.stride, self.padding),
                self.out_channels)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w": (self.kernel * self.in_channels, self.out_channels),
                "b": (self.out_channels,)}

    def macs(self, input_shape) -> int:
        out_len, out_ch = self.output_shape(input_shape)
        return out_len * out_ch * self.fan_in


@dataclass(frozen=True)
class Conv2D:
    in_channels: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    padding: str = "valid"

    def __post_init__(self):
        for name in ("in_channels", "out_channels", "kernel_h", "kernel_w", "stride_h",
                     "stride_w"):
            _pos_int(self, name)
        _padding(self)

    @property
    def fan_in(self) -> int:
        return self.kernel_h * self.kernel_w * self.in_channels

    def output_shape(self, input_shape) -> tuple[int, ...]:
        h, w, ch = _shape(self, input_shape, 3, "(H, W, C)")
        _channels(self, ch, self.in_channels)
        return (_out_len(self, "height", h, self.kernel_h, self.stride_h, self.padding),
                _out_len(self, "width", w, self.kernel_w, self.stride_w, self.padding),
                self.out_channels)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w": (self.fan_in, self.out_channels), "b": (self.out_channels,)}

    def macs(self, input_shape) -> int:
        oh, ow, oc = self.output_shape(input_shape)
        return oh * ow * oc * self.fan_in


@dataclass(frozen=True)
class DepthwiseConv2D:
    channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    padding: str = "valid"

    def __post_init__(self):
        for name in ("channels", "kernel_h", "kernel_w", "stride_h", "stride_w"):
            _pos_int(self, name)
        _padding(self)

    @property
    def fan_in(self) -> int:
        return self.kernel_h * self.kernel_w

    def output_shape(self, input_shape) -> tuple[int, ...]:
        h, w, ch = _shape(self, input_shape, 3, "(H, W, C)")
        _channels(self, ch, self.channels)
        return (_out_len(self, "height", h, self.kernel_h, self.stride_h, self.padding),
                _out_len(self, "width", w, self.kernel_w, self.stride_w, self.padding),
                self.channels)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w": (self.kernel_h * self.kernel_w, self.channels), "b": (self.channels,)}

    def macs(self, input_shape) -> int:
        oh, ow, oc = self.output_shape(input_shape)
        return oh * ow * oc * self.fan_in


class _Pool1D:
    size: int
    stride: int | None

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", self.size)
        _pos_int(self, "size")
        _pos_int(self, "stride")

    @property
    def fan_in(self) -> int:
        return self.size

    def output_shape(self, input_shape) -> tuple[int, ...]:
        length, ch = _shape(self, input_shape, 2, "(L, C)")
        return (_out_len(self, "length", length, self.size, self.stride, "valid"), ch)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def macs(self, input_shape) -> int:
        self.output_shape(input_shape)
        return 0


class _Pool2D:
    size_h: int
    size_w: int
    stride_h: int | None
    stride_w: int | None

    def __post_init__(self):
        if self.stride_h is None:
            object.__setattr__(self, "stride_h", self.size_h)
        if self.stride_w is None:
            object.__setattr__(self, "stride_w", self.size_w)
        for name in ("size_h", "size_w", "stride_h", "stride_w"):
            _pos_int(self, name)

    @property
    def fan_in(self) -> int:
        return self.size_h * self.size_w

    def output_shape(self, input_shape) -> tuple[int, ...]:
        h, w, ch = _shape(self, input_shape, 3, "(H, W, C)")
        return (_out_len(self, "height", h, self.size_h, self.stride_h, "valid"),
                _out_len(self, "width", w, self.size_w, self.stride_w, "valid"), ch)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def macs(self, input_shape) -> int:
        self.output_shape(input_shape)
        return 0


@dataclass(frozen=True)
class MaxPool1D(_Pool1D):
    size: int
    stride: int | None = None


@dataclass(frozen=True)
class AvgPool1D(_Pool1D):
    size: int
    stride: int | None = None


@dataclass(frozen=True)
class MaxPool2D(_Pool2D):
    size_h: int
    size_w: int
    stride_h: int | None = None
    stride_w: int | None = None


@dataclass(frozen=True)
class AvgPool2D(_Pool2D):
    size_h: int
    size_w: int
    stride_h: int | None = None
    stride_w: int | None = None


@dataclass(frozen=True)
class Flatten:
    @property
    def fan_in(self) -> int:
        return 1

    def output_shape(self, input_shape) -> tuple[int, ...]:
        shape = tuple(int(s) for s in input_shape)
        if len(shape) < 1 or any(s < 1 for s in shape):
            raise ValueError(f"Flatten expects a non-empty input shape of positive sizes, "
                             f"got {shape}")
        return (math.prod(shape),)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def macs(self, input_shape) -> int:
        self.output_shape(input_shape)
        return 0


@dataclass(frozen=True)
class Add:
    """Element-wise sum of `arity` tensors of one shape (residual connections).

    In the integer network it adds pre-activation sums (a level input first goes
    through its value table); the trainer trains chains only, so Add appears in
    shape-only workloads."""
    arity: int

    def __post_init__(self):
        if isinstance(self.arity, bool) or not isinstance(self.arity, int) or self.arity < 2:
            raise ValueError(f"Add: arity must be an integer >= 2, got {self.arity!r}")

    @property
    def fan_in(self) -> int:
        return self.arity

    def output_shape(self, input_shape) -> tuple[int, ...]:
        return tuple(int(s) for s in input_shape)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def macs(self, input_shape) -> int:
        return 0


Layer = Union[Dense, Conv1D, Conv2D, DepthwiseConv2D, MaxPool1D, AvgPool1D, MaxPool2D,
              AvgPool2D, Flatten, Add]
WEIGHTED_LAYERS = (Dense, Conv1D, Conv2D, DepthwiseConv2D)


def num_params(layer: Layer) -> int:
    """Number of weights plus biases."""
    return sum(math.prod(s) for s in layer.param_shapes().values())


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
    if isinstance(layer, _Pool1D):
        return extract_patches_1d(x, layer.size, layer.stride)           # (N, L', s, C)
    p = extract_patches_2d(x, layer.size_h, layer.size_w, layer.stride_h, layer.stride_w)
    return p.reshape(p.shape[:3] + (-1, p.shape[-1]))                    # (N, H', W', s, C)


def _pool_fold(layer, dp, xshape):
    if isinstance(layer, _Pool1D):
        return fold_patches_1d(dp, xshape[1], layer.size, layer.stride)
    dp = dp.reshape(dp.shape[:3] + (layer.size_h, layer.size_w, dp.shape[-1]))
    return fold_patches_2d(dp, xshape[1], xshape[2], layer.size_h, layer.size_w,
                           layer.stride_h, layer.stride_w)


def _maxpool_fwd(layer, params, x):
    p = _pool_patches(layer, x)
    arg = np.argmax(p, axis=-2)[..., None, :]                  # first maximum wins ties
    y = np.take_along_axis(p, arg, axis=-2)[..., 0, :]
    return y, (arg, p.shape, x.shape)


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
