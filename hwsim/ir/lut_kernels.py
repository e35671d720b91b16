"""Which lut library kernel (hwsim/machine/kernels/lut) runs a weighted node, the layout of
its weights and window geometry, and the trip counts its executed instructions are a
function of.

One selection rule for everyone: the code generator calls the selected kernel with the
layout below, the cost model prices it from its characterization
(hwsim/cost/data/lut_<target>.json), the characterization (hwsim.machine.lut_characterize)
fits and proves counts as functions of `trip_counts`.

    call = lut_call(op, entry_bits=16, target="cortex-m4")   # a WeightedOp of the graph
    call.function, call.block                                 # "hwsim_lut_conv_s16", 6

Selection: dense, conv1d and conv2d -> hwsim_lut_conv (dense is one position with one run
of fan_in inputs; conv1d a conv2d of height 1); depthwise_conv2d -> hwsim_lut_depthwise.
The suffix follows the table's entries: `_s8` (8-bit entries; a weight code is its
index, which is its byte offset in the row), `_s16` (16-bit entries, K <= 128: the code is
the byte offset 2 x index, which saves the shift), `_s16i` (16-bit, K = 256: the index).
Tables with 32-bit entries or K > 256 (16-bit weight indices) are not in the library
(`lut_call` returns None: the code generator emits its per-layer loops).

Blocking: the output units of dense and convolution layers are taken HWSIM_LUT_BLOCK at a
time (BLOCKS: 4 on Armv6-M, whose hand-allocated loop holds four accumulators in r8-r11;
7 on Armv7E-M, every free register; 8 on RV32); inside a block the weights are tap-major
(w[tap][unit], a tap's byte codes padded to whole words: the Arm passes load them by
words); the remaining units (units mod block) follow as a quad of 4 (Armv7E-M, when 4 or
more remain: QUAD_BLOCKS), in pairs, tap-major, and the last odd one.

Packed weight codes (`packed_calls`; chosen per layer by hwsim.cost.lut_choice): the
dense/convolution call's `_s8p4`/`_s16p4` (K <= 16) and `_s8p2`/`_s16p2` (K <= 4)
variants store a full block's indices per tap in one little-endian word of `tap_bytes`
(unit j at bit bits x j), the units after the blocks a byte code each
(`layout_weights`, `weight_bytes`); their trip counts are the byte codes'.

Longer than 300 lines: the selection rule, the layouts and the trip counts all read the
one `LutCall` record and its `geometry`; the code generator, the harness, the cost model
and the memory planner import them together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hwsim.ir.int8_kernels import TARGET_OF_ISA, KernelCall, select_kernel

# Output units per pass over the inputs, per library build (code generation target); the
# code generator writes it into hwsim_lut_config.h. Inputs per loop pass: UNROLL.
BLOCKS = {"cortex-m0": 4, "cortex-m4": 7, "rv32im": 8, "rv32i": 8}
UNROLL = {"cortex-m0": 8, "cortex-m4": 8, "rv32im": 2, "rv32i": 2}
# The units after a build's full blocks: on the builds of QUAD_BLOCKS (Armv7E-M's block of
# 7, whose tail has a hand-allocated pass of its own) one quad of QUAD units when that many
# remain (tap-major, its codes one word per tap), then pairs, then one.
QUAD = 4
QUAD_BLOCKS = frozenset({BLOCKS["cortex-m4"]})
VARIANTS = ("s8", "s16", "s16i")
KERNEL_NAMES = ("conv", "depthwise")
# Packed weight codes (dense and convolution kernel only): bits per code -> the most table
# columns (padded) it indexes; a variant is its entry variant and "p<bits>" ("s16p4").
PACK_BITS = {4: 16, 2: 4}
PACKED_VARIANTS = tuple(f"{v}p{b}" for b in PACK_BITS for v in ("s8", "s16"))
FUNCTIONS = (*(f"hwsim_lut_{k}_{v}" for k in KERNEL_NAMES for v in VARIANTS),
             *(f"hwsim_lut_conv_{v}" for v in PACKED_VARIANTS))


@dataclass(frozen=True)
class LutCall:
    """One library call: the kernel, the entry variant, the target's block and the shapes
    (NHWC; dense: in_h = in_w = out_h = out_w = 1, kh = kw = 1)."""
    kernel: str                  # "conv" or "depthwise"
    variant: str                 # "s8", "s16" or "s16i"
    block: int
    unroll: int
    shape: KernelCall            # in/out shapes, kernel, strides, padding before
    thresholded: bool            # a fused threshold: levels out, else int32 sums
    steps: int                   # binary-search steps of the fused threshold

    @property
    def function(self) -> str:
        return f"hwsim_lut_{self.kernel}_{self.variant}"

    @property
    def units(self) -> int:
        return self.shape.out_c


def pack_bits(variant: str) -> int:
    """Bits per packed weight code of a variant, 0 for a byte per code."""
    return int(variant.partition("p")[2] or 0)


def entry_variant(variant: str) -> str:
    """The entry variant of a (packed) variant: "s16p4" -> "s16"."""
    return variant.partition("p")[0]


def tap_bytes(call: "LutCall") -> int:
    """Bytes of a full block's weight codes per tap: a byte per code rounded up to whole
    words (the Arm passes load a tap's codes by words; Armv7E-M's block of 7 pads one
    byte), or its packed codes in one 1, 2 or 4 byte word (block x bits rounded up to a
    power of two)."""
    bits = pack_bits(call.variant)
    if not bits:
        return byte_tap_bytes(call.block)
    return 1 << max(0, math.ceil(math.log2(math.ceil(call.block * bits / 8))))


def byte_tap_bytes(block: int) -> int:
    """Bytes per tap of `block` byte codes: rounded up to whole 32-bit words."""
    return -(-block // 4) * 4


def packed_calls(call: "LutCall", clusters: int) -> tuple["LutCall", ...]:
    """The packed variants of a dense or convolution call whose table of K = `clusters`
    columns their codes index (4 bits: K <= 16, 2 bits: K <= 4), widest codes first."""
    if call.kernel != "conv" or call.variant not in ("s8", "s16"):
        return ()
    k2 = padded_columns(clusters)
    return tuple(replace(call, variant=f"{call.variant}p{b}")
                 for b, most in PACK_BITS.items() if k2 <= most)


def with_kernel(call: "LutCall", kernel: str | None) -> "LutCall":
    """`call` running kernel name `kernel` ("conv_s16p4": its packed variant); the call
    itself for its own name, None or another kernel (a grouped one)."""
    variant = (kernel or "").removeprefix(f"{call.kernel}_")
    return replace(call, variant=variant) if variant in PACKED_VARIANTS else call


def padded_columns(clusters: int) -> int:
    """A table's row length: K = `clusters` padded to a power of two."""
    return 1 << max(0, math.ceil(math.log2(max(clusters, 1))))


def row_shift(clusters: int, variant: str) -> int:
    """log2 of a table row's size in bytes (the call's row_shift, what each lookup
    shifts a level by): K = `clusters` padded to a power of two, entries of `variant`
    (one byte for s8, two otherwise)."""
    entry_bytes = 1 if entry_variant(variant) == "s8" else 2
    return padded_columns(clusters).bit_length() - 1 + entry_bytes.bit_length() - 1


def lut_shift_amounts(clusters: int, call: "LutCall") -> dict[str, int]:
    """What the library's shifts by a register shift by in a call (role -> bits; priced on
    a serial shifter, hwsim.cost.serial_shift): the row shift of a table of K =
    `clusters` columns, and the fused threshold's first search step, 1 << (steps - 1)."""
    return {"row": row_shift(clusters, call.variant), "search": max(call.steps - 1, 0)}


def variant_of(entry_bits: int, clusters: int) -> str | None:
    """The entry variant for a table of `entry_bits` storage and K = `clusters` columns
    (padded to a power of two), None when the library has none."""
    k2 = padded_columns(clusters)
    if k2 > 256:
        return None
    if entry_bits <= 8:
        return "s8"
    if entry_bits <= 16:
        return "s16" if k2 <= 128 else "s16i"
    return None


def search_steps(count: int) -> int:
    """Binary-search steps over `count` sorted bounds: ceil(log2(count + 1))."""
    return max(0, math.ceil(math.log2(count + 1)))


def node_call(g, node: str, target: str) -> LutCall | None:
    """The library call of weighted node `node` of graph `g` on library build `target`
    (its fused threshold searched in the call), or None when the library does not cover
    it (entry width, K, a sum read by several consumers)."""
    from hwsim.ir.lowering import threshold_consumer
    fused = threshold_consumer(g, node)
    if fused and g.out_degree(node) != 1:
        return None
    steps = search_steps(len(g.nodes[fused]["op"].thresholds)) if fused else 0
    bits = g.graph["table_entry_bits"]
    return lut_call(g.nodes[node]["op"], 8 if bits <= 8 else 16 if bits <= 16 else 32, target,
                    steps, bool(fused))


def library_target(isa: str) -> str | None:
    """The library build a device ISA runs (hwsim.ir.int8_kernels.TARGET_OF_ISA)."""
    return TARGET_OF_ISA.get(isa)


def lut_call(op, entry_bits: int, target: str, steps: int = 0, thresholded: bool = False
             ) -> LutCall | None:
    """The library call of a graph's WeightedOp for a library build, or None."""
    shape = select_kernel(op.kind, tuple(op.input_shape), op.layer)
    kernel = "depthwise" if op.kind == "depthwise_conv2d" else "conv"
    return lut_call_of_shape(kernel, shape, entry_bits, op.table_shape[1], target, steps,
                             thresholded)


def lut_call_of_shape(kernel: str, shape: KernelCall, entry_bits: int, clusters: int,
                      target: str, steps: int = 0, thresholded: bool = False
                      ) -> LutCall | None:
    """The library call of `kernel` on shapes `shape` for a table of `entry_bits` entries
    and `clusters` columns, or None when the library has no variant for it."""
    variant = variant_of(entry_bits, clusters)
    if variant is None or target not in BLOCKS:
        return None
    return LutCall(kernel, variant, BLOCKS[target], UNROLL[target], shape, thresholded,
                   steps)


# ----------------------------------------------------------------------------- layout

def weight_codes(weight_index: np.ndarray, variant: str) -> np.ndarray:
    """The stored code of each weight index: its byte offset in the table row (2 x index
    for `s16`), the index itself otherwise."""
    w = np.asarray(weight_index, dtype=np.int64)
    return w * 2 if entry_variant(variant) == "s16" else w


def layout_weights(weight_index: np.ndarray, call: LutCall) -> np.ndarray:
    """A call's weight codes as stored (flat uint8) from unit-major indices (units,
    taps): depthwise [channel][tap] byte codes; dense and convolution blocked
    (`blocked_weights`), a packed variant's full blocks as one little-endian word of
    `tap_bytes` per tap (unit j's index at bit bits x j) and the units after them a
    byte code each."""
    index = np.asarray(weight_index, dtype=np.int64)
    codes = weight_codes(index, call.variant)
    if call.kernel == "depthwise":
        return codes.reshape(-1).astype(np.uint8)
    bits = pack_bits(call.variant)
    if not bits:
        return blocked_weights(codes, call.block)
    units, full = index.shape[0], index.shape[0] - index.shape[0] % call.block
    width = tap_bytes(call)
    shifts = (bits * np.arange(call.block, dtype=np.uint64))[None, :]
    parts = []
    for o in range(0, full, call.block):
        words = (index[o:o + call.block].T.astype(np.uint64) << shifts).sum(axis=1)
        parts.append(words.astype(f"<u{width}").view(np.uint8))
    parts.append(blocked_weights(codes[full:], call.block) if units > full
                 else np.zeros(0, np.uint8))
    return np.concatenate(parts).astype(np.uint8)


def weight_bytes(call: LutCall) -> int:
    """Bytes of `layout_weights` of a call (what the generated code stores)."""
    g = geometry(call)
    if call.kernel == "depthwise":
        return g.units * g.fan
    full = g.units - g.units % call.block
    return full // call.block * g.fan_block + (g.units - full) * g.fan


def blocked_weights(codes: np.ndarray, block: int) -> np.ndarray:
    """Unit-major codes (units, taps) in the library's order: each full block of `block`
    units tap-major (w[tap][unit], each tap's codes padded with zeros to
    `byte_tap_bytes`), then the remaining units: a quad (`QUAD` units, tap-major) where
    the block is one of QUAD_BLOCKS and that many remain, pairs, tap-major, and the last
    one as it is; flat uint8."""
    codes = np.asarray(codes)
    units, taps = codes.shape[0], (codes.shape[1] if codes.ndim > 1 else 0)
    full = units - units % block
    quad = full + (QUAD if block in QUAD_BLOCKS and units - full >= QUAD else 0)
    pairs = quad + (units - quad) // 2 * 2
    width = byte_tap_bytes(block)
    parts = []
    for o in range(0, full, block):
        padded = np.zeros((taps, width), dtype=codes.dtype)
        padded[:, :block] = codes[o:o + block].T
        parts.append(padded.reshape(-1))
    parts += [codes[o:o + QUAD].T.reshape(-1) for o in range(full, quad, QUAD)]
    parts += [codes[o:o + 2].T.reshape(-1) for o in range(quad, pairs, 2)]
    parts.append(codes[pairs:].reshape(-1))
    return np.concatenate(parts).astype(np.uint8) if parts else np.zeros(0, np.uint8)


@dataclass(frozen=True)
class Axis:
    """Per output position along one axis: first input (in its units), first tap, taps."""
    start: tuple[int, ...]
    first_tap: tuple[int, ...]
    taps: tuple[int, ...]


def axis(length: int, kernel: int, stride: int, pad_before: int, out: int) -> Axis:
    """The clipped window of every output position along one axis."""
    start, first, taps = [], [], []
    for p in range(out):
        s = p * stride - pad_before
        j0, j1 = max(0, -s), min(kernel, length - s)
        start.append(s + j0)
        first.append(j0)
        taps.append(j1 - j0)
    return Axis(tuple(start), tuple(first), tuple(taps))


@dataclass(frozen=True)
class Geometry:
    """hwsim_lut_geometry (hwsim_lut.h): the scalars and the eight per-axis arrays."""
    out_h: int
    out_w: int
    units: int
    fan: int
    x_row: int
    tap_row: int
    tap_row_block: int
    fan_block: int
    row_x: tuple[int, ...]
    row_tap: tuple[int, ...]
    row_tap_block: tuple[int, ...]
    row_count: tuple[int, ...]
    col_x: tuple[int, ...]
    col_tap: tuple[int, ...]
    col_tap_block: tuple[int, ...]
    col_count: tuple[int, ...]

    SCALARS = ("out_h", "out_w", "units", "fan", "x_row", "tap_row", "tap_row_block",
               "fan_block")
    ARRAYS = ("row_x", "row_tap", "row_tap_block", "row_count", "col_x", "col_tap",
              "col_tap_block", "col_count")


# 32-bit words of a hwsim_lut_call constant (hwsim_lut.h): the layer's six fields, the
# geometry's scalars and array pointers, the weight codes' pointer.
CALL_WORDS = 6 + len(Geometry.SCALARS) + len(Geometry.ARRAYS) + 1


@lru_cache(maxsize=4096)
def geometry(call: LutCall) -> Geometry:
    """The window geometry of a call, as the kernel reads it (it never multiplies)."""
    s, b = call.shape, tap_bytes(call)     # a block's weight bytes per tap
    rows = axis(s.in_h, s.kh, s.stride_h, s.pad_top, s.out_h)
    cols = axis(s.in_w, s.kw, s.stride_w, s.pad_left, s.out_w)
    depthwise = call.kernel == "depthwise"
    c = s.in_c
    step = 1 if depthwise else c           # taps per kernel column
    tap_row = s.kw * step
    fan = s.kh * tap_row
    row_tap = tuple(f * tap_row for f in rows.first_tap)
    col_tap = tuple(f * step for f in cols.first_tap)
    return Geometry(
        s.out_h, s.out_w, s.out_c, fan, s.in_w * c, tap_row, tap_row * b, fan * b,
        tuple(v * s.in_w * c for v in rows.start), row_tap, tuple(v * b for v in row_tap),
        rows.taps, tuple(v * c for v in cols.start), col_tap,
        tuple(v * b for v in col_tap), tuple(t * step for t in cols.taps))


# ----------------------------------------------------------------------------- trip counts

def trip_counts(call: LutCall, level_bits: int | None = None) -> dict[str, float]:
    """What the kernel's executed instructions are a function of. `level_bits`: the sum
    over outputs of the ones in each output level (the search's taken steps: data
    dependent); None: half the steps per output (the mean over uniform levels)."""
    g = geometry(call)
    b, u = call.block, call.unroll
    positions = g.out_h * g.out_w
    outputs = positions * g.units
    counts = {"calls": 1, "out_rows": g.out_h, "positions": positions,
              "outputs_levels": outputs if call.thresholded else 0,
              "outputs_sums": 0 if call.thresholded else outputs,
              "search_steps": outputs * call.steps if call.thresholded else 0,
              "outputs_unsearched": outputs if call.thresholded and not call.steps else 0}
    counts["level_bits"] = (level_bits if level_bits is not None
                            else outputs * call.steps / 2 if call.thresholded else 0)
    # Sums over the windows (r rows, c columns each) factor into sums over rows and columns.
    rows, cols = sum(g.row_count), g.col_count
    cells = rows * len(cols)                              # sum of r over the windows
    taps = rows * sum(cols)                               # sum of r * c
    if call.kernel == "depthwise":
        counts.update({"channel_rows": cells * g.units, "taps": taps * g.units})
        return counts
    blocks, tail = g.units // b, g.units % b
    quads = int(b in QUAD_BLOCKS and tail >= QUAD)
    pairs, single = (tail - QUAD * quads) // 2, (tail - QUAD * quads) % 2
    counts.update({
        "blocks": positions * blocks,
        "positions_with_blocks": positions if blocks else 0,
        "block_rows": cells * blocks,
        "block_remainder": rows * sum(c % u for c in cols) * blocks,
        "block_remainder_rows": rows * sum(c % u != 0 for c in cols) * blocks,
        "block_passes": rows * sum(c // u for c in cols) * blocks,
        "block_pass_rows": rows * sum(c >= u for c in cols) * blocks,
        "quads": positions * quads,
        "quad_rows": cells * quads,
        "quad_remainder": rows * sum(c % u for c in cols) * quads,
        "quad_remainder_rows": rows * sum(c % u != 0 for c in cols) * quads,
        "quad_passes": rows * sum(c // u for c in cols) * quads,
        "quad_pass_rows": rows * sum(c >= u for c in cols) * quads,
        "pairs": positions * pairs,
        "positions_with_pairs": positions if pairs else 0,
        "pair_rows": cells * pairs,
        "pair_taps": taps * pairs,
        "singles": positions * single,
        "single_rows": cells * single,
        "single_taps": taps * single,
        # Where a loop test is entered from (the fetch-wait actions differ): a window's
        # first row (from the block's start, the other rows from the row before) with a
        # remainder or passes, and the windows (one a position) whose units' loops start
        # with neither blocks nor pairs before them. Named to come last in the basis
        # (hwsim.machine.lut_characterize.basis), after the counts they refine.
        "windows_with_block_remainder": g.out_h * sum(c % u != 0 for c in cols) * blocks,
        "windows_with_block_passes": g.out_h * sum(c >= u for c in cols) * blocks,
        "windows_without_blocks_or_pairs": positions if not blocks and not pairs else 0,
    })
    return counts


def connections(call: LutCall) -> int:
    """Table lookups the call adds (the clipped windows' taps times the units)."""
    g = geometry(call)
    return sum(r * c for r in g.row_count for c in g.col_count) * g.units


def shape_connections(shape: KernelCall) -> int:
    """Table lookups of a dense or convolution layer of shapes `shape` (its windows
    clipped to the input, times the units): `connections` of its call, whatever the
    library build."""
    return connections(LutCall("conv", "s8", 1, 1, shape, False, 0))
