"""Write small .tflite flatbuffers in tests with the `tflite` package's generated builder functions."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

CODES = {name: code for code, name in BUILTIN_OPCODE2NAME.items()}
TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "int16": 7, "int8": 9}
OPTION_TYPES = {"Conv2DOptions": 1, "DepthwiseConv2DOptions": 2, "Pool2DOptions": 5, "FullyConnectedOptions": 8,
                "SoftmaxOptions": 9, "AddOptions": 11, "ReshapeOptions": 17, "MulOptions": 21, "PadOptions": 22,
                "ReducerOptions": 27, "SqueezeOptions": 30, "QuantizeOptions": 89, "DequantizeOptions": 38}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    buffer: int
    scales: tuple[float, ...] | None
    zero_points: tuple[int, ...] | None
    axis: int


@dataclass
class TFLiteBuilder:
    """Collect tensors and operators, then `build()` the flatbuffer bytes."""

    tensors: list[_Tensor] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=lambda: [b""])
    operators: list[tuple[int, list[int], list[int], tuple[str, dict] | None]] = field(default_factory=list)
    codes: list[int | str] = field(default_factory=list)

    def tensor(self, name: str, shape, dtype: str, data: np.ndarray | None = None, scale=None,
               zero_point=None, axis: int = 0) -> int:
        buffer = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data, dtype=dtype).tobytes())
            buffer = len(self.buffers) - 1
        scales = None if scale is None else tuple(np.atleast_1d(np.asarray(scale, dtype=np.float32)).tolist())
        if scales is not None and zero_point is None:
            zero_point = 0
        zero_points = None if zero_point is None else tuple(int(z) for z in np.atleast_1d(zero_point))
        if scales is not None and len(zero_points) == 1 and len(scales) > 1:
            zero_points = zero_points * len(scales)
        self.tensors.append(_Tensor(name, tuple(shape), dtype, buffer, scales, zero_points, axis))
        return len(self.tensors) - 1

    def op(self, code: int | str, inputs: list[int], outputs: list[int],
           options: tuple[str, dict] | None = None) -> None:
        key = CODES.get(code, code)  # a builtin name becomes its code; any other string is a custom op
        if key not in self.codes:
            self.codes.append(key)
        self.operators.append((self.codes.index(key), list(inputs), list(outputs), options))

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        b = flatbuffers.Builder(1024)

        def int_vector(start, values, prepend="PrependInt32"):
            start(b, len(values))
            for value in reversed(values):
                getattr(b, prepend)(value)
            return b.EndVector()

        buffer_offsets = []
        for raw in self.buffers:
            data = b.CreateNumpyVector(np.frombuffer(raw, dtype=np.uint8)) if raw else None
            tflite.BufferStart(b)
            if data is not None:
                tflite.BufferAddData(b, data)
            buffer_offsets.append(tflite.BufferEnd(b))

        tensor_offsets = []
        for t in self.tensors:
            name = b.CreateString(t.name)
            shape = int_vector(tflite.TensorStartShapeVector, list(t.shape))
            quant = None
            if t.scales is not None:
                scale = int_vector(tflite.QuantizationParametersStartScaleVector, list(t.scales), "PrependFloat32")
                zero = int_vector(tflite.QuantizationParametersStartZeroPointVector, list(t.zero_points),
                                  "PrependInt64")
                tflite.QuantizationParametersStart(b)
                tflite.QuantizationParametersAddScale(b, scale)
                tflite.QuantizationParametersAddZeroPoint(b, zero)
                tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
                quant = tflite.QuantizationParametersEnd(b)
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, TYPES[t.dtype])
            tflite.TensorAddBuffer(b, t.buffer)
            tflite.TensorAddName(b, name)
            if quant is not None:
                tflite.TensorAddQuantization(b, quant)
            tensor_offsets.append(tflite.TensorEnd(b))

        operator_offsets = []
        for code_index, op_inputs, op_outputs, options in self.operators:
            in_vec = int_vector(tflite.OperatorStartInputsVector, op_inputs)
            out_vec = int_vector(tflite.OperatorStartOutputsVector, op_outputs)
            option_offset = None
            if options is not None:
                kind, values = options
                module = importlib.import_module(f"tflite.{kind}")
                getattr(module, f"{kind}Start")(b)
                for key, value in values.items():
                    getattr(module, f"{kind}Add{key}")(b, value)
                option_offset = getattr(module, f"{kind}End")(b)
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, code_index)
            tflite.OperatorAddInputs(b, in_vec)
            tflite.OperatorAddOutputs(b, out_vec)
            if option_offset is not None:
                tflite.OperatorAddBuiltinOptionsType(b, OPTION_TYPES[options[0]])
                tflite.OperatorAddBuiltinOptions(b, option_offset)
            operator_offsets.append(tflite.OperatorEnd(b))

        def table_vector(start, offsets):
            start(b, len(offsets))
            for offset in reversed(offsets):
                b.PrependUOffsetTRelative(offset)
            return b.EndVector()

        tensors = table_vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
        operators = table_vector(tflite.SubGraphStartOperatorsVector, operator_offsets)
        graph_inputs = int_vector(tflite.SubGraphStartInputsVector, inputs)
        graph_outputs = int_vector(tflite.SubGraphStartOutputsVector, outputs)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors)
        tflite.SubGraphAddOperators(b, operators)
        tflite.SubGraphAddInputs(b, graph_inputs)
        tflite.SubGraphAddOutputs(b, graph_outputs)
        subgraph = tflite.SubGraphEnd(b)

        code_offsets = []
        for code in self.codes:
            custom = b.CreateString(code) if isinstance(code, str) else None
            tflite.OperatorCodeStart(b)
            numeric = 32 if isinstance(code, str) else code
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(numeric, 127))
            tflite.OperatorCodeAddBuiltinCode(b, numeric)
            tflite.OperatorCodeAddVersion(b, 1)
            if custom is not None:
                tflite.OperatorCodeAddCustomCode(b, custom)
            code_offsets.append(tflite.OperatorCodeEnd(b))

        codes = table_vector(tflite.ModelStartOperatorCodesVector, code_offsets)
        subgraphs = table_vector(tflite.ModelStartSubgraphsVector, [subgraph])
        buffers = table_vector(tflite.ModelStartBuffersVector, buffer_offsets)
        description = b.CreateString("hwsim test model")
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buffers)
        model = tflite.ModelEnd(b)
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())


def run_interpreter(path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of the ai-edge-litert interpreter with the reference kernels (no XNNPACK)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(detail["index"]).copy() for detail in interpreter.get_output_details()]
