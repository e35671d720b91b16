"""Float32 execution of an imported model in numpy, to compare with the TFLite interpreter or onnxruntime.

Results agree with those runtimes to float32 rounding (summation order differs:
numpy sums a window as one dot product, the runtimes loop); the tests use
rtol = atol = 1e-5 on unit-scale data.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers import fixed_point as fp
from hwsim.importers.geometry import window_pads, windows
from hwsim.importers.model import ImportedModel, Op


def bind_inputs(model: ImportedModel, inputs) -> dict[str, np.ndarray]:
    """Map the model's graph inputs to the given arrays, checking count, shape and dtype."""
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(model.inputs):
        raise HwsimError(f"{model.source_path}: the model has {len(model.inputs)} inputs, {len(arrays)} given")
    env: dict[str, np.ndarray] = {}
    for name, array in zip(model.inputs, arrays):
        tensor = model.tensors[name]
        array = np.asarray(array)
        if tuple(array.shape) != tensor.shape:
            raise HwsimError(f"{model.source_path}: input '{name}' has shape {list(tensor.shape)}, "
                             f"the array given has {list(array.shape)}")
        if array.dtype != np.dtype(tensor.dtype):
            raise HwsimError(f"{model.source_path}: input '{name}' is {tensor.dtype}, the array given is {array.dtype}")
        env[name] = array
    return env


def value(model: ImportedModel, env: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A tensor's value: its constant data or what an earlier op computed."""
    tensor = model.tensors[name]
    return tensor.data if tensor.data is not None else env[name]


def float_value(model: ImportedModel, env: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A tensor's value as float32; quantized integer constants (QDQ weights) are dequantized."""
    tensor = model.tensors[name]
    data = value(model, env, name)
    if tensor.dtype == "float32" or tensor.quantization is None or tensor.data is None:
        return data.astype(np.float32)
    quantization = tensor.quantization
    shape = [1] * data.ndim
    if quantization.per_channel:
        shape[quantization.axis] = -1
    scales = np.array(quantization.scales, dtype=np.float32).reshape(shape)
    zero_points = np.array(quantization.zero_points, dtype=np.float32).reshape(shape)
    return ((data.astype(np.float32) - zero_points) * scales).astype(np.float32)


def check_output_shape(model: ImportedModel, op: Op, shape: tuple[int, ...]) -> None:
    expected = model.tensors[op.outputs[0]].shape
    if tuple(shape) != expected:
        raise HwsimError(f"{model.source_path}: {op.source}: computed output shape {list(shape)} "
                         f"differs from the declared {list(expected)}")


def activate(x: np.ndarray, op: Op) -> np.ndarray:
    if op.activation == "relu":
        return np.maximum(x, np.float32(0))
    if op.activation == "relu6":
        return np.clip(x, np.float32(0), np.float32(6))
    if op.activation == "relu_n1_to_1":
        return np.clip(x, np.float32(-1), np.float32(1))
    return x


def _conv(model, op, env) -> np.ndarray:
    x = float_value(model, env, op.inputs[0])
    w = float_value(model, env, op.inputs[1])
    kernel_hw = w.shape[1:3]
    out_hw, before = window_pads(op, x.shape[1:3], kernel_hw)
    patches, _ = windows(x, op, kernel_hw, out_hw, before, fill=0.0)
    if op.kind == "conv2d":
        y = np.tensordot(patches, w, axes=([3, 4, 5], [1, 2, 3]))
    else:
        patches = np.repeat(patches, op.depth_multiplier, axis=-1)
        y = np.einsum("nhwijc,ijc->nhwc", patches, w[0])
    if len(op.inputs) > 2 and op.inputs[2]:
        y = y + float_value(model, env, op.inputs[2])
    return activate(y.astype(np.float32), op)


def _dense(model, op, env) -> np.ndarray:
    w = float_value(model, env, op.inputs[1])
    x = float_value(model, env, op.inputs[0]).reshape(-1, w.shape[1])
    y = x @ w.T
    if len(op.inputs) > 2 and op.inputs[2]:
        y = y + float_value(model, env, op.inputs[2])
    return activate(y.astype(np.float32), op).reshape(model.tensors[op.outputs[0]].shape)


def _pool(model, op, env) -> np.ndarray:
    x = float_value(model, env, op.inputs[0])
    out_hw, before = window_pads(op, x.shape[1:3], op.pool_hw)
    if op.kind == "max_pool":
        patches, _ = windows(x, op, op.pool_hw, out_hw, before, fill=-np.inf)
        return activate(patches.max(axis=(3, 4)), op)
    patches, valid = windows(x, op, op.pool_hw, out_hw, before, fill=0.0)
    count = valid.sum(axis=(2, 3)).astype(np.float32)[None, :, :, None]
    return activate((patches.sum(axis=(3, 4)) / count).astype(np.float32), op)


def _binary(model, op, env) -> np.ndarray:
    a = float_value(model, env, op.inputs[0])
    b = float_value(model, env, op.inputs[1])
    return activate(a + b if op.kind == "add" else a * b, op)


def _pad(model, op, env) -> np.ndarray:
    return np.pad(value(model, env, op.inputs[0]), op.pads, constant_values=0).astype(np.float32)


def _mean(model, op, env) -> np.ndarray:
    x = float_value(model, env, op.inputs[0])
    return np.mean(x, axis=op.axes, keepdims=op.keep_dims, dtype=np.float32)


def _softmax(model, op, env) -> np.ndarray:
    x = float_value(model, env, op.inputs[0])
    axis = op.axes[0] if op.axes else -1
    z = (x - x.max(axis=axis, keepdims=True)) * np.float32(op.beta)
    e = np.exp(z)
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def _unary(model, op, env) -> np.ndarray:
    x = float_value(model, env, op.inputs[0])
    if op.kind == "logistic":
        return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)
    if op.kind == "relu":
        return np.maximum(x, np.float32(0))
    if op.kind == "relu6":
        return np.clip(x, np.float32(0), np.float32(6))
    return np.clip(x, np.float32(op.clamp_min), np.float32(op.clamp_max))


def _quantize(model, op, env) -> np.ndarray:
    """Float to integers: ONNX QuantizeLinear rounds halves to even, TFLite's QUANTIZE away from zero."""
    output = model.tensors[op.outputs[0]]
    quantization = output.quantization
    ratio = float_value(model, env, op.inputs[0]) / np.float32(quantization.scale)
    rounded = np.rint(ratio) if model.format == "onnx" else fp.round_half_away_array(ratio)
    info = np.iinfo(np.dtype(output.dtype))
    return np.clip(rounded + quantization.zero_point, info.min, info.max).astype(output.dtype)


def _dequantize(model, op, env) -> np.ndarray:
    quantization = model.tensors[op.inputs[0]].quantization
    x = value(model, env, op.inputs[0]).astype(np.float32)
    return ((x - np.float32(quantization.zero_point)) * np.float32(quantization.scale)).astype(np.float32)


def _reshape(model, op, env) -> np.ndarray:
    return value(model, env, op.inputs[0]).reshape(model.tensors[op.outputs[0]].shape)


FLOAT_KERNELS = {
    "conv2d": _conv, "depthwise_conv2d": _conv, "dense": _dense, "avg_pool": _pool, "max_pool": _pool,
    "add": _binary, "mul": _binary, "reshape": _reshape, "pad": _pad, "mean": _mean, "softmax": _softmax,
    "logistic": _unary, "relu": _unary, "relu6": _unary, "clamp": _unary, "quantize": _quantize,
    "dequantize": _dequantize,
}


def run_op_float(model: ImportedModel, op: Op, env: dict[str, np.ndarray]) -> np.ndarray:
    kernel = FLOAT_KERNELS.get(op.kind)
    if kernel is None:
        raise HwsimError(f"{model.source_path}: {op.source}: {op.kind} has no float32 kernel")
    result = kernel(model, op, env)
    check_output_shape(model, op, result.shape)
    return result


def run_float(model: ImportedModel, inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Outputs of a float32 model for `inputs` (one array per graph input, channels-last)."""
    env = bind_inputs(model, inputs)
    for op in model.ops:
        env[op.outputs[0]] = run_op_float(model, op, env)
    return [value(model, env, name) for name in model.outputs]
