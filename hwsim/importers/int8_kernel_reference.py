"""TFLite int8 reference arithmetic for single ops with explicit arguments (no model):
what tensorflow/lite/kernels/internal/reference/integer_ops/{fully_connected,conv,
depthwise_conv,add}.h compute with per-channel multipliers and shifts, built from
hwsim.importers.fixed_point. The C kernels of hwsim.machine.kernels.int8 are held to
these bit for bit (tests/test_int8_kernels.py).

Arguments follow the C API: NHWC int8 input of one image, weights [out][in] (dense),
[out_c][kh][kw][in_c] (conv) or [kh][kw][c] (depthwise, multiplier 1), int32 bias,
int32 multiplier and shift per output channel, input_offset = -input zero point,
output_offset = output zero point, explicit top/left padding with the output size given.
"""
from __future__ import annotations

import numpy as np

from hwsim.importers import fixed_point as fp


def requantize(acc, multiplier, shift, output_offset: int, act_min: int, act_max: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding), offset, clamp; int8 result."""
    out = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), multiplier, shift) + output_offset
    return np.clip(out, act_min, act_max).astype(np.int8)


def fully_connected(x, w, bias, multiplier, shift, *, input_offset: int, output_offset: int,
                    act_min: int, act_max: int) -> np.ndarray:
    """reference_integer_ops::FullyConnectedPerChannel: x (batches, in), w (out, in)."""
    x = np.asarray(x, dtype=np.int64)
    acc = (x + input_offset) @ np.asarray(w, dtype=np.int64).T + np.asarray(bias, dtype=np.int64)
    return requantize(acc, multiplier, shift, output_offset, act_min, act_max)


def _patches(x, kh: int, kw: int, stride: tuple[int, int], pad: tuple[int, int],
             out_hw: tuple[int, int], input_offset: int) -> np.ndarray:
    """(out_h, out_w, kh, kw, c) windows of x + input_offset; padded taps are 0."""
    x = np.asarray(x, dtype=np.int64) + input_offset
    h, w, c = x.shape
    out_h, out_w = out_hw
    need_h = (out_h - 1) * stride[0] + kh
    need_w = (out_w - 1) * stride[1] + kw
    padded = np.zeros((max(need_h, pad[0] + h), max(need_w, pad[1] + w), c), dtype=np.int64)
    padded[pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    out = np.empty((out_h, out_w, kh, kw, c), dtype=np.int64)
    for oy in range(out_h):
        for ox in range(out_w):
            y0, x0 = oy * stride[0], ox * stride[1]
            out[oy, ox] = padded[y0:y0 + kh, x0:x0 + kw]
    return out


def conv2d(x, w, bias, multiplier, shift, *, stride: tuple[int, int], pad: tuple[int, int],
           out_hw: tuple[int, int], input_offset: int, output_offset: int, act_min: int,
           act_max: int) -> np.ndarray:
    """reference_integer_ops::ConvPerChannel for one image: x (h, w, in_c),
    w (out_c, kh, kw, in_c); returns (out_h, out_w, out_c)."""
    w = np.asarray(w, dtype=np.int64)
    out_c, kh, kw, _ = w.shape
    patches = _patches(x, kh, kw, stride, pad, out_hw, input_offset)
    acc = patches.reshape(out_hw[0] * out_hw[1], -1) @ w.reshape(out_c, -1).T
    acc = acc + np.asarray(bias, dtype=np.int64)
    return requantize(acc, multiplier, shift, output_offset, act_min, act_max).reshape(
        out_hw[0], out_hw[1], out_c)


def depthwise_conv2d(x, w, bias, multiplier, shift, *, stride: tuple[int, int],
                     pad: tuple[int, int], out_hw: tuple[int, int], input_offset: int,
                     output_offset: int, act_min: int, act_max: int) -> np.ndarray:
    """reference_integer_ops::DepthwiseConvPerChannel, depth multiplier 1: x (h, w, c),
    w (kh, kw, c); returns (out_h, out_w, c)."""
    w = np.asarray(w, dtype=np.int64)
    kh, kw, _ = w.shape
    patches = _patches(x, kh, kw, stride, pad, out_hw, input_offset)
    acc = (patches * w).sum(axis=(2, 3)) + np.asarray(bias, dtype=np.int64)
    return requantize(acc, multiplier, shift, output_offset, act_min, act_max)


def add(x1, x2, multiplier, shift, *, input_offset: int, input2_offset: int,
        output_offset: int, act_min: int, act_max: int, left_shift: int = 20) -> np.ndarray:
    """reference_integer_ops::AddElementwise (TFLite's int8 ADD): multiplier and shift are
    (input 1, input 2, output); input offsets are minus the zero points."""
    a = fp.wrap_int32((np.asarray(x1, dtype=np.int64) + input_offset) << left_shift)
    b = fp.wrap_int32((np.asarray(x2, dtype=np.int64) + input2_offset) << left_shift)
    total = fp.wrap_int32(fp.multiply_by_quantized_multiplier(a, multiplier[0], shift[0])
                          + fp.multiply_by_quantized_multiplier(b, multiplier[1], shift[1]))
    return requantize(total, multiplier[2], shift[2], output_offset, act_min, act_max)


REFERENCES = {"dense": fully_connected, "conv2d": conv2d, "depthwise_conv2d": depthwise_conv2d,
              "add": add}
