"""Which ops library kernel (hwsim/machine/kernels/ops) runs a pool, argmax or residual-add
node, its parameters, and the trip counts its executed instructions are a function of.

One selection rule for everyone: the code generator calls the selected kernel with these
parameters (hwsim.machine.codegen.ops_library), the cost model prices it from its
characterization (hwsim/cost/data/ops_<target>.json, hwsim.cost.ops_library), the
characterization (hwsim.machine.ops_characterize) fits and proves the counts as functions
of `trip_counts`.

    call = node_ops_call(g, "L2.max_pool2d", "lut")     # None: not covered
    call.function, trip_counts(call)

Selection, lut style: max pools over levels (`max_pool_u8`) or int32 sums
(`max_pool_i32`); average pools over levels, by the width of the padded pool bounds
(`avg_pool_u8_b8/_b16/_b32`); argmax over levels or sums (`argmax_u8`, `argmax_i32`);
the residual add of two level tensors by the value table's entry width (`add_v8`,
`add_v16`), or of a level tensor and an int32 sum tensor (`add_sv8`, `add_sv16`), its
fused threshold searched in the call; an auto-encoder's output table by its value
entries' width (`table_v8`, `table_v16`). int8 style: `max_pool_i8`,
`avg_pool_i8` (window below 512: the rounding never leaves int8), `argmax_i8`. Not
covered (the caller keeps the per-node loops): an add of two sum tensors, 32-bit value entries
(adds and output tables),
searches of more than MAX_STEPS steps (over 256 levels),
argmax over more than 256 classes, average pools of sums.

A pool's walk follows its window (a constant of the node): 2 to 4 elements
(UNROLLED_TAPS) run unrolled, the other elements at `tap_offsets` from the first (struct
fields `taps`, `tap`), any other window the generic walk; the trip counts are per walk.

The kernels have no data-dependent branch (hwsim/machine/kernels/ops/hwsim_ops.h), so
their counts follow from the shape alone; on RV32I the int8 average pool's multiply is
libgcc's __mulsi3 looping over the reciprocal's bits (`multiply_bits`, `multiply_ones`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.lut_kernels import search_steps

LUT_FUNCTIONS = ("max_pool_u8", "max_pool_i32", "avg_pool_u8_b8", "avg_pool_u8_b16",
                 "avg_pool_u8_b32", "argmax_u8", "argmax_i32", "add_v8", "add_v16", "add_sv8",
                 "add_sv16")
INT8_FUNCTIONS = ("max_pool_i8", "avg_pool_i8", "argmax_i8")
TABLE_FUNCTIONS = ("table_v8", "table_v16")      # lut output tables
FUNCTIONS = LUT_FUNCTIONS + INT8_FUNCTIONS + TABLE_FUNCTIONS
POOL_SHIFT = 16                  # int8 average: (sum * reciprocal + 2^15) >> 16
MAX_INT8_WINDOW = 511            # below 512 elements the int8 average needs no clamp
MAX_STEPS = 8                    # the kernels' unrolled search: up to 256 levels
UNROLLED_TAPS = (2, 3, 4)        # pool windows of these sizes run unrolled (pool.inc)
STRUCT_WORDS = {"max": 15, "avg": 15, "argmax": 1, "add": 5, "table": 5}   # parameter struct words


@dataclass(frozen=True)
class OpsCall:
    """One ops library call: the function (FUNCTIONS) and its parameters (the C struct's
    fields, hwsim_ops.h; pools: window walk in elements, add: elements)."""
    function: str
    out_h: int = 0
    out_w: int = 0
    channels: int = 0
    size_h: int = 0
    size_w: int = 0
    row_step: int = 0
    col_step: int = 0
    x_row: int = 0
    steps: int = 0
    reciprocal: int = 0
    classes: int = 0
    elements: int = 0
    thresholded: bool = False
    sums_input: int = 0          # add_sv: which input holds the int32 sums

    @property
    def kind(self) -> str:
        return self.function.split("_")[0]

    @property
    def shift_amounts(self) -> dict[str, int]:
        """What the library's shifts by a register shift by in this call (role -> bits;
        priced on a serial shifter, hwsim.cost.serial_shift): a fused threshold's first
        search step, 1 << (steps - 1)."""
        return {"search": max(self.steps - 1, 0)}

    @property
    def c_function(self) -> str:
        return f"hwsim_ops_{self.function}"

    def describe(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self)[1:]
                           if getattr(self, f.name))
        return f"{self.c_function}({values})"


def trip_counts(call: OpsCall, rv32i: bool = False) -> dict[str, int]:
    """The trip counts of one call (`rv32i`: the int8 average pool's __mulsi3 loop)."""
    if call.kind == "argmax":
        return {"calls": 1, "classes": call.classes, "compared": int(call.classes > 1),
                "even_classes": int(call.classes % 2 == 0),   # 8-bit scores: in pairs
                "paired": int(call.classes > 2)}
    if call.kind == "table":
        return {"calls": 1, "elements": call.elements}
    if call.kind == "add":
        t = int(call.thresholded)
        return {"calls": 1, "thresholded": t, "elements": call.elements,
                "elements_levels": t * call.elements,
                "search_steps": t * call.elements * call.steps, "swapped": call.sums_input,
                **_entries(t * call.elements, call.steps)}
    positions = call.out_h * call.out_w
    outputs = positions * call.channels
    taps = pool_taps(call)
    g = int(taps == 0)
    counts = {"calls": 1, "out_rows": g * call.out_h, "positions": g * positions,
              "outputs": outputs, "window_rows": g * outputs * call.size_h,
              "elements": g * outputs * call.size_h * call.size_w,
              "odd_rows": g * outputs * call.size_h * (call.size_w % 2),   # generic walk:
              "row_pairs": g * outputs * call.size_h * (call.size_w // 2),  # in pairs
              "unpaired_rows": g * outputs * call.size_h * int(call.size_w < 2)}
    for n in UNROLLED_TAPS:
        u = int(taps == n)
        counts.update({f"calls_taps{n}": u, f"out_rows_taps{n}": u * call.out_h,
                       f"positions_taps{n}": u * positions, f"outputs_taps{n}": u * outputs})
    if call.function.startswith("avg_pool_u8"):     # each walk inlines its own search
        counts["search_steps"] = outputs * call.steps
        counts.update(_entries(g * outputs, call.steps))
        for n in UNROLLED_TAPS:
            counts.update(_entries(int(taps == n) * outputs, call.steps, f"_taps{n}"))
    if call.function == "avg_pool_i8" and rv32i:
        counts["multiply_bits"] = outputs * call.reciprocal.bit_length()
        counts["multiply_ones"] = outputs * bin(call.reciprocal).count("1")
    return counts


def pool_taps(call: OpsCall) -> int:
    """A pool's window elements when its walk is unrolled (UNROLLED_TAPS), else 0."""
    taps = call.size_h * call.size_w
    return taps if taps in UNROLLED_TAPS else 0


def tap_offsets(call: OpsCall) -> list[int]:
    """Elements from an unrolled window's first element to its others (3 words)."""
    taps = pool_taps(call)
    out = [(k // call.size_w) * call.x_row + (k % call.size_w) * call.channels
           for k in range(1, taps)]
    return out + [0] * (3 - len(out))


def _entries(searches: int, steps: int, suffix: str = "") -> dict[str, int]:
    """The searches entering the unrolled search at each step count (gcc's layout of
    the jump into it differs between entries)."""
    return {f"searches_of_{k}{suffix}": searches * int(steps == k)
            for k in range(1, MAX_STEPS + 1)}


def bound_bits(bounds, window: int) -> int:
    """Storage bits of an average pool's padded bounds: the narrowest signed type holding
    them and the window's reach (window x bounds + 1, the padding value's floor)."""
    bounds = np.asarray(bounds, dtype=np.int64)
    lo = min(int(bounds.min(initial=0)), 0)
    hi = max(int(bounds.max(initial=0)), window * len(bounds) + 1)
    for bits in (8, 16, 32):
        if -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return bits
    return 64


def pool_walk(a) -> dict[str, int]:
    """A pool's window walk (OpsCall fields) from its op record."""
    layer = a.layer
    if a.kind.endswith("1d"):
        _, ch = a.input_shape
        return {"out_h": 1, "out_w": int(a.output_shape[0]), "channels": int(ch),
                "size_h": 1, "size_w": int(layer.size), "row_step": 0,
                "col_step": int(layer.stride * ch), "x_row": 0}
    _, w_in, ch = a.input_shape
    oh, ow = a.output_shape[:2]
    size_h, size_w = int(layer.size_h), int(layer.size_w)
    if size_w == w_in:      # the window's rows follow each other: one row of them all
        size_h, size_w = 1, size_h * size_w
    return {"out_h": int(oh), "out_w": int(ow), "channels": int(ch),
            "size_h": size_h, "size_w": size_w,
            "row_step": int(layer.stride_h * w_in * ch), "col_step": int(layer.stride_w * ch),
            "x_row": int(w_in * ch)}


def _input_kind(g, node: str) -> str:
    (_, _, e), = list(g.in_edges(node, data=True))
    return e["kind"]


def node_ops_call(g, node: str, style: str) -> OpsCall | None:
    """The ops library call of node `node` of graph `g` in `style` ("lut" or "int8"), or
    None when the library does not run it."""
    a = g.nodes[node]["op"]
    kind = a.kind
    if style not in ("lut", "int8"):
        return None
    if kind.startswith(("max_pool", "avg_pool")):
        walk = pool_walk(a)
        window = walk["size_h"] * walk["size_w"]
        if style == "int8":
            if kind.startswith("max"):
                return OpsCall("max_pool_i8", **walk)
            if window > MAX_INT8_WINDOW:
                return None
            return OpsCall("avg_pool_i8", **walk,
                           reciprocal=round((1 << POOL_SHIFT) / window))
        levels = _input_kind(g, node) == "levels"
        if kind.startswith("max"):
            return OpsCall("max_pool_u8" if levels else "max_pool_i32", **walk)
        bounds = getattr(a, "pool_bounds", None)
        if not levels or bounds is None:
            return None
        bits = bound_bits(bounds, window)
        if bits > 32 or search_steps(len(bounds)) > MAX_STEPS:
            return None
        return OpsCall(f"avg_pool_u8_b{bits}", **walk, steps=search_steps(len(bounds)))
    if kind == "argmax":
        if a.classes > 256:
            return None
        if style == "int8":
            return OpsCall("argmax_i8", classes=int(a.classes))
        levels = _input_kind(g, node) == "levels"
        return OpsCall("argmax_u8" if levels else "argmax_i32", classes=int(a.classes))
    if kind == "output_table" and style == "lut":
        bits = g.graph["table_entry_bits"]
        if bits > 16 or g.graph.get("output_values") is None:
            return None
        return OpsCall(f"table_v{8 if bits <= 8 else 16}", elements=int(a.outputs))
    if kind == "add" and style == "lut":
        sources = list(g.predecessors(node))
        entry = g.graph["table_entry_bits"]
        kinds = [g.edges[s, node]["kind"] for s in sources]
        if len(sources) != 2 or entry > 16 or kinds.count("levels") == 0:
            return None
        fused = threshold_consumer(g, node)
        if fused and g.out_degree(node) != 1:
            return None
        steps = search_steps(len(g.nodes[fused]["op"].thresholds)) if fused else 0
        if steps > MAX_STEPS:
            return None
        width = 8 if entry <= 8 else 16
        if kinds.count("levels") == 2:
            return OpsCall(f"add_v{width}", elements=int(a.outputs), steps=steps,
                           thresholded=bool(fused))
        return OpsCall(f"add_sv{width}", elements=int(a.outputs), steps=steps,
                       thresholded=bool(fused), sums_input=kinds.index("sums"))
    return None
