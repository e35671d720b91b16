"""Characterize the grouped lut kernels (hwsim/machine/kernels/lut/lut_grouped.c, the dense
one, and lut_grouped_conv.c, the convolution) on one target: their executed instruction
counts per action, one record per (K, g) (hwsim.ir.lut_grouped.GROUPINGS) and kernel, as
exact functions of their trip counts (hwsim.ir.lut_grouped.grouped_trip_counts,
hwsim.ir.lut_grouped_conv.conv_trip_counts), proven on held-out shapes.

    data = characterize_grouped("cortex-m0", "build/")

Each (K, g) runs in the grouped test firmware (hwsim.machine.kernels.lut_grouped_harness)
on the lut library's random cases (hwsim.machine.kernels.lut_harness.random_case: random
tables, weights, levels and thresholds) over dense layers of random fan-in (short last
groups of every size), units (blocks and the units after them), chunks (one or several,
odd and even) and fused thresholds of 0 to 5 steps or int32 sums; the convolution
(`conv_designs`) over random input sizes, channels, kernels, strides and 'valid' or
'same' padding; every output is checked against the lut library's numpy reference. The fit and the held-out proof are the lut
characterization's (hwsim.machine.lut_characterize); the node function around the call
is the lut library's `node_call` (the same call signature), which `hwsim validate`
checks against emulation of generated networks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KernelCall
from hwsim.ir.lut_grouped import FLASH, GROUPINGS, GroupedCall, grouped_trip_counts
from hwsim.ir.lut_grouped_conv import GroupedConvCall, conv_trip_counts
from hwsim.ir.lut_grouped_flash import FLASH_TABLE_BYTES, precomputed_bytes
from hwsim.ir.lut_kernels import lut_call_of_shape
from hwsim.machine.characterize import kernel_counts
from hwsim.machine.exact_fit import fit, predict
from hwsim.machine.register_shifts import run_shift_roles
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.kernels.lut import GROUPED_SOURCES, library_sha256
from hwsim.machine.kernels.lut_grouped_harness import (build_grouped_firmware, grouped_case,
                                                       grouped_conv_case, run_grouped_case)
from hwsim.machine.kernels.lut_harness import random_case, reference_output
from hwsim.machine.lut_characterize import (CHARACTERIZED_TARGETS, FORMAT_VERSION, basis,
                                            kernel_record, prove_held_out)
from hwsim.machine.toolchain import CFLAGS

FUNCTIONS = tuple(f"grouped_k{k}_g{g}{suffix}" for k, g in GROUPINGS for suffix in ("", FLASH)) + tuple(
    f"grouped_conv_k{k}_g{g}" for k, g in GROUPINGS)
FIT_SHAPES = 36
CONV_FIT_SHAPES = 60
# Precomputed group tables are characterized on the Arm targets only. On RISC-V their
# pattern's shifts by a register follow the input levels (a serial shifter's time,
# counted apart there: hwsim.machine.register_shifts), which no trip count carries; and
# the RV32 parts with flash wait states lose with them (docs/lut-kernels.md).
PRECOMPUTED_TARGETS = ("cortex-m0", "cortex-m4")


def most_levels(k: int, g: int) -> int:
    """The most input levels (a power of two) whose precomputed tables of (K, g) fit
    FLASH_TABLE_BYTES (at least 2)."""
    levels = 2
    while precomputed_bytes(k.bit_length() - 1, g, 2 * levels, g) <= FLASH_TABLE_BYTES:
        levels *= 2
    return levels


def designs(k: int, g: int, precomputed: bool = False
            ) -> tuple[list[GroupedCall], list[GroupedCall]]:
    """(calls to fit on, held-out calls) of one (K, g), its tables built or precomputed
    (`pattern_bits` 1 here: the counts do not depend on it, `measure` draws the levels)."""
    k_log2 = k.bit_length() - 1
    rng = np.random.default_rng(100 * k + g + (1000 if precomputed else 0))
    bits = int(precomputed)
    fits = []
    for i in range(FIT_SHAPES):
        fan = int(rng.integers(1, 8 * g + 4)) if i else g
        units = int(rng.integers(1, 15))
        groups = -(-fan // g)
        chunk = groups if i % 3 == 0 else int(rng.integers(1, max(2, groups)))
        thresholded = bool(rng.integers(3))
        fits.append(GroupedCall(k_log2, g, fan, units, chunk, thresholded,
                                int(rng.integers(0, 6)) if thresholded else 0, bits))
    held = [GroupedCall(k_log2, g, 64, 19, 1 << 10, True, 4, bits),
            GroupedCall(k_log2, g, 37, 6, 3, False, 0, bits),
            GroupedCall(k_log2, g, 131, 9, 5, True, 3, bits),
            GroupedCall(k_log2, g, 50, 12, 2, True, 2, bits)]
    return fits, held


def conv_designs(k: int, g: int) -> tuple[list[GroupedConvCall], list[GroupedConvCall]]:
    """(calls to fit on, held-out calls) of the grouped convolution of one (K, g): random
    input sizes, channels (g <= C, short groups of every size), kernels, strides, 'valid'
    or 'same' padding, units (blocks and the units after them) and fused thresholds."""
    from hwsim.ir.int8_kernels import select_kernel
    from hwsim.ir.layers import Conv2D
    k_log2 = k.bit_length() - 1
    rng = np.random.default_rng(500 + 100 * k + g)

    def call(h, w, c, units, kh, kw, stride, padding, thresholded, steps):
        kh, kw = (kh, kw) if padding == "same" else (min(kh, h), min(kw, w))
        shape = select_kernel("conv2d", (h, w, c), Conv2D(c, units, kh, kw, *stride, padding))
        return GroupedConvCall(k_log2, g, shape, thresholded, steps if thresholded else 0)

    fits = []
    for i in range(CONV_FIT_SHAPES):
        fits.append(call(int(rng.integers(1, 7)), int(rng.integers(1, 7)),
                         int(rng.integers(g, 3 * g + 2)), int(rng.integers(1, 11)),
                         int(rng.integers(1, 4)), int(rng.integers(1, 4)),
                         (int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                         ("valid", "same")[i % 2], bool(rng.integers(3)),
                         int(rng.integers(0, 6))))
    held = [call(8, 7, 2 * g + 1, 9, 3, 3, (1, 1), "same", True, 4),
            call(6, 9, g, 6, 2, 3, (2, 1), "valid", False, 0),
            call(1, 12, 3 * g, 5, 1, 5, (1, 2), "same", True, 2),
            call(7, 5, g + 1, 13, 3, 1, (2, 2), "same", True, 3)]
    return fits, held


def measure(firmware, calls, rng, shifts: dict | None = None
            ) -> tuple[list[tuple[GroupedCall, dict, dict]], dict]:
    """(call, executed counts, trip counts) of each call run on random data, checked
    against the numpy reference; and the shift-by-register roles (`shifts`, else those
    these runs show: hwsim.machine.characterize.run_shift_roles)."""
    out, runs = [], []
    for call in calls:
        k = 1 << call.k_log2
        if isinstance(call, GroupedConvCall):
            lut = lut_call_of_shape("conv", call.shape, 16, k, firmware.target.name,
                                    call.steps, call.thresholded)
            case = random_case(lut, rng, int(rng.integers(2, 17)), k)
            gc = grouped_conv_case(case, k, call.g)
            run = run_grouped_case(firmware, gc)
            if not np.array_equal(run.output, reference_output(case)):
                raise HwsimError(f"{gc.describe()} on {firmware.target.name}: the grouped "
                                 "convolution's output differs from the reference")
            runs.append((call, run))
            continue
        shape = KernelCall("fully_connected", 1, 1, call.fan, 1, 1, call.units)
        lut = lut_call_of_shape("conv", shape, 16, k, firmware.target.name, call.steps,
                                call.thresholded)
        levels = most_levels(k, call.g) if call.pattern_bits else 16
        case = random_case(lut, rng, int(rng.integers(2, levels + 1)), k)
        gc = grouped_case(case, k, call.g, call.chunk, bool(call.pattern_bits))
        run = run_grouped_case(firmware, gc)
        if not np.array_equal(run.output, reference_output(case)):
            raise HwsimError(f"{gc.describe()} on {firmware.target.name}: the grouped "
                             "kernel's output differs from the reference")
        runs.append((call, run))
    shifts = run_shift_roles([r for _, r in runs]) if shifts is None else shifts
    for call, run in runs:
        bits = int(sum(bin(int(v)).count("1") for v in run.output)) if call.thresholded else 0
        trips = (conv_trip_counts if isinstance(call, GroupedConvCall) else
                 grouped_trip_counts)(call, bits)
        out.append((call, kernel_counts(run, shifts=shifts), trips))
    return out, shifts


class _Run:
    """What hwsim.machine.exact_fit.fit reads of a run."""

    def __init__(self, call, counts):
        self.call, self.counts = call, counts


def characterize_grouping(firmware, k: int, g: int, seed: int = 0,
                          precomputed: bool = False, conv: bool = False) -> dict:
    """Fit one (K, g), built or precomputed (or the convolution), on its design, prove it
    on the held-out shapes."""
    rng = np.random.default_rng(seed)
    fit_calls, held_calls = conv_designs(k, g) if conv else designs(k, g, precomputed)
    runs, shifts = measure(firmware, fit_calls, rng)
    monomials = basis(runs[0][2])
    what = (f"hwsim_lut_grouped_{'conv' if conv else 'dense'} K={k} g={g}"
            f"{' precomputed' if precomputed else ''} on {firmware.target.name}")
    coefficients = fit(monomials, [_Run(c, n) for c, n, _ in runs], what,
                       [t for _, _, t in runs])
    for call, counts, trips in measure(firmware, held_calls, rng, shifts)[0]:
        prove_held_out(what, call, predict(monomials, coefficients, None, trips), counts,
                       coefficients)
    return kernel_record(monomials, coefficients, len(fit_calls), len(held_calls))


def characterize_grouped(target: str, directory, functions=FUNCTIONS) -> dict:
    """The grouped kernel's characterization data of `target` (a JSON-ready dict)."""
    if target not in CHARACTERIZED_TARGETS:
        raise HwsimError(f"target {target!r} has no lut library build; one of "
                         f"{', '.join(CHARACTERIZED_TARGETS)}")
    firmware = build_grouped_firmware(find_target(target), directory)
    kernels = {}
    for k, g in GROUPINGS:
        for suffix in ("", FLASH) if target in PRECOMPUTED_TARGETS else ("",):
            if f"grouped_k{k}_g{g}{suffix}" in functions:
                kernels[f"grouped_k{k}_g{g}{suffix}"] = characterize_grouping(
                    firmware, k, g, precomputed=bool(suffix))
        if f"grouped_conv_k{k}_g{g}" in functions:
            kernels[f"grouped_conv_k{k}_g{g}"] = characterize_grouping(firmware, k, g,
                                                                       conv=True)
    return {"format_version": FORMAT_VERSION, "target": target, "style": "lut_grouped",
            "compiler": f"{Path(firmware.command[0]).name} {firmware.compiler_version}",
            "flags": [*CFLAGS, *firmware.target.flags],
            "library_sha256": library_sha256(GROUPED_SOURCES),
            "data_path": "random tables (uint16 with the offset B), weights, levels and "
                         "thresholds; the search's taken steps counted by level_bits",
            "actions": "executed instructions as hwsim.machine.emulate_price prices them, "
                       "one count per action; parameter_read: loads of the offset table, "
                       "combined weight indices, int32 bias, thresholds, the call "
                       "constant and the convolution's geometry arrays, and the precomputed "
                       "group tables and the convolution's padding pixel (the built group "
                       "tables, their addresses and sums between chunks are RAM scratch)",
            "kernels": kernels}
