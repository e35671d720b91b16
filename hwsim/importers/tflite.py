"""Read a TensorFlow Lite flatbuffer (.tflite) into an ImportedModel.

Only the main subgraph (0) is read. Tensor names are the file's names; an empty
or repeated name gets "#<tensor index>" appended so names stay unique.
Every problem (unsupported operators, bad indices, absurd shapes, truncated
data) is collected and raised once as an HwsimError naming the file; the
flatbuffer accessors' own exceptions on malformed bytes are turned into one.
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.diagnostics import check_shape, fail, read_bounded
from hwsim.importers.model import ImportedModel, Op, Quantization, Tensor
from hwsim.importers.tflite_ops import CONVERTERS, OperatorProblem, OperatorSite

TYPE_NAMES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
SUPPORTED = frozenset(CONVERTERS)


def read_tflite(path: str) -> ImportedModel:
    """The model in the .tflite file at `path`; HwsimError for anything malformed or unsupported."""
    path = str(path)
    data = read_bounded(path, "TensorFlow Lite")
    if len(data) < 8:
        raise fail(path, [f"{len(data)} bytes is too short for a TensorFlow Lite flatbuffer"])
    if data[4:8] != b"TFL3":
        raise fail(path, [f"not a TensorFlow Lite flatbuffer: file identifier is {bytes(data[4:8])!r}, "
                          "expected b'TFL3'"])
    try:
        return _parse(path, data)
    except HwsimError:
        raise
    except Exception as error:  # the generated accessors raise struct.error, IndexError, ValueError ... on bad bytes
        raise fail(path, ["malformed TensorFlow Lite flatbuffer "
                          f"(truncated or corrupt: {type(error).__name__}: {error})"]) from None


def _bounded_length(length: int, data: bytes, what: str) -> int:
    if length < 0 or length * 4 > len(data):
        raise HwsimError(f"{what} count {length} cannot fit in a {len(data)}-byte file")
    return length


def _parse(path: str, data: bytes) -> ImportedModel:
    import tflite
    from tflite.utils import BUILTIN_OPCODE2NAME

    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        subgraph_count = _bounded_length(model.SubgraphsLength(), data, "subgraph")
    except HwsimError as error:
        raise fail(path, [str(error)]) from None
    if subgraph_count < 1:
        raise fail(path, ["has no subgraph"])
    graph = model.Subgraphs(0)
    problems: list[str] = []
    try:
        buffer_count = _bounded_length(model.BuffersLength(), data, "buffer")
        tensor_count = _bounded_length(graph.TensorsLength(), data, "tensor")
        operator_count = _bounded_length(graph.OperatorsLength(), data, "operator")
        code_count = _bounded_length(model.OperatorCodesLength(), data, "operator code")
    except HwsimError as error:
        raise fail(path, [str(error)]) from None

    names = _tensor_names(graph, tensor_count)
    tensors: dict[str, Tensor] = {}
    for index in range(tensor_count):
        tensor = _read_tensor(graph.Tensors(index), index, names[index], model, buffer_count, data, problems)
        if tensor is not None:
            tensors[tensor.name] = tensor

    def tensor_name(index: int, where: str) -> str | None:
        if index < 0 or index >= tensor_count:
            problems.append(f"{where} refers to tensor {index}, but the subgraph has {tensor_count} tensors")
            return None
        return names[index]

    inputs = [tensor_name(int(i), "subgraph input") for i in _int_vector(graph.InputsAsNumpy())]
    outputs = [tensor_name(int(i), "subgraph output") for i in _int_vector(graph.OutputsAsNumpy())]

    codes: list[str] = []
    for index in range(code_count):
        code = model.OperatorCodes(index)
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin == 32:  # CUSTOM
            custom = code.CustomCode()
            codes.append(f"CUSTOM '{custom.decode('utf-8', 'replace') if custom else '?'}'")
        else:
            codes.append(BUILTIN_OPCODE2NAME.get(builtin, f"builtin code {builtin}"))

    ops: list[Op] = []
    unsupported: list[str] = []
    for index in range(operator_count):
        operator = graph.Operators(index)
        code_index = int(operator.OpcodeIndex())
        op_inputs = [int(i) for i in _int_vector(operator.InputsAsNumpy())]
        op_outputs = [int(i) for i in _int_vector(operator.OutputsAsNumpy())]
        first_output = names[op_outputs[0]] if op_outputs and 0 <= op_outputs[0] < tensor_count else "?"
        if code_index < 0 or code_index >= code_count:
            problems.append(f"operator {index} -> '{first_output}' uses operator code {code_index}, "
                            f"but the file has {code_count}")
            continue
        name = codes[code_index]
        where = f"operator {index} ({name}) -> '{first_output}'"
        if name not in SUPPORTED:
            unsupported.append(where)
            continue
        in_names = tuple("" if i == -1 else (tensor_name(i, where) or "") for i in op_inputs)
        out_names = tuple(tensor_name(i, where) or "" for i in op_outputs)
        if not out_names or any(output not in tensors for output in out_names):
            problems.append(f"{where} has a missing output tensor")
            continue
        try:
            ops.append(CONVERTERS[name](OperatorSite(operator, in_names, out_names, where, tensors)))
        except OperatorProblem as problem:
            problems.append(f"{where} {problem}")

    if unsupported:
        problems.insert(0, f"{len(unsupported)} unsupported operator(s): " + "; ".join(unsupported)
                        + f" (supported: {', '.join(sorted(SUPPORTED))})")
    if not problems:
        problems.extend(_check_order([n for n in inputs if n], ops, tensors))
    if problems:
        raise fail(path, problems)
    return ImportedModel(source_path=path, format="tflite", inputs=tuple(inputs), outputs=tuple(outputs),
                         ops=tuple(ops), tensors=MappingProxyType(tensors))


def _int_vector(array) -> np.ndarray:
    # The accessors return 0 (not an array) for an absent vector.
    return array if isinstance(array, np.ndarray) else np.zeros(0, dtype=np.int32)


def _tensor_names(graph, tensor_count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index in range(tensor_count):
        raw = graph.Tensors(index).Name()
        name = raw.decode("utf-8", "replace") if raw else ""
        if not name or name in seen:
            name = f"{name}#{index}"
        seen.add(name)
        names.append(name)
    return names


def _read_tensor(entry, index: int, name: str, model, buffer_count: int, data: bytes,
                 problems: list[str]) -> Tensor | None:
    what = f"tensor {index} '{name}'"
    type_code = int(entry.Type())
    dtype = TYPE_NAMES.get(type_code)
    if dtype is None:
        problems.append(f"{what} has element type code {type_code}, not one of {sorted(TYPE_NAMES.values())}")
        return None
    shape = tuple(int(d) for d in _int_vector(entry.ShapeAsNumpy()))
    problem = check_shape(shape, what)
    if problem:
        problems.append(problem)
        return None
    quantization = _read_quantization(entry.Quantization(), what, problems)
    constant = None
    buffer_index = int(entry.Buffer())
    if buffer_index < 0 or buffer_index >= buffer_count:
        problems.append(f"{what} refers to buffer {buffer_index}, but the file has {buffer_count} buffers")
        return None
    if buffer_index > 0:
        raw = _buffer_bytes(model.Buffers(buffer_index), data, what, problems)
        if raw is None:
            return None
        if len(raw):
            item_bytes = np.dtype(dtype).itemsize
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if len(raw) != count * item_bytes:
                problems.append(f"{what} of shape {list(shape)} needs {count * item_bytes} bytes of {dtype} data, "
                                f"its buffer {buffer_index} has {len(raw)}")
                return None
            constant = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
            constant.setflags(write=False)
    return Tensor(name=name, shape=shape, dtype=dtype, data=constant, quantization=quantization)


def _buffer_bytes(buffer, data: bytes, what: str, problems: list[str]) -> bytes | None:
    offset = int(buffer.Offset())
    if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
        size = int(buffer.Size())
        if offset + size > len(data):
            problems.append(f"{what} data at bytes {offset}..{offset + size} lies beyond the {len(data)}-byte file")
            return None
        return bytes(data[offset:offset + size])
    array = buffer.DataAsNumpy()
    return array.tobytes() if isinstance(array, np.ndarray) else b""


def _read_quantization(params, what: str, problems: list[str]) -> Quantization | None:
    if params is None:
        return None
    scales = params.ScaleAsNumpy()
    if not isinstance(scales, np.ndarray) or scales.size == 0:
        return None
    zero_points = params.ZeroPointAsNumpy()
    if not isinstance(zero_points, np.ndarray) or zero_points.size == 0:
        zero_points = np.zeros(scales.size, dtype=np.int64)
    if zero_points.size != scales.size:
        problems.append(f"{what} has {scales.size} quantization scales but {zero_points.size} zero points")
        return None
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        problems.append(f"{what} has a quantization scale that is not a positive finite number")
        return None
    axis = int(params.QuantizedDimension()) if scales.size > 1 else None
    return Quantization(scales=tuple(float(s) for s in scales), zero_points=tuple(int(z) for z in zero_points),
                        axis=axis)


def _check_order(graph_inputs: list[str], ops: list[Op], tensors: dict[str, Tensor]) -> list[str]:
    """Every op reads only constants, graph inputs and tensors written by an earlier op."""
    problems: list[str] = []
    ready = set(graph_inputs) | {name for name, tensor in tensors.items() if tensor.is_constant}
    for op in ops:
        for name in op.inputs:
            if name and name not in ready:
                problems.append(f"{op.source} reads tensor '{name}', which no earlier operator writes")
        ready.update(op.outputs)
    return problems
