"""Patch (im2col) index arithmetic shared by the float trainer and the integer forward pass.

Everything here is pure index arithmetic: the helpers never look at values, so the same
indices gather float activations in training and integer level indices in the integer pass.

Layout is channels-last: a 1-D signal is ``(..., L, C)``, an image ``(..., H, W, C)``.

Padding
-------
``"valid"`` (the default) uses no padding: ``out = (L - k) // stride + 1`` and requires
``k <= L``.

``"same"`` follows TensorFlow/Keras: ``out = ceil(L / stride)``, total padding
``max((out - 1) * stride + k - L, 0)``, with ``pad_before = total // 2`` and the remainder
(possibly one more) after.  Padded positions hold a caller-given ``fill`` value.  In the
float network "same" means padding with activation **0.0**.  An integer pass that gathers
level indices must pad with the level of activation 0, and tanhD with an even number of
levels has no zero level, so "same" padding cannot be reproduced exactly there; prefer
"valid" for discretized networks.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "PADDINGS",
    "check_padding",
    "output_length",
    "same_padding",
    "patch_indices_1d",
    "patch_indices_2d",
    "pad_1d",
    "pad_2d",
    "extract_patches_1d",
    "extract_patches_2d",
    "extract_patches",
    "fold_patches_1d",
    "fold_patches_2d",
]

PADDINGS = ("valid", "same")


def check_padding(padding: str) -> str:
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    return padding


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def output_length(length: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """Number of output positions along one axis; ValueError if the kernel does not fit."""
    length = _check_int("length", length)
    kernel = _check_int("kernel", kernel)
    stride = _check_int("stride", stride)
    check_padding(padding)
    if padding == "same":
        return math.ceil(length / stride)
    if kernel > length:
        raise ValueError(
            f"kernel {kernel} is larger than the input length {length} with padding='valid'")
    return (length - kernel) // stride + 1


def same_padding(length: int, kernel: int, stride: int = 1) -> tuple[int, int]:
    """(pad_before, pad_after) of TensorFlow-style 'same' padding."""
    out = output_length(length, kernel, stride, "same")
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def patch_indices_1d(length: int, kernel: int, stride: int = 1, padding: str = "valid"
                     ) -> tuple[np.ndarray, int, int]:
    """Indices of every patch into the padded axis.

    Returns ``(idx, pad_before, pad_after)``; ``idx`` has shape ``(out_len, kernel)`` and
    dtype ``np.intp``, and ``idx[o, j]`` is the position, in the input padded with
    ``pad_before`` leading and ``pad_after`` trailing fill values, of kernel tap ``j`` of
    output ``o`` (``idx[o, j] = o * stride + j``).
    """
    out = output_length(length, kernel, stride, padding)
    before, after = same_padding(length, kernel, stride) if padding == "same" else (0, 0)
    idx = (np.arange(out, dtype=np.intp) * stride)[:, None] + np.arange(kernel, dtype=np.intp)
    return idx, before, after


def patch_indices_2d(height: int, width: int, kernel_h: int, kernel_w: int,
                     stride_h: int = 1, stride_w: int = 1, padding: str = "valid"
                     ) -> tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]]:
    """2-D analogue of :func:`patch_indices_1d` (separable: rows and columns).

    Returns ``(rows, cols, (pad_top, pad_bottom), (pad_left, pad_right))`` with ``rows``
    of shape ``(out_h, kernel_h)`` and ``cols`` of shape ``(out_w, kernel_w)``, indices
    into the padded image.  Patch ``(p, q)`` tap ``(i, j)`` reads padded pixel
    ``(rows[p, i], cols[q, j])``.
    """
    rows, top, bottom = patch_indices_1d(height, kernel_h, stride_h, padding)
    cols, left, right = patch_indices_1d(width, kernel_w, stride_w, padding)
    return rows, cols, (top, bottom), (left, right)


def pad_1d(x: np.ndarray, before: int, after: int, fill=0) -> np.ndarray:
    """Pad axis -2 of ``(..., L, C)`` with ``fill`` (returns ``x`` itself if no padding)."""
    if before == 0 and after == 0:
        return x
    widths = [(0, 0)] * x.ndim
    widths[-2] = (before, after)
    return np.pad(x, widths, mode="constant", constant_values=fill)


def pad_2d(x: np.ndarray, pad_h: tuple[int, int], pad_w: tuple[int, int], fill=0) -> np.ndarray:
    """Pad axes -3, -2 of ``(..., H, W, C)`` with ``fill`` (``x`` itself if no padding)."""
    if tuple(pad_h) == (0, 0) and tuple(pad_w) == (0, 0):
        return x
    widths = [(0, 0)] * x.ndim
    widths[-3] = tuple(pad_h)
    widths[-2] = tuple(pad_w)
    return np.pad(x, widths, mode="constant", constant_values=fill)


def extract_patches_1d(x: np.ndarray, kernel: int, stride: int = 1, padding: str = "valid",
                       fill=0) -> np.ndarray:
    """``(..., L, C)`` -> ``(..., out_len, kernel, C)`` (a copy; any dtype)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"expected (..., L, C), got shape {x.shape}")
    idx, before, after = patch_indices_1d(x.shape[-2], kernel, stride, padding)
    return pad_1d(x, before, after, fill)[..., idx, :]


def extract_patches_2d(x: np.ndarray, kernel_h: int, kernel_w: int, stride_h: int = 1,
                       stride_w: int = 1, padding: str = "valid", fill=0) -> np.ndarray:
    """``(..., H, W, C)`` -> ``(..., out_h, out_w, kernel_h, kernel_w, C)`` (a copy)."""
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"expected (..., H, W, C), got shape {x.shape}")
    rows, cols, pad_h, pad_w = patch_indices_2d(x.shape[-3], x.shape[-2], kernel_h, kernel_w,
                                                stride_h, stride_w, padding)
    xp = pad_2d(x, pad_h, pad_w, fill)
    return xp[..., rows[:, None, :, None], cols[None, :, None, :], :]


def extract_patches(x: np.ndarray, kernel, stride=None, padding: str = "valid", fill=0
                    ) -> np.ndarray:
    """Dispatch on the kernel rank: ``kernel`` an int or 1-tuple (1-D) or a 2-tuple (2-D).

    ``stride`` defaults to 1 on every axis; it may be an int (same on every axis) or a tuple.
    """
    ks = (kernel,) if isinstance(kernel, (int, np.integer)) else tuple(kernel)
    if stride is None:
        ss = (1,) * len(ks)
    elif isinstance(stride, (int, np.integer)):
        ss = (int(stride),) * len(ks)
    else:
        ss = tuple(stride)
    if len(ss) != len(ks):
        raise ValueError(f"stride {stride!r} does not match kernel {kernel!r}")
    if len(ks) == 1:
        return extract_patches_1d(x, ks[0], ss[0], padding, fill)
    if len(ks) == 2:
        return extract_patches_2d(x, ks[0], ks[1], ss[0], ss[1], padding, fill)
    raise ValueError(f"kernel must have 1 or 2 dimensions, got {kernel!r}")


def fold_patches_1d(patches: np.ndarray, length: int, kernel: int, stride: int = 1,
                    padding: str = "valid") -> np.ndarray:
    """Adjoint of :func:`extract_patches_1d`: sum ``(..., out, kernel, C)`` back to ``(..., L, C)``.

    Overlapping taps add up; contributions landing on padding are dropped.
    """
    out = output_length(length, kernel, stride, padding)
    _, before, after = patch_indices_1d(length, kernel, stride, padding)
    if patches.shape[-3:-1] != (out, kernel):
        raise ValueError(f"patches shape {patches.shape} does not match out={out}, kernel={kernel}")
    lead, ch = patches.shape[:-3], patches.shape[-1]
    acc = np.zeros(lead + (length + before + after, ch), dtype=patches.dtype)
    span = stride * (out - 1) + 1
    for j in range(kernel):
        acc[..., j:j + span:stride, :] += patches[..., :, j, :]
    return acc[..., before:before + length, :]


def fold_patches_2d(patches: np.ndarray, height: int, width: int, kernel_h: int, kernel_w: int,
                    stride_h: int = 1, stride_w: int = 1, padding: str = "valid") -> np.ndarray:
    """Adjoint of :func:`extract_patches_2d`: ``(..., oh, ow, kh, kw, C)`` -> ``(..., H, W, C)``."""
    rows, cols, (top, bottom), (left, right) = patch_indices_2d(
        height, width, kernel_h, kernel_w, stride_h, stride_w, padding)
    oh, ow = rows.shape[0], cols.shape[0]
    if patches.shape[-5:-1] != (oh, ow, kernel_h, kernel_w):
        raise ValueError(f"patches shape {patches.shape} does not match "
                         f"({oh}, {ow}, {kernel_h}, {kernel_w})")
    lead, ch = patches.shape[:-5], patches.shape[-1]
    acc = np.zeros(lead + (height + top + bottom, width + left + right, ch), dtype=patches.dtype)
    span_h = stride_h * (oh - 1) + 1
    span_w = stride_w * (ow - 1) + 1
    for i in range(kernel_h):
        for j in range(kernel_w):
            acc[..., i:i + span_h:stride_h, j:j + span_w:stride_w, :] += patches[..., :, :, i, j, :]
    return acc[..., top:top + height, left:left + width, :]
