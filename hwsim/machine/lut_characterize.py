"""Characterize the lut kernel library (hwsim/machine/kernels/lut) on one target: each
kernel function's executed instruction counts per action, as exact functions of its trip
counts (hwsim.ir.lut_kernels.trip_counts), proven on held-out shapes.

    data = characterize_lut("cortex-m0", "build/")

Each function (hwsim_lut_conv_s8, ..., hwsim_lut_depthwise_s16i, the packed
hwsim_lut_conv_s8p4, ..., hwsim_lut_conv_s16p2) runs in its test firmware
(hwsim.machine.kernels.lut_harness) on random tables, weights, levels and thresholds
over a designed set of shapes: dense layers (one window; three of whole passes only)
and convolutions with random sizes, strides and padding, unit counts across several
blocks so that the blocks, Armv7E-M's quad, pairs and the single unit all occur, with
or without a fused threshold of 0 to 5 search steps. Every output is compared with the
harness's numpy reference. The counts are fitted exactly (hwsim.machine.exact_fit.fit)
on a linear basis of the trip counts; every held-out shape must be predicted exactly.
The search's taken steps (where gcc keeps the branch: Armv6-M, RV32) are counted by
`level_bits`, the ones in the output levels. The fetch-wait actions
(hwsim.machine.fetch_waits.FETCH_ACTIONS) also follow where each loop test is entered
from (a window's first row, a position without blocks or pairs: trip counts of their own)
and are exact too; the search's steps hide the same fetch whichever way they go. Where a
build's fetch-wait action is no exact function the fit falls back to least squares and
the record states its bound (`bounds`: the worst absolute error of any function of the
target on a fitted or held-out shape; `relative_bounds`: the worst error as a share of
the action's executed count, which a larger call than the designed ones is held to).
The test firmware is emulated as the code's straight runs (hwsim.machine.emulate_profile
.StraightRuns), not cut at the emulator's page boundaries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KernelCall, monomial_text, select_kernel
from hwsim.ir.layers import Conv2D, DepthwiseConv2D
from hwsim.ir.lut_kernels import BLOCKS, FUNCTIONS as LIBRARY_FUNCTIONS, LutCall, UNROLL, trip_counts
from hwsim.ir.lowering import threshold_consumer
from hwsim.machine.characterize import _counting_table, kernel_counts
from hwsim.machine.exact_fit import _encode, fit_fetch_within_bounds, predict, prove_held_out
from hwsim.machine.emulate_price import price
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.register_shifts import run_shift_roles
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.kernels.lut import library_sha256
from hwsim.machine.kernels.lut_harness import (build_lut_firmware, random_case,
                                               reference_output, run_lut_case)
from hwsim.machine.toolchain import CFLAGS

FORMAT_VERSION = 1
CHARACTERIZED_TARGETS = ("cortex-m0", "cortex-m4", "rv32im", "rv32i")
FUNCTIONS = tuple(f.removeprefix("hwsim_lut_") for f in LIBRARY_FUNCTIONS)
# The table widths K the designs cycle through per variant (s16i: K > 128 only; packed:
# the K their codes index), so that a shift by the table's row shift is told apart from a
# constant one (hwsim.machine.register_shifts.shift_roles).
CLUSTERS = {"s8": (16, 2, 5, 64, 3, 256, 8), "s16": (16, 4, 128, 2, 33), "s16i": (256, 200),
            "s8p4": (16, 2, 5, 8, 3), "s16p4": (16, 4, 2, 9), "s8p2": (4, 2, 3),
            "s16p2": (4, 2, 3)}


def basis(counts: dict[str, int]) -> list[tuple]:
    """The monomials: 1 and each trip count (every count is linear in them)."""
    return [()] + [(("v", name),) for name in sorted(counts) if name != "calls"]


def _conv_shape(kernel: str, h, w, c, units, k, stride, padding) -> KernelCall:
    if kernel == "depthwise":
        return select_kernel("depthwise_conv2d", (h, w, c),
                             DepthwiseConv2D(c, *k, *stride, padding))
    return select_kernel("conv2d", (h, w, c), Conv2D(c, units, *k, *stride, padding))


def designs(function: str, target: str) -> tuple[list[LutCall], list[LutCall]]:
    """(calls to fit on, held-out calls) for one kernel function."""
    kernel, variant = function.split("_")
    b = BLOCKS[target]
    rng = np.random.default_rng(FUNCTIONS.index(function))
    fit_calls = []

    def add(shape: KernelCall, thresholded: bool, steps: int, into: list) -> None:
        into.append(LutCall(kernel, variant, b, UNROLL[target], shape, thresholded,
                            steps if thresholded else 0))

    for i in range(70 if kernel == "conv" else 45):
        thresholded = bool(rng.integers(3))
        steps = int(rng.integers(0, 6))
        if kernel == "conv" and i < 30:          # dense: one window of fan_in inputs
            shape = KernelCall("fully_connected", 1, 1, int(rng.integers(1, 4 * UNROLL[target]
                                                                         + 6)),
                               1, 1, int(rng.integers(1, 3 * b + 3)))
        else:
            k = tuple(int(v) for v in rng.integers(1, 4, 2))
            h, w = (int(v) for v in rng.integers(max(k), max(k) + 4, 2))
            shape = _conv_shape(kernel, h, w, int(rng.integers(1, 6)),
                                int(rng.integers(1, 2 * b + 3)), k,
                                tuple(int(v) for v in rng.integers(1, 3, 2)),
                                ("same", "valid")[int(rng.integers(2))])
        add(shape, thresholded, steps, fit_calls)
    for fan, units in ((2, b + 1), (3, 2 * b + 4), (1, 3 * b + 2)) if kernel == "conv" else ():
        add(KernelCall("fully_connected", 1, 1, fan * UNROLL[target], 1, 1, units), True, 3,
            fit_calls)
    # RV32 (its fetch-wait actions follow where the row loop is entered from): convolutions
    # of one input channel and one kernel column, rows of one tap (no pass of the inner
    # loop) under blocks, which the random shapes rarely give
    rows_of_one_tap = ((b + 1, (3, 1), (1, 1), "same"), (2 * b + 2, (2, 1), (2, 1), "valid"),
                       (b, (1, 1), (1, 1), "valid"))
    for units, k, stride, padding in (rows_of_one_tap if kernel == "conv"
                                      and target.startswith("rv32") else ()):
        add(_conv_shape(kernel, 7, 5, 1, units, k, stride, padding), True, 3, fit_calls)
    held: list[LutCall] = []
    if kernel == "conv":
        add(KernelCall("fully_connected", 1, 1, 37, 1, 1, 11), True, 4, held)
        add(KernelCall("fully_connected", 1, 1, 64, 1, 1, 3 * b + 1), False, 0, held)
        add(KernelCall("fully_connected", 1, 1, 131, 1, 1, 2 * b + 3), True, 3, held)
    held_shapes = [(9, 7, 3, 5, (3, 3), (2, 1), "same"), (10, 6, 1, b + 2, (4, 3), (2, 2), "same"),
                   (7, 7, 5, 2 * b + 1, (3, 3), (1, 1), "valid"),
                   (6, 9, 6, 3, (1, 5), (1, 2), "same")]
    for n, (h, w, c, units, k, stride, padding) in enumerate(held_shapes):
        add(_conv_shape(kernel, h, w, c, units, k, stride, padding), n % 2 == 0, 2 + n, held)
    return fit_calls, held


@dataclass(frozen=True)
class LutMeasured:
    call: LutCall
    counts: dict[str, int]           # executed actions
    trips: dict[str, int]            # trip counts, level_bits from the output


def measure(firmware, calls, rng, shifts: dict | None = None
            ) -> tuple[list[LutMeasured], dict]:
    """Run each call on random data, check it against the numpy reference. The counts
    (RISC-V shifts by a register by role: `shifts`, else the roles these runs show,
    hwsim.machine.register_shifts.shift_roles) and the shift roles."""
    runs = []
    for i, call in enumerate(calls):
        columns = CLUSTERS[call.variant]
        case = random_case(call, rng, clusters=columns[i % len(columns)])
        run = run_lut_case(firmware, case)
        expected = reference_output(case)
        if not np.array_equal(run.output, expected):
            raise HwsimError(f"{case.describe()} on {firmware.target.name}: the kernel's "
                             "output differs from the reference")
        runs.append(run)
    shifts = run_shift_roles(runs) if shifts is None else shifts
    out = []
    for run in runs:
        call = run.case.call
        bits = int(sum(bin(int(v)).count("1") for v in run.output)) if call.thresholded else 0
        out.append(LutMeasured(call, kernel_counts(run, shifts=shifts),
                               trip_counts(call, bits)))
    return out, shifts


def characterize_function(firmware, function: str, seed: int = 0) -> dict:
    """Fit one kernel function on its design, prove it on the held-out shapes."""
    target = firmware.target.name
    rng = np.random.default_rng(seed)
    fit_calls, held_calls = designs(function, target)
    runs, shifts = measure(firmware, fit_calls, rng)
    monomials = basis(runs[0].trips)
    what = f"hwsim_lut_{function} on {target}"
    coefficients, bounds = fit_fetch_within_bounds(monomials, runs, what)
    held = measure(firmware, held_calls, rng, shifts)[0]
    for run in held:
        bounds = prove_held_out(what, run.call.shape,
                                predict(monomials, coefficients, None, run.trips),
                                run.counts, coefficients, bounds)
    relative = {a: max(abs(predict(monomials, coefficients, None, r.trips)[a]
                           - r.counts.get(a, 0)) / max(r.counts.get(a, 0), 1)
                       for r in runs + held) for a in bounds}
    return kernel_record(monomials, coefficients, len(fit_calls), len(held_calls), bounds,
                         relative)


def kernel_record(monomials, coefficients: dict, fitted: int, held_out: int,
                  bounds: dict | None = None, relative: dict | None = None) -> dict:
    """A kernel's data record: the basis monomials any action uses, each action's
    coefficients on them, the numbers of fitted and held-out shapes (and the bound of
    each action fitted by least squares: absolute, and `relative_bounds`, the worst error
    as a share of the action's executed count, rounded up to 0.001)."""
    used = [j for j in range(len(monomials)) if any(cs[j] for cs in coefficients.values())]
    record = {"basis": [monomial_text(monomials[j]) for j in used],
              "counts": {a: [_encode(cs[j]) for j in used] for a, cs in coefficients.items()},
              "fitted_shapes": fitted, "held_out_shapes": held_out}
    if bounds:
        record["bounds"] = {a: math.ceil(b) for a, b in sorted(bounds.items())}
    if relative:
        record["relative_bounds"] = {a: math.ceil(float(b) * 1000) / 1000
                                     for a, b in sorted(relative.items())}
    return record


def node_call_counts(target: str, kernels: dict, directory) -> dict[str, int]:
    """The generated node function's own actions around its library call: a generated
    dense network emulated, its unthresholded layer's node counts minus its call's fitted
    counts; proven on the thresholded layer (its level bits read from its output)."""
    from hwsim.cost.lut_library import PARAMETER_READ, record_counts
    from hwsim.ir.graph import graph_from_workload
    from hwsim.cost.serial_shift import with_role_amounts
    from hwsim.ir.lut_kernels import lut_shift_amounts, node_call
    from hwsim.machine.codegen import generate
    from hwsim.machine.emulate import emulate
    from hwsim.machine.lut_bound import dense_workload
    from hwsim.machine.toolchain import build_program
    g = graph_from_workload(dense_workload(45, 13, 8, 16, 16))
    program = generate(g, target, "lut", lut_kernels="library")
    build = build_program(program, Path(directory) / "network")
    x = np.random.default_rng(0).integers(0, 8, size=(1, 45))
    riscv = program.target.arch == "riscv"
    run = emulate(build, x, register_shifts=riscv)
    emulated = price(run.profile, _counting_table(riscv)).nodes

    def kernel(node: str, level_bits=None) -> dict:
        call = node_call(g, node, target)
        counts = with_role_amounts(
            record_counts(kernels[f"{call.kernel}_{call.variant}"], call, level_bits),
            lut_shift_amounts(g.nodes[node]["op"].table_shape[1], call), node)
        counts["flash_wait"] = counts.pop(PARAMETER_READ, 0)
        return counts

    def difference(node: str, predicted: dict) -> dict[str, int]:
        measured = emulated[node].actions
        return {a: int(round(measured.get(a, 0) - predicted.get(a, 0)))
                for a in sorted(set(measured) | set(predicted))
                if round(measured.get(a, 0) - predicted.get(a, 0))}

    wrapper = difference("L1.dense", kernel("L1.dense"))
    if any(v < 0 for a, v in wrapper.items() if a not in FETCH_ACTIONS):
        raise HwsimError(f"lut node call on {target}: negative counts {wrapper}")
    levels = run.node_outputs[threshold_consumer(g, "L0.dense")][0]
    bits = int(sum(bin(int(v)).count("1") for v in levels))
    proof = difference("L0.dense", kernel("L0.dense", bits))
    if _exact(proof) != _exact(wrapper):
        raise HwsimError(f"lut node call on {target}: the thresholded layer's call costs "
                         f"{proof}, the plain one's {wrapper}")
    return wrapper


def _exact(counts: dict) -> dict:
    """The counts but the fetch-wait actions (fitted within a bound)."""
    return {a: n for a, n in counts.items() if a not in FETCH_ACTIONS}


def with_target_bounds(kernels: dict) -> dict:
    """`kernels`' records with each stated bound widened to the worst any function of the
    target shows for that action: the fetch-wait error comes from the threshold search and
    the loop exits, code every function shares, and one function's few designed shapes
    (K = 256 has no K to vary) understate it."""
    widened = {}
    for key in ("bounds", "relative_bounds"):
        worst: dict[str, float] = {}
        for record in kernels.values():
            for action, bound in record.get(key, {}).items():
                worst[action] = max(worst.get(action, 0), bound)
        widened[key] = worst
    return {f: r | {key: {a: widened[key][a] for a in r[key]}
                    for key in widened if key in r} for f, r in kernels.items()}


def characterize_lut(target: str, directory, functions=FUNCTIONS) -> dict:
    """The lut characterization data of `target` (a JSON-ready dict)."""
    if target not in CHARACTERIZED_TARGETS:
        raise HwsimError(f"target {target!r} has no lut library build; one of "
                         f"{', '.join(CHARACTERIZED_TARGETS)}")
    firmware = build_lut_firmware(find_target(target), directory)
    kernels = with_target_bounds({f: characterize_function(firmware, f) for f in functions})
    node_call = (node_call_counts(target, kernels, directory)
                 if {"conv_s16"} <= set(functions) else {})
    return {"format_version": FORMAT_VERSION, "target": target, "style": "lut",
            "block": BLOCKS[target], "unroll": UNROLL[target],
            "compiler": f"{Path(firmware.command[0]).name} {firmware.compiler_version}",
            "flags": [*CFLAGS, *firmware.target.flags], "library_sha256": library_sha256(),
            "data_path": "random tables, weights, levels and thresholds; the search's taken "
                         "steps counted by level_bits (ones in the output levels)",
            "actions": "executed instructions as hwsim.machine.emulate_price prices them, "
                       "one count per action; parameter_read: loads of the table, weight "
                       "codes, bias indices, thresholds and window geometry",
            "kernels": kernels, "node_call": node_call,
            "node_call_note": "the generated node function around the call (its actions; "
                              "flash_wait: its flash reads)"}
