"""Convert each supported TensorFlow Lite operator into one neutral Op (see tflite for the reader)."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hwsim.importers.model import Op, Tensor

ACTIVATION_NAMES = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}
PADDING_NAMES = {0: "same", 1: "valid"}
OPTION_TYPES = {"Conv2DOptions": 1, "DepthwiseConv2DOptions": 2, "Pool2DOptions": 5, "FullyConnectedOptions": 8,
                "SoftmaxOptions": 9, "AddOptions": 11, "MulOptions": 21, "ReducerOptions": 27}


class OperatorProblem(Exception):
    """One problem with one operator; the reader collects it, it never escapes."""


@dataclass(frozen=True)
class OperatorSite:
    """One operator as its converter sees it: the flatbuffer table, tensor names, where it is, all tensors."""

    operator: object
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    where: str
    tensors: Mapping[str, Tensor]

    def need(self, minimum: int, maximum: int) -> None:
        """Between `minimum` and `maximum` inputs, the first `minimum` of them present."""
        if not minimum <= len(self.inputs) <= maximum:
            raise OperatorProblem(f"has {len(self.inputs)} inputs, expected {minimum}..{maximum}")
        for position, name in enumerate(self.inputs[:minimum]):
            if not name or name not in self.tensors:
                raise OperatorProblem(f"input {position} is missing")

    def tensor(self, name: str, rank: int | None = None, role: str = "input") -> Tensor:
        tensor = self.tensors.get(name)
        if tensor is None:
            raise OperatorProblem(f"{role} is missing")
        if rank is not None and len(tensor.shape) != rank:
            raise OperatorProblem(f"{role} '{name}' has shape {list(tensor.shape)}, expected rank {rank}")
        return tensor

    def options(self, cls_name: str):
        """The builtin options table as the generated class, or None when absent (defaults)."""
        table = self.operator.BuiltinOptions()
        if table is None:
            return None
        found = int(self.operator.BuiltinOptionsType())
        if found != OPTION_TYPES[cls_name]:
            raise OperatorProblem(f"carries builtin options of type {found}, expected {cls_name} "
                                  f"({OPTION_TYPES[cls_name]})")
        options = getattr(importlib.import_module(f"tflite.{cls_name}"), cls_name)()
        options.Init(table.Bytes, table.Pos)
        return options

    def op(self, kind: str, **attributes) -> Op:
        return Op(kind=kind, inputs=self.inputs, outputs=self.outputs, source=self.where, **attributes)


def activation(code: int) -> str:
    if code not in ACTIVATION_NAMES:
        raise OperatorProblem(f"has fused activation code {code}; supported: none, relu, relu_n1_to_1, relu6")
    return ACTIVATION_NAMES[code]


def padding(code: int) -> str:
    if code not in PADDING_NAMES:
        raise OperatorProblem(f"has padding code {code}; expected 0 (SAME) or 1 (VALID)")
    return PADDING_NAMES[code]


def positive(values: tuple[int, int], what: str) -> tuple[int, int]:
    if any(v < 1 or v > 1 << 16 for v in values):
        raise OperatorProblem(f"has {what} {list(values)}; each must be between 1 and 65536")
    return values


def _window(site: OperatorSite, options_name: str) -> dict:
    site.need(2, 3)
    site.tensor(site.inputs[0], 4, "input")
    site.tensor(site.inputs[1], 4, "weight")
    site.tensor(site.outputs[0], 4, "output")
    options = site.options(options_name)
    return {
        "stride_hw": positive((options.StrideH(), options.StrideW()) if options else (1, 1), "stride"),
        "dilation_hw": positive((options.DilationHFactor(), options.DilationWFactor()) if options else (1, 1),
                                "dilation"),
        "padding": padding(options.Padding() if options else 0),
        "activation": activation(options.FusedActivationFunction() if options else 0),
    }


def conv_2d(site: OperatorSite) -> Op:
    attributes = _window(site, "Conv2DOptions")
    in_channels = site.tensors[site.inputs[0]].shape[3]
    weight_shape = site.tensors[site.inputs[1]].shape
    if weight_shape[3] != in_channels:
        raise OperatorProblem(f"weight shape {list(weight_shape)} does not fit {in_channels} input channels "
                              "(grouped convolution is not supported)")
    return site.op("conv2d", **attributes)


def depthwise_conv_2d(site: OperatorSite) -> Op:
    attributes = _window(site, "DepthwiseConv2DOptions")
    in_channels = site.tensors[site.inputs[0]].shape[3]
    weight_shape = site.tensors[site.inputs[1]].shape
    if weight_shape[0] != 1 or in_channels == 0 or weight_shape[3] % in_channels:
        raise OperatorProblem(f"weight shape {list(weight_shape)} does not fit {in_channels} input channels")
    # The multiplier follows from the shapes; TFLite itself ignores a stale options value.
    return site.op("depthwise_conv2d", depth_multiplier=weight_shape[3] // in_channels, **attributes)


def fully_connected(site: OperatorSite) -> Op:
    site.need(2, 3)
    depth = site.tensor(site.inputs[1], 2, "weight").shape[1]
    options = site.options("FullyConnectedOptions")
    if options is not None and options.WeightsFormat() != 0:
        raise OperatorProblem(f"uses shuffled weights format {options.WeightsFormat()}; only DEFAULT is supported")
    source = site.tensors[site.inputs[0]]
    if depth == 0 or source.element_count % depth:
        raise OperatorProblem(f"input shape {list(source.shape)} is not a multiple of the weight's {depth} "
                              "input features")
    return site.op("dense", activation=activation(options.FusedActivationFunction() if options else 0))


def _pool(site: OperatorSite, kind: str) -> Op:
    site.need(1, 1)
    site.tensor(site.inputs[0], 4, "input")
    options = site.options("Pool2DOptions")
    if options is None:
        raise OperatorProblem("has no pool options (filter size)")
    return site.op(kind, stride_hw=positive((options.StrideH(), options.StrideW()), "stride"),
                   pool_hw=positive((options.FilterHeight(), options.FilterWidth()), "filter size"),
                   padding=padding(options.Padding()), activation=activation(options.FusedActivationFunction()))


def average_pool_2d(site: OperatorSite) -> Op:
    return _pool(site, "avg_pool")


def max_pool_2d(site: OperatorSite) -> Op:
    return _pool(site, "max_pool")


def _binary(site: OperatorSite, kind: str, options_name: str) -> Op:
    site.need(2, 2)
    options = site.options(options_name)
    return site.op(kind, activation=activation(options.FusedActivationFunction() if options else 0))


def add(site: OperatorSite) -> Op:
    return _binary(site, "add", "AddOptions")


def mul(site: OperatorSite) -> Op:
    return _binary(site, "mul", "MulOptions")


def reshape(site: OperatorSite) -> Op:
    """RESHAPE and SQUEEZE: the output tensor's static shape is the new shape."""
    site.need(1, 2)
    source, target = site.tensors[site.inputs[0]], site.tensors[site.outputs[0]]
    if source.element_count != target.element_count:
        raise OperatorProblem(f"reshapes {list(source.shape)} to {list(target.shape)}: element counts differ")
    return site.op("reshape", new_shape=target.shape)


def pad(site: OperatorSite) -> Op:
    site.need(2, 2)
    paddings = site.tensors[site.inputs[1]]
    rank = len(site.tensors[site.inputs[0]].shape)
    if paddings.data is None or paddings.shape != (rank, 2):
        raise OperatorProblem(f"paddings must be a constant [{rank}, 2] tensor")
    pads = tuple((int(before), int(after)) for before, after in paddings.data.reshape(rank, 2))
    if any(not (0 <= before <= 1 << 16 and 0 <= after <= 1 << 16) for before, after in pads):
        raise OperatorProblem(f"has paddings {list(pads)}; each must be between 0 and 65536")
    return site.op("pad", pads=pads)


def mean(site: OperatorSite) -> Op:
    site.need(2, 2)
    axis_tensor = site.tensors[site.inputs[1]]
    rank = len(site.tensors[site.inputs[0]].shape)
    if axis_tensor.data is None:
        raise OperatorProblem("axes must be a constant tensor")
    axes = tuple(int(a) for a in axis_tensor.data.reshape(-1))
    if any(not -rank <= a < rank for a in axes):
        raise OperatorProblem(f"axes {list(axes)} are out of range for rank {rank}")
    options = site.options("ReducerOptions")
    return site.op("mean", axes=tuple(sorted({a % rank for a in axes})),
                   keep_dims=bool(options.KeepDims()) if options else False)


def softmax(site: OperatorSite) -> Op:
    site.need(1, 1)
    options = site.options("SoftmaxOptions")
    return site.op("softmax", beta=float(options.Beta()) if options else 1.0,
                   axes=(len(site.tensors[site.inputs[0]].shape) - 1,))


def _unary(kind: str) -> Callable[[OperatorSite], Op]:
    def convert(site: OperatorSite) -> Op:
        site.need(1, 1)
        return site.op(kind)

    return convert


CONVERTERS: dict[str, Callable[[OperatorSite], Op]] = {
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "FULLY_CONNECTED": fully_connected,
    "AVERAGE_POOL_2D": average_pool_2d, "MAX_POOL_2D": max_pool_2d, "ADD": add, "MUL": mul,
    "RESHAPE": reshape, "SQUEEZE": reshape, "PAD": pad, "MEAN": mean, "SOFTMAX": softmax,
    "LOGISTIC": _unary("logistic"), "RELU": _unary("relu"), "RELU6": _unary("relu6"),
    "QUANTIZE": _unary("quantize"), "DEQUANTIZE": _unary("dequantize"),
}
