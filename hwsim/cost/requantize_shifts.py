"""The int8 plain loops' requantization shifts on a core with a serial shifter (the
device's serial_shifter, PicoRV32 without its barrel shifter), where a shift by n takes
time by n (hwsim.cost.serial_shift). The per-unit and per-call instruction counts
(hwsim.cost.shapes `int8_unit`, hwsim.cost.int8 SOFT_ADD_*) count these shifts as alu;
here each gets its amount, so that `primitives.serial_shift` prices it (nothing on a
barrel shifter).

What gcc 12 -O2 makes of hw_requantize (hwsim.machine.codegen.int8; rv32i and rv32im
alike, read from the disassembly and checked by emulation, tests/test_requantize_shifts.py):

- a weighted layer's requantization, inlined with the layer's constant shift: the 64-bit
  rounding division by 2^31 (srai 31, slli 1, srli 31) and, for a right shift, the
  remainder's threshold (srli 31: high < 0) and the shift itself (srai right); a left
  shift is one slli by it;
- the residual add's hw_requantize_call (one out-of-line copy, its shifts by a register):
  sll by left, the sign (srai 31), the rounding (srai 31, slli 1, srli 1, slli 1,
  srli 31), the mask (sll 1 by right, srai 1), the threshold (srli 31) and the shift (sra
  by right); per element the two inputs' slli by ADD_LEFT_SHIFT.

The amounts come from the graph's int8 scales (hwsim.ir.int8_scales, as the code
generator takes them); a graph without weights fixes no multiplier, and its right shift
is taken as UNKNOWN_RIGHT_SHIFT. The same shifts give the int8 library's RV32IM calls
their amounts by role (`library_shift_amounts`, hwsim.ir.int8_kernels.shift_roles), which
its characterization counts as shift_by_<role> (hwsim.cost.int8_library)."""
from __future__ import annotations

import weakref

from hwsim.cost.primitives import Actions, plus, register_shift, serial_shift
from hwsim.ir.int8_kernels import shift_roles
from hwsim.ir.int8_scales import ADD_LEFT_SHIFT, add_quant, int8_scales, weighted_multiplier
from hwsim.ir.int8_weights import int8_weights

# Without weights: the median right shift of the held-out networks' layers (seeds 0 and 1,
# 52 layers: 7 to 14 bits).
UNKNOWN_RIGHT_SHIFT = 8
WEIGHTED_ROUNDING = (31, 1, 31)          # (ab + nudge) / 2^31 on a 64-bit product
WEIGHTED_RIGHT = (31,)                   # high < 0, besides the shift by right itself
CALL_CONSTANT = (31, 31, 1, 1, 1, 31, 1, 31)
ELEMENT_SHIFTS = (ADD_LEFT_SHIFT, ADD_LEFT_SHIFT)

# Per graph (weakly held: a graph is not modified once built), its int8 scales.
_SCALES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scales(g) -> dict[str, float]:
    if g not in _SCALES:
        _SCALES[g] = int8_scales(g)
    return _SCALES[g]


def _has_weights(g) -> bool:
    return all(int8_weights(g, m) is not None for m, op in g.nodes(data="op") if op.weighted)


def _left_right(shift: int) -> tuple[int, int]:
    return max(int(shift), 0), max(-int(shift), 0)


def weighted_shift(n) -> int:
    """Weighted node `n`'s requantization shift (< 0: right), UNKNOWN_RIGHT_SHIFT without
    weights."""
    if int8_weights(n.graph, n.name) is None:
        return -UNKNOWN_RIGHT_SHIFT
    return int(weighted_multiplier(n.graph, n.name, _scales(n.graph))[1])


def _add_shifts(n) -> tuple[int, ...]:
    """Add node `n`'s three requantization shifts (inputs, output)."""
    g = n.graph
    if not _has_weights(g):
        return (-UNKNOWN_RIGHT_SHIFT,) * 3
    s = _scales(g)
    first, second = g.predecessors(n.name)
    return tuple(int(v) for v in add_quant(s[first], s[second], s[n.name])[1])


def library_shift_amounts(n, kernel: str) -> dict[str, int]:
    """Role -> amount of the int8 library's shifts by a register in node `n`'s call of
    `kernel` (hwsim.ir.int8_kernels.shift_roles; counted by role in the RISC-V data):
    from its requantization shift (an add's three)."""
    return shift_roles(kernel, _add_shifts(n) if kernel == "add" else weighted_shift(n))


def weighted_shifts(n) -> Actions:
    """Per output unit of weighted node `n` (hwsim.cost.kernels.Node) in the plain loops:
    its requantization's shifts beyond the alu the unit's count charges for them."""
    if not n.tr.serial_shifter:
        return {}
    left, right = _left_right(weighted_shift(n))
    amounts = WEIGHTED_ROUNDING + ((*WEIGHTED_RIGHT, right) if right else ()) + (
        (left,) if left else ())
    return plus(*(serial_shift(a, n.tr) for a in amounts))


def add_call_shifts(n) -> tuple[Actions, ...]:
    """Per element of add node `n` in the plain loop: the shifts of each of its three
    hw_requantize_call calls (input 1, input 2, output) beyond the alu charged for them."""
    if not n.tr.serial_shifter:
        return ({}, {}, {})
    calls = []
    for shift in _add_shifts(n):
        left, right = _left_right(shift)
        calls.append(plus(*(serial_shift(a, n.tr) for a in CALL_CONSTANT),
                          register_shift(left, n.tr), register_shift(right, n.tr),
                          register_shift(right, n.tr)))
    return tuple(calls)


def add_element_shifts(n) -> Actions:
    """Per element of add node `n` in the plain loop: the inputs' shifts by
    ADD_LEFT_SHIFT beyond the alu charged for them."""
    return plus(*(serial_shift(a, n.tr) for a in ELEMENT_SHIFTS))
