"""Sliding-window geometry shared by conv, depthwise and pooling: TFLite's padding rules."""
from __future__ import annotations

import numpy as np

from hwsim.importers.model import Op


def window_pads(op: Op, in_hw: tuple[int, int], kernel_hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(output (h, w), padding before (top, left)) as TFLite's ComputePaddingHeightWidth gives them."""
    out, before = [], []
    for axis in range(2):
        size, kernel = in_hw[axis], kernel_hw[axis]
        stride, dilation = op.stride_hw[axis], op.dilation_hw[axis]
        effective = (kernel - 1) * dilation + 1
        if op.padding == "same":
            out_size = (size + stride - 1) // stride
            total = max((out_size - 1) * stride + effective - size, 0)
            pad = total // 2
        elif op.padding == "valid":
            out_size = (size + stride - effective) // stride
            pad = 0
        else:
            head, tail = (op.explicit_pads_tblr[0], op.explicit_pads_tblr[1]) if axis == 0 else \
                (op.explicit_pads_tblr[2], op.explicit_pads_tblr[3])
            out_size = (size + head + tail - effective) // stride + 1
            pad = head
        out.append(out_size)
        before.append(pad)
    return (out[0], out[1]), (before[0], before[1])


def windows(x: np.ndarray, op: Op, kernel_hw: tuple[int, int], out_hw: tuple[int, int],
            before: tuple[int, int], fill) -> tuple[np.ndarray, np.ndarray]:
    """(patches [N, OH, OW, KH, KW, C] of NHWC x, validity mask [OH, OW, KH, KW]); outside positions hold `fill`."""
    batch, height, width, channels = x.shape
    rows = (np.arange(out_hw[0])[:, None] * op.stride_hw[0] - before[0]
            + np.arange(kernel_hw[0])[None, :] * op.dilation_hw[0])
    cols = (np.arange(out_hw[1])[:, None] * op.stride_hw[1] - before[1]
            + np.arange(kernel_hw[1])[None, :] * op.dilation_hw[1])
    row_ok = (rows >= 0) & (rows < height)
    col_ok = (cols >= 0) & (cols < width)
    padded = np.full((batch, height + 1, width + 1, channels), fill, dtype=x.dtype)
    padded[:, :height, :width, :] = x
    rows = np.where(row_ok, rows, height)  # index the filled row/column for outside positions
    cols = np.where(col_ok, cols, width)
    patches = padded[:, rows[:, None, :, None], cols[None, :, None, :], :]
    valid = row_ok[:, None, :, None] & col_ok[None, :, None, :]
    return patches, valid
