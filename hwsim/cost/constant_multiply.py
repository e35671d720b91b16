"""What a multiply by a constant compiles to on a core without a multiplier: gcc
(expmed.cc, synth_mult) replaces `x * c` by shifts and adds/subtracts, searching the
cheapest sequence over four rewrites of c, each one instruction per shift and per
add/sub on RV32I (no shift-and-add instruction):

- c even: (x * (c >> m)) << m, m the trailing zero bits;
- c odd: x * (c - 1) + x, or x * (c + 1) - x when c ends in two or more one bits
  (c != 3);
- c = d * (2^m + 1) or d * (2^m - 1), the largest such m only: y = x * d, then
  (y << m) + y or (y << m) - y;
- c odd: ((x * ((c - 1) >> m)) << m) + x, or ((x * ((c + 1) >> m)) << m) - x, m the
  trailing zero bits of c - 1 (c + 1).

    shifts, adds = constant_multiply(21845)   # ([2, 4, 8], 3): x*5, *17, *257

Checked against the pinned gcc 12 -O2 -march=rv32i on the average pools' reciprocals
round(2^16 / N) for every window N from 2 to 199 that is not a power of two
(tests/test_constant_multiply.py): the same instruction count for all but N = 6, 53, 75
and 106, where gcc's pruned search takes a sequence 2 instructions longer (6, 53, 106)
or shorter (75) than this one.
"""
from __future__ import annotations

from functools import lru_cache


def _trailing_zeros(value: int) -> int:
    return (value & -value).bit_length() - 1


@lru_cache(maxsize=None)
def constant_multiply(constant: int) -> tuple[tuple[int, ...], int]:
    """(the shift amounts, the number of adds and subtracts) of the cheapest sequence
    computing x * `constant` (> 0) by the rewrites of the module docstring."""
    if constant < 1:
        raise ValueError(f"constant_multiply: constant must be >= 1, got {constant}")
    if constant == 1:
        return (), 0
    if constant % 2 == 0:
        m = _trailing_zeros(constant)
        shifts, adds = constant_multiply(constant >> m)
        return (*shifts, m), adds
    trailing_ones = _trailing_zeros(constant + 1)
    down = constant + 1 if trailing_ones >= 2 and constant != 3 else constant - 1
    shifts, adds = constant_multiply(down)
    candidates = [(shifts, adds + 1)]
    for m in range(constant.bit_length() - 1, 1, -1):
        divisors = [d for d in ((1 << m) + 1, (1 << m) - 1)
                    if constant > d and constant % d == 0]
        if divisors:
            shifts, adds = constant_multiply(constant // divisors[0])
            candidates.append(((*shifts, m), adds + 1))
            break
    for near in (constant - 1, constant + 1):
        m = _trailing_zeros(near)
        shifts, adds = constant_multiply(near >> m)
        candidates.append(((*shifts, m), adds + 1))
    return min(candidates, key=lambda c: len(c[0]) + c[1])
