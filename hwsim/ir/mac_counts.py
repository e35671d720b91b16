"""How many multiply-accumulates each weight tap and each input element of an int8
library call takes part in: the weights of a mean over the operands an operand-dependent
multiplier's time follows (hwsim.cost.mul_operands.mul_operand_bits, the int8 input
statistics of hwsim.machine.operand_statistics).

A window at a border covers fewer input positions: the clipped-window kernels (all but
hwsim.ir.int8_kernels.FOLDED_OFFSET's) skip its taps outside the input; the others
(im2col, the padded scratch rows) multiply them too, by the zero point the padding holds.
A stride above the kernel leaves inputs no window covers.

    taps = tap_macs(call)            # (kh, kw): MACs of each tap, per channel pair
    cover = input_macs(call)         # (in_h, in_w): MACs of each input position
    padded_share(call)               # share of the MACs on padding, 0 when skipped
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.int8_kernels import FOLDED_OFFSET, KernelCall


def _axis(length: int, kernel: int, stride: int, pad: int, out: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis: (per tap, the outputs whose window puts it inside the input; per
    input position, the (output, tap) pairs that cover it)."""
    positions = np.arange(out)[:, None] * stride - pad + np.arange(kernel)[None, :]
    inside = (positions >= 0) & (positions < length)
    cover = np.bincount(positions[inside], minlength=length)[:length]
    return inside.sum(axis=0), cover


def _axes(call: KernelCall) -> tuple[tuple, tuple]:
    return (_axis(call.in_h, call.kh, call.stride_h, call.pad_top, call.out_h),
            _axis(call.in_w, call.kw, call.stride_w, call.pad_left, call.out_w))


def tap_macs(call: KernelCall) -> np.ndarray:
    """(kh, kw): the MACs each weight tap takes part in per (input, output) channel pair:
    the outputs whose window holds it inside the input, or every output where padded taps
    are multiplied (FOLDED_OFFSET kernels)."""
    (taps_y, _), (taps_x, _) = _axes(call)
    if call.kernel in FOLDED_OFFSET:
        return np.full((call.kh, call.kw), call.out_h * call.out_w, dtype=np.int64)
    return np.outer(taps_y, taps_x).astype(np.int64)


def input_macs(call: KernelCall) -> np.ndarray:
    """(in_h, in_w): the MACs each input position takes part in per (input, output)
    channel pair (the windows and taps that cover it)."""
    (_, cover_y), (_, cover_x) = _axes(call)
    return np.outer(cover_y, cover_x).astype(np.int64)


def padded_share(call: KernelCall) -> float:
    """The share of the call's MACs that multiply padding (FOLDED_OFFSET kernels: by the
    zero point; the others skip those taps: 0)."""
    if call.kernel not in FOLDED_OFFSET:
        return 0.0
    (taps_y, _), (taps_x, _) = _axes(call)
    inside = int(taps_y.sum()) * int(taps_x.sum())
    return 1.0 - inside / (call.out_h * call.out_w * call.kh * call.kw)
