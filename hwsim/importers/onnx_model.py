"""Read an ONNX model (.onnx) into an ImportedModel, converting NCHW to channels-last.

Layout choice: the neutral model is channels-last like TensorFlow Lite, so one
executor and one cost model serve both formats. Every rank-4 activation
(ONNX NCHW) becomes NHWC: graph inputs and outputs too, so callers pass and get
NHWC arrays (transpose (0, 2, 3, 1) from ONNX's layout). Weights are rewritten
to TFLite's layouts (conv [O, kh, kw, I], depthwise [1, kh, kw, O], dense [out, in]);
channel constants of Add/Mul are transposed to broadcast over NHWC; a Flatten or
Reshape of a spatial NCHW tensor into a vector keeps ONNX's (C, H, W) element
order by permuting the columns of the Gemm/MatMul weight that reads it (the
only consumer allowed). QDQ weights (a constant int8 tensor through
DequantizeLinear) stay int8 constants with their quantization, as in TFLite.
A symbolic batch dimension is read as 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.diagnostics import check_shape, fail, read_bounded
from hwsim.importers.model import ImportedModel, Op, Quantization, Tensor

ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64"}
SUPPORTED = {
    "Conv", "Gemm", "MatMul", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul",
    "Flatten", "Reshape", "Softmax", "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
}
NCHW_TO_NHWC = (0, 2, 3, 1)


def read_onnx(path: str) -> ImportedModel:
    """The model in the .onnx file at `path`; HwsimError for anything malformed or unsupported."""
    path = str(path)
    data = read_bounded(path, "ONNX")
    try:
        import onnx

        proto = onnx.load_model_from_string(data)
    except Exception as error:  # google.protobuf DecodeError and friends on garbage bytes
        raise fail(path, [f"not a readable ONNX model ({type(error).__name__}: {error})"]) from None
    if not proto.HasField("graph") or (len(proto.graph.node) == 0 and len(proto.graph.output) == 0):
        raise fail(path, ["not an ONNX model: no graph with nodes"])
    try:
        opset = max((entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), default=1)
        return _Converter(path, proto.graph, int(opset)).convert()
    except HwsimError:
        raise
    except Exception as error:  # malformed fields the accessors did not anticipate
        raise fail(path, [f"malformed ONNX model ({type(error).__name__}: {error})"]) from None


@dataclass
class _Spec:
    """A tensor while the graph is converted (mutable until the model is built)."""

    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None = None
    quantization: Quantization | None = None
    flattened_chw: tuple[int, int, int] | None = None  # a vector in ONNX (C, H, W) order


@dataclass
class _Converter:
    path: str
    graph: object
    opset: int
    specs: dict[str, _Spec] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def convert(self) -> ImportedModel:
        unsupported = [f"node {i} ({node.op_type}) '{node.name or node.output[0] if node.output else '?'}'"
                       for i, node in enumerate(self.graph.node) if node.op_type not in SUPPORTED
                       or (node.domain not in ("", "ai.onnx"))]
        if unsupported:
            raise fail(self.path, [f"{len(unsupported)} unsupported node(s): " + "; ".join(unsupported)
                                   + f" (supported: {', '.join(sorted(SUPPORTED))})"])
        for initializer in self.graph.initializer:
            self._read_initializer(initializer)
        inputs = []
        for value in self.graph.input:
            if value.name in self.specs:
                continue
            spec = self._read_value_info(value, "graph input")
            if spec is not None:
                self.specs[value.name] = spec
                inputs.append(value.name)
        if self.problems:
            raise fail(self.path, self.problems)
        for index, node in enumerate(self.graph.node):
            where = f"node {index} ({node.op_type}) '{node.name or (node.output[0] if node.output else '?')}'"
            missing = [name for name in node.input if name and name not in self.specs]
            if missing:
                self.problems.append(f"{where} reads {', '.join(repr(m) for m in missing)}, "
                                     "which is neither an input, an initializer nor an earlier node's output")
                continue
            if not node.output:
                self.problems.append(f"{where} has no output")
                continue
            try:
                getattr(self, f"_{node.op_type}")(node, where)
            except _NodeProblem as problem:
                self.problems.append(f"{where}: {problem}")
        outputs = [value.name for value in self.graph.output]
        for name in outputs:
            if name not in self.specs:
                self.problems.append(f"graph output '{name}' is not produced by any node")
            elif self.specs[name].flattened_chw is not None:
                self.problems.append(f"graph output '{name}' is a flattened NCHW tensor; its element order "
                                     "cannot be kept in channels-last layout")
        if self.problems:
            raise fail(self.path, self.problems)
        tensors = {name: Tensor(name=name, shape=spec.shape, dtype=spec.dtype, data=_frozen(spec.data),
                                quantization=spec.quantization) for name, spec in self.specs.items()}
        return ImportedModel(source_path=self.path, format="onnx", inputs=tuple(inputs), outputs=tuple(outputs),
                             ops=tuple(self.ops), tensors=MappingProxyType(tensors))

    # ---- tensors -------------------------------------------------------------------------

    def _read_initializer(self, initializer) -> None:
        from onnx import numpy_helper

        what = f"initializer '{initializer.name}'"
        dtype = ELEMENT_TYPES.get(initializer.data_type)
        if dtype is None:
            self.problems.append(f"{what} has element type {initializer.data_type}, "
                                 f"not one of {sorted(ELEMENT_TYPES.values())}")
            return
        if initializer.data_location == 1:
            self.problems.append(f"{what} keeps its data in an external file, which is not supported")
            return
        shape = tuple(int(d) for d in initializer.dims)
        problem = check_shape(shape, what)
        if problem:
            self.problems.append(problem)
            return
        try:
            array = numpy_helper.to_array(initializer)
        except Exception as error:
            self.problems.append(f"{what} data does not match its shape {list(shape)} ({error})")
            return
        self.specs[initializer.name] = _Spec(shape=shape, dtype=dtype, data=np.ascontiguousarray(array, dtype=dtype))

    def _read_value_info(self, value, role: str) -> _Spec | None:
        what = f"{role} '{value.name}'"
        tensor_type = value.type.tensor_type
        dtype = ELEMENT_TYPES.get(tensor_type.elem_type)
        if dtype is None:
            self.problems.append(f"{what} has element type {tensor_type.elem_type}, "
                                 f"not one of {sorted(ELEMENT_TYPES.values())}")
            return None
        dims = []
        for position, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                dims.append(int(dim.dim_value))
            elif position == 0:
                dims.append(1)  # symbolic batch
            else:
                self.problems.append(f"{what} has symbolic dimension {position} ('{dim.dim_param}'); "
                                     "give the model a static shape")
                return None
        shape = tuple(dims)
        problem = check_shape(shape, what)
        if problem:
            self.problems.append(problem)
            return None
        return _Spec(shape=_to_nhwc(shape), dtype=dtype)

    def _constant(self, name: str, role: str) -> np.ndarray:
        spec = self.specs[name]
        if spec.data is None:
            raise _NodeProblem(f"{role} '{name}' must be a constant (initializer)")
        return spec.data

    def _scalar(self, name: str, role: str) -> float:
        data = self._constant(name, role)
        if data.size != 1:
            raise _NodeProblem(f"{role} '{name}' must hold one value, it has shape {list(data.shape)}")
        return data.reshape(-1)[0].item()

    def _activation(self, name: str, role: str) -> _Spec:
        spec = self.specs[name]
        if spec.flattened_chw is not None:
            raise _NodeProblem(f"{role} '{name}' is a flattened NCHW tensor; only Gemm/MatMul may read it")
        return spec

    def _add_tensor(self, name: str, shape, dtype: str, data=None, quantization=None, chw=None) -> str:
        problem = check_shape(tuple(shape), f"tensor '{name}'")
        if problem:
            raise _NodeProblem(problem)
        self.specs[name] = _Spec(shape=tuple(int(d) for d in shape), dtype=dtype, data=data,
                                 quantization=quantization, flattened_chw=chw)
        return name

    def _fresh(self, base: str) -> str:
        name, count = base, 1
        while name in self.specs:
            name, count = f"{base}#{count}", count + 1
        return name

    def _quantize_output(self, name: str, scale: float, zero_point_name: str | None, role: str) -> Quantization:
        zero_point = int(self._scalar(zero_point_name, f"{role} zero point")) if zero_point_name else 0
        if not (scale > 0 and math.isfinite(scale)):
            raise _NodeProblem(f"{role} scale {scale} is not a positive finite number")
        return Quantization(scales=(float(scale),), zero_points=(zero_point,))

    def _weight_quantization(self, scale_name: str, zero_name: str | None, channels: int, axis: int) -> Quantization:
        scales = np.atleast_1d(self._constant(scale_name, "weight scale")).astype(np.float64).reshape(-1)
        zeros = (np.atleast_1d(self._constant(zero_name, "weight zero point")).astype(np.int64).reshape(-1)
                 if zero_name else np.zeros(scales.size, dtype=np.int64))
        if scales.size not in (1, channels) or zeros.size != scales.size:
            raise _NodeProblem(f"weight quantization has {scales.size} scales and {zeros.size} zero points "
                               f"for {channels} channels")
        return Quantization(scales=tuple(float(s) for s in scales), zero_points=tuple(int(z) for z in zeros),
                            axis=axis if scales.size > 1 else None)

    # ---- nodes ---------------------------------------------------------------------------

    def _Conv(self, node, where: str) -> None:  # noqa: N802 (ONNX op names)
        self._conv(node, where, x=node.input[0], w=node.input[1],
                   bias=node.input[2] if len(node.input) > 2 else "", y_quant=None, w_quant=None)

    def _QLinearConv(self, node, where: str) -> None:  # noqa: N802
        if len(node.input) < 8:
            raise _NodeProblem(f"has {len(node.input)} inputs, expected 8 or 9")
        x_q = self._quantize_output(node.input[0], self._scalar(node.input[1], "x scale"), node.input[2], "x")
        self._attach_quantization(node.input[0], x_q)
        weight = self._constant(node.input[3], "weight")
        w_q = (node.input[4], node.input[5], weight.shape[0])
        y_q = self._quantize_output(node.output[0], self._scalar(node.input[6], "y scale"), node.input[7], "y")
        self._conv(node, where, x=node.input[0], w=node.input[3], bias=node.input[8] if len(node.input) > 8 else "",
                   y_quant=y_q, w_quant=w_q)

    def _attach_quantization(self, name: str, quantization: Quantization) -> None:
        spec = self.specs[name]
        if spec.quantization is None:
            spec.quantization = quantization
        elif spec.quantization != quantization:
            raise _NodeProblem(f"tensor '{name}' is read with quantization {quantization}, "
                               f"but was written with {spec.quantization}")

    def _conv(self, node, where: str, x: str, w: str, bias: str, y_quant, w_quant) -> None:
        attrs = _attributes(node)
        x_spec = self._activation(x, "input")
        if len(x_spec.shape) != 4:
            raise _NodeProblem(f"input '{x}' has shape {list(x_spec.shape)}; "
                               "only 2-D convolution (rank 4) is supported")
        weight = self._constant(w, "weight")
        if weight.ndim != 4:
            raise _NodeProblem(f"weight '{w}' has shape {list(weight.shape)}; expected [O, I/group, kh, kw]")
        batch, height, width, in_channels = x_spec.shape
        out_channels, group_channels, kernel_h, kernel_w = weight.shape
        group = int(attrs.get("group", 1))
        stride = _pair(attrs.get("strides", [1, 1]), "strides")
        dilation = _pair(attrs.get("dilations", [1, 1]), "dilations")
        padding, pads = _onnx_padding(attrs, (height, width), (kernel_h, kernel_w), stride, dilation)
        out_h = _out_size(height, kernel_h, stride[0], dilation[0], pads[0], pads[1])
        out_w = _out_size(width, kernel_w, stride[1], dilation[1], pads[2], pads[3])
        if out_h < 1 or out_w < 1:
            raise _NodeProblem(f"kernel {kernel_h}x{kernel_w} does not fit input {height}x{width}")
        if group == 1 and group_channels == in_channels:
            kind, multiplier = "conv2d", 1
            neutral = np.ascontiguousarray(weight.transpose(0, 2, 3, 1))
            channel_axis = 0
        elif group == in_channels and group_channels == 1 and out_channels % in_channels == 0:
            kind, multiplier = "depthwise_conv2d", out_channels // in_channels
            neutral = np.ascontiguousarray(weight.transpose(1, 2, 3, 0))
            channel_axis = 3
        else:
            raise _NodeProblem(f"group {group} with weight {list(weight.shape)} and {in_channels} input channels: "
                               "only ordinary and depthwise convolution are supported")
        quantization = self.specs[w].quantization  # a QDQ weight's, per output channel
        if quantization is not None and quantization.per_channel:
            if quantization.axis != 0:
                raise _NodeProblem(f"weight '{w}' is quantized along axis {quantization.axis}; expected axis 0")
            quantization = Quantization(quantization.scales, quantization.zero_points, channel_axis)
        if w_quant is not None:
            quantization = self._weight_quantization(w_quant[0], w_quant[1], out_channels, channel_axis)
        w_name = self._add_tensor(self._fresh(f"{w}_nhwc"), neutral.shape, self.specs[w].dtype, neutral,
                                  quantization)
        inputs = [x, w_name]
        if bias:
            bias_data = self._constant(bias, "bias").reshape(-1)
            if bias_data.size != out_channels:
                raise _NodeProblem(f"bias '{bias}' has {bias_data.size} values for {out_channels} channels")
            bias_q = None
            if w_quant is not None:
                x_scale = self.specs[x].quantization.scale
                bias_q = Quantization(scales=tuple(x_scale * s for s in quantization.scales),
                                      zero_points=(0,) * len(quantization.scales),
                                      axis=0 if quantization.per_channel else None)
            inputs.append(self._add_tensor(self._fresh(f"{bias}_bias"), (out_channels,), self.specs[bias].dtype,
                                           bias_data, bias_q))
        y_dtype = "float32" if y_quant is None else self._integer_output_type(node)
        self._add_tensor(node.output[0], (batch, out_h, out_w, out_channels), y_dtype, quantization=y_quant)
        self.ops.append(Op(kind=kind, inputs=tuple(inputs), outputs=(node.output[0],), source=where,
                           stride_hw=stride, dilation_hw=dilation, padding=padding, explicit_pads_tblr=pads,
                           depth_multiplier=multiplier))

    def _integer_output_type(self, node) -> str:
        zero_name = node.input[-1] if node.op_type == "QLinearMatMul" else node.input[7]
        return self.specs[zero_name].dtype if zero_name in self.specs else "int8"

    def _dense(self, where: str, x: str, weight_in_out: np.ndarray, weight_dtype: str, bias, output: str,
               w_quant=None, y_quant=None, w_name_hint="weight", quantization=None) -> None:
        x_spec = self.specs[x]
        depth, units = weight_in_out.shape
        if x_spec.shape[-1] != depth or len(x_spec.shape) != 2:
            raise _NodeProblem(f"input '{x}' of shape {list(x_spec.shape)} does not fit a [{depth}, {units}] weight")
        weight = np.ascontiguousarray(weight_in_out.T)
        if x_spec.flattened_chw is not None:
            channels, height, width = x_spec.flattened_chw
            order = np.arange(depth).reshape(channels, height, width).transpose(1, 2, 0).reshape(-1)
            weight = np.ascontiguousarray(weight[:, order])  # columns in the NHWC flatten order
        if w_quant is not None:
            quantization = self._weight_quantization(w_quant[0], w_quant[1], units, 0)
        inputs = [x, self._add_tensor(self._fresh(f"{w_name_hint}_out_in"), weight.shape, weight_dtype, weight,
                                      quantization)]
        if bias is not None:
            inputs.append(self._add_tensor(self._fresh(f"{w_name_hint}_bias"), (units,), str(bias.dtype), bias))
        dtype = "float32" if y_quant is None else "int8"
        self._add_tensor(output, (x_spec.shape[0], units), dtype, quantization=y_quant)
        self.ops.append(Op(kind="dense", inputs=tuple(inputs), outputs=(output,), source=where))

    def _matrix(self, name: str, transposed: bool, alpha: float = 1.0) -> tuple[np.ndarray, str, Quantization | None]:
        """A Gemm/MatMul B operand as [in, out], its dtype and (QDQ) quantization along the output axis."""
        spec = self.specs[name]
        weight = self._constant(name, "B")
        if weight.ndim != 2:
            raise _NodeProblem(f"B has shape {list(weight.shape)}; expected rank 2")
        quantization = spec.quantization
        if quantization is None:
            weight = weight.astype(np.float32) * np.float32(alpha)
            return (weight.T if transposed else weight), "float32", None
        if alpha != 1.0:
            raise _NodeProblem("alpha other than 1 on a quantized B is not supported")
        out_axis = 0 if transposed else 1
        if quantization.per_channel and quantization.axis != out_axis:
            raise _NodeProblem(f"B is quantized along axis {quantization.axis}, not its output axis {out_axis}")
        quantization = Quantization(quantization.scales, quantization.zero_points,
                                    0 if quantization.per_channel else None)
        return (weight.T if transposed else weight), spec.dtype, quantization

    def _Gemm(self, node, where: str) -> None:  # noqa: N802
        attrs = _attributes(node)
        if int(attrs.get("transA", 0)):
            raise _NodeProblem("transA=1 is not supported")
        weight, dtype, quantization = self._matrix(node.input[1], bool(int(attrs.get("transB", 0))),
                                                   float(attrs.get("alpha", 1.0)))
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = (self._constant(node.input[2], "C").astype(np.float32) * np.float32(attrs.get("beta", 1.0)))
            if bias.size != weight.shape[1]:
                raise _NodeProblem(f"C has {bias.size} values for {weight.shape[1]} outputs")
            bias = bias.reshape(-1)
        self._dense(where, node.input[0], weight, dtype, bias, node.output[0], w_name_hint=node.input[1],
                    quantization=quantization)

    def _MatMul(self, node, where: str) -> None:  # noqa: N802
        weight, dtype, quantization = self._matrix(node.input[1], False)
        self._dense(where, node.input[0], weight, dtype, None, node.output[0], w_name_hint=node.input[1],
                    quantization=quantization)

    def _QLinearMatMul(self, node, where: str) -> None:  # noqa: N802
        if len(node.input) != 8:
            raise _NodeProblem(f"has {len(node.input)} inputs, expected 8")
        a_q = self._quantize_output(node.input[0], self._scalar(node.input[1], "a scale"), node.input[2], "a")
        self._attach_quantization(node.input[0], a_q)
        weight = self._constant(node.input[3], "b")
        if weight.ndim != 2:
            raise _NodeProblem(f"b has shape {list(weight.shape)}; expected rank 2")
        y_q = self._quantize_output(node.output[0], self._scalar(node.input[6], "y scale"), node.input[7], "y")
        self._dense(where, node.input[0], weight, self.specs[node.input[3]].dtype, None, node.output[0],
                    w_quant=(node.input[4], node.input[5]), y_quant=y_q, w_name_hint=node.input[3])

    def _unary(self, node, kind: str, where: str, **attributes) -> None:
        spec = self._activation(node.input[0], "input")
        self._add_tensor(node.output[0], spec.shape, spec.dtype, quantization=spec.quantization)
        self.ops.append(Op(kind=kind, inputs=(node.input[0],), outputs=(node.output[0],), source=where, **attributes))

    def _Relu(self, node, where: str) -> None:  # noqa: N802
        self._unary(node, "relu", where)

    def _Clip(self, node, where: str) -> None:  # noqa: N802
        attrs = _attributes(node)
        low = attrs.get("min", float("-inf"))
        high = attrs.get("max", float("inf"))
        if len(node.input) > 1 and node.input[1]:
            low = float(self._scalar(node.input[1], "min"))
        if len(node.input) > 2 and node.input[2]:
            high = float(self._scalar(node.input[2], "max"))
        if low == 0.0 and high == 6.0:
            self._unary(node, "relu6", where)
        elif low == 0.0 and high == float("inf"):
            self._unary(node, "relu", where)
        else:
            self._unary(node, "clamp", where, clamp_min=float(low), clamp_max=float(high))

    def _pool(self, node, where: str, kind: str) -> None:
        attrs = _attributes(node)
        spec = self._activation(node.input[0], "input")
        if len(spec.shape) != 4:
            raise _NodeProblem(f"input has shape {list(spec.shape)}; only 2-D pooling is supported")
        if int(attrs.get("ceil_mode", 0)):
            raise _NodeProblem("ceil_mode=1 is not supported")
        if attrs.get("dilations", [1, 1]) != [1, 1] or int(attrs.get("storage_order", 0)):
            raise _NodeProblem("dilated pooling and storage_order=1 are not supported")
        pool = _pair(attrs.get("kernel_shape", []), "kernel_shape")
        stride = _pair(attrs.get("strides", [1, 1]), "strides")
        batch, height, width, channels = spec.shape
        padding, pads = _onnx_padding(attrs, (height, width), pool, stride, (1, 1))
        if kind == "avg_pool" and int(attrs.get("count_include_pad", 0)) and any(pads):
            raise _NodeProblem("count_include_pad=1 with padding is not supported (padding is excluded from the mean)")
        out_h = _out_size(height, pool[0], stride[0], 1, pads[0], pads[1])
        out_w = _out_size(width, pool[1], stride[1], 1, pads[2], pads[3])
        if out_h < 1 or out_w < 1:
            raise _NodeProblem(f"window {pool} does not fit input {height}x{width}")
        self._add_tensor(node.output[0], (batch, out_h, out_w, channels), spec.dtype, quantization=spec.quantization)
        self.ops.append(Op(kind=kind, inputs=(node.input[0],), outputs=(node.output[0],), source=where,
                           pool_hw=pool, stride_hw=stride, padding=padding, explicit_pads_tblr=pads))

    def _MaxPool(self, node, where: str) -> None:  # noqa: N802
        if len(node.output) > 1 and node.output[1]:
            raise _NodeProblem("the Indices output is not supported")
        self._pool(node, where, "max_pool")

    def _AveragePool(self, node, where: str) -> None:  # noqa: N802
        self._pool(node, where, "avg_pool")

    def _GlobalAveragePool(self, node, where: str) -> None:  # noqa: N802
        spec = self._activation(node.input[0], "input")
        if len(spec.shape) != 4:
            raise _NodeProblem(f"input has shape {list(spec.shape)}; expected rank 4")
        self._add_tensor(node.output[0], (spec.shape[0], 1, 1, spec.shape[3]), spec.dtype,
                         quantization=spec.quantization)
        self.ops.append(Op(kind="mean", inputs=(node.input[0],), outputs=(node.output[0],), source=where,
                           axes=(1, 2), keep_dims=True))

    def _binary(self, node, where: str, kind: str) -> None:
        names = []
        specs = [self.specs[name] for name in node.input[:2]]
        rank = max(len(spec.shape) for spec in specs)
        for name, spec in zip(node.input[:2], specs):
            if spec.data is not None:
                data = spec.data.astype(np.float32) if spec.dtype != "float32" and spec.quantization is None \
                    else spec.data
                if rank == 4:
                    data = data.reshape((1,) * (4 - data.ndim) + data.shape).transpose(NCHW_TO_NHWC)
                names.append(self._add_tensor(self._fresh(f"{name}_nhwc"), data.shape, str(data.dtype),
                                              np.ascontiguousarray(data), spec.quantization))
            else:
                self._activation(name, "input")
                names.append(name)
        try:
            shape = np.broadcast_shapes(*(self.specs[name].shape for name in names))
        except ValueError:
            raise _NodeProblem(f"input shapes {[list(self.specs[n].shape) for n in names]} do not broadcast") from None
        self._add_tensor(node.output[0], shape, "float32")
        self.ops.append(Op(kind=kind, inputs=tuple(names), outputs=(node.output[0],), source=where))

    def _Add(self, node, where: str) -> None:  # noqa: N802
        self._binary(node, where, "add")

    def _Mul(self, node, where: str) -> None:  # noqa: N802
        self._binary(node, where, "mul")

    def _to_vector(self, node, where: str, source: str) -> None:
        spec = self.specs[source]
        if spec.flattened_chw is not None:
            raise _NodeProblem(f"input '{source}' is already a flattened NCHW tensor")
        if len(spec.shape) == 4:
            batch, height, width, channels = spec.shape
            chw = None if height == width == 1 else (channels, height, width)
            shape = (batch, height * width * channels)
        else:
            chw, shape = None, (spec.shape[0], int(np.prod(spec.shape[1:], dtype=np.int64)))
        self._add_tensor(node.output[0], shape, spec.dtype, quantization=spec.quantization, chw=chw)
        self.ops.append(Op(kind="reshape", inputs=(source,), outputs=(node.output[0],), source=where,
                           new_shape=shape))

    def _Flatten(self, node, where: str) -> None:  # noqa: N802
        axis = int(_attributes(node).get("axis", 1))
        if axis != 1:
            raise _NodeProblem(f"axis={axis}: only axis=1 (keep the batch) is supported")
        self._to_vector(node, where, node.input[0])

    def _Reshape(self, node, where: str) -> None:  # noqa: N802
        spec = self.specs[node.input[0]]
        target = [int(d) for d in self._constant(node.input[1], "shape").reshape(-1)]
        onnx_shape = _to_nchw(spec.shape) if len(spec.shape) == 4 else spec.shape
        resolved = [onnx_shape[i] if d == 0 and i < len(onnx_shape) else d for i, d in enumerate(target)]
        total = int(np.prod(onnx_shape, dtype=np.int64))
        if resolved.count(-1) == 1:
            known = int(np.prod([d for d in resolved if d != -1], dtype=np.int64))
            if known <= 0 or total % known:
                raise _NodeProblem(f"cannot reshape {list(onnx_shape)} to {target}")
            resolved[resolved.index(-1)] = total // known
        if any(d < 0 for d in resolved) or int(np.prod(resolved, dtype=np.int64)) != total:
            raise _NodeProblem(f"cannot reshape {list(onnx_shape)} to {target}")
        if len(resolved) == 2 and resolved[0] == onnx_shape[0]:
            self._to_vector(node, where, node.input[0])
            return
        if len(spec.shape) == 2 and len(resolved) == 4 and resolved[2] == resolved[3] == 1:
            shape = _to_nhwc(tuple(resolved))
            self._add_tensor(node.output[0], shape, spec.dtype, quantization=spec.quantization)
            self.ops.append(Op(kind="reshape", inputs=(node.input[0],), outputs=(node.output[0],), source=where,
                               new_shape=shape))
            return
        raise _NodeProblem(f"reshape of {list(onnx_shape)} to {resolved} cannot be expressed channels-last; "
                           "supported: to [batch, features] and [batch, C] to [batch, C, 1, 1]")

    def _Softmax(self, node, where: str) -> None:  # noqa: N802
        spec = self._activation(node.input[0], "input")
        axis = int(_attributes(node).get("axis", -1 if self.opset >= 13 else 1))
        rank = len(spec.shape)
        channel_only = self.opset >= 13 or (rank == 4 and spec.shape[1] == spec.shape[2] == 1)
        # Before opset 13, Softmax flattens everything from `axis` on: over channels only when H = W = 1.
        if not ((rank == 2 and axis in (1, -1)) or (rank == 4 and axis == 1 and channel_only)):
            raise _NodeProblem(f"softmax over axis {axis} of a rank-{rank} tensor: only the channel axis is supported")
        self._unary(node, "softmax", where, axes=(rank - 1,))

    def _QuantizeLinear(self, node, where: str) -> None:  # noqa: N802
        spec = self._activation(node.input[0], "input")
        if spec.data is not None:
            raise _NodeProblem("quantizing a constant is not supported; store the weight as int8 with DequantizeLinear")
        zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        dtype = self.specs[zero_name].dtype if zero_name else "uint8"
        quantization = self._quantize_output(node.output[0], float(self._scalar(node.input[1], "y_scale")),
                                             zero_name, "y")
        self._add_tensor(node.output[0], spec.shape, dtype, quantization=quantization)
        self.ops.append(Op(kind="quantize", inputs=(node.input[0],), outputs=(node.output[0],), source=where))

    def _DequantizeLinear(self, node, where: str) -> None:  # noqa: N802
        spec = self.specs[node.input[0]]
        zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if spec.data is not None:  # a QDQ weight: keep the integers and their quantization on the constant
            axis = int(_attributes(node).get("axis", 1))
            channels = spec.data.shape[axis] if spec.data.ndim else 1
            quantization = self._weight_quantization(node.input[1], zero_name, channels, axis)
            self._add_tensor(node.output[0], spec.shape, spec.dtype, spec.data, quantization)
            return
        self._activation(node.input[0], "input")
        quantization = self._quantize_output(node.input[0], float(self._scalar(node.input[1], "x_scale")),
                                             zero_name, "x")
        self._attach_quantization(node.input[0], quantization)
        self._add_tensor(node.output[0], spec.shape, "float32")
        self.ops.append(Op(kind="dequantize", inputs=(node.input[0],), outputs=(node.output[0],), source=where))


class _NodeProblem(Exception):
    """One problem with one node; collected, never escapes the reader."""


def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if array is not None:
        array = np.array(array)
        array.setflags(write=False)
    return array


def _to_nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[i] for i in NCHW_TO_NHWC) if len(shape) == 4 else tuple(shape)


def _to_nchw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[3], shape[1], shape[2])


def _attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _pair(values, name: str) -> tuple[int, int]:
    values = [int(v) for v in values]
    if len(values) != 2 or any(v < 1 or v > 1 << 16 for v in values):
        raise _NodeProblem(f"{name} {values} must be two values between 1 and 65536")
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
        raise _NodeProblem(f"auto_pad {auto_pad!r} is not supported")
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    if len(pads) != 4 or any(p < 0 or p > 1 << 16 for p in pads):
        raise _NodeProblem(f"pads {pads} must be four values between 0 and 65536")
    top, left, bottom, right = pads
    if not any(pads):
        return "valid", (0, 0, 0, 0)
    return "explicit", (top, bottom, left, right)

