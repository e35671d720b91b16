"""The executor's compiled row sums (hwsim/execute/host_rows.c): a single weighted
layer's gathers and adds in one C loop instead of numpy's gather, which writes every
gathered row to memory before a second pass sums them (docs/graph.md section 7).
Built and loaded once per machine (hwsim/execute/host_build.py); where there is no
compiler, the build fails or HWSIM_HOST_KERNELS=off, the executor keeps its numpy
gathers (the same sums: tests/test_execute_host.py runs both); `status()` says which
and why.

The loop adds table entries only: a row is found through the plan's row offsets
(hwsim/execute/plan.py), never by multiplying a level; the compiler's own address
arithmetic (loop bounds) is the host's, like numpy's inside np.take.
"""
from __future__ import annotations

import contextlib

import numpy as np

from hwsim.execute.host_build import (DIGIT_TYPES, ENTRY_TYPES, NARROW_WIDTHS, SUM_TYPES,
                                      SWITCH, HostStatus, kernel_name, load)

__all__ = ["DIGIT_TYPES", "ENTRY_TYPES", "NARROW_WIDTHS", "SUM_TYPES", "SWITCH", "HostStatus",
           "available", "numpy_only", "status", "sum_rows"]

_SWITCHED_OFF = []                     # numpy_only(): nested turn-offs in this process


def status() -> HostStatus:
    """Whether the compiled row sums are in use, the library, or why not."""
    if _SWITCHED_OFF:
        return HostStatus(False, None, "turned off by numpy_only()")
    return load()[1]


def available() -> bool:
    return not _SWITCHED_OFF and load()[0] is not None


@contextlib.contextmanager
def numpy_only():
    """Plans built and runs made inside use numpy's gathers only (benchmarks and tests
    compare the two)."""
    _SWITCHED_OFF.append(True)
    try:
        yield
    finally:
        _SWITCHED_OFF.pop()


def sum_rows(table: np.ndarray, offsets: np.ndarray, rows: int, digits: np.ndarray,
             groups_first: bool, units: int, out: np.ndarray) -> bool:
    """Add into `out` (samples, units), C order, holding the sums' start values, one row
    of `table` per (group, sample): row offsets[group's first row + digit]. `digits`
    2-D, (groups, samples) when `groups_first` else (samples, groups), any strides.
    Rows of 2 to 32 entries padded to a power of two (hwsim/execute/plan.py row_bytes)
    go to the narrow loops, their sums held in registers. False (nothing done) where
    the library is not there."""
    library = None if _SWITCHED_OFF else load()[0]
    if library is None:
        return False
    entries, digit = ENTRY_TYPES[table.dtype], DIGIT_TYPES[digits.dtype]
    assert out.dtype == SUM_TYPES[entries] and out.flags.c_contiguous
    assert table.flags.c_contiguous and offsets.dtype == np.intp
    group_step, sample_step = digits.strides if groups_first else digits.strides[::-1]
    groups, samples = digits.shape if groups_first else digits.shape[::-1]
    getattr(library, kernel_name(entries, digit, table.shape[1]))(
        table.ctypes.data, offsets.ctypes.data, rows, digits.ctypes.data, group_step,
        sample_step, groups, samples, units, out.ctypes.data)
    return True
