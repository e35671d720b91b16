"""Action counts of the int8 style: multiply-accumulate with requantization, as
TFLite Micro runs it (hardware, SIMD or software multiplies).

Over 300 lines: one counter per int8 op kind, each with its plain loops' variants
without a multiplier (software multiplies, 'same' spills) and on a serial shifter, which
share the helpers here; the library's counts, the software routines and the shifts'
amounts live in int8_library, soft_multiply and requantize_shifts."""
from __future__ import annotations

import math

from hwsim.cost.kernels import (
    WEIGHTED_OPS,
    Node,
    argmax,
    call_frame,
    executed_taps,
    kernel_rows,
    max_pool,
    no_actions,
    outer_loops,
    output_positions,
    pool_frame,
    pool_outer,
    pool_window,
    same_padding,
)
from hwsim.cost.constant_multiply import constant_multiply
from hwsim.cost.int8_library import call_actions, library_actions
from hwsim.cost.ops_library import with_ops
from hwsim.cost.requantize_shifts import (add_call_shifts, add_element_shifts,
                                          library_shift_amounts, weighted_shifts)
from hwsim.cost.soft_multiply import (
    add_multiplier_terms, mac_call, multiplier_terms, requantize_call, soft_multiply_target,
    weight_terms,
)
from hwsim.cost.soft_multiply import call_actions as soft_call
from hwsim.ir.int8_kernels import REFERENCE, kernel_call
from hwsim.ir.ops_kernels import POOL_SHIFT
from hwsim.ir.lowering import UNROLLED_WINDOW
from hwsim.cost.options import CoreTraits, CostOptions
from hwsim.cost.primitives import (
    HALF_BRANCH, Actions, load, loop_control, plus, serial_shift, times,
)


# A multiplier whose MUL time follows its second operand (the device's
# operand_multiplier, Ibex RV32MSlow): gcc -O2 puts the sign-extended int8 weight there
# (`(x + 128) * w`); half the weights are taken as negative (32 significant bits), the
# others as 6 bits. The requantization multiplies by the Q31 multiplier, in [2^30, 2^31).
MAC_WEIGHT_OPERAND_BITS = 0.5 * 32 + 0.5 * 6
REQUANTIZE_OPERAND_BITS = 31


def _mul(tr: CoreTraits, operand_bits: float) -> Actions:
    """One MUL instruction whose second operand has `operand_bits` significant bits."""
    if tr.operand_multiplier:
        return {"mul_base": 1.0, "mul_operand_bit": float(max(operand_bits, 1))}
    return {"mul": 1.0}


def _multiply(tr: CoreTraits, opt: CostOptions, accumulate: bool, operand_bits: int) -> Actions:
    """One 32-bit multiply (and its accumulate, when `accumulate`) on a core with a
    multiplier (without one: `_soft_mac`)."""
    add = {"alu": float(tr.word_factor)} if accumulate else {}
    if accumulate and tr.has_mac:
        return {"mac": 1.0}
    return plus(_mul(tr, MAC_WEIGHT_OPERAND_BITS if accumulate else operand_bits), add)


def muldi3(multiplier_bits: int = 31, set_fraction: float = 0.5,
           negative_fraction: float = 0.5, tr: CoreTraits | None = None) -> Actions:
    """libgcc's RV32 __muldi3(acc, multiplier) without a multiplier (the int8
    requantization's 64-bit product): a shift-and-add loop over the bits of the Q31
    multiplier's low word (31 bits), plus __mulsi3(multiplier, -1) when the
    accumulator is negative (its high word is all ones: 32 iterations, every bit set).
    With `tr` of a core with a serial shifter, its shifts are charged by their amounts:
    per iteration three by 1 and one by 31 (the 64-bit shift's carry), two by 1 in
    __mulsi3's."""
    p = set_fraction
    one = serial_shift(1, tr) if tr is not None else {}
    loop = plus({"alu": 6 + 4 * p, "branch_taken": 1 - p, "branch_not_taken": p},
                {"branch_taken": 1.0}, times(one, 3), serial_shift(31, tr) if tr else {})
    body = plus({"call_return": 1.0, "alu": 12.0, "store_32": 1.0, "load_32": 1.0},
                times(loop, multiplier_bits), {"branch_taken": -1.0, "branch_not_taken": 1.0},
                {"branch_taken": 1 - negative_fraction + 1, "branch_not_taken": negative_fraction})
    high = plus({"call_return": 1.0, "alu": 3.0},
                times(plus({"alu": 4.0, "branch_not_taken": 1.0, "branch_taken": 1.0},
                           times(one, 2)), 32),
                {"branch_taken": -1.0, "branch_not_taken": 1.0})
    return plus(body, times(high, negative_fraction))


def _requantize(n: Node) -> Actions:
    """Per output unit: acc -> int8 (MultiplyByQuantizedMultiplier, clamp) and the
    unit's bookkeeping, as the family's code does it."""
    tr, shape = n.tr, n.shape
    if shape.family == "generic":
        wf = tr.word_factor
        return plus(_wide_multiply(tr), {"alu": (9 + 1 + 2) * wf, "branch_not_taken": 2.0},
                    {"alu": 2.0})
    actions = plus(dict(shape.int8_unit), times(HALF_BRANCH, shape.int8_unit_branches))
    if shape.wide == "mul_mulh":
        actions = plus(actions, weighted_shifts(n))
        if tr.multiplier == "none":
            actions = plus(actions, _soft_requantize(n), {"alu": 2.0, "stack_load": 2.5})
        else:
            actions = plus(actions, _mul(tr, REQUANTIZE_OPERAND_BITS), {"mulh": 1.0})
    return actions


# The generated code's sign handling around a software multiply (hwsim.machine.codegen.int8,
# SOFT_MULTIPLY; gcc 12 -O2 -march=rv32i): a MAC's sra, xor, sub (|w|) before the
# __mulsi3 call and xor, sub (the product's sign) after; the requantization's sra, xor,
# sub (|acc|) and two li of the high words before __muldi3 and xor, xor, sub, sltu, sub,
# sub (the 64-bit product's sign) after, against the three instructions that set up
# __muldi3(acc, acc >> 31, ...) before.
SOFT_MAC_SIGN = {"alu": 5.0}
SOFT_REQUANTIZE_SIGN = {"alu": 11.0 - 3.0}


def _soft_mac(n: Node) -> Actions:
    """One MAC's software multiply, __mulsi3(x + 128, |w|), with its sign handling (its
    sra by 31 priced by amount on a serial shifter): from the routine's characterization
    where it covers the core, else the formulas."""
    target = soft_multiply_target(n.tr)
    sign = plus(SOFT_MAC_SIGN, serial_shift(31, n.tr))
    if target is not None:
        return plus(mac_call(n, target), sign)
    return plus({"soft_mul_call": 1.0, "soft_mul_bit": weight_terms(n)[0]}, sign)


def _soft_requantize(n: Node) -> Actions:
    """One output's __muldi3(|acc|, multiplier) with its sign handling (its sra by 31
    priced by amount on a serial shifter): from the routine's
    characterization where it covers the core, else the formulas (no __mulsi3 inside:
    both high words are 0)."""
    target = soft_multiply_target(n.tr)
    sign = plus(SOFT_REQUANTIZE_SIGN, serial_shift(31, n.tr))
    if target is not None:
        return plus(requantize_call(n, target), sign)
    bits, ones = multiplier_terms(n)
    return plus(muldi3(bits, ones / bits, 0.0, n.tr), sign)


def _wide_multiply(tr: CoreTraits) -> Actions:
    """The 32x32->64 product of a requantization (its high word is kept)."""
    kind = tr.wide_multiply
    if kind == "instruction":
        return {"mul": 1.0}                                      # SMULL
    if kind == "mul_mulh":
        return plus(_mul(tr, REQUANTIZE_OPERAND_BITS), {"mulh": 1.0})   # MUL + MULH
    if kind == "routine":                                        # __umulsidi3: 4 16x16 partials
        return {"call_return": 1.0, "mul": 4.0, "alu": 14.0}
    if kind == "peripheral":
        return {"mul": 2.0}                                      # MPY32: 4 operand words, 2 results
    return {"soft_mul_call": 4.0, "soft_mul_bit": 64.0, "alu": 8.0}   # 4 __mulsi3 of 16 bits


def _int8_dot(n: Node, connections: float, runs_per_unit: float, units: float) -> Actions:
    """The MACs of a weighted layer and their inner loops."""
    a, tr, opt = n.attrs, n.tr, n.opt
    depthwise = 1 if a.kind == "depthwise_conv2d" else 0
    scalar = plus(load(8, "sram", tr), load(8, opt.weights_in, tr),
                  {"alu": 1.0 + depthwise},                      # activation offset
                  plus(_soft_mac(n), {"alu": float(tr.word_factor)})
                  if tr.multiplier == "none" else _multiply(tr, opt, True, 0))
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
            actions = plus(actions, loop_control(math.ceil(words / opt.unroll) * runs, runs))
        if tail:
            actions = plus(actions, times(scalar, tail * runs),
                           loop_control(math.ceil(tail / opt.unroll) * runs, runs))
        return actions
    iterations = math.ceil(per_run / opt.unroll) * runs
    return plus(times(scalar, connections), loop_control(iterations, runs))


def _int8_weighted(n: Node) -> Actions:
    """The layer as the int8 kernel library runs it (from its characterization: the
    node's chosen library kernel, or without a choice the preferred one when int8_kernels
    is not "reference") or as a plain C loop (the formulas below; kernel "reference")."""
    if n.kernel != REFERENCE and (n.kernel is not None or n.opt.int8_kernels != "reference"):
        actions = library_actions(n)
        if actions is not None:
            return actions
    a, tr, opt = n.attrs, n.tr, n.opt
    connections, rows = executed_taps(a)
    units = float(a.outputs)
    runs = max(rows, 1.0)
    per_unit = plus(load(32, opt.weights_in, tr), {"alu": float(tr.word_factor)},
                    _requantize(n), {"store_8": 1.0}, kernel_rows(n, rows))
    if n.shape.family == "generic":
        per_unit = plus(per_unit, {"alu": 2.0})
    return plus(_int8_dot(n, connections, runs, units), times(per_unit, units),
                outer_loops(n, units), call_frame(n, "weighted"), same_padding(n, units),
                _soft_same(n, units))


def _soft_same(n: Node, units: float) -> Actions:
    """A 'same'-padded conv2d or depthwise layer's plain loops without a multiplier: the
    spills and reloads around the __mulsi3 calls and the window-table reads the shared
    sequences do not count (hwsim.cost.shapes, soft_same_unit / soft_same_position)."""
    layer = getattr(n.attrs, "layer", None)
    if (n.tr.multiplier != "none" or getattr(layer, "padding", "valid") != "same"
            or n.attrs.kind not in ("conv2d", "depthwise_conv2d")):
        return {}
    positions, _ = output_positions(n)
    return plus(times(n.shape.soft_same_unit, units),
                times(n.shape.soft_same_position, positions))


def _int8_avg_pool(n: Node) -> Actions:
    """Sum the window, then round(sum / N) as (sum * R + 2^15) >> 16 with R = round(2^16 / N)
    (no divide). For a power-of-two window gcc folds that to (sum + N/2) >> log2 N and
    drops the clamp (the result is in range); otherwise a multiply and the clamp. Without
    a multiplier gcc multiplies by R with shifts and adds (hwsim.cost.constant_multiply);
    it drops the clamp where it knows the sum's range (a written-out window) and the
    clamp's two branches are taken otherwise (a rounded mean of int8 values is in range).
    Its loops over channels and positions as gcc builds them there
    (hwsim.cost.kernels.pool_outer, written_out)."""
    tr = n.tr
    window, rows = pool_window(n)
    reciprocal = round((1 << POOL_SHIFT) / window)
    unrolled = window <= UNROLLED_WINDOW
    if window & (window - 1) == 0:
        divide = plus({"alu": 2.0}, serial_shift(window.bit_length() - 1, tr))
    elif tr.multiplier == "none":
        shifts, adds = constant_multiply(reciprocal)
        divide = plus({"alu": 2.0 + len(shifts) + adds}, *(serial_shift(m, tr) for m in shifts),
                      serial_shift(POOL_SHIFT, tr), {} if unrolled else {"branch_taken": 2.0})
    else:
        divide = plus(_multiply(tr, n.opt, False, reciprocal.bit_length()),
                      {"alu": 3.0}, serial_shift(POOL_SHIFT, tr), HALF_BRANCH, HALF_BRANCH)
    per_element = load(8, "sram", tr)
    per_output = plus(times(per_element, window), {"alu": (window - 1) * tr.word_factor}, divide,
                      {"store_8": 1.0}, pool_frame(n, window, rows))
    outputs = float(n.attrs.outputs)
    return plus(times(per_output, outputs),
                pool_outer(n, outputs, written_out=unrolled and tr.multiplier == "none"),
                call_frame(n, "light"))


# The plain add loop on RV32I (hwsim.machine.codegen.int8, _Emitter.add; gcc 12 -O2): per
# element two lb, their address adds and shifts by 20, per requantization three argument
# moves (multiplier, left, right), two moves around the calls, the sum, the clamp's two
# bge (taken: the clamp rarely binds), sb, and the loop. Per call of hw_requantize_call:
# 42 instructions around __muldi3 (|acc| and the sign applied back, the gemmlowp rounding,
# the rounding right shift), three words saved and restored, and one bgez on the
# product's sign (taken when >= 0; else three more instructions: half taken, the
# estimate's only data-dependent part, at most 1.5 alu + a branch's difference per call).
# The frame: nine setup moves, ten saved words (not counted: 2 moves and a word more per
# multiplier that needs lui + addi, hoisted out of the loop; < 0.01% of an add).
SOFT_ADD_ELEMENT = {"alu": 16.0, "load_8": 2.0, "branch_taken": 2.0, "store_8": 1.0}
SOFT_ADD_REQUANTIZE = {"call_return": 1.0, "alu": 42.0 + 1.5, "stack_load": 3.0,
                       "stack_store": 3.0, "branch_taken": 0.5, "branch_not_taken": 0.5}
SOFT_ADD_FRAME = {"alu": 9.0, "stack_load": 10.0, "stack_store": 10.0}


def _soft_add(n: Node, target: str) -> Actions:
    """The plain add loop without a multiplier, its __muldi3 calls from their
    characterization (the multipliers' bits and ones), its shifts by their amounts on a
    serial shifter (hwsim.cost.requantize_shifts)."""
    calls = [plus(SOFT_ADD_REQUANTIZE, soft_call(target, "muldi3", bits, ones,
                                                 n.tr.serial_shifter), shifts)
             for (bits, ones), shifts in zip(add_multiplier_terms(n), add_call_shifts(n))]
    elements = float(n.attrs.outputs)
    per_element = plus(SOFT_ADD_ELEMENT, add_element_shifts(n), *calls)
    return plus(times(per_element, elements), loop_control(elements), SOFT_ADD_FRAME,
                {"call_return": 1.0})


def _int8_add(n: Node) -> Actions:
    """TFLM int8 ADD: both inputs rescaled to a common scale (left shift and a
    fixed-point multiply each), added, and the sum requantized. Without a multiplier the
    generated plain loop (`_soft_add`); else the library's add kernel (which the
    generated code calls there) from its characterization where it covers the core;
    else these formulas."""
    target = soft_multiply_target(n.tr)
    if target is not None:
        return _soft_add(n, target)
    shifts = library_shift_amounts(n, "add") if n.tr.serial_shifter else None
    actions = call_actions(kernel_call(n.attrs), n.tr, n.opt, node_call=True,
                           shift_amounts=shifts)
    if actions is not None:
        return actions
    tr = n.tr
    rescale = plus(load(8, "sram", tr), {"alu": 2.0 * tr.word_factor},   # offset, left shift
                   _wide_multiply(tr), {"alu": 9.0 * tr.word_factor})
    inputs = len(n.inputs)
    per_element = plus(times(rescale, inputs), {"alu": float(tr.word_factor * (inputs - 1))},
                       _wide_multiply(tr), {"alu": 12.0 * tr.word_factor,
                                            "branch_not_taken": 2.0}, {"store_8": 1.0})
    elements = n.attrs.outputs
    return plus(times(per_element, elements), loop_control(math.ceil(elements / n.opt.unroll)),
                call_frame(n, "light"))


INT8_COUNTERS = {
    **{op: _int8_weighted for op in WEIGHTED_OPS},
    "threshold": no_actions,                 # ReLU fused into the requantization clamp
    "max_pool1d": with_ops(lambda n: max_pool(n, load(8, "sram", n.tr), {"store_8": 1.0})),
    "max_pool2d": with_ops(lambda n: max_pool(n, load(8, "sram", n.tr), {"store_8": 1.0})),
    "avg_pool1d": with_ops(_int8_avg_pool), "avg_pool2d": with_ops(_int8_avg_pool),
    "add": _int8_add,
    "argmax": with_ops(lambda n: argmax(n, load(8, "sram", n.tr), 0.0)),
    "output_table": no_actions,              # the int8 output is the value
}
