"""The context an ONNX node converter works in (tensors seen so far, the ops emitted),
and the attribute, padding and layout helpers the converters in onnx_nodes share."""
from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from hwsim.importers.diagnostics import check_shape
from hwsim.importers.model import Op, Quantization

NCHW_TO_NHWC = (0, 2, 3, 1)


@dataclass(frozen=True)
class Spec:
    """A tensor while the graph is converted."""

    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None = field(default=None, compare=False)
    quantization: Quantization | None = None
    flattened_chw: tuple[int, int, int] | None = None  # a vector in ONNX (C, H, W) order


class NodeProblem(Exception):
    """One problem with one node; collected by the reader, never escapes it."""


@dataclass
class NodeContext:
    """What one node's converter reads (the tensors known so far) and what it adds (tensors, ops).

    Reads and writes go through `specs`, a ChainMap whose first map collects this node's new
    tensors; the reader merges `new_tensors` and `ops` after the node converted without a problem.
    """

    known: Mapping[str, Spec]
    opset: int
    where: str
    new_tensors: dict[str, Spec] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)

    @property
    def specs(self) -> ChainMap:
        return ChainMap(self.new_tensors, self.known)

    def constant(self, name: str, role: str) -> np.ndarray:
        spec = self.specs[name]
        if spec.data is None:
            raise NodeProblem(f"{role} '{name}' must be a constant (initializer)")
        return spec.data

    def scalar(self, name: str, role: str) -> float:
        data = self.constant(name, role)
        if data.size != 1:
            raise NodeProblem(f"{role} '{name}' must hold one value, it has shape {list(data.shape)}")
        return data.reshape(-1)[0].item()

    def activation(self, name: str, role: str) -> Spec:
        spec = self.specs[name]
        if spec.flattened_chw is not None:
            raise NodeProblem(f"{role} '{name}' is a flattened NCHW tensor; only Gemm/MatMul may read it")
        return spec

    def add_tensor(self, name: str, shape, dtype: str, data=None, quantization=None, chw=None) -> str:
        problem = check_shape(tuple(shape), f"tensor '{name}'")
        if problem:
            raise NodeProblem(problem)
        self.specs[name] = Spec(shape=tuple(int(d) for d in shape), dtype=dtype, data=data,
                                quantization=quantization, flattened_chw=chw)
        return name

    def fresh(self, base: str) -> str:
        name, count = base, 1
        while name in self.specs:
            name, count = f"{base}#{count}", count + 1
        return name

    def quantize_output(self, name: str, scale: float, zero_point_name: str | None, role: str) -> Quantization:
        zero_point = int(self.scalar(zero_point_name, f"{role} zero point")) if zero_point_name else 0
        if not (scale > 0 and math.isfinite(scale)):
            raise NodeProblem(f"{role} scale {scale} is not a positive finite number")
        return Quantization(scales=(float(scale),), zero_points=(zero_point,))

    def weight_quantization(self, scale_name: str, zero_name: str | None, channels: int, axis: int) -> Quantization:
        scales = np.atleast_1d(self.constant(scale_name, "weight scale")).astype(np.float64).reshape(-1)
        zeros = (np.atleast_1d(self.constant(zero_name, "weight zero point")).astype(np.int64).reshape(-1)
                 if zero_name else np.zeros(scales.size, dtype=np.int64))
        if scales.size not in (1, channels) or zeros.size != scales.size:
            raise NodeProblem(f"weight quantization has {scales.size} scales and {zeros.size} zero points "
                              f"for {channels} channels")
        return Quantization(scales=tuple(float(s) for s in scales), zero_points=tuple(int(z) for z in zeros),
                            axis=axis if scales.size > 1 else None)

    def attach_quantization(self, name: str, quantization: Quantization) -> None:
        """Record the quantization a QLinear node reads `name` with (once; later reads must agree)."""
        spec = self.specs[name]
        if spec.quantization is None:
            self.specs[name] = replace(spec, quantization=quantization)
        elif spec.quantization != quantization:
            raise NodeProblem(f"tensor '{name}' is read with quantization {quantization}, "
                              f"but was written with {spec.quantization}")


def to_nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[i] for i in NCHW_TO_NHWC) if len(shape) == 4 else tuple(shape)


def _to_nchw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[3], shape[1], shape[2])


def _attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _pair(values, name: str) -> tuple[int, int]:
    values = [int(v) for v in values]
    if len(values) != 2 or any(v < 1 or v > 1 << 16 for v in values):
        raise NodeProblem(f"{name} {values} must be two values between 1 and 65536")
    return values[0], values[1]


def _out_size(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    return (size + before + after - ((kernel - 1) * dilation + 1)) // stride + 1


def _onnx_padding(attrs: dict, in_hw, kernel_hw, stride, dilation) -> tuple[str, tuple[int, int, int, int]]:
    """('same' | 'valid' | 'explicit', (top, bottom, left, right)) from auto_pad / pads."""
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, kernel, s, d in zip(in_hw, kernel_hw, stride, dilation):
            out = (size + s - 1) // s
            total = max((out - 1) * s + (kernel - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads.extend((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        if auto_pad == "SAME_UPPER":
            return "same", tuple(pads)
        return "explicit", tuple(pads)
    if auto_pad == "VALID":
        return "valid", (0, 0, 0, 0)
    if auto_pad != "NOTSET":
        raise NodeProblem(f"auto_pad {auto_pad!r} is not supported")
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    if len(pads) != 4 or any(p < 0 or p > 1 << 16 for p in pads):
        raise NodeProblem(f"pads {pads} must be four values between 0 and 65536")
    top, left, bottom, right = pads
    if not any(pads):
        return "valid", (0, 0, 0, 0)
    return "explicit", (top, bottom, left, right)


def _integer_output_type(node, ctx: NodeContext) -> str:
    zero_name = node.input[-1] if node.op_type == "QLinearMatMul" else node.input[7]
    return ctx.specs[zero_name].dtype if zero_name in ctx.specs else "int8"
