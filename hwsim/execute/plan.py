"""Build time of the executor: turns a checked graph into per-node plans (gather
offsets, per-connection column tables, tap slices, padded threshold arrays, widths
and memories for the counters). All index and shape arithmetic, multiplications
included, happens here, once per graph; the inference functions in
hwsim/execute/ops.py only gather, add, compare and take maxima.

Column tables: for a weighted layer with table T (R rows) and weight indices w,
``columns[c * R + r] = T[r, w[c]]`` for every connection row c of w (a row of
K-indexed entries re-laid out per connection). A unit's sum is then one row gather
per connection, indexed by ``c * R + level``: the same table entries a device loads
with ``T[level, w[c, o]]``, fetched without a 2-D address. When the column table
would be large (COLUMN_TABLE_MAX_ENTRIES), the plan keeps T itself (transposed) and
the gather reads ``T[level, w[c, o]]`` element by element ("direct"). A layer of one
kernel tap whose static bound fits the accumulator keeps its column table where the
compiled row sums are there (hwsim/execute/host.py: one C loop adds its rows, found
through the plan's row offsets). Otherwise (numpy's gathers), layers whose
static bound fits the accumulator gather one row per g input channels from grouped
tables instead where that pays (hwsim/execute/grouped.py), a dense layer's lane-packed
where the proven lane width lets three units or more share an int64 word and that
beats its int rows (hwsim/execute/packed.py), else in int16 rows halved in int16 first
where every pair sum provably fits, centred where that helps (hwsim/execute/grouped.py);
threshold and pool searches
get bucket or per-value level tables (hwsim/execute/search.py).

Longer than 300 lines: one plan builder per op kind, kept together because they share the
offset, width and memory arithmetic the counters rely on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from hwsim.ir.ops import WEIGHTED
from hwsim.execute import host
from hwsim.execute.counters import Placement, storage_bits
from hwsim.execute.check import check_executable, signed_range
from hwsim.execute.grouped import (Grouping, centred_rows, group_size, group_sum_ranges,
                                   grouped_columns, grouping, stored_fits)
from hwsim.execute.packed import Packing, plan_packing
from hwsim.execute.search import Search, make_search
from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.graph import execution_order
from hwsim.ir import layers as L
from hwsim.ir.geometry import output_length, same_padding

COLUMN_TABLE_MAX_ENTRIES = 1 << 22   # per node; larger: gather the table directly
CHUNK_ELEMENTS = 1 << 22             # gathered entries per batch chunk (peak memory)
DENSE_GROUP = 16                     # inputs per checkpoint of a dense layer's checked path
COPY_ROW_BYTES = 32                  # rows up to this (a power of two) copy without memmove
KEEP_FASTER_ROWS = True              # int rows that beat the lane-packed words: kept
# A dense layer's int rows or lane-packed words (hwsim/execute/packed.py), by the cost of
# a sample's sum in int64 word adds (0.17 ns each: digits-mlp's L2.dense sums 64 x 364 x 4
# words in 0.016 ms), from benchmarks/executor_speed.py on the digits test sets (364
# samples), best runs of each layer's sum and unpacking alone:
SUM_COSTS = {
    "int16 rows": 0.94,        # int16 rows summed into int32 (digits-ae L4.dense, 0.16 ns)
    "int32 rows": 0.65,        # int32 rows summed (digits-ae L3.dense, 0.11 ns)
    "int16 add": 0.3,          # a halving's int16 add (digits-mlp L1.dense, 0.05 ns)
    "unpack a unit": 4.7,      # shifts, masks, offsets (digits-mlp L1.dense, 0.8 ns)
    "unpack a layer": 240.0,   # the unpacking's dozen numpy calls, 15 us over 364 samples
}


@dataclass(frozen=True)
class LutGroup:
    """One kernel tap (or, on the checked path of a dense layer, a run of inputs):
    the connections it adds and the output positions they reach."""
    input_index: tuple                # indexes the input (N, ..., C): taps' positions, channels
    output_index: tuple               # indexes the accumulator (N, ..., O)
    offsets: np.ndarray               # added to the gathered level indices (see module doc)
    connections: int = 0              # the connections it adds per sample


@dataclass(frozen=True)
class LutPlan:
    mode: str                         # "rows", "direct" or "depthwise"
    columns: np.ndarray               # the table the gathers read
    groups: tuple[LutGroup, ...]
    bias: np.ndarray                  # (O,) bias entries T[R-1, b]
    output_shape: tuple[int, ...]
    units: int                        # O; rows of "rows" columns may be padded beyond it
    single: bool                      # one group reaching every unit, no checkpoints
    acc_dtype: type
    safe: bool                        # static bound fits: no partial sum can leave the range
    bound: int
    batch_rows: int
    acc_range: tuple[int, int]
    acc_bits: int
    activation_bits: int
    index_bits: int
    table_bits: int
    placement: Placement
    grouping: Grouping | None = None  # "rows" over grouped tables (hwsim/execute/grouped.py)
    packing: Packing | None = None    # single grouped: lane-packed rows (hwsim/execute/packed.py)
    halvings: int = 0                 # single grouped int16 rows: halvings in int16 first
    restore: np.ndarray | None = None  # centred rows: int32 (units,) added to the sums
    # single "rows" plans: per row number its first entry's offset in columns, for the
    # compiled row sums (hwsim/execute/host.py), and the rows of one group
    row_offsets: np.ndarray | None = None
    group_rows: int = 0


@dataclass(frozen=True)
class ThresholdPlan:
    search: Search
    sum_bits: int
    placement: Placement


@dataclass(frozen=True)
class PoolPlan:
    taps: tuple[tuple, ...]           # per window tap: an index of the input
    search: Search | None             # average pools: over pool_bounds
    placement: Placement


@dataclass(frozen=True)
class AddPlan:
    value_tables: tuple               # per input: int64 value table (levels) or None (sums)
    input_bits: tuple[int, ...]
    table_bits: int
    acc_range: tuple[int, int]
    acc_bits: int
    placement: Placement


@dataclass(frozen=True)
class ArgmaxPlan:
    input_bits: int
    placement: Placement


@dataclass(frozen=True)
class Step:
    node: str
    op: str
    inputs: tuple[str, ...]
    plan: object


@dataclass(frozen=True)
class ExecutionPlan:
    name: str
    task: str
    input_shape: tuple[int, ...]
    input_levels: int
    steps: tuple[Step, ...]
    output: str


def _tap_range(n: int, kernel: int, stride: int, padding: str, tap: int):
    """(output slice, input slice) of the outputs whose tap `tap` reads a real input."""
    out = output_length(n, kernel, stride, padding)
    before = same_padding(n, kernel, stride)[0] if padding == "same" else 0
    first = max(0, -((tap - before) // stride))
    last = min(out - 1, (n - 1 + before - tap) // stride)
    if last < first:
        return None
    start = first * stride + tap - before
    return slice(first, last + 1), slice(start, last * stride + tap - before + 1, stride)


def _taps(layer, shape):
    """Per kernel tap: (row of w's tap block, output slices, input slices)."""
    if isinstance(layer, L.Dense):
        return [(0, (), ())]
    if isinstance(layer, L.Conv1D):
        kernels, strides = (layer.kernel,), (layer.stride,)
    else:
        kernels, strides = (layer.kernel_h, layer.kernel_w), (layer.stride_h, layer.stride_w)
    taps = []
    for t, offsets in enumerate(np.ndindex(*kernels)):
        ranges = [_tap_range(n, k, s, layer.padding, j)
                  for n, k, s, j in zip(shape[:-1], kernels, strides, offsets)]
        if all(r is not None for r in ranges):
            taps.append((t, tuple(r[0] for r in ranges), tuple(r[1] for r in ranges)))
    return taps


def _static_bound(table: np.ndarray, w: np.ndarray, b: np.ndarray) -> int:
    """Largest |partial sum| any unit can reach, over every input and every order."""
    worst = np.abs(table[:-1]).max(axis=0)
    return int((worst[w].sum(axis=0) + np.abs(table[-1, b])).max())


def row_bytes(entries: int, itemsize: int) -> int:
    """The bytes of a gathered row of `entries` items once padded (_pad_rows: rows up
    to COPY_ROW_BYTES to a power of two)."""
    size = entries * itemsize
    if size > COPY_ROW_BYTES or size & (size - 1) == 0:
        return size
    return 1 << size.bit_length()


def _rows_beat_words(groups: int, units: int, words: int, itemsize: int,
                     halvings: int) -> bool:
    """Whether a dense layer's int group rows (of `itemsize` bytes, halved `halvings`
    times in int16 first) beat its `words` lane-packed words: copied without memmove
    where the words would not be, or a sample's sum cheaper (SUM_COSTS) than the words'
    sum and unpacking."""
    if row_bytes(units, itemsize) <= COPY_ROW_BYTES < row_bytes(words, 8):
        return True
    rows, cost = groups, 0.0
    for _ in range(halvings):
        cost += (rows >> 1) * units * SUM_COSTS["int16 add"]
        rows -= rows >> 1
    cost += rows * units * SUM_COSTS["int16 rows" if itemsize <= 2 else "int32 rows"]
    return cost <= groups * words + units * SUM_COSTS["unpack a unit"] + SUM_COSTS[
        "unpack a layer"]


def _dense_rows(table: np.ndarray, w: np.ndarray, b: np.ndarray, channels: int, size: int,
                samples: int | None):
    """How a grouped dense layer of group size `size` stores and sums its rows: (int16
    rows, int16 halvings, centres or None, lane packing or None, the tables' bytes)
    (hwsim/execute/grouped.py centred_rows, hwsim/execute/packed.py; packing where it
    beats the int rows)."""
    plan = grouping(table.shape[0] - 1, channels, size)
    units = w.shape[1]
    short, halvings, centres = centred_rows(*(end[0] for end in group_sum_ranges(
        table[:-1], w, 1, channels, plan, table[-1, b])))
    packing = plan_packing(table[:-1], w, table[-1, b], samples, plan.groups)
    if packing is not None and KEEP_FASTER_ROWS and _rows_beat_words(
            plan.groups, units, packing.words, 2 if short else 4, halvings):
        packing = None
    row = packing.words * 8 if packing is not None else units * (2 if short else 4)
    return short, halvings, centres, packing, plan.groups * plan.rows * row


def _pad_rows(columns: np.ndarray) -> np.ndarray:
    """Rows of at most COPY_ROW_BYTES (32) bytes padded with zeros to 2, 4, 8, 16 or 32
    bytes (row_bytes): numpy's take copies rows of those sizes
    without a memmove call (a speed-up only; the padding is never added into a sum nor
    counted)."""
    size = row_bytes(columns.shape[1], columns.itemsize)
    if size == columns.shape[1] * columns.itemsize:
        return columns
    padded = np.zeros((columns.shape[0], size // columns.itemsize), dtype=columns.dtype)
    padded[:, :columns.shape[1]] = columns
    return padded


def _narrow(table: np.ndarray) -> type:
    low, high = int(table.min()), int(table.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if low >= info.min and high <= info.max:
            return dtype
    return np.int64


def _lut_plan(g: nx.DiGraph, a: dict, placement: Placement, samples: int | None) -> LutPlan:
    layer, table = a.layer, g.graph["tables"][a.table].astype(np.int64)
    w, b = a.weight_index.astype(np.intp), a.bias_index.astype(np.intp)
    rows = table.shape[0]
    acc_bits = g.graph["accumulator_bits"]
    lo, hi = signed_range(acc_bits)
    bound = _static_bound(table, w, b)
    safe = bound < hi        # strict: int32 sums then stay below the int32 sentinel
    acc_dtype = np.int32 if safe else np.int64
    entry_dtype = _narrow(table) if safe else np.int64
    in_shape, out_shape = tuple(a.input_shape), tuple(a.output_shape)
    depthwise = isinstance(layer, L.DepthwiseConv2D)
    channels = in_shape[-1]
    spatial = len(in_shape) - 1
    groups, grouped, packing, halvings, centres = [], None, None, 0, None
    if depthwise:
        mode = "depthwise"
        columns = table[:, w].transpose(1, 2, 0).reshape(-1).astype(entry_dtype)   # (tap, c, r)
        for t, out_index, in_index in _taps(layer, in_shape):
            offsets = (t * channels + np.arange(channels, dtype=np.intp)) * rows
            groups.append(LutGroup((slice(None), *in_index, slice(None)),
                                   (slice(None), *out_index, slice(None)), offsets))
        per_sample = math.prod(out_shape)
    else:
        units = out_shape[-1]
        taps = _taps(layer, in_shape)
        kernel_taps = w.shape[0] // channels
        gathered = None if samples is None else samples * w.shape[0] * math.prod(out_shape[:-1])
        dense = isinstance(layer, L.Dense)
        # one tap, every sum in range, a column table of ordinary size: summed by the
        # compiled row sums where they are there, per connection (no grouped tables:
        # measured faster, and nothing to build; docs/graph.md section 7)
        compiled = (safe and kernel_taps == 1 and w.size * rows <= COLUMN_TABLE_MAX_ENTRIES
                    and host.available())
        # a dense layer's g = 2 tables may hold twice the entries where they are stored
        # as int16 rows or lane-packed words (the same 8 MB): tried first, kept if so
        size = group_size(rows - 1, channels, units, kernel_taps, gathered,
                          int(dense)) if safe and not compiled else 1
        chosen = _dense_rows(table, w, b, channels, size, samples) if dense and size > 1 \
            else None
        if chosen is not None and not stored_fits(chosen[-1]):
            size = group_size(rows - 1, channels, units, kernel_taps, gathered)
            chosen = _dense_rows(table, w, b, channels, size, samples) if size > 1 else None
        direct = size == 1 and w.size * rows > COLUMN_TABLE_MAX_ENTRIES
        mode = "direct" if direct else "rows"
        if size > 1:
            grouped = grouping(rows - 1, channels, size)
            if chosen is not None:              # single: its bias in the first group's rows
                short, halvings, centres, packing, _ = chosen
            shift = None if packing is not None or centres is None else -centres[None]
            columns = grouped_columns(table[:-1], w, kernel_taps, channels, grouped, packing,
                                      shift)
            channels, rows = grouped.groups, grouped.rows
        elif direct:
            columns = np.ascontiguousarray(table.T).reshape(-1).astype(entry_dtype)  # (k, r)
        else:
            columns = table[:, w].transpose(1, 0, 2).reshape(-1, units).astype(entry_dtype)
            columns = _pad_rows(columns)
        chunk = channels if safe or not isinstance(layer, L.Dense) else DENSE_GROUP
        broadcast = (slice(None),) + (None,) * (spatial + 1)   # over the batch and positions
        for t, out_index, in_index in taps:
            reached = math.prod(len(range(n)[i]) for n, i in zip(out_shape, out_index))
            for c0 in range(0, channels, chunk):
                c1 = min(channels, c0 + chunk)
                conn = t * channels + np.arange(c0, c1, dtype=np.intp)
                offsets = (w[conn] * rows if direct else conn * rows)[broadcast]
                stands_for = in_shape[-1] if grouped else c1 - c0   # input channels
                groups.append(LutGroup((slice(None), *in_index, slice(c0, c1)),
                                       (slice(None), *out_index, slice(None)), offsets,
                                       reached * stands_for * units))
        per_sample = max(1, max((g_.offsets.shape[0] for g_ in groups), default=1)
                         * math.prod(out_shape))
    single = len(groups) == 1 and safe and not depthwise and all(   # every output reached
        range(n)[index] == range(n) for n, index in zip(out_shape, groups[0].output_index[1:]))
    restore = None
    if grouped is not None and packing is None:
        if single:                       # fused: the bias entries in the first group's rows
            columns[:grouped.rows] += table[-1, b].astype(np.int32)
        if centres is not None:          # centred rows (built so): the centres added back
            restore = centres.sum(axis=0).astype(np.int32)
        narrow = np.int16 if halvings else _narrow(columns)    # int16 adds: int16 rows
        columns = _pad_rows(columns.astype(narrow))   # int16 where the sums fit
    elif packing is not None:            # the bias entries in the offsets
        columns = _pad_rows(columns)
    row_offsets = None
    if single and mode == "rows":        # compiled row sums: row number -> first entry
        columns = np.ascontiguousarray(columns)
        row_offsets = np.arange(len(columns), dtype=np.intp) * columns.shape[1]
    return LutPlan(mode, columns, tuple(groups), table[-1, b].astype(acc_dtype), out_shape,
                   out_shape[-1], single, acc_dtype, safe, bound,
                   max(1, CHUNK_ELEMENTS // per_sample), (lo, hi),
                   acc_bits, 8, storage_bits(a.index_bits), g.graph["table_entry_bits"],
                   placement, grouped, packing, halvings if packing is None else 0, restore,
                   row_offsets, rows)


def _pool_geometry(layer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(layer, (L.MaxPool1D, L.AvgPool1D)):
        sizes, strides = (layer.size,), (layer.stride,)
    else:
        sizes, strides = (layer.size_h, layer.size_w), (layer.stride_h, layer.stride_w)
    return sizes, strides


def _pool_plan(a: dict, acc_bits: int, placement: Placement) -> PoolPlan:
    layer = a.layer
    sizes, strides = _pool_geometry(layer)
    out_shape = a.output_shape
    taps = []
    for offsets in np.ndindex(*sizes):
        index = tuple(slice(j, j + s * (o - 1) + 1, s)
                      for j, s, o in zip(offsets, strides, out_shape[:-1]))
        taps.append((slice(None), *index, slice(None)))
    search = None
    if a.kind.startswith("avg_"):
        search = make_search(np.asarray(a.pool_bounds, dtype=np.int64), acc_bits,
                             placement.thresholds)
    return PoolPlan(tuple(taps), search, placement)


def build_plan(g: nx.DiGraph, placement: Placement = Placement(),
               samples: int | None = None) -> ExecutionPlan:
    """Check `g` and prepare every node for execution; `samples`: the batch the plan is
    built for, when known (grouped tables only where that batch repays them)."""
    check_executable(g)
    acc_bits = g.graph["accumulator_bits"]
    sum_bits = storage_bits(acc_bits)
    steps = []
    output = None
    for node in execution_order(g):
        a = g.nodes[node]["op"]
        op = a.kind
        preds = tuple(g.predecessors(node))
        plan = None
        if op in WEIGHTED:
            plan = _lut_plan(g, a, placement, samples)
        elif op == "threshold":
            plan = ThresholdPlan(make_search(np.asarray(a.thresholds, dtype=np.int64),
                                             sum_bits, placement.thresholds), sum_bits, placement)
        elif op.endswith("_pool1d") or op.endswith("_pool2d"):
            plan = _pool_plan(a, sum_bits, placement)
        elif op == "add":
            tables, bits = [], []
            for src in preds:
                levels = g.edges[src, node]["kind"] == "levels"
                tables.append(g.graph["value_tables"][VALUE_TABLE].astype(np.int64)
                              if levels else None)
                bits.append(8 if levels else sum_bits)
            plan = AddPlan(tuple(tables), tuple(bits), g.graph["table_entry_bits"],
                           signed_range(acc_bits), acc_bits, placement)
        elif op == "argmax":
            kind = g.edges[preds[0], node]["kind"]
            plan = ArgmaxPlan(8 if kind == "levels" else sum_bits, placement)
        if op in ("argmax", "output_table"):
            output = node
        steps.append(Step(node, op, preds, plan))
    return ExecutionPlan(g.graph.get("name", ""), g.graph.get("task", ""),
                         tuple(g.graph["input_shape"]), g.graph["input_levels"], tuple(steps),
                         output)
