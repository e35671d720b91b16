"""The format-neutral imported model: tensors, ops in execution order, counts.

Layout: every activation tensor is channels-last (NHWC for images, [batch,
features] for vectors), the TensorFlow Lite convention; the ONNX reader
converts NCHW to it. Weight layouts are TensorFlow Lite's:
conv2d [out, kh, kw, in], depthwise_conv2d [1, kh, kw, in * depth_multiplier],
dense [out, in]; biases [out].

Counting convention (the one of shared/reference/mlperf-tiny.md): parameters
are the elements of the constant weight and bias inputs of conv2d,
depthwise_conv2d and dense ops; one MAC per multiply-accumulate of those three
kinds (no bias, pooling, elementwise or softmax work).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

OP_KINDS = (
    "conv2d", "depthwise_conv2d", "dense", "avg_pool", "max_pool", "add", "mul",
    "reshape", "pad", "mean", "softmax", "logistic", "relu", "relu6", "clamp",
    "quantize", "dequantize",
)
ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")
PADDINGS = ("same", "valid", "explicit")
DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32")
WEIGHTED_KINDS = ("conv2d", "depthwise_conv2d", "dense")


@dataclass(frozen=True)
class Quantization:
    """Affine quantization real = scale * (q - zero_point); per channel along `axis` when several."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int | None = None

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        return self.zero_points[0]


@dataclass(frozen=True)
class Tensor:
    """One tensor: static shape, element type, constant data (None for activations)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)
    quantization: Quantization | None = None

    @property
    def element_count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class Op:
    """One op of the fixed vocabulary OP_KINDS with its typed attributes.

    Which attributes apply:
      conv2d / depthwise_conv2d: stride_hw, dilation_hw, padding, explicit_pads_tblr,
        activation, depth_multiplier (depthwise); inputs (x, weight[, bias]).
      avg_pool / max_pool: pool_hw, stride_hw, padding, explicit_pads_tblr, activation.
      dense: activation; inputs (x, weight [out, in][, bias]).
      add / mul: activation; two inputs (broadcasting).
      reshape: new_shape. pad: pads (before, after) per dimension.
      mean: axes, keep_dims. softmax: beta, axes (the last one).
      clamp: clamp_min, clamp_max (ONNX Clip other than relu6).
    `source` names the op in its file: "operator 3 (CONV_2D) -> output 'conv1'".
    """

    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    source: str = ""
    stride_hw: tuple[int, int] = (1, 1)
    dilation_hw: tuple[int, int] = (1, 1)
    padding: str = "valid"
    explicit_pads_tblr: tuple[int, int, int, int] = (0, 0, 0, 0)
    pool_hw: tuple[int, int] = (1, 1)
    depth_multiplier: int = 1
    activation: str = "none"
    new_shape: tuple[int, ...] = ()
    pads: tuple[tuple[int, int], ...] = ()
    axes: tuple[int, ...] = ()
    keep_dims: bool = False
    beta: float = 1.0
    clamp_min: float = float("-inf")
    clamp_max: float = float("inf")

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"op kind {self.kind!r} is not one of {OP_KINDS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {ACTIVATIONS}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding {self.padding!r} is not one of {PADDINGS}")


@dataclass(frozen=True)
class ImportedModel:
    """A whole model: where it came from, its graph inputs/outputs and ops in execution order."""

    source_path: str
    format: str  # "tflite" or "onnx"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    ops: tuple[Op, ...]
    tensors: Mapping[str, Tensor] = field(compare=False, hash=False, repr=False)  # read-only view

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def __repr__(self) -> str:
        kinds = ", ".join(op.kind for op in self.ops)
        return f"ImportedModel({self.format} {self.source_path!r}: {len(self.ops)} ops [{kinds}])"


def op_parameters(model: ImportedModel, op: Op) -> int:
    """Elements of the constant weight and bias inputs of a conv2d/depthwise_conv2d/dense op, else 0."""
    if op.kind not in WEIGHTED_KINDS:
        return 0
    return sum(model.tensors[name].element_count for name in op.inputs[1:3]
               if name and model.tensors[name].is_constant)


def op_macs(model: ImportedModel, op: Op) -> int:
    """Multiply-accumulates of a conv2d/depthwise_conv2d/dense op (one per weight use), else 0."""
    if op.kind not in WEIGHTED_KINDS:
        return 0
    output = model.tensors[op.outputs[0]]
    weight = model.tensors[op.inputs[1]]
    if op.kind == "conv2d":
        _, kernel_h, kernel_w, in_channels = weight.shape
        return output.element_count * kernel_h * kernel_w * in_channels
    if op.kind == "depthwise_conv2d":
        _, kernel_h, kernel_w, _ = weight.shape
        return output.element_count * kernel_h * kernel_w
    return output.element_count * weight.shape[1]


def parameter_count(model: ImportedModel) -> int:
    """Total parameters of the model (see the module docstring for the convention)."""
    return sum(op_parameters(model, op) for op in model.ops)


def macs(model: ImportedModel) -> int:
    """Total multiply-accumulates of one inference."""
    return sum(op_macs(model, op) for op in model.ops)
