"""Convert each supported ONNX node into neutral ops and tensors (channels-last; see onnx_model)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim.importers.model import Op, Quantization
from hwsim.importers.onnx_context import (NCHW_TO_NHWC, NodeContext, NodeProblem, _attributes,
                                          _integer_output_type, _onnx_padding, _out_size, _pair,
                                          _to_nchw, to_nhwc)  # noqa: F401


def conv(node, ctx: NodeContext) -> None:
    _convolution(node, ctx, x=node.input[0], w=node.input[1],
                 bias=node.input[2] if len(node.input) > 2 else "", y_quant=None, w_quant=None)


def qlinear_conv(node, ctx: NodeContext) -> None:
    if len(node.input) < 8:
        raise NodeProblem(f"has {len(node.input)} inputs, expected 8 or 9")
    x_q = ctx.quantize_output(node.input[0], ctx.scalar(node.input[1], "x scale"), node.input[2], "x")
    ctx.attach_quantization(node.input[0], x_q)
    weight = ctx.constant(node.input[3], "weight")
    w_q = (node.input[4], node.input[5], weight.shape[0])
    y_q = ctx.quantize_output(node.output[0], ctx.scalar(node.input[6], "y scale"), node.input[7], "y")
    _convolution(node, ctx, x=node.input[0], w=node.input[3], bias=node.input[8] if len(node.input) > 8 else "",
                 y_quant=y_q, w_quant=w_q)


def _convolution(node, ctx: NodeContext, x: str, w: str, bias: str, y_quant, w_quant) -> None:
    attrs = _attributes(node)
    x_spec = ctx.activation(x, "input")
    if len(x_spec.shape) != 4:
        raise NodeProblem(f"input '{x}' has shape {list(x_spec.shape)}; "
                          "only 2-D convolution (rank 4) is supported")
    weight = ctx.constant(w, "weight")
    if weight.ndim != 4:
        raise NodeProblem(f"weight '{w}' has shape {list(weight.shape)}; expected [O, I/group, kh, kw]")
    batch, height, width, in_channels = x_spec.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    group = int(attrs.get("group", 1))
    stride = _pair(attrs.get("strides", [1, 1]), "strides")
    dilation = _pair(attrs.get("dilations", [1, 1]), "dilations")
    padding, pads = _onnx_padding(attrs, (height, width), (kernel_h, kernel_w), stride, dilation)
    out_h = _out_size(height, kernel_h, stride[0], dilation[0], pads[0], pads[1])
    out_w = _out_size(width, kernel_w, stride[1], dilation[1], pads[2], pads[3])
    if out_h < 1 or out_w < 1:
        raise NodeProblem(f"kernel {kernel_h}x{kernel_w} does not fit input {height}x{width}")
    if group == 1 and group_channels == in_channels:
        kind, multiplier = "conv2d", 1
        neutral = np.ascontiguousarray(weight.transpose(0, 2, 3, 1))
        channel_axis = 0
    elif group == in_channels and group_channels == 1 and out_channels % in_channels == 0:
        kind, multiplier = "depthwise_conv2d", out_channels // in_channels
        neutral = np.ascontiguousarray(weight.transpose(1, 2, 3, 0))
        channel_axis = 3
    else:
        raise NodeProblem(f"group {group} with weight {list(weight.shape)} and {in_channels} input channels: "
                          "only ordinary and depthwise convolution are supported")
    quantization = ctx.specs[w].quantization  # a QDQ weight's, per output channel
    if quantization is not None and quantization.per_channel:
        if quantization.axis != 0:
            raise NodeProblem(f"weight '{w}' is quantized along axis {quantization.axis}; expected axis 0")
        quantization = Quantization(quantization.scales, quantization.zero_points, channel_axis)
    if w_quant is not None:
        quantization = ctx.weight_quantization(w_quant[0], w_quant[1], out_channels, channel_axis)
    w_name = ctx.add_tensor(ctx.fresh(f"{w}_nhwc"), neutral.shape, ctx.specs[w].dtype, neutral,
                            quantization)
    inputs = [x, w_name]
    if bias:
        bias_data = ctx.constant(bias, "bias").reshape(-1)
        if bias_data.size != out_channels:
            raise NodeProblem(f"bias '{bias}' has {bias_data.size} values for {out_channels} channels")
        bias_q = None
        if w_quant is not None:
            x_scale = ctx.specs[x].quantization.scale
            bias_q = Quantization(scales=tuple(x_scale * s for s in quantization.scales),
                                  zero_points=(0,) * len(quantization.scales),
                                  axis=0 if quantization.per_channel else None)
        inputs.append(ctx.add_tensor(ctx.fresh(f"{bias}_bias"), (out_channels,), ctx.specs[bias].dtype,
                                     bias_data, bias_q))
    y_dtype = "float32" if y_quant is None else _integer_output_type(node, ctx)
    ctx.add_tensor(node.output[0], (batch, out_h, out_w, out_channels), y_dtype, quantization=y_quant)
    ctx.ops.append(Op(kind=kind, inputs=tuple(inputs), outputs=(node.output[0],), source=ctx.where,
                      stride_hw=stride, dilation_hw=dilation, padding=padding, explicit_pads_tblr=pads,
                      depth_multiplier=multiplier))


def _dense(ctx: NodeContext, x: str, weight_in_out: np.ndarray, weight_dtype: str, bias, output: str,
           w_quant=None, y_quant=None, w_name_hint="weight", quantization=None, y_dtype="int8") -> None:
    x_spec = ctx.specs[x]
    depth, units = weight_in_out.shape
    if x_spec.shape[-1] != depth or len(x_spec.shape) != 2:
        raise NodeProblem(f"input '{x}' of shape {list(x_spec.shape)} does not fit a [{depth}, {units}] weight")
    weight = np.ascontiguousarray(weight_in_out.T)
    if x_spec.flattened_chw is not None:
        channels, height, width = x_spec.flattened_chw
        order = np.arange(depth).reshape(channels, height, width).transpose(1, 2, 0).reshape(-1)
        weight = np.ascontiguousarray(weight[:, order])  # columns in the NHWC flatten order
    if w_quant is not None:
        quantization = ctx.weight_quantization(w_quant[0], w_quant[1], units, 0)
    inputs = [x, ctx.add_tensor(ctx.fresh(f"{w_name_hint}_out_in"), weight.shape, weight_dtype, weight,
                                quantization)]
    if bias is not None:
        inputs.append(ctx.add_tensor(ctx.fresh(f"{w_name_hint}_bias"), (units,), str(bias.dtype), bias))
    dtype = "float32" if y_quant is None else y_dtype
    ctx.add_tensor(output, (x_spec.shape[0], units), dtype, quantization=y_quant)
    ctx.ops.append(Op(kind="dense", inputs=tuple(inputs), outputs=(output,), source=ctx.where))


def _matrix(ctx: NodeContext, name: str, transposed: bool,
            alpha: float = 1.0) -> tuple[np.ndarray, str, Quantization | None]:
    """A Gemm/MatMul B operand as [in, out], its dtype and (QDQ) quantization along the output axis."""
    spec = ctx.specs[name]
    weight = ctx.constant(name, "B")
    if weight.ndim != 2:
        raise NodeProblem(f"B has shape {list(weight.shape)}; expected rank 2")
    quantization = spec.quantization
    if quantization is None:
        weight = weight.astype(np.float32) * np.float32(alpha)
        return (weight.T if transposed else weight), "float32", None
    if alpha != 1.0:
        raise NodeProblem("alpha other than 1 on a quantized B is not supported")
    out_axis = 0 if transposed else 1
    if quantization.per_channel and quantization.axis != out_axis:
        raise NodeProblem(f"B is quantized along axis {quantization.axis}, not its output axis {out_axis}")
    quantization = Quantization(quantization.scales, quantization.zero_points,
                                0 if quantization.per_channel else None)
    return (weight.T if transposed else weight), spec.dtype, quantization


def gemm(node, ctx: NodeContext) -> None:
    attrs = _attributes(node)
    if int(attrs.get("transA", 0)):
        raise NodeProblem("transA=1 is not supported")
    weight, dtype, quantization = _matrix(ctx, node.input[1], bool(int(attrs.get("transB", 0))),
                                          float(attrs.get("alpha", 1.0)))
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = (ctx.constant(node.input[2], "C").astype(np.float32) * np.float32(attrs.get("beta", 1.0)))
        if bias.size != weight.shape[1]:
            raise NodeProblem(f"C has {bias.size} values for {weight.shape[1]} outputs")
        bias = bias.reshape(-1)
    _dense(ctx, node.input[0], weight, dtype, bias, node.output[0], w_name_hint=node.input[1],
           quantization=quantization)


def matmul(node, ctx: NodeContext) -> None:
    weight, dtype, quantization = _matrix(ctx, node.input[1], False)
    _dense(ctx, node.input[0], weight, dtype, None, node.output[0], w_name_hint=node.input[1],
           quantization=quantization)


def qlinear_matmul(node, ctx: NodeContext) -> None:
    if len(node.input) != 8:
        raise NodeProblem(f"has {len(node.input)} inputs, expected 8")
    a_q = ctx.quantize_output(node.input[0], ctx.scalar(node.input[1], "a scale"), node.input[2], "a")
    ctx.attach_quantization(node.input[0], a_q)
    weight = ctx.constant(node.input[3], "b")
    if weight.ndim != 2:
        raise NodeProblem(f"b has shape {list(weight.shape)}; expected rank 2")
    y_q = ctx.quantize_output(node.output[0], ctx.scalar(node.input[6], "y scale"), node.input[7], "y")
    _dense(ctx, node.input[0], weight, ctx.specs[node.input[3]].dtype, None, node.output[0],
           w_quant=(node.input[4], node.input[5]), y_quant=y_q, w_name_hint=node.input[3],
           y_dtype=_integer_output_type(node, ctx))


def _unary(node, ctx: NodeContext, kind: str, **attributes) -> None:
    spec = ctx.activation(node.input[0], "input")
    ctx.add_tensor(node.output[0], spec.shape, spec.dtype, quantization=spec.quantization)
    ctx.ops.append(Op(kind=kind, inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where, **attributes))


def relu(node, ctx: NodeContext) -> None:
    _unary(node, ctx, "relu")


def clip(node, ctx: NodeContext) -> None:
    attrs = _attributes(node)
    low = attrs.get("min", float("-inf"))
    high = attrs.get("max", float("inf"))
    if len(node.input) > 1 and node.input[1]:
        low = float(ctx.scalar(node.input[1], "min"))
    if len(node.input) > 2 and node.input[2]:
        high = float(ctx.scalar(node.input[2], "max"))
    if low == 0.0 and high == 6.0:
        _unary(node, ctx, "relu6")
    elif low == 0.0 and high == float("inf"):
        _unary(node, ctx, "relu")
    else:
        _unary(node, ctx, "clamp", clamp_min=float(low), clamp_max=float(high))


def _pool(node, ctx: NodeContext, kind: str) -> None:
    attrs = _attributes(node)
    spec = ctx.activation(node.input[0], "input")
    if len(spec.shape) != 4:
        raise NodeProblem(f"input has shape {list(spec.shape)}; only 2-D pooling is supported")
    if int(attrs.get("ceil_mode", 0)):
        raise NodeProblem("ceil_mode=1 is not supported")
    if attrs.get("dilations", [1, 1]) != [1, 1] or int(attrs.get("storage_order", 0)):
        raise NodeProblem("dilated pooling and storage_order=1 are not supported")
    pool = _pair(attrs.get("kernel_shape", []), "kernel_shape")
    stride = _pair(attrs.get("strides", [1, 1]), "strides")
    batch, height, width, channels = spec.shape
    padding, pads = _onnx_padding(attrs, (height, width), pool, stride, (1, 1))
    if kind == "avg_pool" and int(attrs.get("count_include_pad", 0)) and any(pads):
        raise NodeProblem("count_include_pad=1 with padding is not supported (padding is excluded from the mean)")
    out_h = _out_size(height, pool[0], stride[0], 1, pads[0], pads[1])
    out_w = _out_size(width, pool[1], stride[1], 1, pads[2], pads[3])
    if out_h < 1 or out_w < 1:
        raise NodeProblem(f"window {pool} does not fit input {height}x{width}")
    ctx.add_tensor(node.output[0], (batch, out_h, out_w, channels), spec.dtype, quantization=spec.quantization)
    ctx.ops.append(Op(kind=kind, inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where,
                      pool_hw=pool, stride_hw=stride, padding=padding, explicit_pads_tblr=pads))


def max_pool(node, ctx: NodeContext) -> None:
    if len(node.output) > 1 and node.output[1]:
        raise NodeProblem("the Indices output is not supported")
    _pool(node, ctx, "max_pool")


def average_pool(node, ctx: NodeContext) -> None:
    _pool(node, ctx, "avg_pool")


def global_average_pool(node, ctx: NodeContext) -> None:
    spec = ctx.activation(node.input[0], "input")
    if len(spec.shape) != 4:
        raise NodeProblem(f"input has shape {list(spec.shape)}; expected rank 4")
    ctx.add_tensor(node.output[0], (spec.shape[0], 1, 1, spec.shape[3]), spec.dtype,
                   quantization=spec.quantization)
    ctx.ops.append(Op(kind="mean", inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where,
                      axes=(1, 2), keep_dims=True))


def _binary(node, ctx: NodeContext, kind: str) -> None:
    names = []
    specs = [ctx.specs[name] for name in node.input[:2]]
    rank = max(len(spec.shape) for spec in specs)
    for name, spec in zip(node.input[:2], specs):
        if spec.data is not None:
            data = spec.data.astype(np.float32) if spec.dtype != "float32" and spec.quantization is None \
                else spec.data
            if rank == 4:
                data = data.reshape((1,) * (4 - data.ndim) + data.shape).transpose(NCHW_TO_NHWC)
            names.append(ctx.add_tensor(ctx.fresh(f"{name}_nhwc"), data.shape, str(data.dtype),
                                        np.ascontiguousarray(data), spec.quantization))
        else:
            ctx.activation(name, "input")
            names.append(name)
    try:
        shape = np.broadcast_shapes(*(ctx.specs[name].shape for name in names))
    except ValueError:
        raise NodeProblem(f"input shapes {[list(ctx.specs[n].shape) for n in names]} do not broadcast") from None
    ctx.add_tensor(node.output[0], shape, "float32")
    ctx.ops.append(Op(kind=kind, inputs=tuple(names), outputs=(node.output[0],), source=ctx.where))


def add(node, ctx: NodeContext) -> None:
    _binary(node, ctx, "add")


def mul(node, ctx: NodeContext) -> None:
    _binary(node, ctx, "mul")


def _to_vector(node, ctx: NodeContext, source: str) -> None:
    spec = ctx.specs[source]
    if spec.flattened_chw is not None:
        raise NodeProblem(f"input '{source}' is already a flattened NCHW tensor")
    if len(spec.shape) == 4:
        batch, height, width, channels = spec.shape
        chw = None if height == width == 1 else (channels, height, width)
        shape = (batch, height * width * channels)
    else:
        chw, shape = None, (spec.shape[0], int(np.prod(spec.shape[1:], dtype=np.int64)))
    ctx.add_tensor(node.output[0], shape, spec.dtype, quantization=spec.quantization, chw=chw)
    ctx.ops.append(Op(kind="reshape", inputs=(source,), outputs=(node.output[0],), source=ctx.where,
                      new_shape=shape))


def flatten(node, ctx: NodeContext) -> None:
    axis = int(_attributes(node).get("axis", 1))
    if axis != 1:
        raise NodeProblem(f"axis={axis}: only axis=1 (keep the batch) is supported")
    _to_vector(node, ctx, node.input[0])


def reshape(node, ctx: NodeContext) -> None:
    spec = ctx.specs[node.input[0]]
    target = [int(d) for d in ctx.constant(node.input[1], "shape").reshape(-1)]
    onnx_shape = _to_nchw(spec.shape) if len(spec.shape) == 4 else spec.shape
    resolved = [onnx_shape[i] if d == 0 and i < len(onnx_shape) else d for i, d in enumerate(target)]
    total = int(np.prod(onnx_shape, dtype=np.int64))
    if resolved.count(-1) == 1:
        known = int(np.prod([d for d in resolved if d != -1], dtype=np.int64))
        if known <= 0 or total % known:
            raise NodeProblem(f"cannot reshape {list(onnx_shape)} to {target}")
        resolved[resolved.index(-1)] = total // known
    if any(d < 0 for d in resolved) or int(np.prod(resolved, dtype=np.int64)) != total:
        raise NodeProblem(f"cannot reshape {list(onnx_shape)} to {target}")
    if len(resolved) == 2 and resolved[0] == onnx_shape[0]:
        _to_vector(node, ctx, node.input[0])
        return
    if len(spec.shape) == 2 and len(resolved) == 4 and resolved[2] == resolved[3] == 1:
        shape = to_nhwc(tuple(resolved))
        ctx.add_tensor(node.output[0], shape, spec.dtype, quantization=spec.quantization)
        ctx.ops.append(Op(kind="reshape", inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where,
                          new_shape=shape))
        return
    raise NodeProblem(f"reshape of {list(onnx_shape)} to {resolved} cannot be expressed channels-last; "
                      "supported: to [batch, features] and [batch, C] to [batch, C, 1, 1]")


def softmax(node, ctx: NodeContext) -> None:
    spec = ctx.activation(node.input[0], "input")
    axis = int(_attributes(node).get("axis", -1 if ctx.opset >= 13 else 1))
    rank = len(spec.shape)
    channel_only = ctx.opset >= 13 or (rank == 4 and spec.shape[1] == spec.shape[2] == 1)
    # Before opset 13, Softmax flattens everything from `axis` on: over channels only when H = W = 1.
    if not ((rank == 2 and axis in (1, -1)) or (rank == 4 and axis == 1 and channel_only)):
        raise NodeProblem(f"softmax over axis {axis} of a rank-{rank} tensor: only the channel axis is supported")
    _unary(node, ctx, "softmax", axes=(rank - 1,))


def quantize_linear(node, ctx: NodeContext) -> None:
    spec = ctx.activation(node.input[0], "input")
    if spec.data is not None:
        raise NodeProblem("quantizing a constant is not supported; store the weight as int8 with DequantizeLinear")
    zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    dtype = ctx.specs[zero_name].dtype if zero_name else "uint8"
    quantization = ctx.quantize_output(node.output[0], float(ctx.scalar(node.input[1], "y_scale")),
                                       zero_name, "y")
    ctx.add_tensor(node.output[0], spec.shape, dtype, quantization=quantization)
    ctx.ops.append(Op(kind="quantize", inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where))


def dequantize_linear(node, ctx: NodeContext) -> None:
    spec = ctx.specs[node.input[0]]
    zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if spec.data is not None:  # a QDQ weight: keep the integers and their quantization on the constant
        axis = int(_attributes(node).get("axis", 1))
        channels = spec.data.shape[axis] if spec.data.ndim else 1
        quantization = ctx.weight_quantization(node.input[1], zero_name, channels, axis)
        ctx.add_tensor(node.output[0], spec.shape, spec.dtype, spec.data, quantization)
        return
    ctx.activation(node.input[0], "input")
    quantization = ctx.quantize_output(node.input[0], float(ctx.scalar(node.input[1], "x_scale")),
                                       zero_name, "x")
    ctx.attach_quantization(node.input[0], quantization)
    ctx.add_tensor(node.output[0], spec.shape, "float32")
    ctx.ops.append(Op(kind="dequantize", inputs=(node.input[0],), outputs=(node.output[0],), source=ctx.where))


CONVERTERS: dict[str, Callable[[object, NodeContext], None]] = {
    "Conv": conv,
    "QLinearConv": qlinear_conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "QLinearMatMul": qlinear_matmul,
    "Relu": relu,
    "Clip": clip,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
    "Add": add,
    "Mul": mul,
    "Flatten": flatten,
    "Reshape": reshape,
    "Softmax": softmax,
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
}
