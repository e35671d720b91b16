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

from types import MappingProxyType

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.diagnostics import check_shape, fail, read_bounded
from hwsim.importers.model import ImportedModel, Op, Tensor
from hwsim.importers.onnx_context import NodeContext, NodeProblem, Spec, to_nhwc
from hwsim.importers.onnx_nodes import CONVERTERS

ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64"}
SUPPORTED = frozenset(CONVERTERS)


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
        return _convert(path, proto.graph, int(opset))
    except HwsimError:
        raise
    except Exception as error:  # malformed fields the accessors did not anticipate
        raise fail(path, [f"malformed ONNX model ({type(error).__name__}: {error})"]) from None


def _node_name(index: int, node) -> str:
    label = node.name or (node.output[0] if node.output else "?")
    return f"node {index} ({node.op_type}) '{label}'"


def _convert(path: str, graph, opset: int) -> ImportedModel:
    unsupported = [_node_name(i, node) for i, node in enumerate(graph.node)
                   if node.op_type not in SUPPORTED or node.domain not in ("", "ai.onnx")]
    if unsupported:
        raise fail(path, [f"{len(unsupported)} unsupported node(s): " + "; ".join(unsupported)
                          + f" (supported: {', '.join(sorted(SUPPORTED))})"])
    problems: list[str] = []
    specs: dict[str, Spec] = {}
    for initializer in graph.initializer:
        spec = _read_initializer(initializer, problems)
        if spec is not None:
            specs[initializer.name] = spec
    inputs = []
    for value in graph.input:
        if value.name not in specs:
            spec = _read_value_info(value, "graph input", problems)
            if spec is not None:
                specs[value.name] = spec
                inputs.append(value.name)
    if problems:
        raise fail(path, problems)
    ops: list[Op] = []
    for index, node in enumerate(graph.node):
        where = _node_name(index, node)
        missing = [name for name in node.input if name and name not in specs]
        if missing:
            problems.append(f"{where} reads {', '.join(repr(m) for m in missing)}, "
                            "which is neither an input, an initializer nor an earlier node's output")
            continue
        if not node.output:
            problems.append(f"{where} has no output")
            continue
        context = NodeContext(known=specs, opset=opset, where=where)
        try:
            CONVERTERS[node.op_type](node, context)
        except NodeProblem as problem:
            problems.append(f"{where}: {problem}")
            continue
        specs.update(context.new_tensors)
        ops.extend(context.ops)
    outputs = [value.name for value in graph.output]
    for name in outputs:
        if name not in specs:
            problems.append(f"graph output '{name}' is not produced by any node")
        elif specs[name].flattened_chw is not None:
            problems.append(f"graph output '{name}' is a flattened NCHW tensor; its element order "
                            "cannot be kept in channels-last layout")
    if problems:
        raise fail(path, problems)
    tensors = {name: Tensor(name=name, shape=spec.shape, dtype=spec.dtype, data=_frozen(spec.data),
                            quantization=spec.quantization) for name, spec in specs.items()}
    return ImportedModel(source_path=path, format="onnx", inputs=tuple(inputs), outputs=tuple(outputs),
                         ops=tuple(ops), tensors=MappingProxyType(tensors))


def _read_initializer(initializer, problems: list[str]) -> Spec | None:
    from onnx import numpy_helper

    what = f"initializer '{initializer.name}'"
    dtype = ELEMENT_TYPES.get(initializer.data_type)
    if dtype is None:
        problems.append(f"{what} has element type {initializer.data_type}, not one of {sorted(ELEMENT_TYPES.values())}")
        return None
    if initializer.data_location == 1:
        problems.append(f"{what} keeps its data in an external file, which is not supported")
        return None
    shape = tuple(int(d) for d in initializer.dims)
    problem = check_shape(shape, what)
    if problem:
        problems.append(problem)
        return None
    try:
        array = numpy_helper.to_array(initializer)
    except Exception as error:
        problems.append(f"{what} data does not match its shape {list(shape)} ({error})")
        return None
    return Spec(shape=shape, dtype=dtype, data=np.ascontiguousarray(array, dtype=dtype))


def _read_value_info(value, role: str, problems: list[str]) -> Spec | None:
    what = f"{role} '{value.name}'"
    tensor_type = value.type.tensor_type
    dtype = ELEMENT_TYPES.get(tensor_type.elem_type)
    if dtype is None:
        problems.append(f"{what} has element type {tensor_type.elem_type}, not one of {sorted(ELEMENT_TYPES.values())}")
        return None
    dims = []
    for position, dim in enumerate(tensor_type.shape.dim):
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif position == 0:
            dims.append(1)  # symbolic batch
        else:
            problems.append(f"{what} has symbolic dimension {position} ('{dim.dim_param}'); "
                            "give the model a static shape")
            return None
    shape = tuple(dims)
    problem = check_shape(shape, what)
    if problem:
        problems.append(problem)
        return None
    return Spec(shape=to_nhwc(shape), dtype=dtype)


def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if array is not None:
        array = np.array(array)
        array.setflags(write=False)
    return array
