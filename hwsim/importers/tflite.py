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

TYPE_NAMES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
ACTIVATION_NAMES = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}
PADDING_NAMES = {0: "same", 1: "valid"}
SUPPORTED = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "ADD", "MUL", "RESHAPE", "SQUEEZE", "PAD", "MEAN", "SOFTMAX", "LOGISTIC", "RELU",
    "RELU6", "QUANTIZE", "DEQUANTIZE",
}


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
        if not out_names:
            problems.append(f"{where} has no output")
            continue
        before = len(problems)
        try:
            op = _convert(name, operator, in_names, out_names, where, tensors, problems)
        except _OptionsMismatch as mismatch:
            problems.append(f"{where} {mismatch}")
            continue
        if op is not None and len(problems) == before:
            ops.append(op)

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


OPTION_TYPES = {"Conv2DOptions": 1, "DepthwiseConv2DOptions": 2, "Pool2DOptions": 5, "FullyConnectedOptions": 8,
                "SoftmaxOptions": 9, "AddOptions": 11, "MulOptions": 21, "ReducerOptions": 27}


class _OptionsMismatch(Exception):
    pass


def _options(operator, cls_name: str):
    """The operator's builtin options table as the generated class, or None for defaults."""
    import importlib

    table = operator.BuiltinOptions()
    if table is None:
        return None
    found = int(operator.BuiltinOptionsType())
    if found != OPTION_TYPES[cls_name]:
        raise _OptionsMismatch(f"carries builtin options of type {found}, expected {cls_name} "
                               f"({OPTION_TYPES[cls_name]})")
    module = importlib.import_module(f"tflite.{cls_name}")
    options = getattr(module, cls_name)()
    options.Init(table.Bytes, table.Pos)
    return options


def _activation(code: int, where: str, problems: list[str]) -> str:
    if code not in ACTIVATION_NAMES:
        problems.append(f"{where} has fused activation code {code}; supported: none, relu, relu_n1_to_1, relu6")
        return "none"
    return ACTIVATION_NAMES[code]


def _padding(code: int, where: str, problems: list[str]) -> str:
    if code not in PADDING_NAMES:
        problems.append(f"{where} has padding code {code}; expected 0 (SAME) or 1 (VALID)")
        return "valid"
    return PADDING_NAMES[code]


def _positive(values: tuple[int, ...], what: str, where: str, problems: list[str]) -> tuple[int, ...]:
    if any(v < 1 or v > 1 << 16 for v in values):
        problems.append(f"{where} has {what} {list(values)}; each must be between 1 and 65536")
    return values


def _need(where: str, inputs: tuple[str, ...], minimum: int, maximum: int, problems: list[str],
          tensors: dict[str, Tensor]) -> bool:
    if not minimum <= len(inputs) <= maximum:
        problems.append(f"{where} has {len(inputs)} inputs, expected {minimum}..{maximum}")
        return False
    for position, name in enumerate(inputs[:minimum]):
        if not name or name not in tensors:
            problems.append(f"{where} input {position} is missing")
            return False
    return True


def _rank(tensors: dict[str, Tensor], name: str, rank: int, where: str, role: str, problems: list[str]) -> bool:
    tensor = tensors.get(name)
    if tensor is None:
        problems.append(f"{where} {role} is missing")
        return False
    if len(tensor.shape) != rank:
        problems.append(f"{where} {role} '{name}' has shape {list(tensor.shape)}, expected rank {rank}")
        return False
    return True


def _convert(name: str, operator, inputs: tuple[str, ...], outputs: tuple[str, ...], where: str,
             tensors: dict[str, Tensor], problems: list[str]) -> Op | None:
    for output in outputs:
        if output not in tensors:
            problems.append(f"{where} output tensor is missing")
            return None
    common = {"inputs": inputs, "outputs": outputs, "source": where}
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        if not _need(where, inputs, 2, 3, problems, tensors):
            return None
        if not (_rank(tensors, inputs[0], 4, where, "input", problems)
                and _rank(tensors, inputs[1], 4, where, "weight", problems)
                and _rank(tensors, outputs[0], 4, where, "output", problems)):
            return None
        depthwise = name == "DEPTHWISE_CONV_2D"
        options = _options(operator, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
        stride = (options.StrideH(), options.StrideW()) if options else (1, 1)
        dilation = (options.DilationHFactor(), options.DilationWFactor()) if options else (1, 1)
        padding = _padding(options.Padding() if options else 0, where, problems)
        activation = _activation(options.FusedActivationFunction() if options else 0, where, problems)
        _positive(stride, "stride", where, problems)
        _positive(dilation, "dilation", where, problems)
        in_channels = tensors[inputs[0]].shape[3]
        weight_shape = tensors[inputs[1]].shape
        if depthwise:
            if weight_shape[0] != 1 or in_channels == 0 or weight_shape[3] % in_channels:
                problems.append(f"{where} weight shape {list(weight_shape)} does not fit {in_channels} input channels")
                return None
            multiplier = weight_shape[3] // in_channels
            return Op(kind="depthwise_conv2d", stride_hw=stride, dilation_hw=dilation, padding=padding,
                      activation=activation, depth_multiplier=multiplier, **common)
        if weight_shape[3] != in_channels:
            problems.append(f"{where} weight shape {list(weight_shape)} does not fit {in_channels} input channels "
                            "(grouped convolution is not supported)")
            return None
        return Op(kind="conv2d", stride_hw=stride, dilation_hw=dilation, padding=padding,
                  activation=activation, **common)
    if name == "FULLY_CONNECTED":
        if not _need(where, inputs, 2, 3, problems, tensors) or not _rank(
                tensors, inputs[1], 2, where, "weight", problems):
            return None
        options = _options(operator, "FullyConnectedOptions")
        if options is not None and options.WeightsFormat() != 0:
            problems.append(f"{where} uses shuffled weights format {options.WeightsFormat()}; "
                            "only DEFAULT is supported")
            return None
        depth = tensors[inputs[1]].shape[1]
        if depth == 0 or tensors[inputs[0]].element_count % depth:
            problems.append(f"{where} input shape {list(tensors[inputs[0]].shape)} is not a multiple of the "
                            f"weight's {depth} input features")
            return None
        activation = _activation(options.FusedActivationFunction() if options else 0, where, problems)
        return Op(kind="dense", activation=activation, **common)
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        if not _need(where, inputs, 1, 1, problems, tensors) or not _rank(
                tensors, inputs[0], 4, where, "input", problems):
            return None
        options = _options(operator, "Pool2DOptions")
        if options is None:
            problems.append(f"{where} has no pool options (filter size)")
            return None
        stride = _positive((options.StrideH(), options.StrideW()), "stride", where, problems)
        pool = _positive((options.FilterHeight(), options.FilterWidth()), "filter size", where, problems)
        return Op(kind="avg_pool" if name == "AVERAGE_POOL_2D" else "max_pool", stride_hw=stride, pool_hw=pool,
                  padding=_padding(options.Padding(), where, problems),
                  activation=_activation(options.FusedActivationFunction(), where, problems), **common)
    if name in ("ADD", "MUL"):
        if not _need(where, inputs, 2, 2, problems, tensors):
            return None
        options = _options(operator, "AddOptions" if name == "ADD" else "MulOptions")
        activation = _activation(options.FusedActivationFunction() if options else 0, where, problems)
        return Op(kind=name.lower(), activation=activation, **common)
    if name in ("RESHAPE", "SQUEEZE"):
        if not _need(where, inputs, 1, 2, problems, tensors):
            return None
        source, target = tensors[inputs[0]], tensors[outputs[0]]
        if source.element_count != target.element_count:
            problems.append(f"{where} reshapes {list(source.shape)} to {list(target.shape)}: element counts differ")
            return None
        return Op(kind="reshape", new_shape=target.shape, **common)
    if name == "PAD":
        if not _need(where, inputs, 2, 2, problems, tensors):
            return None
        paddings = tensors[inputs[1]]
        rank = len(tensors[inputs[0]].shape)
        if paddings.data is None or paddings.shape != (rank, 2):
            problems.append(f"{where} paddings must be a constant [{rank}, 2] tensor")
            return None
        pads = tuple((int(a), int(b)) for a, b in paddings.data.reshape(rank, 2))
        if any(a < 0 or b < 0 or a > 1 << 16 or b > 1 << 16 for a, b in pads):
            problems.append(f"{where} has paddings {list(pads)}; each must be between 0 and 65536")
            return None
        return Op(kind="pad", pads=pads, **common)
    if name == "MEAN":
        if not _need(where, inputs, 2, 2, problems, tensors):
            return None
        axis_tensor = tensors[inputs[1]]
        rank = len(tensors[inputs[0]].shape)
        if axis_tensor.data is None:
            problems.append(f"{where} axes must be a constant tensor")
            return None
        axes = tuple(int(a) for a in axis_tensor.data.reshape(-1))
        if any(not -rank <= a < rank for a in axes):
            problems.append(f"{where} axes {list(axes)} are out of range for rank {rank}")
            return None
        options = _options(operator, "ReducerOptions")
        keep = bool(options.KeepDims()) if options else False
        return Op(kind="mean", axes=tuple(sorted({a % rank for a in axes})), keep_dims=keep, **common)
    if name == "SOFTMAX":
        if not _need(where, inputs, 1, 1, problems, tensors):
            return None
        options = _options(operator, "SoftmaxOptions")
        beta = float(options.Beta()) if options else 1.0
        return Op(kind="softmax", beta=beta, axes=(len(tensors[inputs[0]].shape) - 1,), **common)
    kinds = {"LOGISTIC": "logistic", "RELU": "relu", "RELU6": "relu6", "QUANTIZE": "quantize",
             "DEQUANTIZE": "dequantize"}
    if not _need(where, inputs, 1, 1, problems, tensors):
        return None
    return Op(kind=kinds[name], **common)


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
