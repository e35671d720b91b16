"""TensorFlow Lite's integer requantization arithmetic on numpy arrays.

Values are int32 quantities carried in int64 arrays so every intermediate
product is exact; the functions reproduce the int32 C semantics of
tensorflow/lite/kernels/internal/common.h (QuantizeMultiplier,
SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, double-rounding
MultiplyByQuantizedMultiplier) and C's truncating division.
"""
from __future__ import annotations

import math

import numpy as np

from hwsim.ir.int8_scales import quantize_multiplier  # noqa: F401 (QuantizeMultiplier, shared)

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def round_half_away(value: float) -> int:
    """C's std::round: halves away from zero."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def round_half_away_array(x) -> np.ndarray:
    """Elementwise std::round (halves away from zero), exact for every float64."""
    x = np.asarray(x, dtype=np.float64)
    whole = np.trunc(x)
    return whole + np.sign(x) * (np.abs(x - whole) >= 0.5)


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (C's int32 overflow on this platform)."""
    return ((np.asarray(values, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def truncating_divide(numerator: np.ndarray, denominator) -> np.ndarray:
    """C integer division (rounds toward zero)."""
    numerator = np.asarray(numerator, dtype=np.int64)
    quotient = np.abs(numerator) // np.abs(denominator)
    return np.where((numerator < 0) != (np.asarray(denominator) < 0), -quotient, quotient)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul for int32 a, b."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    product = a * b
    nudge = np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    high = truncating_divide(product + nudge, 1 << 31)
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent rounded half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier_single_rounding(x, multiplier, shift) -> np.ndarray:
    """x * multiplier * 2**(shift - 31) rounded once, half up (TFLITE_SINGLE_ROUNDING; ruy's multiplier)."""
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    product = np.asarray(x, dtype=np.int64) * np.asarray(multiplier, dtype=np.int64)
    return (product + (np.int64(1) << (total_shift - 1))) >> total_shift


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier (int32 x, per-element or per-channel multiplier/shift)."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)
