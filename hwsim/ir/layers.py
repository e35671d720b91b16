"""Layer configs: frozen dataclasses holding shapes only, with their output shapes,
parameter shapes, MAC counts and fan-in. Their float passes (init, forward, backward)
are in :mod:`hwsim.train.layer_passes`; :mod:`hwsim.train.layers` re-exports both.

Weights live in a separate ``dict[str, np.ndarray]`` (``{"w": ..., "b": ...}`` for
weighted layers, ``{}`` otherwise).

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
padding with activation 0.0); see :mod:`hwsim.ir.geometry` for why "valid" is the safe
choice for an integer pass with an even number of activation levels.  Pooling layers are
"valid" only and their ``stride`` defaults to the pool size.

``macs`` counts multiply-accumulates per inference of one example (bias adds and pooling
not counted).  ``fan_in`` is the number of inputs feeding one output unit (pooling: the
window size; Flatten: 1).

Longer than 300 lines: the nine layer configs and their shape rules are one vocabulary;
splitting it would scatter the layouts documented above.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import numpy as np

from hwsim.ir.geometry import check_padding, output_length

__all__ = [
    "Dense", "Conv1D", "Conv2D", "DepthwiseConv2D",
    "MaxPool1D", "AvgPool1D", "MaxPool2D", "AvgPool2D", "Flatten",
    "Add", "Layer", "WEIGHTED_LAYERS", "num_params",
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
    through its value table); the trainer adds raw pre-activations and activated
    inputs' level values (hwsim.train.network.forward)."""
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
