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
from dataclasses import dataclass, fields

import networkx as nx

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
    k times); 8 is the worst case of an offset activation (0..255). simd: use
    the core's SIMD MAC for int8 where it has one."""

    tables_in: str = "flash"
    weights_in: str = "flash"
    thresholds_in: str = "flash"
    activations: str = "bytes"
    weight_indices: str = "packed"
    row_pointers: str = "auto"
    unroll: int = 1
    multiplier_operand_bits: int = 8
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
        if not _is_int(bits) or not 0 <= bits <= 32:
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
                      "float_mac" in device.cycles, wide)


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


def _loop(iterations: float) -> Actions:
    """Loop control: index advance + compare + taken backward branch, per iteration."""
    return {"loop_overhead": float(iterations)}


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


def _lut_weighted(n: _Node) -> Actions:
    a, tr, opt = n.attrs, n.tr, n.opt
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
    iterations = _inner_loop(n, 1, connections, rows)
    bias = plus(index, {"alu": (0 if tr.shifted_operand else scale_index + base_add)},
                load(entry, opt.tables_in, tr),
                {"alu": 1 if n.acc_bits > tr.word_bits else 0})   # sign-extend into the high word
    per_unit = plus(_unit_frame(n, iterations, rows), bias)
    if not n.fused_into_threshold:
        per_unit = plus(per_unit, {f"store_{storage_bits(n.acc_bits)}": 1})
    total = plus(times(per_connection, connections), times(per_unit, a["outputs"]))
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


def _search(steps: int, bits: int, place: str, compare_ops: int, tr: CoreTraits) -> Actions:
    """A branchy binary search over sorted integer bounds: per step, form the probe
    address, load the bound, compare, branch (half taken) and half the time move
    the index."""
    step = plus({"alu": 1 + compare_ops + 0.5}, load(bits, place, tr), HALF_BRANCH)
    return times(step, steps)


def _lut_threshold(n: _Node) -> Actions:
    a = n.attrs
    search = _search(a["compares_per_unit"], storage_bits(n.acc_bits), n.opt.thresholds_in,
                     n.acc_ops(), n.tr)
    return times(plus(search, _level_write(a["levels"], n.opt, n.tr)), a["units"])


def _window(n: _Node) -> tuple[int, int]:
    """(elements per window, rows per window) of a pool."""
    layer = n.attrs.get("layer")
    if n.attrs["op"].endswith("2d"):
        return layer.size_h * layer.size_w, layer.size_h
    return n.attrs["window"], 0


def _pool_frame(n: _Node, window: int, rows: int) -> Actions:
    runs = max(1, rows)
    iterations = runs * math.ceil(window / runs / n.opt.unroll)
    return plus({"alu": 1 + rows}, _loop(1 + iterations + rows))


def _max_pool(n: _Node, element: Actions, compare: Actions, store: Actions) -> Actions:
    """Per output: read the window (one address step each); the first element starts
    the maximum, every other one is compared, branched on (half taken) and half
    the time moved."""
    window, rows = _window(n)
    per_compare = plus(compare, HALF_BRANCH, {"alu": 0.5})
    per_output = plus(times(plus(element, {"alu": 1.0}), window), times(per_compare, window - 1),
                      store, _pool_frame(n, window, rows))
    return times(per_output, n.attrs["outputs"])


def _lut_max_pool(n: _Node) -> Actions:
    edge = n.inputs[0]
    compare = {"alu": n.acc_ops() if edge["kind"] == "sums" else 1}
    store = (_level_write(edge["levels"], n.opt, n.tr) if edge["kind"] == "levels"
             else {f"store_{storage_bits(n.acc_bits)}": 1})
    return _max_pool(n, _elements_read(edge, n.opt, n.acc_bits, n.tr), compare, store)


def _lut_avg_pool(n: _Node) -> Actions:
    edge, tr = n.inputs[0], n.tr
    window, rows = _window(n)
    bounds = n.attrs.get("pool_bounds")
    if bounds is None or edge["kind"] != "levels":
        raise HwsimError(f"node {n.name!r}: a lut average pool needs level inputs and "
                         "pool_bounds")
    largest = max((abs(int(b)) for b in bounds), default=0)
    bound_bits = storage_bits(largest.bit_length() + 1)        # signed
    steps = math.ceil(math.log2(len(bounds) + 1))
    per_element = plus(_elements_read(edge, n.opt, n.acc_bits, tr), {"alu": 1})  # address
    search = _search(steps, bound_bits, n.opt.thresholds_in, n.acc_ops(bound_bits), tr)
    per_output = plus(times(per_element, window), {"alu": window - 1}, search,
                      _level_write(edge["levels"], n.opt, tr),
                      _pool_frame(n, window, rows))
    return times(per_output, n.attrs["outputs"])


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
    if not n.fused_into_threshold:
        per_element = plus(per_element, {f"store_{storage_bits(n.acc_bits)}": 1})
    elements = n.attrs["outputs"]
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)))


def _argmax(n: _Node, element: Actions, compare: Actions) -> Actions:
    """Read every class score; compare all but the first with the running maximum,
    branch (half taken) and half the time move the maximum and its index; store
    the class id."""
    classes = n.attrs["classes"]
    per_compare = plus(compare, HALF_BRANCH, {"alu": 1})
    return plus(times(element, classes), times(per_compare, classes - 1),
                _loop(math.ceil(classes / n.opt.unroll)), {"alu": 2, "store_8": 1})


def _lut_argmax(n: _Node) -> Actions:
    edge = n.inputs[0]
    compare = {"alu": n.acc_ops() if edge["kind"] == "sums" else 1}
    return _argmax(n, _elements_read(edge, n.opt, n.acc_bits, n.tr), compare)


def _lut_output_table(n: _Node) -> Actions:
    elements = n.attrs["outputs"]
    per_element = plus(_value_lookup(n, n.inputs[0]), {f"store_{n.entry_bits}": 1})
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)))


# ----------------------------------------------------------------------------- int8 style

def _multiply(tr: CoreTraits, opt: CostOptions, accumulate: bool, operand_bits: int) -> Actions:
    """One 32-bit multiply (and its accumulate, when `accumulate`) on this core."""
    add = {"alu": float(tr.word_factor)} if accumulate else {}
    if tr.multiplier == "none":
        return plus({"soft_mul_call": 1.0, "soft_mul_bit": float(operand_bits)}, add)
    if accumulate and tr.has_mac:
        return {"mac": 1.0}
    return plus({"mul": 1.0}, add)


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


def _requantize(tr: CoreTraits) -> Actions:
    """acc -> int8: MultiplyByQuantizedMultiplier (64-bit product, rounding doubling
    high multiply, rounding right shift), output offset, clamp (ReLU fused), no store."""
    wf = tr.word_factor
    return plus(_wide_multiply(tr), {"alu": (9 + 1 + 2) * wf, "branch_not_taken": 2.0})


def _int8_weighted(n: _Node) -> Actions:
    a, tr, opt = n.attrs, n.tr, n.opt
    depthwise = 1 if a["op"] == "lut_depthwise_conv2d" else 0
    connections, rows = _taps(a)
    if opt.simd and tr.simd_lanes > 1:
        # Four int8 per 32-bit word. Two 16-bit lanes (SMLAD): each word is widened
        # into two pairs (SXTB16 / SXTAB16, the activation offset folded into
        # SXTAB16): one instruction per 2 values per operand. Four lanes (Xpulp
        # sdotp, HiFi4) take packed bytes; the activation offset is one packed add.
        per_word = 4
        unpack_and_offset = 4 / per_word if tr.simd_lanes < per_word else 1 / per_word
        per_connection = plus(times(load(32, "sram", tr), 1 / per_word),
                              times(load(32, opt.weights_in, tr), 1 / per_word),
                              {"alu": unpack_and_offset + depthwise,
                               "simd_mac": 1 / tr.simd_lanes})
        iterations = _inner_loop(n, per_word, connections, rows)
    else:
        per_connection = plus(load(8, "sram", tr), load(8, opt.weights_in, tr),
                              {"alu": 1.0 + depthwise},                  # activation offset
                              _multiply(tr, opt, True, opt.multiplier_operand_bits))
        iterations = _inner_loop(n, 1, connections, rows)
    per_unit = plus(_unit_frame(n, iterations, rows), load(32, opt.weights_in, tr),
                    {"alu": float(tr.word_factor)}, _requantize(tr), {"store_8": 1.0})
    return plus(times(per_connection, connections), times(per_unit, a["outputs"]))


def _int8_avg_pool(n: _Node) -> Actions:
    tr = n.tr
    window, rows = _window(n)
    if tr.divider:
        divide = {"div": 1.0, "alu": 2.0}                               # + rounding
    else:   # multiply by a fixed-point reciprocal, round, shift
        divide = plus(_multiply(tr, n.opt, False, (255 * window).bit_length()), {"alu": 3.0})
    per_element = plus(load(8, "sram", tr), {"alu": 1.0})                 # address
    per_output = plus(times(per_element, window), {"alu": (window - 1) * tr.word_factor}, divide,
                      {"alu": 1.0, "branch_not_taken": 2.0, "store_8": 1.0},   # offset, clamp
                      _pool_frame(n, window, rows))
    return times(per_output, n.attrs["outputs"])


def _int8_add(n: _Node) -> Actions:
    """TFLM int8 ADD: both inputs rescaled to a common scale (left shift and a
    fixed-point multiply each), added, and the sum requantized."""
    tr = n.tr
    rescale = plus(load(8, "sram", tr), {"alu": 2.0 * tr.word_factor},   # offset, left shift
                   _wide_multiply(tr), {"alu": 9.0 * tr.word_factor})
    inputs = len(n.inputs)
    per_element = plus(times(rescale, inputs), {"alu": float(tr.word_factor * (inputs - 1))},
                       _requantize(tr), {"store_8": 1.0})
    elements = n.attrs["outputs"]
    return plus(times(per_element, elements), _loop(math.ceil(elements / n.opt.unroll)))


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


def _float_threshold(n: _Node) -> Actions:
    return times(plus(_float_op(n.tr, "tanh"), {"store_32": 1.0}), n.attrs["units"])


def _float_avg_pool(n: _Node) -> Actions:
    window, rows = _window(n)
    per_element = plus(load(32, "sram", n.tr), {"alu": 1.0})
    per_output = plus(times(per_element, window), times(_float_op(n.tr, "add"), window - 1),
                      _float_op(n.tr, "mul"),                               # x (1 / window)
                      {"store_32": 1.0}, _pool_frame(n, window, rows))
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
        "max_pool1d": lambda n: _max_pool(n, load(8, "sram", n.tr), {"alu": 1.0}, {"store_8": 1.0}),
        "max_pool2d": lambda n: _max_pool(n, load(8, "sram", n.tr), {"alu": 1.0}, {"store_8": 1.0}),
        "avg_pool1d": _int8_avg_pool, "avg_pool2d": _int8_avg_pool,
        "add": _int8_add,
        "argmax": lambda n: _argmax(n, load(8, "sram", n.tr), {"alu": 1.0}),
        "output_table": _none,                   # the int8 output is the value
    },
    "float32": {
        **{op: _float_weighted for op in WEIGHTED_OPS},
        "threshold": _float_threshold,
        "max_pool1d": lambda n: _max_pool(n, load(32, "sram", n.tr), _float_op(n.tr, "compare"),
                                          {"store_32": 1.0}),
        "max_pool2d": lambda n: _max_pool(n, load(32, "sram", n.tr), _float_op(n.tr, "compare"),
                                          {"store_32": 1.0}),
        "avg_pool1d": _float_avg_pool, "avg_pool2d": _float_avg_pool,
        "add": _float_add,
        "argmax": lambda n: _argmax(n, load(32, "sram", n.tr), _float_op(n.tr, "compare")),
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
