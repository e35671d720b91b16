"""Window geometry of convolutions along one axis, as the generated kernels use it.

With 'same' padding the kernel clips every window to the input (padding taps are
skipped: they contribute nothing, docs/model-format.md), so each output position
has its own first tap and tap count. `axis_windows` lists them; the generated C
reads them from small constant tables instead of computing them (no multiply)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.ir.geometry import output_length, same_padding


@dataclass(frozen=True)
class AxisWindow:
    start: int        # first input position read (after clipping)
    first_tap: int    # kernel tap of that position (j0)
    taps: int         # taps inside the input (j1 - j0)


def axis_windows(length: int, kernel: int, stride: int, padding: str) -> tuple[AxisWindow, ...]:
    """The clipped window of every output position along one axis."""
    out = output_length(length, kernel, stride, padding)
    before = same_padding(length, kernel, stride)[0] if padding == "same" else 0
    windows = []
    for p in range(out):
        start = p * stride - before
        j0 = max(0, -start)
        j1 = min(kernel, length - start)
        windows.append(AxisWindow(start + j0, j0, j1 - j0))
    return tuple(windows)


def window_classes(windows: tuple[AxisWindow, ...]) -> tuple[list[tuple[int, int]], list[int]]:
    """Distinct (first_tap, taps) pairs along an axis and each position's class."""
    classes: list[tuple[int, int]] = []
    index = []
    for w in windows:
        key = (w.first_tap, w.taps)
        if key not in classes:
            classes.append(key)
        index.append(classes.index(key))
    return classes, index


def position_tables(rows: tuple[AxisWindow, ...], cols: tuple[AxisWindow, ...], w_in: int,
                    cin: int, kernel_w: int, per_tap: int) -> dict[str, np.ndarray]:
    """The constant tables a 'same'-padded conv2d reads per output row (RX: input offset,
    RW: weight offset, RN: rows inside) and column (CX, CW, CN: elements inside), for
    NHWC input of width `w_in` and `cin` channels and `per_tap` weights per tap."""
    return {"RX": np.array([w.start * w_in * cin for w in rows]),
            "RW": np.array([w.first_tap * kernel_w * per_tap for w in rows]),
            "RN": np.array([w.taps for w in rows]),
            "CX": np.array([w.start * cin for w in cols]),
            "CW": np.array([w.first_tap * per_tap for w in cols]),
            "CN": np.array([w.taps * per_tap for w in cols])}
