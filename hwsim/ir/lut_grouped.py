"""The layout of the grouped lut dense kernel (hwsim/machine/kernels/lut/hwsim_lut_grouped.h).

Grouped lookups (issue 12): with K = 2^k_log2 weight clusters and K^g <= 256, the g
weight indices of one unit into a group of g consecutive inputs are stored as one byte,
w_0 + (w_1 << k_log2) + ..., the index of their partial sum in the group's table, which
the kernel builds per inference. Entries of the group tables are uint16 with a fixed
offset B per product-table entry (so a 32-bit add builds two at once, with no carry
from one into the other); `grouped_layout` folds fan_in * B into each unit's bias.
Everything here is exact integer arithmetic: the kernel's sums equal the ungrouped sums.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError

BLOCK = 4                  # HWSIM_LUT_GROUPED_BLOCK: units per pass
ENTRY_LIMIT = 1 << 16      # group-table entries are uint16


@dataclass(frozen=True)
class GroupedLayout:
    """What the code generator stores for one dense layer, grouped by g."""
    k_log2: int
    g: int
    offset: int                 # B
    rows: np.ndarray            # uint16 (levels, K2): the product rows + B (T')
    groups: int
    chunk: int                  # groups whose tables are live at a time
    bias: np.ndarray            # int32 per unit: bias entry - fan_in * B
    weights: np.ndarray         # uint8 combined indices, blocked

    @property
    def g_low(self) -> int:
        return crossing_split(self.k_log2, self.g)

    def crossing_words(self) -> list[int]:
        """g_low, low_words, high_entries, last_high_word of the call struct."""
        lo = self.g_low
        if lo == 0:
            return [0, 0, 0, 0]
        low_words = 1 << (lo * self.k_log2 - 1)
        high = 1 << ((self.g - lo) * self.k_log2)
        return [lo, low_words, high, (high - 1) * low_words]

    @property
    def table_shift(self) -> int:
        return self.g * self.k_log2 + 1

    @property
    def scratch_bytes(self) -> int:
        """Group tables live at a time (the units' sums between chunks not included)."""
        return self.chunk << self.table_shift


def group_sizes_ok(clusters: int, g: int) -> bool:
    """Whether g >= 2 inputs of `clusters` (a power of two, >= 4: the build adds two
    words a step) combine into one byte."""
    return g >= 2 and clusters >= 4 and clusters & (clusters - 1) == 0 and clusters ** g <= 256


def crossing_split(k_log2: int, g: int) -> int:
    """Inputs of a full group's low half table when the group table is built as the
    crossing of two half tables (low >= 8 entries, high <= 32), else 0."""
    for lo in range(1, g):
        if lo * k_log2 >= 3 and (g - lo) * k_log2 <= 5:
            return lo
    return 0


def entry_offset(table: np.ndarray, g: int) -> int:
    """B = the largest |entry| of the product rows (bias row excluded), if 2 g B + g fits
    16 bits (every partial sum of g entries + B stays in [0, 2 g B]); else an error."""
    offset = int(np.abs(np.asarray(table[:-1], dtype=np.int64)).max(initial=0))
    if 2 * g * offset >= ENTRY_LIMIT:
        raise HwsimError(f"grouped lut: entries up to {offset} do not fit uint16 group "
                         f"tables of g={g} (need 2*g*B < {ENTRY_LIMIT})")
    return offset


def combined_indices(weight_index: np.ndarray, k_log2: int, g: int) -> np.ndarray:
    """(units, fan_in) indices -> (units, groups) combined bytes; the last group may hold
    fewer than g inputs."""
    w = np.asarray(weight_index, dtype=np.int64)
    units, fan = w.shape
    groups = -(-fan // g)
    padded = np.zeros((units, groups * g), dtype=np.int64)
    padded[:, :fan] = w
    shifts = np.arange(g, dtype=np.int64) * k_log2
    return (padded.reshape(units, groups, g) << shifts).sum(axis=2)


def blocked_groups(codes: np.ndarray) -> np.ndarray:
    """Combined (units, groups) bytes in the kernel's order: full blocks of BLOCK units
    group-major (w[group][unit]), then each remaining unit's groups; flat uint8."""
    codes = np.asarray(codes)
    full = codes.shape[0] - codes.shape[0] % BLOCK
    parts = [codes[o:o + BLOCK].T.reshape(-1) for o in range(0, full, BLOCK)]
    parts.append(codes[full:].reshape(-1))
    return np.concatenate(parts).astype(np.uint8)


def grouped_layout(table: np.ndarray, weight_index: np.ndarray, bias_index: np.ndarray,
                   clusters: int, g: int, chunk: int) -> GroupedLayout:
    """The grouped layer of a product table (rows x K2, the last row the bias row), unit-
    major weight indices and bias indices."""
    if not group_sizes_ok(clusters, g):
        raise HwsimError(f"grouped lut: {clusters} clusters cannot be grouped by {g} "
                         "(K a power of two, K^g <= 256)")
    k_log2 = clusters.bit_length() - 1
    offset = entry_offset(table, g)
    fan = np.asarray(weight_index).shape[1]
    groups = -(-fan // g)
    bias = np.asarray(table, dtype=np.int64)[-1, np.asarray(bias_index)] - fan * offset
    # the int32 sum at any point: the folded bias plus up to fan_in entries of T' (<= 2B)
    if int(np.abs(bias).max(initial=0)) + 2 * fan * offset >= 1 << 31:
        raise HwsimError(f"grouped lut: {fan} inputs with entries up to {offset} can leave "
                         "the int32 accumulator")
    rows = (np.asarray(table, dtype=np.int64)[:-1] + offset).astype(np.uint16)
    return GroupedLayout(k_log2, g, offset, rows, groups, max(1, min(chunk, groups)),
                         bias.astype(np.int32),
                         blocked_groups(combined_indices(weight_index, k_log2, g)))
