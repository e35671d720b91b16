"""Action counts: what one inference executes, node by node, in each arithmetic style.

This is the workload half of the cost model (Accelergy's split): counts of
primitive actions (`alu`, `load_16`, `branch_taken`, ...) and of a few named
extras (`flash_wait`, `loop_overhead`, `soft_mul_call`, `soft_float_mul`, ...)
derived from the op graph, the options and the *capabilities* of the core
(`CoreTraits`: addressing modes, barrel shifter, multiplier kind, SIMD lanes,
FPU). No cycle or energy number is read here; hwsim.cost prices the actions
with the device's tables and adds them up.

Styles:
- ``lut``: the paper's method, table lookups, integer adds and compares only;
- ``int8``: multiply-accumulate with requantization, as TFLite Micro runs it;
- ``float32``: FPU instructions, or soft-float routine calls without an FPU.

Every kernel is output-stationary and handles one output unit at a time, in
every style, so the styles compare like for like. The instruction sequences
behind each count are written out in docs/cost-model.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import networkx as nx

from hwsim.cost_shapes import CodeShape, shape_for
from hwsim.device import Device
from hwsim.errors import HwsimError

STYLES = ("lut", "int8", "float32")
PLACES = ("flash", "sram")
ACTIVATION_LAYOUTS = ("bytes", "packed")
WEIGHT_INDEX_LAYOUTS = ("packed", "aligned")
ROW_POINTER_MODES = ("auto", "shift_add", "precomputed")
WEIGHTED_OPS = ("lut_dense", "lut_conv1d", "lut_conv2d", "lut_depthwise_conv2d")
FREE_OPS = ("input", "flatten")

# A data-dependent branch (binary-search step, new maximum) is charged half taken.
HALF_BRANCH = {"branch_taken": 0.5, "branch_not_taken": 0.5}
# A pool window of at most this many elements is written out in the generated C (no
# loop; hwsim.codegen.pools).
UNROLLED_WINDOW = 4
# Chance that a max-pool compare finds a new maximum: ties are common among a few
# levels; measured 6-37% on the bundled workloads (docs/validation.md).
MAX_UPDATE = 0.25

Actions = dict[str, float]


@dataclass(frozen=True)
class CostOptions:
    """Choices of the deployed kernels that the graph does not fix.

    tables_in, weights_in, thresholds_in: where product/value tables, weight and
    bias data, and thresholds/pool bounds live ("flash" adds
    memory.flash_load_extra_cycles to every load). activations: level tensors one
    byte per element ("bytes") or packed at ceil(log2 L) bits ("packed").
    weight_indices: lut weight and bias indices packed at ceil(log2 K) bits
    ("packed", the memory planner's layout) or one byte / halfword each
    ("aligned"). row_pointers: lut table addressing; "shift_add" computes
    level << log2(K) + index per connection (K must be a power of two),
    "precomputed" builds one row pointer per input element before the layer,
    "auto" precomputes when K is not a power of two or the core has no barrel
    shifter. unroll: connections per inner-loop iteration (1 is gcc -O2, which
    does not unroll; the paper's measurements were -O2). multiplier_operand_bits:
    bit length k of the second operand of the software multiply (__mulsi3 loops
    k times), the offset activation x + 128; None (auto): 8 for a layer reading
    the network input (non-negative), 7 for the others (symmetric activations).
    simd: use the core's SIMD MAC for int8 where it has one. The instruction
    sequences per ISA family are in hwsim.cost_shapes."""

    tables_in: str = "flash"
    weights_in: str = "flash"
    thresholds_in: str = "flash"
    activations: str = "bytes"
    weight_indices: str = "packed"
    row_pointers: str = "auto"
    unroll: int = 1
    multiplier_operand_bits: int | None = None
    simd: bool = True

    def __post_init__(self):
        problems = []
        choices = {"tables_in": PLACES, "weights_in": PLACES, "thresholds_in": PLACES,
                   "activations": ACTIVATION_LAYOUTS, "weight_indices": WEIGHT_INDEX_LAYOUTS,
                   "row_pointers": ROW_POINTER_MODES}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(map(repr, allowed))}, "
                                f"got {value!r}")
        if not _is_int(self.unroll) or self.unroll < 1:
            problems.append(f"unroll must be an integer >= 1, got {self.unroll!r}")
        bits = self.multiplier_operand_bits
        if bits is not None and (not _is_int(bits) or not 0 <= bits <= 32):
            problems.append(f"multiplier_operand_bits must be an integer from 0 to 32, "
                            f"got {bits!r}")
        if not isinstance(self.simd, bool):
            problems.append(f"simd must be true or false, got {self.simd!r}")
        if problems:
            raise HwsimError("CostOptions: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- core traits

# Per ISA: (register+register load addressing, free shifted operand in adds and
# loads (Thumb-2 `ADD r, r, r, LSL #n`, `LDRH r, [r, r, LSL #1]`), barrel shifter
# (a shift by n bits is one instruction), unaligned 16/32-bit loads, how a
# 32x32->64 product is formed when the core has a multiplier).
_ISA_TRAITS = {
    "armv6-m": (True, False, True, False, "routine"),          # no SMULL: __umulsidi3
    "armv7e-m": (True, True, True, True, "instruction"),       # SMULL
    "armv8-m.main": (True, True, True, True, "instruction"),   # SMULL
    "rv32i": (False, False, True, False, "mul_mulh"),
    "rv32e": (False, False, True, False, "mul_mulh"),
    "rv32imc": (False, False, True, False, "mul_mulh"),        # MUL + MULH
    "rv32imac": (False, False, True, False, "mul_mulh"),
    "rv32imfc": (False, False, True, False, "mul_mulh"),
    "msp430x": (False, False, False, False, "peripheral"),     # RLA: one bit per instruction
    "xtensa-hifi4": (False, False, True, False, "mul_mulh"),   # MULL + MULSH
}


@dataclass(frozen=True)
class CoreTraits:
    """What the core can do, as far as it changes the instruction sequence (not its
    cost): read from the device's core section and ISA."""
    word_bits: int
    register_offset: bool
    shifted_operand: bool
    barrel_shifter: bool
    unaligned_loads: bool
    multiplier: str          # none | single_cycle | iterative | peripheral
    has_mac: bool
    simd_lanes: int
    divider: bool
    fpu: bool
    has_float_mac: bool
    wide_multiply: str       # instruction | mul_mulh | routine | peripheral | software
    shape: CodeShape = field(default_factory=lambda: shape_for(""))   # cost_shapes

    @property
    def word_factor(self) -> int:
        """Instructions per 32-bit integer operation (2 on a 16-bit core)."""
        return 1 if self.word_bits >= 32 else 2


def core_traits(device: Device) -> CoreTraits:
    core = device.core
    if core.isa not in _ISA_TRAITS:
        raise HwsimError(f"device {device.name!r}: the cost model does not know ISA {core.isa!r}")
    reg, shifted, barrel, unaligned, wide = _ISA_TRAITS[core.isa]
    if core.multiplier == "none":
        wide = "software"
    elif core.multiplier == "peripheral":
        wide = "peripheral"
    lanes = core.simd_mac_lanes if "simd_mac" in device.cycles else 1
    return CoreTraits(core.word_bits, reg, shifted, barrel, unaligned, core.multiplier,
                      "mac" in device.cycles, lanes, core.divider, core.fpu != "none",
                      "float_mac" in device.cycles, wide, shape_for(core.isa))


# ----------------------------------------------------------------------------- small helpers

def plus(*parts: Actions) -> Actions:
    """The sum of action dicts."""
    total: Actions = {}
    for part in parts:
        for action, count in part.items():
            total[action] = total.get(action, 0.0) + count
    return total


def times(part: Actions, factor: float) -> Actions:
    return {action: count * factor for action, count in part.items()}


def _nonzero(part: Actions) -> Actions:
    return {action: count for action, count in part.items() if count}


def storage_bits(bits: int) -> int:
    """Width of the load or store that holds a `bits`-wide value: 8, 16 or 32."""
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def shift_ops(bits: int, tr: CoreTraits) -> int:
    """Instructions for a shift by `bits`: one with a barrel shifter; on MSP430 one
    per bit (RLA/RRA), except whole bytes (SWPB)."""
    if bits <= 0:
        return 0
    if tr.barrel_shifter:
        return 1
    return bits % 8 + (1 if bits >= 8 else 0)


def load(bits: int, place: str, tr: CoreTraits) -> Actions:
    """One load of `bits` (8, 16, 32) from SRAM or flash; a flash load waits once per
    bus access (two for a 32-bit value on a 16-bit core)."""
    actions = {f"load_{bits}": 1.0}
    if place == "flash":
        actions["flash_wait"] = float(max(1, math.ceil(bits / tr.word_bits)))
    return actions


def field_read(bits: int, place: str, tr: CoreTraits) -> Actions:
    """Average actions to fetch one `bits`-wide field of a densely packed array.

    8/16/32-bit fields are one plain load. Narrower or odd widths are decoded
    with compile-time-known offsets over one packing group (8 / gcd(bits, 8)
    fields, e.g. eight 5-bit fields in 5 bytes): a field inside one byte is a
    byte load, a shift down (unless at bit 0) and a mask (unless it ends the
    byte); a field that straddles bytes is one unaligned 16/32-bit load where
    the core has them, else one byte load per byte touched plus a shift and an
    OR per extra byte."""
    if bits in (8, 16, 32):
        return load(bits, place, tr)
    group = 8 // math.gcd(bits, 8)
    total: Actions = {}
    for j in range(group):
        offset = (j * bits) % 8
        span = offset + bits
        nbytes = math.ceil(span / 8)
        if nbytes == 1:
            part, width = load(8, place, tr), 8
        elif tr.unaligned_loads and span <= 32:
            width = 16 if span <= 16 else 32
            part = load(width, place, tr)
        else:
            width = 8 * nbytes
            combine = sum(shift_ops(8 * k, tr) + 1 for k in range(1, nbytes))
            part = plus(times(load(8, place, tr), nbytes), {"alu": combine})
        part = plus(part, {"alu": shift_ops(offset, tr) + (1 if span < width else 0)})
        total = plus(total, part)
    return times(total, 1 / group)


def field_write(bits: int, tr: CoreTraits) -> Actions:
    """Average actions to append one `bits`-wide field to a packed array in SRAM: a
    shift into place and an OR into the byte being built (plus the carry of a
    straddling field into the next byte), one byte store per 8 bits."""
    if bits in (8, 16, 32):
        return {f"store_{bits}": 1.0}
    group = 8 // math.gcd(bits, 8)
    alu = 0
    for j in range(group):
        offset = (j * bits) % 8
        alu += shift_ops(offset, tr) + 1
        if offset + bits > 8:
            alu += shift_ops(8 - offset, tr)
    return {"alu": alu / group, "store_8": bits / 8}


def _elements_read(edge: dict, opt: CostOptions, acc_bits: int, tr: CoreTraits) -> Actions:
    """Reading one element of a tensor between nodes (always in SRAM): a level index
    (byte or packed) or an integer sum."""
    if edge["kind"] == "sums":
        return load(storage_bits(acc_bits), "sram", tr)
    if opt.activations == "packed":
        return field_read(edge["bits"], "sram", tr)
    return load(8, "sram", tr)


def _level_write(levels: int, opt: CostOptions, tr: CoreTraits) -> Actions:
    if opt.activations == "packed":
        return field_write(max(1, math.ceil(math.log2(levels))), tr)
    return {"store_8": 1.0}


def _loop(iterations: float, runs: float = 1.0) -> Actions:
    """Loop control of `runs` runs of a loop, `iterations` iterations in all: index or
    pointer steps + compare + a taken backward branch per iteration, except the last
    of each run, whose branch falls through (`loop_last`)."""
    iterations, runs = float(iterations), float(min(runs, iterations))
    if iterations <= 0:
        return {}
    return _nonzero({"loop_overhead": iterations - runs, "loop_last": runs})


# ----------------------------------------------------------------------------- node context

@dataclass(frozen=True)
class _Node:
    graph: nx.DiGraph
    name: str
    attrs: dict
    style: str
    tr: CoreTraits
    opt: CostOptions

    @property
    def inputs(self) -> list[dict]:
        return [e for _, _, e in self.graph.in_edges(self.name, data=True)]

    @property
    def fused_into_threshold(self) -> bool:
        """The result stays in a register: a threshold node consumes it (the threshold
        search runs in the same unit loop)."""
        succ = list(self.graph.successors(self.name))
        return bool(succ) and all(self.graph.nodes[s]["op"] == "threshold" for s in succ)

    @property
    def shape(self) -> CodeShape:
        return self.tr.shape

    @property
    def acc_bits(self) -> int:
        return self.graph.graph["accumulator_bits"]

    @property
    def entry_bits(self) -> int:
        return self.graph.graph["table_entry_bits"]

    def acc_ops(self, bits: int | None = None) -> int:
        """Instructions for one add or compare on the accumulator: two (with carry)
        when it is wider than the core's word."""
        return 1 if (bits or self.acc_bits) <= self.tr.word_bits else 2


def _axis_taps(length: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(output positions, kernel taps inside the input summed over them) along one
    axis; 'same' padding (TensorFlow rule) leaves some taps outside."""
    if padding != "same":
        out = (length - kernel) // stride + 1
        return out, out * kernel
    out = math.ceil(length / stride)
    before = max((out - 1) * stride + kernel - length, 0) // 2
    inside = sum(1 for o in range(out) for j in range(kernel)
                 if 0 <= o * stride - before + j < length)
    return out, inside


def _taps(a: dict) -> tuple[float, float]:
    """(connections executed, kernel rows per output unit) of a weighted layer.

    Taps that fall on 'same' padding are skipped (the kernel clips its loops to
    the input, as the executor does), so they cost nothing; without padding the
    executed connections are the graph's."""
    layer, op = a.get("layer"), a["op"]
    if op == "lut_dense" or layer is None or getattr(layer, "padding", "valid") != "same":
        rows = getattr(layer, "kernel_h", 0) if op in ("lut_conv2d", "lut_depthwise_conv2d") else 0
        return float(a["connections"]), float(rows)
    shape = a["input_shape"]
    if op == "lut_conv1d":
        _, inside = _axis_taps(shape[0], layer.kernel, layer.stride, "same")
        return float(inside * layer.in_channels * layer.out_channels), 0.0
    out_h, inside_h = _axis_taps(shape[0], layer.kernel_h, layer.stride_h, "same")
    _, inside_w = _axis_taps(shape[1], layer.kernel_w, layer.stride_w, "same")
    per_channel = inside_h * inside_w
    channels = (layer.in_channels * layer.out_channels if op == "lut_conv2d" else layer.channels)
    return float(per_channel * channels), inside_h / out_h


def _inner_loop(n: _Node, per_iteration: int, connections: float, rows: float) -> float:
    """Inner-loop iterations per output unit of a weighted layer.

    Dense and conv1d windows are contiguous in a channels-last tensor: one loop
    over the fan-in. A conv2d window is kernel_h runs of kernel_w x channels
    contiguous elements; a depthwise window is kernel_h runs of kernel_w taps at
    a stride of `channels`. Each run is one inner loop (`rows` runs per unit)."""
    taps = connections / n.attrs["outputs"]
    step = n.opt.unroll * per_iteration
    runs = max(rows, 1.0)
    return runs * math.ceil(taps / runs / step)


def _unit_frame(n: _Node, iterations: float, rows: float) -> Actions:
    """Per output unit: set-up (reset the input pointer and index), the outer loop's
    own overhead, the inner loops, and one pointer step per kernel row."""
    return plus({"alu": 2 + rows}, _loop(1 + iterations + rows))


# ----------------------------------------------------------------------------- lut style

def _is_power_of_two(k: int) -> bool:
    return k > 0 and k & (k - 1) == 0


def _call(n: _Node, frame: str) -> Actions:
    """One call of the node's function from the schedule: call + return, prologue and
    epilogue ("weighted" or "light" kernels)."""
    if n.shape.family == "generic":
        return {}
    part = n.shape.weighted_frame if frame == "weighted" else n.shape.light_frame
    return plus({"call_return": 1.0}, part)


def _positions(n: _Node) -> tuple[float, float]:
    """(output positions, output rows) of a weighted layer or pool: a dense layer has
    one position, a 1-D layer one row."""
    shape = n.attrs["output_shape"]
    if len(shape) == 1:
        return 1.0, 1.0
    if len(shape) == 2:
        return float(shape[0]), 1.0
    return float(shape[0] * shape[1]), float(shape[0])


def _outer_loops(n: _Node, units: float) -> Actions:
    """The unit loop (per position) and the position loops around it."""
    positions, rows = _positions(n)
    actions = _loop(units, positions)
    if positions > 1:
        actions = plus(actions, _loop(positions, rows), {"alu": n.shape.position_alu * positions})
        if rows > 1:
            actions = plus(actions, _loop(rows, 1))
    return actions


def _kernel_rows(n: _Node, rows: float) -> Actions:
    """Per unit of a conv2d/depthwise layer: the loop over the kernel's rows (taps clipped
    by 'same' padding are not visited) and each row's pointer work; a one-row kernel
    has no row loop. A clipped window's run count is tested before its loop."""
    if rows <= 1 and n.shape.family != "generic":
        return {}
    if n.shape.family == "generic":
        return plus(_loop(rows, 1), {"alu": rows}) if rows else {}
    actions = plus(_loop(rows, 1), times(n.shape.row, rows))
    if getattr(n.attrs.get("layer"), "padding", "valid") == "same":
        actions = plus(actions, times({"alu": 1.0, "branch_not_taken": 1.0}, rows))
    return actions


def _same_padding(n: _Node, units: float) -> Actions:
    """'same' padding: per unit, the clipped window's bookkeeping kept on the stack;
    per output position, its window-table entries (offset, first tap, taps) from flash."""
    layer = n.attrs.get("layer")
    if n.shape.family == "generic" or getattr(layer, "padding", "valid") != "same":
        return {}
    positions, _ = _positions(n)
    table = {"literal_load": 1.0, "alu": 1.0}          # window tables are constants in flash
    return plus(times(n.shape.same_unit, units), times(table, 3 * positions))


def _lut_weighted(n: _Node) -> Actions:
    a, tr, opt, shape = n.attrs, n.tr, n.opt, n.shape
    entry = n.entry_bits
    if entry > tr.word_bits:
        raise HwsimError(f"node {n.name!r}: {entry}-bit table entries are wider than the "
                         f"{tr.word_bits}-bit word of the core; use table_entry_bits <= "
                         f"{tr.word_bits} for the lut style")
    k = a["table_shape"][1]
    log_k = math.ceil(math.log2(k))
    log_entry = int(math.log2(entry // 8))
    if opt.row_pointers == "shift_add" and not _is_power_of_two(k):
        raise HwsimError(f"node {n.name!r}: row_pointers='shift_add' needs K a power of two, "
                         f"the layer has K={k}; use 'precomputed' or 'auto'")
    precomputed = opt.row_pointers == "precomputed" or (
        opt.row_pointers == "auto" and (not _is_power_of_two(k) or not tr.barrel_shifter))
    index_bits = a["index_bits"]
    packed = opt.weight_indices == "packed" and index_bits not in (8, 16, 32)
    index = field_read(index_bits if packed else storage_bits(index_bits), opt.weights_in, tr)
    # A packed index is decoded with a shift and a mask anyway: shifting it one
    # place less leaves it pre-scaled by the entry size at no extra cost.
    scale_index = 0 if packed else shift_ops(log_entry, tr)
    base_add = 0 if tr.register_offset else 1
    edge = n.inputs[0]
    if precomputed:
        activation = load(tr.word_bits, "sram", tr)                  # the row pointer
        address = 0 if tr.shifted_operand else scale_index + base_add
    else:
        activation = _elements_read(edge, opt, n.acc_bits, tr)
        address = 1 if tr.shifted_operand else (
            shift_ops(log_k + log_entry, tr) + scale_index + 1 + base_add)
    accumulate = n.acc_ops() + (1 if n.acc_bits > tr.word_bits and entry < n.acc_bits else 0)
    per_connection = plus(activation, index, {"alu": address}, load(entry, opt.tables_in, tr),
                          {"alu": accumulate + (1 if a["op"] == "lut_depthwise_conv2d" else 0)})
    connections, rows = _taps(a)
    units = float(a["outputs"])
    iterations = _inner_loop(n, 1, connections, rows)
    runs = max(rows, 1.0)
    if shape.family == "generic":
        bias_alu = (0 if tr.shifted_operand else scale_index + base_add) + 2 + rows
    else:
        bias_alu = shape.lut_unit_alu
    bias = plus(index, {"alu": bias_alu}, load(entry, opt.tables_in, tr),
                {"alu": 1 if n.acc_bits > tr.word_bits else 0})   # sign-extend into the high word
    store = ({"store_8": 1.0} if n.fused_into_threshold
             else {f"store_{storage_bits(n.acc_bits)}": 1.0})       # the level, or the sum
    per_unit = plus(bias, store, _loop(iterations, runs), _kernel_rows(n, rows))
    total = plus(times(per_connection, connections), times(per_unit, units),
                 _outer_loops(n, units), _call(n, "weighted"), _same_padding(n, units))
    if precomputed:
        if _is_power_of_two(k):
            row = {"alu": shift_ops(log_k + log_entry, tr) + 1}
        else:   # row offsets from a small (L + 1)-entry table: no multiply
            row = plus(load(tr.word_bits, opt.tables_in, tr),
                       {"alu": shift_ops(int(math.log2(tr.word_bits // 8)), tr) + base_add + 1})
        per_element = plus(_elements_read(edge, opt, n.acc_bits, tr), row,
                           {f"store_{tr.word_bits}": 1})
        elements = edge["elements"]
        total = plus(total, times(per_element, elements),
                     _loop(math.ceil(elements / opt.unroll)), {"alu": 2})
    return total


def _search_step(n: _Node, bits: int, place: str, compare_ops: int) -> Actions:
    """One step of the binary search over sorted bounds: the bound load (an immediate
    offset from the walking pointer), the compare, and a half-taken branch around the
    half-time pointer step; on Thumb-2 an IT block instead (cmp, it, add: no branch)."""
    shape = n.shape
    if shape.family == "generic":
        alu = 1.0 + compare_ops
    else:
        alu = shape.search_step_alu + (compare_ops - 1 if shape.family != "rv32" else 0)
    step = plus(load(bits, place, n.tr), {"alu": alu})
    if not shape.search_if_converted:
        step = plus(step, HALF_BRANCH, {"alu": 0.5})
    return step


def _lut_threshold(n: _Node) -> Actions:
    """Per unit: the call from the weighted layer's unit loop, the search over the
    thresholds (padded to 2^steps), the level returned (stored by the caller)."""
    a, shape = n.attrs, n.shape
    steps = a["compares_per_unit"]
    search = times(_search_step(n, storage_bits(n.acc_bits), n.opt.thresholds_in, n.acc_ops()),
                   steps)
    per_unit = plus(search, {"alu": shape.search_setup_alu + shape.search_exit_alu})
    if shape.family != "generic":
        per_unit = plus(per_unit, {"call_return": 1.0})
    if shape.literal_pool:
        per_unit = plus(per_unit, {"literal_load": 1.0})
    if not _fused_threshold(n):
        per_unit = plus(per_unit, _elements_read(n.inputs[0], n.opt, n.acc_bits, n.tr),
                        _level_write(a["levels"], n.opt, n.tr))
    return times(per_unit, a["units"])


def _fused_threshold(n: _Node) -> bool:
    preds = list(n.graph.predecessors(n.name))
    return len(preds) == 1 and n.graph.nodes[preds[0]]["op"] in (*WEIGHTED_OPS, "add")


def _window(n: _Node) -> tuple[int, int]:
    """(elements per window, rows per window) of a pool."""
    layer = n.attrs.get("layer")
    if n.attrs["op"].endswith("2d"):
        return layer.size_h * layer.size_w, layer.size_h
    return n.attrs["window"], 0


def _pool_frame(n: _Node, window: int, rows: int) -> Actions:
    """Per output: the window's loops. A window of up to UNROLLED_WINDOW elements is
    written out (no loop); a larger one loops over its rows and columns."""
    if window <= UNROLLED_WINDOW:
        return {}
    runs = max(1, rows)
    actions = _loop(runs * math.ceil(window / runs / n.opt.unroll), runs)
    if rows > 1:
        actions = plus(actions, _loop(rows, 1), {"alu": rows})
    return plus(actions, {"alu": 1.0})


def _max_pool(n: _Node, element: Actions, store: Actions) -> Actions:
    """Per output: read the window (one load per element, hwsim.codegen.pools); the
    first element starts the maximum, every other one is compared and moved when
    larger: a branch around the move (taken unless there is a new maximum,
    MAX_UPDATE), or an IT block on Thumb-2. Then the store and the channel loop."""
    shape = n.shape
    window, rows = _window(n)
    if shape.search_if_converted:
        per_compare = {"alu": 3.0}
    elif shape.family == "generic":
        per_compare = plus({"alu": 1.5}, HALF_BRANCH)
    else:
        p = MAX_UPDATE
        compare = 0.0 if shape.family == "rv32" else 1.0
        per_compare = {"alu": compare + p, "branch_taken": 1 - p, "branch_not_taken": p}
    per_output = plus(times(element, window), times(per_compare, window - 1), store,
                      _pool_frame(n, window, rows))
    outputs = float(n.attrs["outputs"])
    return plus(times(per_output, outputs), _pool_outer(n, outputs), _call(n, "light"))


def _pool_outer(n: _Node, outputs: float) -> Actions:
    """The channel loop (one iteration per output) and the position loops."""
    shape = n.attrs["output_shape"]
    positions = float(math.prod(shape[:-1]))
    rows = float(shape[0]) if len(shape) == 3 else 1.0
    actions = plus(_loop(outputs, positions), _loop(positions, rows),
                   {"alu": n.shape.position_alu * positions / 2})
    if rows > 1:
        actions = plus(actions, _loop(rows, 1))
    return actions


def _lut_max_pool(n: _Node) -> Actions:
    edge = n.inputs[0]
    store = (_level_write(edge["levels"], n.opt, n.tr) if edge["kind"] == "levels"
             else {f"store_{storage_bits(n.acc_bits)}": 1})
    return _max_pool(n, _elements_read(edge, n.opt, n.acc_bits, n.tr), store)


def _lut_avg_pool(n: _Node) -> Actions:
    edge, tr = n.inputs[0], n.tr
    window, rows = _window(n)
    bounds = n.attrs.get("pool_bounds")
    if bounds is None or edge["kind"] != "levels":
        raise HwsimError(f"node {n.name!r}: a lut average pool needs level inputs and "
                         "pool_bounds")
    largest = max([abs(int(b)) for b in bounds] + [window * len(bounds) + 1])
    bound_bits = storage_bits(largest.bit_length() + 1)        # signed
    steps = math.ceil(math.log2(len(bounds) + 1))
    per_element = plus(_elements_read(edge, n.opt, n.acc_bits, tr), {"alu": 1})  # add
    search = times(_search_step(n, bound_bits, n.opt.thresholds_in, n.acc_ops(bound_bits)),
                   steps)
    per_output = plus(times(per_element, window), search,
                      {"alu": n.shape.search_exit_alu},
                      _level_write(edge["levels"], n.opt, tr), _pool_frame(n, window, rows))
    outputs = float(n.attrs["outputs"])
    literal = {"literal_load": 1.0} if n.shape.literal_pool else {}
    return plus(times(per_output, outputs), _pool_outer(n, outputs), _call(n, "light"), literal)


def _value_lookup(n: _Node, edge: dict) -> Actions:
    """A level index read and turned into its integer value through a value table."""
    tr, entry = n.tr, n.entry_bits
    log_entry = int(math.log2(entry // 8))
    address = 0 if tr.shifted_operand else (
        shift_ops(log_entry, tr) + (0 if tr.register_offset else 1))
    return plus(_elements_read(edge, n.opt, n.acc_bits, n.tr), {"alu": address},
                load(entry, n.opt.tables_in, tr))


def _lut_add(n: _Node) -> Actions:
    parts = []
    for edge in n.inputs:
        if edge["kind"] == "levels":
            parts.append(_value_lookup(n, edge))
        else:
            parts.append(_elements_read(edge, n.opt, n.acc_bits, n.tr))
    per_element = plus(*parts, {"alu": n.acc_ops() * (len(parts) - 1) + 1})  # adds, pointer
    # A threshold that follows runs per element on the sum in a register; the add then
    # stores the level it returns.
    store = ({"store_8": 1.0} if n.fused_into_threshold
             else {f"store_{storage_bits(n.acc_bits)}": 1.0})
    elements = n.attrs["outputs"]
    return plus(times(plus(per_element, store), elements),
                _loop(math.ceil(elements / n.opt.unroll)), _call(n, "light"))


def new_maximum_probability(classes: int) -> float:
    """Chance that a compare finds a new maximum, scanning `classes` values in random
    order: (H_classes - 1) / (classes - 1)."""
    if classes < 2:
        return 0.0
    harmonic = sum(1.0 / k for k in range(1, classes + 1))
    return (harmonic - 1.0) / (classes - 1)


def _argmax(n: _Node, element: Actions, address_alu: float) -> Actions:
    """Read the first score; compare every other one with the running maximum. A new
    maximum moves the maximum and its index: a branch around two moves (taken when
    there is none) or, on Thumb-2, two IT-predicated moves. Then store the class id."""
    shape = n.shape
    classes = n.attrs["classes"]
    if shape.family == "generic":
        per_compare = plus({"alu": 1.0}, HALF_BRANCH, {"alu": 1})
        return plus(times(element, classes), times(per_compare, classes - 1),
                    _loop(math.ceil(classes / n.opt.unroll)), {"alu": 2, "store_8": 1})
    p = new_maximum_probability(classes)
    if shape.search_if_converted:
        update = {"alu": 1.0 + 4.0}                         # cmp, it, mov, it, mov
    else:
        compare = 0.0 if shape.family == "rv32" else 1.0
        update = {"alu": compare + 2 * p, "branch_taken": 1 - p, "branch_not_taken": p}
    per_compare = plus(element, {"alu": address_alu + shape.argmax_index_alu}, update)
    return plus(element, {"alu": shape.argmax_setup_alu}, times(per_compare, classes - 1),
                _loop(classes - 1, 1), {"store_8": 1.0}, _call(n, "light"))


def _lut_argmax(n: _Node) -> Actions:
    edge = n.inputs[0]
    wide = edge["kind"] == "sums"
    return _argmax(n, _elements_read(edge, n.opt, n.acc_bits, n.tr),
                   n.shape.argmax_address_alu if wide else 0.0)


def _lut_output_table(n: _Node) -> Actions:
    elements = n.attrs["outputs"]
    per_element = plus(_value_lookup(n, n.inputs[0]), {f"store_{n.entry_bits}": 1},
                       {"alu": n.shape.output_table_alu})
    literal = {"literal_load": 1.0} if n.shape.literal_pool else {}
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)),
                _call(n, "light"), literal)


# ----------------------------------------------------------------------------- int8 style

def operand_bits(n: _Node) -> int:
    """k, the bit length of the software multiply's second operand (the offset
    activation x + 128). `multiplier_operand_bits` when given; else 8 for a layer
    reading the network input (non-negative: x + 128 >= 128) and 7 for the others
    (symmetric activations: 8 bits when x >= 0, about 6 when x < 0)."""
    if n.opt.multiplier_operand_bits is not None:
        return n.opt.multiplier_operand_bits
    sources = list(n.graph.predecessors(n.name))
    while sources and n.graph.nodes[sources[0]]["op"] in ("flatten",):
        sources = list(n.graph.predecessors(sources[0]))
    return 8 if sources and n.graph.nodes[sources[0]]["op"] == "input" else 7


def _multiply(tr: CoreTraits, opt: CostOptions, accumulate: bool, operand_bits: int) -> Actions:
    """One 32-bit multiply (and its accumulate, when `accumulate`) on this core."""
    add = {"alu": float(tr.word_factor)} if accumulate else {}
    if tr.multiplier == "none":
        return plus({"soft_mul_call": 1.0, "soft_mul_bit": float(operand_bits)}, add)
    if accumulate and tr.has_mac:
        return {"mac": 1.0}
    return plus({"mul": 1.0}, add)


def muldi3(multiplier_bits: int = 31, set_fraction: float = 0.5,
           negative_fraction: float = 0.5) -> Actions:
    """libgcc's RV32 __muldi3(acc, multiplier) without a multiplier (the int8
    requantization's 64-bit product): a shift-and-add loop over the bits of the Q31
    multiplier's low word (31 bits), plus __mulsi3(multiplier, -1) when the
    accumulator is negative (its high word is all ones: 32 iterations, every bit set)."""
    p = set_fraction
    loop = plus({"alu": 6 + 4 * p, "branch_taken": 1 - p, "branch_not_taken": p},
                {"branch_taken": 1.0})
    body = plus({"call_return": 1.0, "alu": 12.0, "store_32": 1.0, "load_32": 1.0},
                times(loop, multiplier_bits), {"branch_taken": -1.0, "branch_not_taken": 1.0},
                {"branch_taken": 1 - negative_fraction + 1, "branch_not_taken": negative_fraction})
    high = plus({"call_return": 1.0, "alu": 3.0},
                times({"alu": 4.0, "branch_not_taken": 1.0, "branch_taken": 1.0}, 32),
                {"branch_taken": -1.0, "branch_not_taken": 1.0})
    return plus(body, times(high, negative_fraction))


def _requantize(n: _Node) -> Actions:
    """Per output unit: acc -> int8 (MultiplyByQuantizedMultiplier, clamp) and the
    unit's bookkeeping, as the family's code does it."""
    tr, shape = n.tr, n.shape
    if shape.family == "generic":
        wf = tr.word_factor
        return plus(_wide_multiply(tr), {"alu": (9 + 1 + 2) * wf, "branch_not_taken": 2.0},
                    {"alu": 2.0})
    actions = plus(dict(shape.int8_unit), times(HALF_BRANCH, shape.int8_unit_branches))
    if shape.wide == "mul_mulh":
        if tr.multiplier == "none":
            actions = plus(actions, muldi3(), {"alu": 2.0, "stack_load": 2.5})
        else:
            actions = plus(actions, {"mul": 2.0})
    return actions


def _wide_multiply(tr: CoreTraits) -> Actions:
    """The 32x32->64 product of a requantization (its high word is kept)."""
    kind = tr.wide_multiply
    if kind == "instruction":
        return {"mul": 1.0}                                      # SMULL
    if kind == "mul_mulh":
        return {"mul": 2.0}                                      # MUL + MULH
    if kind == "routine":                                        # __umulsidi3: 4 16x16 partials
        return {"call_return": 1.0, "mul": 4.0, "alu": 14.0}
    if kind == "peripheral":
        return {"mul": 2.0}                                      # MPY32: 4 operand words, 2 results
    return {"soft_mul_call": 4.0, "soft_mul_bit": 64.0, "alu": 8.0}   # 4 __mulsi3 of 16 bits


def _int8_dot(n: _Node, connections: float, runs_per_unit: float, units: float) -> Actions:
    """The MACs of a weighted layer and their inner loops."""
    a, tr, opt = n.attrs, n.tr, n.opt
    depthwise = 1 if a["op"] == "lut_depthwise_conv2d" else 0
    scalar = plus(load(8, "sram", tr), load(8, opt.weights_in, tr),
                  {"alu": 1.0 + depthwise},                      # activation offset
                  _multiply(tr, opt, True, operand_bits(n)))
    runs = units * runs_per_unit
    per_run = connections / runs if runs else 0.0
    if opt.simd and tr.simd_lanes > 1 and not depthwise:
        # Four int8 per 32-bit word (CMSIS-NN): two words, widened with SXTAB16 (the
        # +128 folded in) / SXTB16, two SMLAD. The run's tail (run mod 4) is scalar.
        per_word = 4
        words = math.floor(per_run / per_word)
        tail = per_run - words * per_word
        unpack = 4 / per_word if tr.simd_lanes < per_word else 1 / per_word
        per_mac = plus(times(load(32, "sram", tr), 1 / per_word),
                       times(load(32, opt.weights_in, tr), 1 / per_word),
                       {"alu": unpack, "simd_mac": 1 / tr.simd_lanes})
        actions = times(per_mac, words * per_word * runs)
        if words > 1:               # a single word: gcc drops the loop (constant count)
            actions = plus(actions, _loop(math.ceil(words / opt.unroll) * runs, runs))
        if tail:
            actions = plus(actions, times(scalar, tail * runs),
                           _loop(math.ceil(tail / opt.unroll) * runs, runs))
        return actions
    iterations = math.ceil(per_run / opt.unroll) * runs
    return plus(times(scalar, connections), _loop(iterations, runs))


def _int8_weighted(n: _Node) -> Actions:
    a, tr, opt = n.attrs, n.tr, n.opt
    connections, rows = _taps(a)
    units = float(a["outputs"])
    runs = max(rows, 1.0)
    per_unit = plus(load(32, opt.weights_in, tr), {"alu": float(tr.word_factor)},
                    _requantize(n), {"store_8": 1.0}, _kernel_rows(n, rows))
    if n.shape.family == "generic":
        per_unit = plus(per_unit, {"alu": 2.0})
    return plus(_int8_dot(n, connections, runs, units), times(per_unit, units),
                _outer_loops(n, units), _call(n, "weighted"), _same_padding(n, units))


def _int8_avg_pool(n: _Node) -> Actions:
    """Sum the window, then round(sum / N) as (sum * R + 2^15) >> 16 with R = round(2^16 / N)
    (no divide). For a power-of-two window gcc folds that to (sum + N/2) >> log2 N and
    drops the clamp (the result is in range); otherwise a multiply and the clamp."""
    tr = n.tr
    window, rows = _window(n)
    reciprocal = round(65536 / window)
    if window & (window - 1) == 0:
        divide = {"alu": 2.0}
    elif tr.multiplier == "none":   # a constant multiplier: shifts and adds, per set bit
        divide = plus({"alu": 3.0 + 2 * reciprocal.bit_count()}, HALF_BRANCH, HALF_BRANCH)
    else:
        divide = plus(_multiply(tr, n.opt, False, reciprocal.bit_length()),
                      {"alu": 3.0}, HALF_BRANCH, HALF_BRANCH)
    per_element = load(8, "sram", tr)
    per_output = plus(times(per_element, window), {"alu": (window - 1) * tr.word_factor}, divide,
                      {"store_8": 1.0}, _pool_frame(n, window, rows))
    outputs = float(n.attrs["outputs"])
    return plus(times(per_output, outputs), _pool_outer(n, outputs), _call(n, "light"))


def _int8_add(n: _Node) -> Actions:
    """TFLM int8 ADD: both inputs rescaled to a common scale (left shift and a
    fixed-point multiply each), added, and the sum requantized."""
    tr = n.tr
    rescale = plus(load(8, "sram", tr), {"alu": 2.0 * tr.word_factor},   # offset, left shift
                   _wide_multiply(tr), {"alu": 9.0 * tr.word_factor})
    inputs = len(n.inputs)
    per_element = plus(times(rescale, inputs), {"alu": float(tr.word_factor * (inputs - 1))},
                       _wide_multiply(tr), {"alu": 12.0 * tr.word_factor,
                                            "branch_not_taken": 2.0}, {"store_8": 1.0})
    elements = n.attrs["outputs"]
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)),
                _call(n, "light"))


# ----------------------------------------------------------------------------- float32 style

def _float_op(tr: CoreTraits, routine: str) -> Actions:
    """One float operation: an FPU instruction or a soft-float routine call."""
    return {f"float_{routine}" if tr.fpu else f"soft_float_{routine}": 1.0}


def _float_weighted(n: _Node) -> Actions:
    a, tr, opt = n.attrs, n.tr, n.opt
    if tr.fpu and tr.has_float_mac:
        mac = {"float_mac": 1.0}
    else:
        mac = plus(_float_op(tr, "mul"), _float_op(tr, "add"))
    depthwise = 1.0 if a["op"] == "lut_depthwise_conv2d" else 0.0
    per_connection = plus(load(32, "sram", tr), load(32, opt.weights_in, tr), mac,
                          {"alu": depthwise} if depthwise else {})
    connections, rows = _taps(a)
    iterations = _inner_loop(n, 1, connections, rows)
    per_unit = plus(_unit_frame(n, iterations, rows), load(32, opt.weights_in, tr),
                    _float_op(tr, "add"))
    if not n.fused_into_threshold:
        per_unit = plus(per_unit, {"store_32": 1.0})
    return plus(times(per_connection, connections), times(per_unit, a["outputs"]))


def _float_pool_frame(n: _Node, window: int, rows: int) -> Actions:
    runs = max(1, rows)
    iterations = runs * math.ceil(window / runs / n.opt.unroll)
    return plus({"alu": 1 + rows}, _loop(1 + iterations + rows))


def _float_max_pool(n: _Node) -> Actions:
    """Per output: read the window (one address step each); every element but the
    first is compared (a float compare), branched on (half taken) and half the time
    moved."""
    window, rows = _window(n)
    element = load(32, "sram", n.tr)
    per_compare = plus(_float_op(n.tr, "compare"), HALF_BRANCH, {"alu": 0.5})
    per_output = plus(times(plus(element, {"alu": 1.0}), window), times(per_compare, window - 1),
                      {"store_32": 1.0}, _float_pool_frame(n, window, rows))
    return times(per_output, n.attrs["outputs"])


def _float_argmax(n: _Node) -> Actions:
    classes = n.attrs["classes"]
    per_compare = plus(_float_op(n.tr, "compare"), HALF_BRANCH, {"alu": 1})
    return plus(times(load(32, "sram", n.tr), classes), times(per_compare, classes - 1),
                _loop(math.ceil(classes / n.opt.unroll)), {"alu": 2, "store_8": 1})


def _float_threshold(n: _Node) -> Actions:
    return times(plus(_float_op(n.tr, "tanh"), {"store_32": 1.0}), n.attrs["units"])


def _float_avg_pool(n: _Node) -> Actions:
    window, rows = _window(n)
    per_element = plus(load(32, "sram", n.tr), {"alu": 1.0})
    per_output = plus(times(per_element, window), times(_float_op(n.tr, "add"), window - 1),
                      _float_op(n.tr, "mul"),                               # x (1 / window)
                      {"store_32": 1.0}, _float_pool_frame(n, window, rows))
    return times(per_output, n.attrs["outputs"])


def _float_add(n: _Node) -> Actions:
    inputs = len(n.inputs)
    per_element = plus(times(load(32, "sram", n.tr), inputs),
                       times(_float_op(n.tr, "add"), inputs - 1), {"alu": 1.0})
    if not n.fused_into_threshold:
        per_element = plus(per_element, {"store_32": 1.0})
    elements = n.attrs["outputs"]
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)))


# ----------------------------------------------------------------------------- dispatch

def _none(n: _Node) -> Actions:
    return {}


_COUNTERS = {
    "lut": {
        **{op: _lut_weighted for op in WEIGHTED_OPS},
        "threshold": _lut_threshold,
        "max_pool1d": _lut_max_pool, "max_pool2d": _lut_max_pool,
        "avg_pool1d": _lut_avg_pool, "avg_pool2d": _lut_avg_pool,
        "add": _lut_add, "argmax": _lut_argmax, "output_table": _lut_output_table,
    },
    "int8": {
        **{op: _int8_weighted for op in WEIGHTED_OPS},
        "threshold": _none,                      # ReLU fused into the requantization clamp
        "max_pool1d": lambda n: _max_pool(n, load(8, "sram", n.tr), {"store_8": 1.0}),
        "max_pool2d": lambda n: _max_pool(n, load(8, "sram", n.tr), {"store_8": 1.0}),
        "avg_pool1d": _int8_avg_pool, "avg_pool2d": _int8_avg_pool,
        "add": _int8_add,
        "argmax": lambda n: _argmax(n, load(8, "sram", n.tr), 0.0),
        "output_table": _none,                   # the int8 output is the value
    },
    "float32": {
        **{op: _float_weighted for op in WEIGHTED_OPS},
        "threshold": _float_threshold,
        "max_pool1d": _float_max_pool, "max_pool2d": _float_max_pool,
        "avg_pool1d": _float_avg_pool, "avg_pool2d": _float_avg_pool,
        "add": _float_add,
        "argmax": _float_argmax,
        "output_table": _none,                   # the float output is the value
    },
}


def node_actions(graph: nx.DiGraph, node: str, style: str, traits: CoreTraits,
                 options: CostOptions) -> Actions:
    """Action counts of one node for one inference."""
    if style not in STYLES:
        raise HwsimError(f"unknown arithmetic style {style!r}; one of {', '.join(STYLES)}")
    attrs = graph.nodes[node]
    op = attrs.get("op")
    if op in FREE_OPS:
        return {}
    counter = _COUNTERS[style].get(op)
    if counter is None:
        raise HwsimError(f"node {node!r}: the cost model does not know op {op!r}")
    return _nonzero(counter(_Node(graph, node, attrs, style, traits, options)))
