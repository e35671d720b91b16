"""Action counts of the lut style, the paper's method: table lookups, integer adds
and compares only (product-table lookups per connection, the threshold search,
pools over levels, value-table lookups)."""
from __future__ import annotations

import math

from hwsim.cost.kernels import (
    WEIGHTED_OPS,
    Node,
    argmax,
    call_frame,
    executed_taps,
    inner_loop,
    kernel_rows,
    max_pool,
    outer_loops,
    pool_frame,
    pool_outer,
    pool_window,
    same_padding,
)
from hwsim.cost.primitives import (
    HALF_BRANCH,
    Actions,
    elements_read,
    field_read,
    level_write,
    load,
    loop_control,
    plus,
    serial_shift,
    shift_ops,
    storage_bits,
    times,
)
from hwsim.cost.lut_library import library_actions, searched_in_library
from hwsim.cost.ops_library import searched_in_add, with_ops
from hwsim.errors import HwsimError


def _is_power_of_two(k: int) -> bool:
    return k > 0 and k & (k - 1) == 0


def _lut_weighted(n: Node) -> Actions:
    """The layer as the lut kernel library runs it (lut_kernels "library", from its
    characterization, the fused threshold's search included) or as the code generator's
    per-layer loops (the formulas below)."""
    if n.opt.lut_kernels == "library":
        actions = library_actions(n)
        if actions is not None:
            return actions
    a, tr, opt, shape = n.attrs, n.tr, n.opt, n.shape
    entry = n.entry_bits
    if entry > tr.word_bits:
        raise HwsimError(f"node {n.name!r}: {entry}-bit table entries are wider than the "
                         f"{tr.word_bits}-bit word of the core; use table_entry_bits <= "
                         f"{tr.word_bits} for the lut style")
    k = a.table_shape[1]
    log_k = math.ceil(math.log2(k))
    log_entry = int(math.log2(entry // 8))
    if opt.row_pointers == "shift_add" and not _is_power_of_two(k):
        raise HwsimError(f"node {n.name!r}: row_pointers='shift_add' needs K a power of two, "
                         f"the layer has K={k}; use 'precomputed' or 'auto'")
    precomputed = opt.row_pointers == "precomputed" or (
        opt.row_pointers == "auto" and (not _is_power_of_two(k) or not tr.barrel_shifter))
    index_bits = a.index_bits
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
        activation = elements_read(edge, opt, n.acc_bits, tr)
        address = 1 if tr.shifted_operand else (
            shift_ops(log_k + log_entry, tr) + scale_index + 1 + base_add)
    accumulate = n.acc_ops() + (1 if n.acc_bits > tr.word_bits and entry < n.acc_bits else 0)
    per_connection = plus(activation, index, {"alu": address}, load(entry, opt.tables_in, tr),
                          {"alu": accumulate + (1 if a.kind == "depthwise_conv2d" else 0)})
    if not precomputed and not tr.shifted_operand:
        # ((level << log K) + index) << log(entry bytes): two shifts as generated
        per_connection = plus(per_connection, serial_shift(log_k, tr),
                              serial_shift(log_entry if scale_index else 0, tr))
    connections, rows = executed_taps(a)
    units = float(a.outputs)
    iterations = inner_loop(n, 1, connections, rows)
    runs = max(rows, 1.0)
    if shape.family == "generic":
        bias_alu = (0 if tr.shifted_operand else scale_index + base_add) + 2 + rows
    else:
        bias_alu = shape.lut_unit_alu
    bias = plus(index, {"alu": bias_alu}, load(entry, opt.tables_in, tr),
                {"alu": 1 if n.acc_bits > tr.word_bits else 0})   # sign-extend into the high word
    store = ({"store_8": 1.0} if n.fused_into_threshold
             else {f"store_{storage_bits(n.acc_bits)}": 1.0})       # the level, or the sum
    per_unit = plus(bias, store, loop_control(iterations, runs), kernel_rows(n, rows))
    total = plus(times(per_connection, connections), times(per_unit, units),
                 outer_loops(n, units), call_frame(n, "weighted"), same_padding(n, units))
    if precomputed:
        if _is_power_of_two(k):
            row = {"alu": shift_ops(log_k + log_entry, tr) + 1}
        else:   # row offsets from a small (L + 1)-entry table: no multiply
            row = plus(load(tr.word_bits, opt.tables_in, tr),
                       {"alu": shift_ops(int(math.log2(tr.word_bits // 8)), tr) + base_add + 1})
        per_element = plus(elements_read(edge, opt, n.acc_bits, tr), row,
                           {f"store_{tr.word_bits}": 1})
        elements = edge["elements"]
        total = plus(total, times(per_element, elements),
                     loop_control(math.ceil(elements / opt.unroll)), {"alu": 2})
    return total


def _search_step(n: Node, bits: int, place: str, compare_ops: int) -> Actions:
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


def _lut_threshold(n: Node) -> Actions:
    """Per unit: the call from the weighted layer's unit loop, the search over the
    thresholds (padded to 2^steps), the level returned (stored by the caller); nothing
    when the lut library's call before it searches them."""
    if n.opt.lut_kernels == "library" and (searched_in_library(n) or searched_in_add(n)):
        return {}
    a, shape = n.attrs, n.shape
    steps = a.compares_per_unit
    search = times(_search_step(n, storage_bits(n.acc_bits), n.opt.thresholds_in, n.acc_ops()),
                   steps)
    per_unit = plus(search, {"alu": shape.search_setup_alu + shape.search_exit_alu})
    if shape.family != "generic":
        per_unit = plus(per_unit, {"call_return": 1.0})
    if shape.literal_pool:
        per_unit = plus(per_unit, {"literal_load": 1.0})
    if not _fused_threshold(n):
        per_unit = plus(per_unit, elements_read(n.inputs[0], n.opt, n.acc_bits, n.tr),
                        level_write(a.levels, n.opt, n.tr))
    return times(per_unit, a.units)


def _fused_threshold(n: Node) -> bool:
    preds = list(n.graph.predecessors(n.name))
    return len(preds) == 1 and n.graph.nodes[preds[0]]["op"].kind in (*WEIGHTED_OPS, "add")


def _lut_max_pool(n: Node) -> Actions:
    edge = n.inputs[0]
    store = (level_write(edge["levels"], n.opt, n.tr) if edge["kind"] == "levels"
             else {f"store_{storage_bits(n.acc_bits)}": 1})
    return max_pool(n, elements_read(edge, n.opt, n.acc_bits, n.tr), store)


def _lut_avg_pool(n: Node) -> Actions:
    edge, tr = n.inputs[0], n.tr
    window, rows = pool_window(n)
    bounds = getattr(n.attrs, "pool_bounds", None)
    if bounds is None or edge["kind"] != "levels":
        raise HwsimError(f"node {n.name!r}: a lut average pool needs level inputs and "
                         "pool_bounds")
    largest = max([abs(int(b)) for b in bounds] + [window * len(bounds) + 1])
    bound_bits = storage_bits(largest.bit_length() + 1)        # signed
    steps = math.ceil(math.log2(len(bounds) + 1))
    per_element = plus(elements_read(edge, n.opt, n.acc_bits, tr), {"alu": 1})  # add
    search = times(_search_step(n, bound_bits, n.opt.thresholds_in, n.acc_ops(bound_bits)),
                   steps)
    per_output = plus(times(per_element, window), search,
                      {"alu": n.shape.search_exit_alu},
                      level_write(edge["levels"], n.opt, tr), pool_frame(n, window, rows))
    outputs = float(n.attrs.outputs)
    literal = {"literal_load": 1.0} if n.shape.literal_pool else {}
    return plus(times(per_output, outputs), pool_outer(n, outputs), call_frame(n, "light"),
                literal)


def _value_lookup(n: Node, edge: dict) -> Actions:
    """A level index read and turned into its integer value through a value table."""
    tr, entry = n.tr, n.entry_bits
    log_entry = int(math.log2(entry // 8))
    address = 0 if tr.shifted_operand else (
        shift_ops(log_entry, tr) + (0 if tr.register_offset else 1))
    return plus(elements_read(edge, n.opt, n.acc_bits, n.tr), {"alu": address},
                load(entry, n.opt.tables_in, tr))


def _lut_add(n: Node) -> Actions:
    parts = []
    for edge in n.inputs:
        if edge["kind"] == "levels":
            parts.append(_value_lookup(n, edge))
        else:
            parts.append(elements_read(edge, n.opt, n.acc_bits, n.tr))
    per_element = plus(*parts, {"alu": n.acc_ops() * (len(parts) - 1) + 1})  # adds, pointer
    # A threshold that follows runs per element on the sum in a register; the add then
    # stores the level it returns.
    store = ({"store_8": 1.0} if n.fused_into_threshold
             else {f"store_{storage_bits(n.acc_bits)}": 1.0})
    elements = n.attrs.outputs
    return plus(times(plus(per_element, store), elements),
                loop_control(math.ceil(elements / n.opt.unroll)), call_frame(n, "light"))


def _lut_argmax(n: Node) -> Actions:
    edge = n.inputs[0]
    wide = edge["kind"] == "sums"
    return argmax(n, elements_read(edge, n.opt, n.acc_bits, n.tr),
                   n.shape.argmax_address_alu if wide else 0.0)


def _lut_output_table(n: Node) -> Actions:
    elements = n.attrs.outputs
    per_element = plus(_value_lookup(n, n.inputs[0]), {f"store_{n.entry_bits}": 1},
                       {"alu": n.shape.output_table_alu})
    literal = {"literal_load": 1.0} if n.shape.literal_pool else {}
    return plus(times(per_element, elements), loop_control(math.ceil(elements / n.opt.unroll)),
                call_frame(n, "light"), literal)


LUT_COUNTERS = {
    **{op: _lut_weighted for op in WEIGHTED_OPS},
    "threshold": _lut_threshold,
    "max_pool1d": with_ops(_lut_max_pool), "max_pool2d": with_ops(_lut_max_pool),
    "avg_pool1d": with_ops(_lut_avg_pool), "avg_pool2d": with_ops(_lut_avg_pool),
    "add": with_ops(_lut_add), "argmax": with_ops(_lut_argmax),
    "output_table": with_ops(_lut_output_table),
}
