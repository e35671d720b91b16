"""Action counts of lut weighted layers run by the lut kernel library
(hwsim/machine/kernels/lut), from its characterization data: the counts the library's own
compiled code executes, fitted exactly as functions of the kernel's trip counts
(hwsim.ir.lut_kernels.trip_counts) and proven on held-out shapes
(hwsim.machine.lut_characterize, `hwsim characterize --style lut`).

    actions = library_actions(node)     # None: not covered (the caller keeps its formulas)

The call comes from the one selection rule (hwsim.ir.lut_kernels.lut_call); the data file
from the core's ISA. The fused threshold's binary search is data dependent: its taken
steps are the ones in the output level's binary digits, costed at half the steps per
output (uniform levels; bound: 0 to all steps). Not covered: 32-bit table entries, K >
256, packed weight indices (the library reads byte codes), cores whose shifts take
operand-dependent time (serial_shifter).
"""
from __future__ import annotations

import json
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from hwsim.cost.primitives import Actions
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import monomial_value, parse_monomial
from hwsim.ir.lut_kernels import LutCall, library_target, lut_call, trip_counts

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT_VERSION = 1
PARAMETER_READ = "parameter_read"


def data_path(target: str) -> Path:
    return DATA_DIR / f"lut_{target}.json"


@lru_cache(maxsize=None)
def library_data(target: str) -> dict | None:
    """The characterization data of one library build, or None when there is none."""
    path = data_path(target)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format_version") != FORMAT_VERSION:
        raise HwsimError(f"{path.name}: format_version must be {FORMAT_VERSION}, got "
                         f"{data.get('format_version')!r}")
    return data


def characterized_target(isa: str) -> str | None:
    """The characterized library build a core of `isa` runs, or None."""
    target = library_target(isa)
    return target if target is not None and library_data(target) is not None else None
