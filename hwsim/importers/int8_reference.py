"""Execute an imported int8 TFLite model with TensorFlow Lite's reference integer arithmetic.

Each kernel follows tensorflow/lite/kernels/internal/reference/(integer_ops/) and the
Prepare step of its tensorflow/lite/kernels/*.cc file: multipliers from
QuantizeMultiplier on the same float/double expressions, requantization by
MultiplyByQuantizedMultiplier (double rounding; FULLY_CONNECTED rounds once, as the
interpreter does), fused-activation clamps from CalculateActivationRangeQuantized,
float32 lookup tables for softmax and logistic (what activations.cc runs for int8,
reference resolver included). Outputs are byte-identical to the ai-edge-litert
interpreter run with OpResolverType.BUILTIN_REF (not to its default XNNPACK
delegate, which rounds differently); tests/test_import_tflite.py checks every op.
Float32 ops between QUANTIZE/DEQUANTIZE run with the float kernels.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers import fixed_point as fp
from hwsim.importers.float_reference import bind_inputs, check_output_shape, run_op_float, value
from hwsim.importers.geometry import window_pads, windows
from hwsim.importers.model import ImportedModel, Op, Quantization

def _limits(dtype: str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def _quant(model: ImportedModel, op: Op, name: str, role: str) -> Quantization:
    quantization = model.tensors[name].quantization
    if quantization is None:
        raise HwsimError(f"{model.source_path}: {op.source}: {role} '{name}' has no quantization parameters")
    return quantization


def _f32(x) -> np.float32:
    return np.float32(x)


def activation_range(op: Op, quantization: Quantization, dtype: str) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp of a fused activation in the output's integers."""
    low, high = _limits(dtype)
    scale, zero_point = _f32(quantization.scale), quantization.zero_point

    def quantize(real: float) -> int:
        return zero_point + int(fp.round_half_away(float(_f32(real) / scale)))

    if op.activation == "relu":
        return max(low, quantize(0.0)), high
    if op.activation == "relu6":
        return max(low, quantize(0.0)), min(high, quantize(6.0))
    if op.activation == "relu_n1_to_1":
        return max(low, quantize(-1.0)), min(high, quantize(1.0))
    return low, high


def _requantize(acc: np.ndarray, multipliers, shifts, zero_point: int, bounds: tuple[int, int]) -> np.ndarray:
    out = fp.multiply_by_quantized_multiplier(acc, multipliers, shifts) + zero_point
    return np.clip(out, bounds[0], bounds[1])


def _channel_multipliers(input_scale: float, weight_q: Quantization, output_scale: float, channels: int):
    """Per-channel (multiplier, shift) as PopulateConvolutionQuantizationParams computes them (double)."""
    scales = weight_q.scales if weight_q.per_channel else weight_q.scales * channels
    pairs = [fp.quantize_multiplier(float(_f32(input_scale)) * float(_f32(s)) / float(_f32(output_scale)))
             for s in scales]
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


def _bias(model: ImportedModel, op: Op, env, channels: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2]:
        return value(model, env, op.inputs[2]).astype(np.int64)
    return np.zeros(channels, dtype=np.int64)


def _conv(model: ImportedModel, op: Op, env) -> np.ndarray:
    x_name, w_name, y_name = op.inputs[0], op.inputs[1], op.outputs[0]
    x = value(model, env, x_name).astype(np.int64)
    w = value(model, env, w_name).astype(np.int64)
    x_q, w_q, y_q = _quant(model, op, x_name, "input"), _quant(model, op, w_name, "weight"), \
        _quant(model, op, y_name, "output")
    kernel_hw = w.shape[1:3]
    out_hw, before = window_pads(op, x.shape[1:3], kernel_hw)
    patches, _ = windows(x, op, kernel_hw, out_hw, before, fill=x_q.zero_point)
    patches = patches - x_q.zero_point
    channels = w.shape[0] if op.kind == "conv2d" else w.shape[3]
    if op.kind == "conv2d":
        n, oh, ow = patches.shape[:3]
        acc = (patches.reshape(n * oh * ow, -1) @ w.reshape(channels, -1).T).reshape(n, oh, ow, channels)
    else:
        patches = np.repeat(patches, op.depth_multiplier, axis=-1)
        acc = (patches * w[0]).sum(axis=(3, 4))
    acc = fp.wrap_int32(acc + _bias(model, op, env, channels))
    multipliers, shifts = _channel_multipliers(x_q.scale, w_q, y_q.scale, channels)
    y_dtype = model.tensors[y_name].dtype
    return _requantize(acc, multipliers, shifts, y_q.zero_point, activation_range(op, y_q, y_dtype))


def _dense(model: ImportedModel, op: Op, env) -> np.ndarray:
    x_name, w_name, y_name = op.inputs[0], op.inputs[1], op.outputs[0]
    w = value(model, env, w_name).astype(np.int64)
    x = value(model, env, x_name).astype(np.int64).reshape(-1, w.shape[1])
    x_q, w_q, y_q = _quant(model, op, x_name, "input"), _quant(model, op, w_name, "weight"), \
        _quant(model, op, y_name, "output")
    acc = (x - x_q.zero_point) @ (w - w_q.zero_point).T
    acc = fp.wrap_int32(acc + _bias(model, op, env, w.shape[0]))
    if w_q.per_channel:
        multipliers, shifts = _channel_multipliers(x_q.scale, w_q, y_q.scale, w.shape[0])
    else:
        # GetQuantizedConvolutionMultipler: input scale * filter scale / output scale in double.
        real = float(_f32(x_q.scale)) * float(_f32(w_q.scale)) / float(_f32(y_q.scale))
        multipliers, shifts = fp.quantize_multiplier(real)
    y_dtype = model.tensors[y_name].dtype
    low, high = activation_range(op, y_q, y_dtype)
    out = fp.multiply_by_quantized_multiplier_single_rounding(acc, multipliers, shifts) + y_q.zero_point
    return np.clip(out, low, high).reshape(model.tensors[y_name].shape)


def _pool(model: ImportedModel, op: Op, env) -> np.ndarray:
    y_name = op.outputs[0]
    x = value(model, env, op.inputs[0]).astype(np.int64)
    y_q = _quant(model, op, y_name, "output")
    bounds = activation_range(op, y_q, model.tensors[y_name].dtype)
    out_hw, before = window_pads(op, x.shape[1:3], op.pool_hw)
    if op.kind == "max_pool":
        patches, _ = windows(x, op, op.pool_hw, out_hw, before, fill=np.iinfo(np.int64).min)
        return np.clip(patches.max(axis=(3, 4)), bounds[0], bounds[1])
    patches, valid = windows(x, op, op.pool_hw, out_hw, before, fill=0)
    total = patches.sum(axis=(3, 4))
    count = valid.sum(axis=(2, 3)).astype(np.int64)[None, :, :, None]
    average = np.where(total > 0, fp.truncating_divide(total + count // 2, count),
                       fp.truncating_divide(total - count // 2, count))
    return np.clip(average, bounds[0], bounds[1])


def _add(model: ImportedModel, op: Op, env) -> np.ndarray:
    a_name, b_name, y_name = op.inputs[0], op.inputs[1], op.outputs[0]
    a_q, b_q, y_q = _quant(model, op, a_name, "input 0"), _quant(model, op, b_name, "input 1"), \
        _quant(model, op, y_name, "output")
    left_shift = 20
    twice_max_input_scale = 2.0 * float(max(_f32(a_q.scale), _f32(b_q.scale)))
    a_mult, a_shift = fp.quantize_multiplier(float(_f32(a_q.scale)) / twice_max_input_scale)
    b_mult, b_shift = fp.quantize_multiplier(float(_f32(b_q.scale)) / twice_max_input_scale)
    y_mult, y_shift = fp.quantize_multiplier(
        twice_max_input_scale / float(_f32((1 << left_shift) * _f32(y_q.scale))))
    a = (value(model, env, a_name).astype(np.int64) - a_q.zero_point) << left_shift
    b = (value(model, env, b_name).astype(np.int64) - b_q.zero_point) << left_shift
    scaled_a = fp.multiply_by_quantized_multiplier(a, a_mult, a_shift)
    scaled_b = fp.multiply_by_quantized_multiplier(b, b_mult, b_shift)
    total = fp.wrap_int32(scaled_a + scaled_b)
    return _requantize(total, y_mult, y_shift, y_q.zero_point,
                       activation_range(op, y_q, model.tensors[y_name].dtype))


def _mul(model: ImportedModel, op: Op, env) -> np.ndarray:
    a_name, b_name, y_name = op.inputs[0], op.inputs[1], op.outputs[0]
    a_q, b_q, y_q = _quant(model, op, a_name, "input 0"), _quant(model, op, b_name, "input 1"), \
        _quant(model, op, y_name, "output")
    # mul.cc: input1 scale * input2 scale / output scale, evaluated in float32.
    multiplier, shift = fp.quantize_multiplier(float(_f32(a_q.scale) * _f32(b_q.scale) / _f32(y_q.scale)))
    a = value(model, env, a_name).astype(np.int64) - a_q.zero_point
    b = value(model, env, b_name).astype(np.int64) - b_q.zero_point
    return _requantize(fp.wrap_int32(a * b), multiplier, shift, y_q.zero_point,
                       activation_range(op, y_q, model.tensors[y_name].dtype))


def _pad(model: ImportedModel, op: Op, env) -> np.ndarray:
    y_q = _quant(model, op, op.outputs[0], "output")
    return np.pad(value(model, env, op.inputs[0]), op.pads, constant_values=y_q.zero_point)


def _reshape(model: ImportedModel, op: Op, env) -> np.ndarray:
    return value(model, env, op.inputs[0]).reshape(model.tensors[op.outputs[0]].shape)


def _mean(model: ImportedModel, op: Op, env) -> np.ndarray:
    """reference_ops::QuantizedMeanOrSum (integer form): the input/output multiplier folded with 1/count."""
    x_name, y_name = op.inputs[0], op.outputs[0]
    x = value(model, env, x_name).astype(np.int64)
    x_q, y_q = _quant(model, op, x_name, "input"), _quant(model, op, y_name, "output")
    count = int(np.prod([x.shape[a] for a in op.axes], dtype=np.int64))
    multiplier, shift = fp.quantize_multiplier(float(_f32(x_q.scale)) / float(_f32(y_q.scale)))
    headroom = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << headroom) // count
    shift -= headroom
    total = x.sum(axis=op.axes, keepdims=op.keep_dims) - x_q.zero_point * count
    acc = fp.multiply_by_quantized_multiplier(fp.wrap_int32(total), multiplier, shift) + y_q.zero_point
    low, high = _limits(model.tensors[y_name].dtype)
    return np.clip(acc, low, high).reshape(model.tensors[y_name].shape)


def expf(x) -> np.ndarray:
    """C's expf: exp of a float32, correctly rounded (computed in float64, rounded once)."""
    with np.errstate(over="ignore"):  # like expf, overflow gives inf
        return np.exp(np.asarray(x, dtype=np.float32).astype(np.float64)).astype(np.float32)


def _softmax(model: ImportedModel, op: Op, env) -> np.ndarray:
    """optimized_ops::Softmax with PopulateSoftmaxLookupTable: the kernel activations.cc runs for int8
    (the reference resolver included): a float32 exp table over max - x, sequential float32 sum."""
    x_name, y_name = op.inputs[0], op.outputs[0]
    x_q, y_q = _quant(model, op, x_name, "input"), _quant(model, op, y_name, "output")
    low, high = _limits(model.tensors[y_name].dtype)
    scale = -_f32(x_q.scale) * _f32(op.beta)
    table = expf(scale * np.arange(256, dtype=np.float32))  # table[d] = exp(-scale_in * beta * d), d = max - x
    x = value(model, env, x_name).astype(np.int64)
    terms = table[x.max(axis=-1, keepdims=True) - x]
    sum_exp = np.cumsum(terms, axis=-1, dtype=np.float32)[..., -1:]
    inv_sum_exp = _f32(1.0) / (sum_exp * _f32(y_q.scale))
    probability = (terms * inv_sum_exp).astype(np.float32)
    return np.clip(fp.round_half_away_array(probability) + y_q.zero_point, low, high).astype(np.int64)


def _lookup_table(model: ImportedModel, op: Op, transform) -> np.ndarray:
    """LUTPopulate: the 256-entry int8 table of a float function, indexed by x + 128."""
    x_q = _quant(model, op, op.inputs[0], "input")
    y_q = _quant(model, op, op.outputs[0], "output")
    low, high = _limits(model.tensors[op.outputs[0]].dtype)
    levels = np.arange(low, high + 1, dtype=np.int64)
    dequantized = (_f32(x_q.scale) * (levels - x_q.zero_point).astype(np.float32)).astype(np.float32)
    rescaled = fp.round_half_away_array((transform(dequantized) * (_f32(1.0) / _f32(y_q.scale))).astype(np.float32))
    return np.clip(rescaled.astype(np.float32) + _f32(y_q.zero_point), low, high).astype(np.int64)


def _logistic(model: ImportedModel, op: Op, env) -> np.ndarray:
    """activations.cc runs int8 LOGISTIC as a table of 1.0f / (1.0f + expf(-x)), reference resolver included."""
    table = _lookup_table(model, op, lambda x: (_f32(1.0) / (_f32(1.0) + expf(-x))).astype(np.float32))
    low = _limits(model.tensors[op.outputs[0]].dtype)[0]
    return table[value(model, env, op.inputs[0]).astype(np.int64) - low]


def _relu(model: ImportedModel, op: Op, env) -> np.ndarray:
    x_name, y_name = op.inputs[0], op.outputs[0]
    x_q, y_q = _quant(model, op, x_name, "input"), _quant(model, op, y_name, "output")
    low, high = _limits(model.tensors[y_name].dtype)
    multiplier, shift = fp.quantize_multiplier(float(_f32(x_q.scale) / _f32(y_q.scale)))
    scale = _f32(y_q.scale)
    low = max(low, y_q.zero_point + int(fp.round_half_away(float(_f32(0.0) / scale))))
    if op.kind == "relu6":
        high = min(high, y_q.zero_point + int(fp.round_half_away(float(_f32(6.0) / scale))))
    x = value(model, env, x_name).astype(np.int64) - x_q.zero_point
    return _requantize(x, multiplier, shift, y_q.zero_point, (low, high))


def _quantize(model: ImportedModel, op: Op, env) -> np.ndarray:
    x_name, y_name = op.inputs[0], op.outputs[0]
    y_q = _quant(model, op, y_name, "output")
    low, high = _limits(model.tensors[y_name].dtype)
    x = value(model, env, x_name)
    if model.tensors[x_name].dtype == "float32":
        # AffineQuantize: float32 input / float32 scale, std::round (halves away from zero).
        q = fp.round_half_away_array((x.astype(np.float32) / _f32(y_q.scale)).astype(np.float32)) + y_q.zero_point
        return np.clip(q, low, high).astype(np.int64)
    x_q = _quant(model, op, x_name, "input")
    multiplier, shift = fp.quantize_multiplier(float(_f32(x_q.scale)) / float(_f32(y_q.scale)))
    return _requantize(x.astype(np.int64) - x_q.zero_point, multiplier, shift, y_q.zero_point, (low, high))


def _dequantize(model: ImportedModel, op: Op, env) -> np.ndarray:
    x_name = op.inputs[0]
    x_q = _quant(model, op, x_name, "input")
    x = value(model, env, x_name).astype(np.int64)
    if x_q.per_channel:
        shape = [1] * x.ndim
        shape[x_q.axis] = -1
        scales = np.array([float(_f32(s)) for s in x_q.scales]).reshape(shape)
        zero_points = np.array(x_q.zero_points).reshape(shape)
        return (scales * (x - zero_points)).astype(np.float32)
    return (float(_f32(x_q.scale)) * (x - x_q.zero_point)).astype(np.float32)


INT_KERNELS = {
    "conv2d": _conv, "depthwise_conv2d": _conv, "dense": _dense, "avg_pool": _pool, "max_pool": _pool,
    "add": _add, "mul": _mul, "pad": _pad, "reshape": _reshape, "mean": _mean, "softmax": _softmax,
    "logistic": _logistic, "relu": _relu, "relu6": _relu, "quantize": _quantize, "dequantize": _dequantize,
}


def run_op_int8(model: ImportedModel, op: Op, env: dict[str, np.ndarray]) -> np.ndarray:
    """One op's output, in its declared dtype (float32 ops go to the float kernels)."""
    output = model.tensors[op.outputs[0]]
    first_input = model.tensors[op.inputs[0]]
    if op.kind not in ("quantize", "dequantize") and first_input.dtype == "float32":
        return run_op_float(model, op, env)
    kernel = INT_KERNELS.get(op.kind)
    if kernel is None:
        raise HwsimError(f"{model.source_path}: {op.source}: {op.kind} has no integer kernel")
    if op.kind != "quantize" and first_input.dtype not in ("int8", "int32") and op.kind != "reshape":
        raise HwsimError(f"{model.source_path}: {op.source}: {first_input.dtype} inputs are not supported "
                         "by the int8 reference executor")
    result = kernel(model, op, env)
    check_output_shape(model, op, result.shape)
    return result.astype(output.dtype)


def run_int8(model: ImportedModel, inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Outputs of an int8 TFLite model for `inputs`, each in its tensor's dtype, as the reference kernels give them."""
    env = bind_inputs(model, inputs)
    for op in model.ops:
        env[op.outputs[0]] = run_op_int8(model, op, env)
    return [value(model, env, name) for name in model.outputs]
