"""The layout of the grouped lut convolution (hwsim_lut_grouped_conv,
hwsim/machine/kernels/lut/lut_grouped_conv.c): its call, geometry, weights, scratch and
the trip counts its executed instructions are a function of.

Groups are g consecutive channels of one input pixel (C / g full groups a pixel and,
when g does not divide C, a short last group of C mod g inputs), so a window always
covers whole groups, at the edges of a 'same' padding too. Each input row's group tables
are built once per inference into a ring of kh rows and looked up by every window that
covers them; a clipped tap points at the padding pixel, whose tables hold r B in every
entry (the offsets of the group's r inputs, which the folded bias takes back): it adds
nothing, as in the ungrouped library. The combined weight indices of a unit are those of
the dense kernel over its window's taps (kernel row, kernel column, channel) with every
pixel's channels padded to whole groups (hwsim.ir.lut_grouped.combined_indices per
pixel), blocked as the dense kernel's.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hwsim.ir.int8_kernels import KernelCall
from hwsim.ir.lut_grouped_indices import BLOCK, blocked_groups, combined_indices
from hwsim.ir.lut_kernels import axis

CONV_KINDS = ("conv1d", "conv2d")
# 32-bit words of a hwsim_lut_grouped_conv_call constant: the dense call's, 9 scalars,
# 6 geometry arrays, the ring and the padding pixel.
CONV_CALL_WORDS = 24 + 9 + 6 + 2
POINTER_BYTES = 4


@dataclass(frozen=True)
class GroupedConvCall:
    """One call of hwsim_lut_grouped_conv: K = 2^k_log2 clusters, g channels a group,
    on `shape` (NHWC, conv1d a conv2d of height 1)."""
    k_log2: int
    g: int
    shape: KernelCall
    thresholded: bool
    steps: int
    pattern_bits: int = 0        # (no precomputed variant: the dense call's field)

    @property
    def function(self) -> str:
        """The characterization record: one per (K, g)."""
        return f"grouped_conv_k{1 << self.k_log2}_g{self.g}"

    @property
    def kernel(self) -> str:
        """The name the cost model shows (the dense kernel's with every table live)."""
        return f"grouped_g{self.g}"

    @property
    def units(self) -> int:
        return self.shape.out_c

    @property
    def pixel_full(self) -> int:
        return self.shape.in_c // self.g

    @property
    def pixel_short(self) -> int:
        return self.shape.in_c % self.g

    @property
    def pixel_groups(self) -> int:
        return self.pixel_full + int(self.pixel_short > 0)

    @property
    def fan(self) -> int:
        """Taps of a full window (the offsets folded into the bias)."""
        return self.shape.kh * self.shape.kw * self.shape.in_c

    @property
    def groups(self) -> int:
        """Group tables a window looks up."""
        return self.shape.kh * self.shape.kw * self.pixel_groups

    @property
    def table_shift(self) -> int:
        return self.g * self.k_log2 + 1

    @property
    def table_bytes(self) -> int:
        """The ring: the group tables of kh input rows."""
        s = self.shape
        return (s.kh * s.in_w * self.pixel_groups) << self.table_shift

    @property
    def scratch_bytes(self) -> int:
        """RAM: the ring and a window's table addresses."""
        return self.table_bytes + POINTER_BYTES * self.groups

    @property
    def acc_bytes(self) -> int:
        return 0

    @property
    def pad_bytes(self) -> int:
        """The padding pixel's tables (constants), when some window is clipped."""
        return (self.pixel_groups << self.table_shift) if self.geometry.clipped else 0

    @cached_property
    def geometry(self) -> "ConvGeometry":
        return conv_geometry(self.shape, self.pixel_groups << self.table_shift)


@dataclass(frozen=True)
class ConvGeometry:
    """The per-row and per-column arrays of hwsim_lut_grouped_conv_call."""
    build_first: tuple[int, ...]
    build_end: tuple[int, ...]
    build_x: tuple[int, ...]
    ring_row: tuple[int, ...]
    window_row: tuple[int, ...]
    window_col: tuple[int, ...]
    clipped: bool

    ARRAYS = ("build_first", "build_end", "build_x", "ring_row", "window_row", "window_col")

    @property
    def words(self) -> int:
        return sum(len(getattr(self, name)) for name in self.ARRAYS)


def conv_geometry(s: KernelCall, pixel_bytes: int) -> ConvGeometry:
    """Which input rows each output row builds (rows are built once, in order, when the
    first output row reading them comes), where every input row's tables lie in the ring
    of kh rows, and each window's kernel rows and columns as ring and row offsets."""
    rows = axis(s.in_h, s.kh, s.stride_h, s.pad_top, s.out_h)
    row_bytes = s.in_w * pixel_bytes
    first, end, xs, built = [], [], [], 0
    for start, taps in zip(rows.start, rows.taps):
        lo = max(built, start)
        hi = max(lo, start + taps)
        first.append(lo)
        end.append(hi)
        xs.append(lo * s.in_w * s.in_c)
        built = hi
    ring_row = tuple((r % s.kh) * row_bytes for r in range(s.in_h))
    window_row, window_col = [], []
    for p in range(s.out_h):
        for r in range(s.kh):
            ih = p * s.stride_h - s.pad_top + r
            window_row.append(ring_row[ih] if 0 <= ih < s.in_h else -1)
    for p in range(s.out_w):
        for c in range(s.kw):
            iw = p * s.stride_w - s.pad_left + c
            window_col.append(iw * pixel_bytes if 0 <= iw < s.in_w else -1)
    clipped = min(window_row + window_col) < 0
    return ConvGeometry(tuple(first), tuple(end), tuple(xs), ring_row, tuple(window_row),
                        tuple(window_col), clipped)


def conv_combined_indices(weight_index: np.ndarray, in_c: int, k_log2: int, g: int
                          ) -> np.ndarray:
    """Unit-major (units, kh kw C) weight indices -> (units, kh kw groups_per_pixel)
    combined bytes, each pixel's channels grouped by g (a short last group per pixel)."""
    w = np.asarray(weight_index, dtype=np.int64)
    units, fan = w.shape
    pixels = fan // in_c
    per_pixel = combined_indices(w.reshape(units * pixels, in_c), k_log2, g)
    return per_pixel.reshape(units, -1)


def conv_weights(weight_index: np.ndarray, in_c: int, k_log2: int, g: int) -> np.ndarray:
    """The combined weight indices as the kernel reads them (flat uint8, blocked)."""
    return blocked_groups(conv_combined_indices(weight_index, in_c, k_log2, g))


def padding_pixel(call: GroupedConvCall, offset: int) -> np.ndarray:
    """The padding pixel's tables (uint16, pixel_groups x 2^(g k_log2) entries): r B in
    every entry of a group of r inputs."""
    entries = 1 << (call.g * call.k_log2)
    sizes = [call.g] * call.pixel_full + ([call.pixel_short] if call.pixel_short else [])
    return np.repeat(np.array(sizes, dtype=np.int64) * offset, entries).astype(np.uint16)


def conv_call_scalars(call: GroupedConvCall) -> list[int]:
    """The scalars of hwsim_lut_grouped_conv_call after the dense call, in order."""
    s = call.shape
    return [s.out_h, s.out_w, s.in_w, s.kh, s.kw, call.pixel_full, call.pixel_short,
            call.pixel_groups, call.units * (1 if call.thresholded else 4)]


def conv_trip_counts(call: GroupedConvCall, level_bits: int | None = None
                     ) -> dict[str, float]:
    """What the grouped convolution's executed instructions are a function of: the rows,
    pixels and groups built (full or short, by the short group's inputs), the windows,
    their kernel rows, taps (clipped or not) and table addresses, and per window the
    lookup pass of hwsim_lut_grouped_lookup (blocks, groups in pairs and an odd one, the
    units after the blocks, lookups of the padding pixel: parameter reads), outputs and
    the fused search (`level_bits` as in hwsim.ir.lut_kernels.trip_counts)."""
    s, geo = call.shape, call.geometry
    positions = s.out_h * s.out_w
    rows_built = sum(e - f for f, e in zip(geo.build_first, geo.build_end))
    pixels = rows_built * s.in_w
    clipped_rows = sum(r < 0 for r in geo.window_row)
    clipped_cols = sum(c < 0 for c in geo.window_col)
    taps = positions * s.kh * s.kw
    inside = (s.out_h * s.kh - clipped_rows) * (s.out_w * s.kw - clipped_cols)
    clipped_taps = taps - inside
    blocks, singles = call.units // BLOCK, call.units % BLOCK
    groups = call.groups
    outputs = positions * call.units
    counts = {"calls": 1, "out_rows": s.out_h, "rows_built": rows_built,
              "out_rows_building": sum(e > f for f, e in zip(geo.build_first, geo.build_end)),
              "pixels_built": pixels, "full_builds": pixels * call.pixel_full,
              "pixels_with_full": pixels if call.pixel_full else 0,
              "positions": positions, "window_rows": positions * s.kh, "taps": taps,
              "clipped_taps": clipped_taps, "addresses": taps * call.pixel_groups,
              "pad_lookups": clipped_taps * call.pixel_groups * call.units,
              "blocks": positions * blocks, "singles": positions * singles,
              "block_pairs": positions * blocks * (groups // 2),
              "block_odd": positions * blocks * (groups % 2),
              "blocks_with_pairs": positions * blocks * (groups >= 2),
              "single_groups": positions * singles * groups,
              "positions_with_blocks": positions if blocks else 0,
              "positions_with_singles": positions if singles else 0,
              "outputs_levels": outputs if call.thresholded else 0,
              "outputs_sums": 0 if call.thresholded else outputs,
              "search_steps": outputs * call.steps if call.thresholded else 0,
              "outputs_unsearched": outputs if call.thresholded and not call.steps else 0}
    for r in range(1, call.g):
        counts[f"short_builds_{r}"] = pixels if call.pixel_short == r else 0
    counts["level_bits"] = (level_bits if level_bits is not None
                            else outputs * call.steps / 2 if call.thresholded else 0)
    return counts


def conv_shape_ok(kind: str, shape: KernelCall, g: int) -> bool:
    """Whether a weighted op of `kind` on `shape` may be grouped by g: a conv1d or conv2d
    with g <= C (else a smaller g groups the same channels with a smaller table)."""
    return kind in CONV_KINDS and g <= shape.in_c
