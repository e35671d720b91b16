"""The trip counts of the int8 library kernels (hwsim.ir.int8_kernels.KernelCall): the loop
bounds and branch outcomes their executed instructions are exact functions of, for the
characterization (hwsim.machine.characterize) and the cost model
(hwsim.cost.int8_library). Each is read from the kernel's C loop structure
(hwsim/machine/kernels/int8): matrix columns, rows and depth; im2col's walk over padded
and inside taps; the depthwise kernels' clipped windows and row copies. The counts are
not costs: the characterization proves on held-out shapes that they suffice.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from hwsim.ir.int8_kernels import KernelCall

def _conv_taps(call: KernelCall) -> dict[str, int]:
    """im2col's walk over each output pixel's taps, row by row (gcc compiles the tap loop
    as one loop per state): taps by the first bounds test that sends them to the padding
    (C order: iy < 0, iy >= h, ix < 0, ix >= w) or inside; the state each pixel's walk
    starts and ends in (O: a kernel row outside the input, L / R: a left / right padded
    tap, I: inside), the changes of state within a kernel row and from one row to the
    next, and the kernel rows above and below the input. Pixels share their walk with
    every pixel of the same row pattern and column walk: each distinct pair is walked
    once."""
    taps = {f"taps_{k}": 0 for k in ("top", "bottom", "left", "right", "inside")}
    taps["kernel_rows_top"] = taps["kernel_rows_bottom"] = 0
    walks = Counter()
    for ox in range(call.out_w):
        ix0 = ox * call.stride_w - call.pad_left
        walks["".join("L" if ix0 + kx < 0 else "R" if ix0 + kx >= call.in_w else "I"
                      for kx in range(call.kw))] += 1
    patterns = Counter()
    for oy in range(call.out_h):
        rows = []
        for ky in range(call.kh):
            iy = oy * call.stride_h - call.pad_top + ky
            rows.append("top" if iy < 0 else "bottom" if iy >= call.in_h else "")
        patterns[tuple(rows)] += 1
    for rows, n_rows in patterns.items():
        for side in ("top", "bottom"):
            taps[f"kernel_rows_{side}"] += rows.count(side) * call.out_w * n_rows
            taps[f"taps_{side}"] += rows.count(side) * call.out_w * call.kw * n_rows
        for walk, n_walk in walks.items():
            n = n_rows * n_walk
            path = [("O",) if row else tuple(walk) for row in rows]
            for name, state in (("left", "L"), ("right", "R"), ("inside", "I")):
                taps[f"taps_{name}"] += n * sum(row.count(state) for row in path
                                                if row != ("O",))
            _count(taps, f"first_{path[0][0]}", n)
            _count(taps, f"last_{path[-1][-1]}", n)
            for row in path:
                for before, after in zip(row, row[1:]):
                    if before != after:
                        _count(taps, f"{before}_to_{after}", n)
            for above, below in zip(path, path[1:]):
                _count(taps, f"row_{above[-1]}_to_{below[0]}", n)
    return taps


def _count(counts: dict[str, int], name: str, n: int = 1) -> None:
    counts[name] = counts.get(name, 0) + n


def _conv_elements(call: KernelCall) -> dict[str, int]:
    """im2col's elements by the state of their tap (O, L, R, I as in `_conv_taps`) and by
    their place in the column: k % 4 for k in the part of the depth the SIMD loop reads
    in groups of four (the DSP build stores each group as x0 x2 x1 x3), "tail" after it;
    and the taps by state and the place of their last element (where the element loop
    exits)."""
    c, depth = call.in_c, call.kh * call.kw * call.in_c
    depth4 = depth & ~3
    rows_out, rows_in = [0] * call.kh, [0] * call.kh
    for oy in range(call.out_h):
        for ky in range(call.kh):
            iy = oy * call.stride_h - call.pad_top + ky
            (rows_out if iy < 0 or iy >= call.in_h else rows_in)[ky] += 1
    cols = {state: [0] * call.kw for state in "LRI"}
    for ox in range(call.out_w):
        for kx in range(call.kw):
            ix = ox * call.stride_w - call.pad_left + kx
            cols["L" if ix < 0 else "R" if ix >= call.in_w else "I"][kx] += 1
    counts = dict.fromkeys(CONV_ELEMENTS, 0)
    for ky in range(call.kh):
        for kx in range(call.kw):
            k0 = (ky * call.kw + kx) * c
            places = {f"r{r}": _residues(k0, min(k0 + c, depth4), r) for r in range(4)}
            places["tail"] = max(0, k0 + c - max(k0, depth4))
            last = k0 + c - 1                   # where the tap's element loop exits
            last_place = "tail" if last >= depth4 else f"r{last % 4}"
            pixels = {"O": rows_out[ky] * call.out_w, **{s: rows_in[ky] * cols[s][kx]
                                                         for s in "LRI"}}
            for state, n in pixels.items():
                for place, m in places.items():
                    counts[f"elements_{state}_{place}"] += n * m
                counts[f"last_{state}_{last_place}"] += n
    return counts


def _residues(start: int, stop: int, r: int) -> int:
    """How many k in [start, stop) have k % 4 == r."""
    if stop <= start:
        return 0
    return (stop - 1 - r) // 4 - (start - 1 - r) // 4


CONV_ELEMENTS = tuple(f"{kind}_{s}_{p}" for kind in ("elements", "last") for s in "OLRI"
                      for p in ("r0", "r1", "r2", "r3", "tail"))
CONV_WALK = tuple(f"{kind}_{s}" for kind in ("first", "last") for s in "OLIR") + tuple(
    f"{a}_to_{b}" for a in "LIR" for b in "LIR" if a != b) + tuple(
    f"row_{a}_to_{b}" for a in "OLIR" for b in "OLIR")


def _depthwise_windows(call: KernelCall) -> dict[str, int]:
    """The generic depthwise kernel's clipped windows: rows and taps summed over the
    pixels; output rows whose window starts above the input (clip_top), at its first row
    (touch_top), ends below it or at its last row (the max/min of the clipping branch on
    each), and the same per pixel for the columns."""
    names = [f"{axis}_{kind}_{side}" for axis, sides in (("rows", ("top", "bottom")),
                                                        ("cols", ("left", "right")))
             for kind in ("clip", "touch") for side in sides]
    counts = dict.fromkeys(names + ["window_rows", "window_taps"], 0)

    def edges(axis, start, kernel, size, repeat):
        first, last = ("top", "bottom") if axis == "rows" else ("left", "right")
        counts[f"{axis}_clip_{first}"] += (start < 0) * repeat
        counts[f"{axis}_touch_{first}"] += (start == 0) * repeat
        counts[f"{axis}_clip_{last}"] += (size - start < kernel) * repeat
        counts[f"{axis}_touch_{last}"] += (size - start == kernel) * repeat
        return min(kernel, size - start) - max(0, -start)

    cols = [edges("cols", ox * call.stride_w - call.pad_left, call.kw, call.in_w, call.out_h)
            for ox in range(call.out_w)]
    for oy in range(call.out_h):
        rows = edges("rows", oy * call.stride_h - call.pad_top, call.kh, call.in_h, 1)
        counts["window_rows"] += rows * call.out_w
        counts["window_taps"] += rows * sum(cols)
    return counts


def _window_row_words(call: KernelCall) -> dict[str, int]:
    """conv_scalar's window rows, each one dot product over (clipped columns) x in_c
    contiguous bytes, summed over the pixels: the bytes, the words and the tail bytes
    (n // 4, n % 4: the DSP build's SMLAD loop and its tail) and the rows by n % 4 and
    with n < 4."""
    names = ("window_bytes", "window_words", "window_tail_bytes", "window_rows_short",
             *(f"window_rows_tail{r}" for r in range(4)))
    counts = dict.fromkeys(names, 0)
    rows = [min(call.kh, call.in_h - y) - max(0, -y)
            for y in (oy * call.stride_h - call.pad_top for oy in range(call.out_h))]
    cols = [min(call.kw, call.in_w - x) - max(0, -x)
            for x in (ox * call.stride_w - call.pad_left for ox in range(call.out_w))]
    for n_rows in rows:
        for n_cols in cols:
            n = n_cols * call.in_c
            counts["window_bytes"] += n_rows * n
            counts["window_words"] += n_rows * (n // 4)
            counts["window_tail_bytes"] += n_rows * (n % 4)
            counts["window_rows_short"] += n_rows * (n < 4)
            counts[f"window_rows_tail{n % 4}"] += n_rows
    return counts


def _scratch_rows(call: KernelCall) -> dict[str, int]:
    """depthwise_3x3's row copies, per call site (the whole-row fill of a row outside the
    input, above or below; the left fill, the copy, the right fill of a row inside): calls
    by the word path (pointers and count word-aligned; the scratch and the input are
    word-aligned buffers), the byte path, and calls with nothing to move, and the words
    or bytes moved."""
    sites = ("fill_row", "fill_left", "copy", "fill_right")
    parts = ("word_calls", "words", "byte_calls", "bytes", "word_empty", "byte_empty")
    counts = {f"{site}_{part}": 0 for site in sites for part in parts}
    counts["rows_above"] = counts["rows_below"] = counts["rows_cropped"] = 0
    c, row = call.in_c, call.padded_w * call.in_c

    def move(site: str, to: int, source: int, count: int) -> None:
        path = "word" if (to | source | count) % 4 == 0 else "byte"
        if count == 0:                  # the loop is not entered
            counts[f"{site}_{path}_empty"] += 1
        else:
            counts[f"{site}_{path}_calls"] += 1
            counts[f"{site}_{path}s" if path == "word" else f"{site}_bytes"] += (
                count // 4 if path == "word" else count)

    for oy in range(call.out_h):
        for r in range(3):
            iy = oy * call.stride_h - call.pad_top + r
            to = r * row
            if iy < 0 or iy >= call.in_h:
                counts["rows_above" if iy < 0 else "rows_below"] += 1
                move("fill_row", to, 0, row)
                continue
            inside = min(call.in_w, call.padded_w - call.pad_left)
            counts["rows_cropped"] += inside < call.in_w      # input columns left unread
            move("fill_left", to, 0, call.pad_left * c)
            move("copy", to + call.pad_left * c, iy * call.in_w * c, inside * c)
            move("fill_right", to + (call.pad_left + inside) * c, 0,
                 (call.padded_w - call.pad_left - inside) * c)
    return counts


def _soft_windows(call: KernelCall) -> dict[str, int]:
    """conv_soft's and depthwise_soft's loops besides the clipped windows: the strides
    formed as sums (loops of in_w, kh, kw, stride and pad iterations), the rows skipped at
    the top summed over the output rows, and per pixel the columns skipped at the left and
    the columns inside."""
    counts = {"in_w": call.in_w, "kh": call.kh, "kw": call.kw, "stride_h": call.stride_h,
              "stride_w": call.stride_w, "pad_top": call.pad_top, "pad_left": call.pad_left,
              "rows_skipped": sum(max(0, call.pad_top - oy * call.stride_h)
                                  for oy in range(call.out_h))}
    starts = [ox * call.stride_w - call.pad_left for ox in range(call.out_w)]
    counts["cols_skipped"] = call.out_h * sum(max(0, -x) for x in starts)
    counts["window_cols"] = call.out_h * sum(min(call.kw, call.in_w - x) - max(0, -x)
                                             for x in starts)
    return counts


def tap_uses(call: KernelCall) -> np.ndarray:
    """(kh, kw): how many of the call's output pixels have each kernel tap inside the
    input (a clipped window runs only those; a padded one would run them all)."""
    def axis(out, stride, pad, kernel, size):
        starts = np.arange(out)[:, None] * stride - pad + np.arange(kernel)[None, :]
        return ((starts >= 0) & (starts < size)).sum(axis=0)
    return np.outer(axis(call.out_h, call.stride_h, call.pad_top, call.kh, call.in_h),
                    axis(call.out_w, call.stride_w, call.pad_left, call.kw, call.in_w))


def trip_counts(call: KernelCall) -> dict[str, int]:
    """The loop bounds a kernel's executed instructions depend on (besides the data
    path of each output's requantization: characterized on a fixed path)."""
    return dict(_trip_counts(call))


@lru_cache(maxsize=4096)
def _trip_counts(call: KernelCall) -> dict[str, int]:
    if call.kernel == "add":
        return {"elements": call.in_c}
    if call.kernel in ("fully_connected", "conv_1x1"):
        columns = call.batches if call.kernel == "fully_connected" else call.in_h * call.in_w
        return {"columns": columns, "depth": call.in_c, "rows": call.out_c}
    pixels = call.out_h * call.out_w
    if call.kernel == "conv":
        unpaired = sum((oy + 1) * call.out_w % 2 for oy in range(call.out_h))
        return {"pixels": pixels, "depth": call.kh * call.kw * call.in_c, "rows": call.out_c,
                "channels": call.in_c, "out_rows": call.out_h, "kernel_rows": pixels * call.kh,
                "rows_end_unpaired": unpaired,    # an output row ends on the first of a pair
                **dict.fromkeys(CONV_WALK, 0), **_conv_taps(call), **_conv_elements(call)}
    counts = {"pixels": pixels, "channels": call.in_c, "out_rows": call.out_h}
    if call.kernel == "conv_scalar":    # the generic depthwise kernel's window walk
        return {**counts, **_depthwise_windows(call), **_window_row_words(call),
                "rows": call.out_c}
    if call.kernel == "depthwise_3x3":
        return {**counts, **_scratch_rows(call)}
    if call.kernel in ("conv_soft", "depthwise_soft"):
        return {**counts, **_depthwise_windows(call), **_soft_windows(call), "rows": call.out_c}
    return {**counts, **_depthwise_windows(call)}
