"""The layout of the grouped lut dense kernel (hwsim/machine/kernels/lut/hwsim_lut_grouped.h).

Grouped lookups (issue 12): with K = 2^k_log2 weight clusters and K^g <= 256, the g
weight indices of one unit into a group of g consecutive inputs are stored as one byte,
w_0 + (w_1 << k_log2) + ..., the index of their partial sum in the group's table, which
the kernel builds per inference. Entries of the group tables are uint16 with a fixed
offset B per product-table entry (so a 32-bit add builds two at once, with no carry
from one into the other); `grouped_layout` folds fan_in * B into each unit's bias.
Everything here is exact integer arithmetic: the kernel's sums equal the ungrouped sums.
The precomputed group tables' contents live in hwsim.ir.lut_grouped_flash.

Longer than 300 lines: the layout and the call (its variants' names, scratch and trip
counts) describe the one kernel together.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
# the combined indices and their blocked order, shared with the grouped convolution
from hwsim.ir.lut_grouped_indices import BLOCK, blocked_groups, combined_indices

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


def grouped_limits_ok(table: np.ndarray, bias_index: np.ndarray, fan: int, g: int) -> bool:
    """Whether a layer's table and bias indices allow uint16 group tables of g inputs and
    its sums the int32 accumulator (the checks `grouped_layout` raises on)."""
    try:
        _folded_bias(table, bias_index, fan, g)
    except HwsimError:
        return False
    return True


def _folded_bias(table, bias_index, fan: int, g: int) -> tuple[int, np.ndarray]:
    """(B, the int32 bias of every unit with fan_in x B folded in), or an error."""
    offset = entry_offset(table, g)
    bias = np.asarray(table, dtype=np.int64)[-1, np.asarray(bias_index)] - fan * offset
    # the int32 sum at any point: the folded bias plus up to fan_in entries of T' (<= 2B)
    if int(np.abs(bias).max(initial=0)) + 2 * fan * offset >= 1 << 31:
        raise HwsimError(f"grouped lut: {fan} inputs with entries up to {offset} can leave "
                         "the int32 accumulator")
    return offset, bias


def entry_offset(table: np.ndarray, g: int) -> int:
    """B = the largest |entry| of the product rows (bias row excluded), if 2 g B + g fits
    16 bits (every partial sum of g entries + B stays in [0, 2 g B]); else an error."""
    offset = int(np.abs(np.asarray(table[:-1], dtype=np.int64)).max(initial=0))
    if 2 * g * offset >= ENTRY_LIMIT:
        raise HwsimError(f"grouped lut: entries up to {offset} do not fit uint16 group "
                         f"tables of g={g} (need 2*g*B < {ENTRY_LIMIT})")
    return offset


def grouped_layout(table: np.ndarray, weight_index: np.ndarray, bias_index: np.ndarray,
                   clusters: int, g: int, chunk: int) -> GroupedLayout:
    """The grouped layer of a product table (rows x K2, the last row the bias row), unit-
    major weight indices and bias indices."""
    if not group_sizes_ok(clusters, g):
        raise HwsimError(f"grouped lut: {clusters} clusters cannot be grouped by {g} "
                         "(K a power of two, K^g <= 256)")
    k_log2 = clusters.bit_length() - 1
    fan = np.asarray(weight_index).shape[1]
    groups = -(-fan // g)
    offset, bias = _folded_bias(table, bias_index, fan, g)
    rows = (np.asarray(table, dtype=np.int64)[:-1] + offset).astype(np.uint16)
    return GroupedLayout(k_log2, g, offset, rows, groups, max(1, min(chunk, groups)),
                         bias.astype(np.int32),
                         blocked_groups(combined_indices(weight_index, k_log2, g)))


# ----------------------------------------------------------------------------- calls

# Group sizes the kernel builds (K^g <= 256 with K >= 4: g = 2, 3 or 4).
GROUP_SIZES = (2, 3, 4)
# Cluster counts (K, padded to a power of two) and group sizes it is characterized for.
GROUPINGS = tuple((k, g) for k in (4, 8, 16) for g in GROUP_SIZES if group_sizes_ok(k, g))
# Bytes of group tables a chunked call keeps live (the issue's ~2 KiB).
CHUNK_TABLE_BYTES = 2048
# 32-bit words of a hwsim_lut_grouped_call constant (hwsim_lut_grouped.h).
CALL_WORDS = 24
POINTER_BYTES = 4          # a precomputed call's scratch: one table address per group
ACC_BYTES = 4              # the units' int32 sums between chunks


@dataclass(frozen=True)
class GroupedCall:
    """One call of hwsim_lut_grouped_dense: K = 2^k_log2 clusters, g inputs a group,
    `chunk` group tables live at a time; `pattern_bits` > 0: the group tables precomputed
    (hwsim.ir.lut_grouped_flash, one chunk), patterns of that many bits an input."""
    k_log2: int
    g: int
    fan: int
    units: int
    chunk: int
    thresholded: bool
    steps: int
    pattern_bits: int = 0

    @property
    def function(self) -> str:
        """The characterization record: one per (K, g) and build or precomputed."""
        return f"grouped_k{1 << self.k_log2}_g{self.g}" + (FLASH if self.pattern_bits else "")

    @property
    def groups(self) -> int:
        return -(-self.fan // self.g)

    @property
    def live(self) -> int:
        """Group tables live at a time (the chunk, at most the groups; precomputed: all)."""
        return self.groups if self.pattern_bits else max(1, min(self.chunk, self.groups))

    @property
    def chunks(self) -> int:
        return -(-self.groups // self.live)

    @property
    def table_shift(self) -> int:
        return self.g * self.k_log2 + 1

    @property
    def table_bytes(self) -> int:
        """Group tables in RAM (precomputed: their addresses)."""
        if self.pattern_bits:
            return POINTER_BYTES * self.groups
        return self.live << self.table_shift

    @property
    def acc_bytes(self) -> int:
        """The units' sums between chunks (none with one chunk)."""
        return ACC_BYTES * self.units if self.chunks > 1 else 0

    @property
    def scratch_bytes(self) -> int:
        return self.table_bytes + self.acc_bytes

    @property
    def kernel(self) -> str:
        """The name the cost model shows: g, and the live tables when chunked."""
        return kernel_name(self.g, self.live, self.groups, bool(self.pattern_bits))


def chunk_options(k_log2: int, g: int, fan: int) -> tuple[int, ...]:
    """The chunks a layer may run with: every table live, and CHUNK_TABLE_BYTES of them
    when that is fewer."""
    groups = -(-fan // g)
    chunked = max(1, CHUNK_TABLE_BYTES >> (g * k_log2 + 1))
    return (groups,) + ((chunked,) if chunked < groups else ())


def grouped_trip_counts(call: GroupedCall, level_bits: int | None = None) -> dict[str, float]:
    """What the grouped kernel's executed instructions are a function of, for one (K, g)
    (the build of a full group is then a constant): groups built full or short (by the
    inputs of the short one), chunks, the block passes per chunk (groups in pairs and an
    odd one), the units after the blocks, outputs and the fused search (`level_bits` as
    in hwsim.ir.lut_kernels.trip_counts)."""
    live, chunks = call.live, call.chunks
    sizes = [min(live, call.groups - c * live) for c in range(chunks)]
    blocks, singles = call.units // BLOCK, call.units % BLOCK
    outputs = call.units
    counts = {"calls": 1, "full_groups": call.fan // call.g, "chunks": chunks,
              "short_chunk": int(call.groups % live != 0),
              "blocks": blocks, "singles": singles,
              "block_chunks": blocks * chunks,
              "block_pairs": blocks * sum(n // 2 for n in sizes),
              "block_odd": blocks * sum(n % 2 for n in sizes),
              "block_chunks_with_pairs": blocks * sum(n >= 2 for n in sizes),
              "chunks_with_blocks": chunks if blocks else 0,
              "chunks_with_singles": chunks if singles else 0,
              "chunks_with_both": chunks if blocks and singles else 0,
              "with_blocks": int(blocks > 0), "with_singles": int(singles > 0),
              "with_both": int(blocks > 0 and singles > 0),
              "single_chunks": singles * chunks, "single_groups": singles * call.groups,
              "outputs_levels": outputs if call.thresholded else 0,
              "outputs_sums": 0 if call.thresholded else outputs,
              "search_steps": outputs * call.steps if call.thresholded else 0,
              "outputs_unsearched": outputs if call.thresholded and not call.steps else 0}
    for r in range(1, call.g):
        counts[f"short_group_{r}"] = int(call.fan % call.g == r)
    if call.pattern_bits:                   # precomputed: the loop over full groups entered
        counts["with_full_groups"] = int(call.fan >= call.g)
    counts["level_bits"] = (level_bits if level_bits is not None
                            else outputs * call.steps / 2 if call.thresholded else 0)
    return counts


FLASH = "_flash"           # the name suffix of the precomputed variant


def kernel_name(g: int, live: int, groups: int, precomputed: bool = False) -> str:
    """The name of a grouped variant (GroupedCall.kernel)."""
    if precomputed:
        return f"grouped_g{g}{FLASH}"
    return f"grouped_g{g}" + (f"_c{live}" if live < groups else "")


def parse_kernel(name: str) -> tuple[int, int | None, bool] | None:
    """(g, live tables or None for all, precomputed) of a grouped variant's name, None for
    another."""
    if not name.startswith("grouped_g"):
        return None
    rest = name.removeprefix("grouped_g")
    if rest.endswith(FLASH):
        return int(rest.removesuffix(FLASH)), None, True
    g, _, live = rest.partition("_c")
    return int(g), int(live) if live else None, False


def padded_clusters(columns: int) -> int:
    """K2: a table's columns padded to a power of two."""
    return 1 << max(0, (columns - 1).bit_length())


def node_grouped_call(graph, node: str, kernel: str):
    """The grouped call of dense node `node` run by variant `kernel` (its fused threshold
    searched in the call, as the lut library's), or None when `kernel` is no grouped one;
    of a conv1d or conv2d node, the grouped convolution's call
    (hwsim.ir.lut_grouped_conv.GroupedConvCall)."""
    from hwsim.ir.lowering import threshold_consumer
    from hwsim.ir.lut_grouped_flash import input_level_bits
    from hwsim.ir.lut_kernels import search_steps
    parsed = parse_kernel(kernel)
    if parsed is None:
        return None
    g, live, precomputed = parsed
    op = graph.nodes[node]["op"]
    fan, units = np.asarray(op.weight_index).shape
    fused = threshold_consumer(graph, node)
    steps = search_steps(len(graph.nodes[fused]["op"].thresholds)) if fused else 0
    k_log2 = padded_clusters(op.table_shape[1]).bit_length() - 1
    if op.kind != "dense":
        from hwsim.ir.int8_kernels import select_kernel
        from hwsim.ir.lut_grouped_conv import GroupedConvCall
        return GroupedConvCall(k_log2, g, select_kernel(op.kind, tuple(op.input_shape),
                                                        op.layer), bool(fused), steps)
    return GroupedCall(k_log2, g, int(fan), int(units), live or -(-int(fan) // g),
                       bool(fused), steps,
                       input_level_bits(op.table_shape[0] - 1) if precomputed else 0)
