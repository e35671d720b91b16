"""Characterize the ops kernel library (hwsim/machine/kernels/ops: pools, argmax, the lut
residual add and output table) on one target: each node call's executed instruction counts per action, as
exact functions of its trip counts (hwsim.ir.ops_kernels.trip_counts), proven on held-out
shapes.

    data = characterize_ops("cortex-m0", "build/")      # `hwsim characterize --style ops`

Each kernel runs behind the node function the code generator emits (so its counts are
the node's) in its test firmware (hwsim.machine.kernels.ops_harness) on random data over a
designed set of shapes: pools with random windows, strides, channels and positions (1-D
ones as one output row), argmax over 2 to 40 classes, adds of 1 to 80 elements with and
without a fused threshold of 1 to 8 search steps, output tables of 1 to 13 elements. Every output is compared with the
harness's numpy reference. The kernels have no data-dependent branch, so the counts are
fitted with the int8 characterization's exact solve (hwsim.machine.exact_fit.fit) on a
linear basis of the trip counts (hwsim.machine.lut_characterize.basis), then every
held-out shape must be predicted exactly.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.ops_kernels import FUNCTIONS, MAX_STEPS, POOL_SHIFT, OpsCall, trip_counts
from hwsim.machine.characterize import FORMAT_VERSION, Measured, kernel_counts
from hwsim.machine.exact_fit import fit, predict
from hwsim.machine.register_shifts import run_shift_roles
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.kernels.ops import library_sha256
from hwsim.machine.kernels.ops_harness import (build_ops_firmware, random_case,
                                               reference_output, run_ops_case)
from hwsim.machine.lut_characterize import basis, kernel_record, prove_held_out
from hwsim.machine.toolchain import CFLAGS

CHARACTERIZED_TARGETS = ("cortex-m0", "cortex-m4", "rv32im", "rv32i")
# the designed pool windows (size_h, size_w): each unrolled walk's (2 to 4 elements) and
# the generic walk's (odd and even rows), every one in 8 designed pools
WINDOWS = ((1, 2), (2, 1), (1, 3), (3, 1), (2, 2), (1, 4), (4, 1), (1, 1), (2, 3), (3, 3),
           (3, 2), (1, 5), (1, 6), (2, 4), (5, 1), (4, 3), (1, 8))


def _pool(function: str, rng, out_h, out_w, channels, size_h, size_w, stride_h, stride_w,
          steps: int = 0) -> OpsCall:
    in_w = (out_w - 1) * stride_w + size_w
    window = size_h * size_w
    return OpsCall(function, out_h=out_h, out_w=out_w, channels=channels, size_h=size_h,
                   size_w=size_w, row_step=stride_h * in_w * channels,
                   col_step=stride_w * channels, x_row=in_w * channels, steps=steps,
                   reciprocal=round((1 << POOL_SHIFT) / window) if function == "avg_pool_i8"
                   else 0)


def designs(function: str) -> tuple[list[OpsCall], list[OpsCall]]:
    """(calls to fit on, held-out calls) for one kernel function."""
    rng = np.random.default_rng(FUNCTIONS.index(function))
    kind = function.split("_")[0]
    if kind == "argmax":
        return ([OpsCall(function, classes=c) for c in (1, 2, 3, 4, 5, 7, 10, 16)],
                [OpsCall(function, classes=c) for c in (6, 13, 40, 256)])
    if kind == "table":
        return ([OpsCall(function, elements=e) for e in (1, 2, 3, 5, 8, 13)],
                [OpsCall(function, elements=e) for e in (4, 64, 100)])
    if kind == "add":
        sides = (0, 1) if function.startswith("add_sv") else (0,)
        fit = [OpsCall(function, elements=int(rng.integers(1, 40)), steps=1 + i % MAX_STEPS,
                       thresholded=bool(t), sums_input=side)
               for t in (0, 1) for side in sides for i in range(MAX_STEPS + 2)]
        held = [OpsCall(function, elements=80, steps=3, thresholded=True),
                OpsCall(function, elements=57, sums_input=sides[-1]),
                OpsCall(function, elements=9, steps=8, thresholded=True,
                        sums_input=sides[-1])]
        return fit, held
    searched = function.startswith("avg_pool_u8")
    fit = []
    for i in range(8 * len(WINDOWS)):
        size_h, size_w = WINDOWS[i % len(WINDOWS)]
        one_d = size_h == 1 and rng.random() < 0.5
        fit.append(_pool(function, rng, 1 if one_d else int(rng.integers(1, 4)),
                         int(rng.integers(1, 5)), int(rng.integers(1, 5)), size_h, size_w,
                         int(rng.integers(1, 3)), int(rng.integers(1, 3)),
                         1 + (i // len(WINDOWS)) % MAX_STEPS if searched else 0))
    steps = 8 if searched else 0
    held = [_pool(function, rng, 5, 4, 3, 2, 2, 2, 2, steps),
            _pool(function, rng, 1, 17, 6, 1, 3, 1, 3, 2 if searched else 0),
            _pool(function, rng, 3, 3, 8, 3, 3, 1, 1, 1 if searched else 0),
            _pool(function, rng, 2, 6, 1, 4, 1, 3, 1, steps),
            _pool(function, rng, 3, 5, 7, 2, 1, 2, 1, 5 if searched else 0),
            _pool(function, rng, 1, 30, 2, 1, 2, 1, 2, steps),
            _pool(function, rng, 2, 2, 5, 5, 4, 1, 1, 4 if searched else 0)]
    return fit, held


def measure(firmware, calls, rng, rv32i: bool, shifts: dict | None = None
            ) -> tuple[list[tuple[Measured, dict]], dict]:
    """Run each call on random data, check it against the numpy reference; (run, trip
    counts) each, and the shift-by-register roles (`shifts`, else those these runs show:
    hwsim.machine.characterize.run_shift_roles)."""
    runs = []
    for call in calls:
        case = random_case(call, rng)
        run = run_ops_case(firmware, case)
        if not np.array_equal(run.output, reference_output(case)):
            raise HwsimError(f"{case.describe()} on {firmware.target.name}: the kernel's "
                             "output differs from the reference")
        runs.append(run)
    shifts = run_shift_roles(runs) if shifts is None else shifts
    roles = reciprocal_sites(runs)
    return [(Measured(r.case.call, kernel_counts(r, roles, shifts=shifts)),
             trip_counts(r.case.call, rv32i)) for r in runs], shifts


def reciprocal_sites(runs) -> dict[int, str]:
    """The RISC-V mul sites whose second operand is the call's reciprocal in every run
    (the int8 average's multiply: mul_reciprocal, whose time an operand-dependent
    multiplier takes from the reciprocal's bits, hwsim.cost.ops_library), else `mul`."""
    seen: dict[int, set] = {}
    for run in runs:
        for address, value in run.mul_operands:
            seen.setdefault(address, set()).add(value == run.case.call.reciprocal)
    return {a: "mul_reciprocal" if found == {True} else "mul" for a, found in seen.items()}


def characterize_function(firmware, function: str, seed: int = 0) -> dict:
    """Fit one kernel function on its design, prove it on the held-out shapes."""
    target = firmware.target.name
    rv32i = target == "rv32i"
    rng = np.random.default_rng(seed)
    fit_calls, held_calls = designs(function)
    measured, shifts = measure(firmware, fit_calls, rng, rv32i)
    runs, counts = [m for m, _ in measured], [c for _, c in measured]
    monomials = basis(counts[0])
    what = f"hwsim_ops_{function} on {target}"
    coefficients = fit(monomials, runs, what, counts)
    for run, trips in measure(firmware, held_calls, rng, rv32i, shifts)[0]:
        prove_held_out(what, run.call.describe(),
                       predict(monomials, coefficients, None, trips), run.counts, coefficients)
    return kernel_record(monomials, coefficients, len(fit_calls), len(held_calls))


def characterize_ops(target: str, directory, functions=FUNCTIONS) -> dict:
    """The ops characterization data of `target` (a JSON-ready dict)."""
    if target not in CHARACTERIZED_TARGETS:
        raise HwsimError(f"target {target!r} has no ops library build; one of "
                         f"{', '.join(CHARACTERIZED_TARGETS)}")
    firmware = build_ops_firmware(find_target(target), directory)
    return {"format_version": FORMAT_VERSION, "target": target, "style": "ops",
            "compiler": f"{Path(firmware.command[0]).name} {firmware.compiler_version}",
            "flags": [*CFLAGS, *firmware.target.flags], "library_sha256": library_sha256(),
            "data_path": "random data; the kernels have no data-dependent branch",
            "actions": "executed instructions of the node function and its call, as "
                       "hwsim.machine.emulate_price prices them, one count per action; "
                       "flash_wait: the node function's literal loads; parameter_read: "
                       "loads of the parameter struct, pool bounds, value table and "
                       "thresholds",
            "kernels": {f: characterize_function(firmware, f) for f in functions}}
