"""Action counts of the grouped lut dense kernel (hwsim/machine/kernels/lut/lut_grouped.c)
from its characterization data (hwsim/cost/data/lut_grouped_<target>.json, written by
`hwsim characterize --style lut_grouped`, hwsim.machine.lut_grouped_characterize): one
record per (K, g), exact functions of hwsim.ir.lut_grouped.grouped_trip_counts.

    counts = grouped_counts("cortex-m0", call)     # None: no data for this (K, g)

The fused threshold's search is costed at half its steps per output, as the lut
library's (hwsim.cost.lut_library).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from hwsim.cost import characterized
from hwsim.ir.int8_kernels import monomial_value, parse_monomial
from hwsim.ir.lut_grouped import GroupedCall, grouped_trip_counts

KIND = "lut_grouped"


def grouped_data(target: str) -> dict | None:
    """The grouped kernel's characterization data of one build, or None."""
    return characterized.characterization_data(KIND, target)


@lru_cache(maxsize=None)
def _record(target: str, function: str) -> tuple | None:
    data = grouped_data(target)
    record = data["kernels"].get(function) if data else None
    if record is None:
        return None
    monomials = tuple(parse_monomial(m) for m in record["basis"])
    coefficients = tuple((action, tuple(Fraction(c) for c in cs))
                         for action, cs in sorted(record["counts"].items()))
    return monomials, coefficients


def grouped_counts(target: str, call: GroupedCall | None, level_bits=None
                   ) -> dict[str, Fraction] | None:
    """Characterized action counts of one grouped call, or None (no data for its K, g)."""
    record = _record(target, call.function) if call is not None else None
    if record is None:
        return None
    monomials, coefficients = record
    counts = grouped_trip_counts(call, level_bits)
    values = [Fraction(monomial_value(m, counts)) for m in monomials]
    return {action: sum((c * v for c, v in zip(cs, values) if c), Fraction(0))
            for action, cs in coefficients}
