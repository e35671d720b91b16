"""Characterize the int8 kernel library (hwsim/machine/kernels/int8) on one target: its
executed instruction counts per action, as exact functions of the kernels' trip counts.

    data = characterize("cortex-m4", "build/", check=reference_check)

Each kernel runs in the emulator (hwsim.machine.kernels.harness) on a designed set of
shapes (`designs`): a factorial over each trip count's block residues and a few quotients,
so that the basis (`basis`: products of floor(n / b), residue and small-value indicators,
hwsim.ir.int8_kernels.monomial_value) is identified. Counts are per priced action
(hwsim.machine.emulate_price with every action at one cycle: alu, load_8, ...,
branch_taken, branch_not_taken, burst_load, flash_wait, ...) plus `parameter_read`,
the loads of weights, bias, multipliers and parameter structs (flash in a deployment).
The fit is a linear solve with integer or small rational coefficients and must leave
zero residual; then every kernel is run on held-out shapes (other sizes, odd ones) and
any difference between counted and predicted fails the characterization.

Inputs are all at the zero point (hwsim.machine.kernels.cases.fixed_path_case), so each
output takes one requantization path (accumulator 0, no rounding up, nothing clamped):
that is what `fixed path` in the data means; random data differs by a few instructions
per output (docs/int8-kernels.md gives the measured spread). A weighted kernel is fitted
on each requantization path (hwsim.ir.int8_kernels.REQUANTIZE_PATHS): its record with
right shifts, its `left_shift` record with every channel shifted left. The output bytes
of every run are handed to `check` (the caller compares them with TFLite's reference
arithmetic: machine may not import hwsim.importers).

Longer than 300 lines: the basis, the designed shapes and the exact fit and proof of
every kernel are one procedure and change together.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from dataclasses import dataclass, replace
from itertools import product
from types import SimpleNamespace

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KERNEL_NAMES, SOFT_KERNELS, KernelCall, monomial_text
from hwsim.ir.int8_trip_counts import CONV_ELEMENTS, CONV_WALK, trip_counts
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.emulate_price import price
from hwsim.machine.exact_fit import _encode, fit_fetch_within_bounds, predict, prove_held_out
from hwsim.machine.kernels.cases import designed_shifts, fixed_path_case
from hwsim.machine.kernels.harness import KERNEL, build_firmware, run_case
from hwsim.machine.kernels.int8 import library_sha256
from hwsim.machine.mul_sites import (DESIGNED_INPUT, DESIGNED_WEIGHT, check_parameter_sites,
                                     loop_mul_bits, loop_mul_record, site_roles)
from hwsim.machine.register_shifts import run_shift_roles, with_shift_sites
from hwsim.machine.soft_kernel_calls import (SOFT_TARGETS, soft_basis, soft_call_counts,
                                             soft_designs, soft_run, target_kernels)
from hwsim.machine.toolchain import CFLAGS
from hwsim.specs.device import FALLBACK_ACTIONS, HAZARD_ACTIONS

FORMAT_VERSION = 1
CHARACTERIZED_TARGETS = ("cortex-m0", "cortex-m4", "rv32im", *SOFT_TARGETS)  # rv32i: SOFT_KERNELS
PARAMETER_READ = "parameter_read"

# Per target, the blocking of each trip count: the matrix kernels' columns, rows and depth
# (2 x 2 blocks and 8-deep passes with DSP; 1 x 4 and 4-deep on Armv6-M; 2 x 2 and
# gcc's unroll by 4 on RV32), depthwise channels (4 per pass with DSP), conv_scalar's
# output channels (passes of 4, then 2, then 1 with DSP).
BLOCKS = {
    "cortex-m4": {"columns": 2, "rows": 2, "depth": 8, "channels": 4, "pixels": 2,
                  "scalar_channels": 4},
    "cortex-m0": {"columns": 1, "rows": 4, "depth": 4, "channels": 1, "pixels": 1, "scalar_channels": 1},
    "rv32im": {"columns": 2, "rows": 2, "depth": 4, "channels": 1, "pixels": 2, "scalar_channels": 1},
}


def _atoms(name: str, block: int) -> list[tuple]:
    """One trip count's factors: 1, n (block 1) or n // b and its residues, and each
    value up to one block (ifs and gcc's loop-entry tests change the code below it)."""
    atoms: list[tuple] = [()]
    if block == 1:
        atoms.append((("v", name),))
    else:
        atoms.append((("q", name, block),))
        atoms += [(("e", name, block, r),) for r in range(1, block)]
    atoms += [(("eq", name, s),) for s in range(1, block + 1)]
    return atoms


def _tensor(*atom_lists) -> list[tuple]:
    return [sum(parts, ()) for parts in product(*atom_lists)]


def _linear(*names: str) -> list[tuple]:
    return [(("v", n),) for n in names]


def basis(kernel: str, target: str) -> list[tuple]:
    """The monomials a kernel's counts are fitted on, for one target's blocking."""
    if kernel in SOFT_KERNELS:
        return soft_basis(kernel)
    b = BLOCKS[target]

    def matrix(columns: str) -> list[tuple]:      # the blocked matrix kernel's loops
        return _tensor(_atoms(columns, b[columns]), _atoms("rows", b["rows"]),
                       _atoms("depth", b["depth"]))
    channels = _atoms("channels", b["channels"])
    if kernel == "add":                           # one element per pass, every target
        return _atoms("elements", 1)
    if kernel in ("fully_connected", "conv_1x1"):
        return matrix("columns")
    if kernel == "conv":
        taps = ("taps_top", "taps_bottom", "taps_left", "taps_right", "taps_inside")
        return (matrix("pixels") + _linear("out_rows", "rows_end_unpaired", "kernel_rows",
                                           "kernel_rows_top",
                                           "kernel_rows_bottom", *CONV_WALK, *taps,
                                           *CONV_ELEMENTS)
                + [(("v", t), ("v", "channels")) for t in taps])
    if kernel == "conv_scalar":                   # per pixel, per output channel, per row
        edges = [k for k in trip_counts(KernelCall("conv_scalar", 3, 3, 1, 1, 1, 1, 3, 3))
                 if k.startswith(("rows_", "cols_"))]
        return ([()] + _linear("out_rows", "pixels", *edges)
                + _tensor(_atoms("rows", b["scalar_channels"]),
                          _linear("pixels", "window_rows", "window_bytes", "window_words",
                                  "window_tail_bytes", "window_rows_short",
                                  *(f"window_rows_tail{r}" for r in range(1, 4)))))
    if kernel == "depthwise_3x3":
        rows = [k for k in trip_counts(KernelCall("depthwise_3x3", 3, 3, 1, 1, 1, 1, 3, 3))
                if k not in ("pixels", "channels")]
        # channels alone: the DSP build checks every channel's shift once per call
        return ([()] + _linear(*rows) + channels[1:]
                + _tensor([(("v", "pixels"),)], channels[1:] + [()]))
    edges = [k for k in trip_counts(KernelCall("depthwise", 3, 3, 1, 1, 1, 1, 3, 3))
             if k.startswith(("rows_", "cols_"))]
    return ([()] + _linear("out_rows", *edges)
            + _tensor([(("v", "pixels"),), (("v", "window_rows"),), (("v", "window_taps"),)],
                      channels[1:] + [()]))


# ----------------------------------------------------------------------------- designs

def _conv_call(kernel, h, w, c, out_c, k, stride, padding) -> KernelCall:
    from hwsim.ir.int8_kernels import select_kernel
    from hwsim.ir.layers import Conv2D, DepthwiseConv2D
    depthwise = kernel.startswith("depthwise")
    layer = (DepthwiseConv2D(c, *k, *stride, padding) if depthwise
             else Conv2D(c, out_c, *k, *stride, padding))
    call = select_kernel("depthwise_conv2d" if depthwise else "conv2d", (h, w, c), layer)
    if call.kernel != kernel:       # a 1x1 conv designed for the im2col kernel
        call = KernelCall(kernel, *[getattr(call, f) for f in KernelCall.__dataclass_fields__
                                    if f != "kernel"])
    return call


def _values(block: int) -> list[int]:
    """Design values of one trip count: every value up to two blocks and one, and one more
    block (identifies the small values, the residues and the slope)."""
    values = list(range(1, 2 * block + 2))
    return values + [values[-1] + block]


def designs(kernel: str, target: str) -> tuple[list[KernelCall], list[KernelCall]]:
    """(shapes to fit on, held-out shapes to prove the fit on) for one kernel."""
    rng = np.random.default_rng(list(KERNEL_NAMES).index(kernel))
    if kernel in SOFT_KERNELS:
        return soft_designs(kernel, rng)
    b = BLOCKS[target]
    if kernel == "add":
        add = lambda n: KernelCall("add", 1, 1, n, 1, 1, n)    # noqa: E731
        return [add(n) for n in (*range(1, 13), 20)], [add(n) for n in (37, 64, 100, 255)]
    if kernel in ("fully_connected", "conv_1x1"):
        cols = _values(b["columns"])
        grid = product(cols, _values(b["rows"]), _values(b["depth"]))

        def mat(columns, depth, rows):
            if kernel == "fully_connected":
                return KernelCall(kernel, 1, 1, depth, 1, 1, rows, batches=columns)
            return KernelCall(kernel, 1, columns, depth, 1, columns, rows)
        held = [(1, 37, 11), (3, 64, 12), (2, 130, 7), (5, 45, 9), (7, 31, 6), (4, 64, 64)]
        return [mat(m, d, n) for m, n, d in grid], [mat(*s) for s in held]
    if kernel == "conv":
        fit = [_conv_call("conv", 1, p, d, n, (1, 1), (1, 1), "valid")
               for p, n, d in product(_values(b["pixels"]), _values(b["rows"]),
                                      _values(b["depth"]))]
        for _ in range(150):
            k = tuple(int(v) for v in rng.integers(1, 5, 2))
            h, w = (int(v) for v in rng.integers(max(k), 7, 2))
            fit.append(_conv_call("conv", h, w, int(rng.integers(1, 6)), int(rng.integers(1, 4)),
                                  k, tuple(int(v) for v in rng.integers(1, 3, 2)),
                                  ("same", "valid")[int(rng.integers(2))]))
        held = [_conv_call("conv", 9, 7, 3, 5, (3, 3), (2, 1), "same"),
                _conv_call("conv", 10, 6, 1, 4, (4, 3), (2, 2), "same"),
                _conv_call("conv", 5, 4, 12, 7, (2, 2), (1, 1), "same"),
                _conv_call("conv", 7, 7, 5, 3, (3, 3), (1, 1), "valid"),
                _conv_call("conv", 13, 5, 1, 9, (10, 4), (2, 2), "same")]
        return fit, held
    if kernel == "conv_scalar":
        return _conv_scalar_designs(rng)
    fit = []
    channel_values = _values(b["channels"]) + [8, 9, 16]
    kernels = [(3, 3)] if kernel == "depthwise_3x3" else [(2, 2), (3, 5), (1, 3), (4, 2)]
    for c in channel_values:
        for _ in range(12):
            k = kernels[int(rng.integers(len(kernels)))]
            h, w = (int(v) for v in rng.integers(max(k), max(k) + 5, 2))
            fit.append(_conv_call(kernel, h, w, c, c, k,
                                  tuple(int(v) for v in rng.integers(1, 3, 2)),
                                  ("same", "valid")[int(rng.integers(2))]))
    k = kernels[-1]
    held = [_conv_call(kernel, 7, 6, 11, 11, k, (1, 2), "same"),
            _conv_call(kernel, 9, 5, 16, 16, k, (1, 1), "same"),
            _conv_call(kernel, 8, 9, 6, 6, k, (2, 2), "valid"),
            _conv_call(kernel, 6, 7, 13, 13, k, (2, 1), "same")]
    return fit, held


def _conv_scalar_designs(rng) -> tuple[list[KernelCall], list[KernelCall]]:
    """Random small convolutions (any window, stride and padding; 1x1 ones on a 1x1 input
    as a dense layer calls it) to fit on; larger and odd ones held out."""
    fit = [_conv_call("conv_scalar", 1, 1, d, n, (1, 1), (1, 1), "valid")
           for d, n in product((1, 2, 3, 5, 8), (1, 2, 3, 4, 5, 6, 9))]
    for _ in range(200):
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        h, w = (int(v) for v in rng.integers(max(k), 8, 2))
        fit.append(_conv_call("conv_scalar", h, w, int(rng.integers(1, 6)),
                              int(rng.integers(1, 14)), k,
                              tuple(int(v) for v in rng.integers(1, 3, 2)),
                              ("same", "valid")[int(rng.integers(2))]))
    held = [_conv_call("conv_scalar", 1, 1, 130, 3, (1, 1), (1, 1), "valid"),
            _conv_call("conv_scalar", 11, 10, 3, 4, (3, 1), (1, 1), "same"),
            _conv_call("conv_scalar", 1, 35, 1, 9, (1, 7), (1, 2), "valid"),
            _conv_call("conv_scalar", 10, 12, 4, 6, (3, 3), (1, 1), "same"),
            _conv_call("conv_scalar", 13, 5, 2, 7, (10, 4), (2, 2), "same"),
            _conv_call("conv_scalar", 6, 9, 7, 2, (1, 1), (1, 1), "valid")]
    return fit, held


# ----------------------------------------------------------------------------- counting

def _counting_table(serial_shifter: bool = False):
    """A stand-in device for hwsim.machine.emulate_price.price whose every action costs one
    cycle and no flash wait: price() then returns the action counts themselves. With
    `serial_shifter`, shifts are counted apart: shift, shift_4_bits, shift_bit."""
    ones = dict.fromkeys(("alu", "load_8", "load_16", "load_32", "store_8", "store_16",
                          "store_32", "branch_taken", "branch_not_taken", "call_return", "mul",
                          "mac", "mulh", "simd_mac", "div", "jump", "jump_register",
                          *HAZARD_ACTIONS), 1.0)
    assert set(FALLBACK_ACTIONS) <= set(ones)
    serial = (SimpleNamespace(base_cycles=1.0, cycles_per_4_bits=1.0, cycles_per_bit=1.0)
              if serial_shifter else None)
    return SimpleNamespace(name="counting", cycles=ones, serial_shifter=serial,
                           operand_multiplier=None, memory=SimpleNamespace(
                               flash_load_extra_cycles=0.0, instruction_fetch=None))


def kernel_counts(run, roles: dict[int, str] | None = None,
                  shifts: dict[int, str | None] | None = None) -> dict[str, int]:
    """Executed actions of one harness run's kernel (priced actions, one cycle each; a
    RISC-V mul by its role, `roles` or the run's own site_roles, when it recorded its
    operands; shifts apart, shift + shift_4_bits + shift_bit, one by a register at a role
    site (`shifts`, else the run's own) as shift_by_<role>, when it recorded its shifts)."""
    recorded = getattr(run, "shift_amounts", None) is not None
    actions = price(run.profile, _counting_table(recorded)).nodes[KERNEL].actions
    counts = {a: int(round(c)) for a, c in actions.items() if round(c)}
    if recorded:
        counts = with_shift_sites(counts, run, shifts)
    roles = site_roles([run]) if roles is None else roles
    check_parameter_sites(run, roles)
    for (address, _value), n in run.mul_operands.items():
        role = roles.get(address, "mul")
        if role != "mul":
            counts[role] = counts.get(role, 0) + n
            counts["mul"] -= n
    if run.parameter_reads:
        counts[PARAMETER_READ] = run.parameter_reads
    counts |= soft_call_counts(run)         # a soft kernel's libgcc calls (soft_run)
    return {a: n for a, n in counts.items() if n}


@dataclass(frozen=True)
class Measured:
    call: KernelCall
    counts: dict[str, int]
    loop_muls: tuple[int, int] = (0, 0)     # mul_sites.loop_mul_bits


def measure(firmware, calls, rng, check=None, roles: dict[int, str] | None = None,
            shifts: dict[int, str | None] | None = None, path: str = "right"
            ) -> tuple[list[Measured], dict[int, str], dict[int, str | None]]:
    """Run each call on fixed-path data of requantization `path` (RISC-V: every weight
    DESIGNED_WEIGHT, every input at the zero point DESIGNED_INPUT, muls by operand role:
    `roles`, else site_roles over these runs; designed_shifts, shifts by a register by
    role: `shifts`, else run_shift_roles); `check(case, output)` sees every output.
    (counts, roles, shifts)"""
    runs = []
    riscv = firmware.target.arch == "riscv"
    for call in calls:
        case = fixed_path_case(call, rng, path)
        soft = call.kernel in SOFT_KERNELS      # random weights: their calls split off
        if riscv and call.kernel != "add" and not soft:
            case = replace(case, w=np.full_like(case.w, DESIGNED_WEIGHT),
                           x=np.full_like(case.x, DESIGNED_INPUT), input_offset=-DESIGNED_INPUT)
        case, parameters = designed_shifts(case, rng) if riscv else (case, None)
        run = run_case(firmware, case, mul_operands=riscv, shift_parameters=parameters)
        if check is not None:
            check(case, run.output)
        if soft:
            run = soft_run(run, firmware, _counting_table())
        runs.append(run)
    roles = site_roles(runs) if roles is None else roles
    shifts = run_shift_roles(runs) if shifts is None else shifts
    return [Measured(r.case.call, kernel_counts(r, roles, shifts), loop_mul_bits(r, roles))
            for r in runs], roles, shifts


def characterize_kernel(firmware, kernel: str, check=None, seed: int = 0,
                        path: str = "right") -> dict:
    """Fit one kernel on its design, prove it on the held-out shapes; its data record.
    `path`: the requantization path of every channel (REQUANTIZE_PATHS)."""
    target = firmware.target.name
    rng = np.random.default_rng(seed)
    fit_calls, held_calls = designs(kernel, target)
    monomials = basis(kernel, target)
    what = f"{kernel} on {target}" + (f", {path} shifts" if path != "right" else "")
    measured, roles, shifts = measure(firmware, fit_calls, rng, check, path=path)
    # exact but the one-wait-state fetch actions, which follow where a soft kernel's
    # calls return (least squares within a stated bound, as the lut kernels')
    coefficients, bounds = fit_fetch_within_bounds(
        monomials, measured, what, [trip_counts(m.call) for m in measured])
    held = measure(firmware, held_calls, rng, check, roles, shifts, path)[0]
    for run in held:
        bounds = prove_held_out(what, run.call, predict(monomials, coefficients, run.call),
                                run.counts, coefficients, bounds)
    used = [j for j in range(len(monomials)) if any(cs[j] for cs in coefficients.values())]
    loop = loop_mul_record([m.loop_muls for m in measured], [m.loop_muls for m in held])
    return {"basis": [monomial_text(monomials[j]) for j in used],
            "counts": {a: [_encode(cs[j]) for j in used] for a, cs in coefficients.items()},
            "fitted_shapes": len(fit_calls), "held_out_shapes": len(held_calls),
            **({"loop_mul_bits": loop} if loop else {}),
            **({"bounds": {a: math.ceil(b) for a, b in sorted(bounds.items())}}
               if bounds else {})}


def characterize(target: str, directory, kernels=KERNEL_NAMES, check=None) -> dict:
    """The characterization data of `target` (a JSON-ready dict)."""
    if target not in CHARACTERIZED_TARGETS:
        raise HwsimError(f"target {target!r} is not characterized; one of "
                         f"{', '.join(CHARACTERIZED_TARGETS)}")
    kernels = target_kernels(target, kernels)
    firmware = build_firmware(find_target(target), directory)
    return {"format_version": FORMAT_VERSION, "target": target,
            "compiler": f"{Path(firmware.command[0]).name} {firmware.compiler_version}",
            "flags": [*CFLAGS, *firmware.target.flags], "library_sha256": library_sha256(),
            "data_path": "fixed: inputs at the zero point (accumulator = bias = 0), right "
                         "shifts (a weighted kernel's left_shift: every channel shifted "
                         "left), nothing clamped",
            "actions": "executed instructions as hwsim.machine.emulate_price prices them, "
                       "one count per action; parameter_read: loads of weights, bias, "
                       "multipliers and parameter structs",
            "kernels": {k: kernel_record(firmware, k, check) for k in kernels}}


def kernel_record(firmware, kernel: str, check) -> dict:
    """A kernel's record: its right-shift path and, for a weighted kernel, the left-shift
    path as `left_shift` (hwsim.ir.int8_kernels.requantize_path: every channel shifted
    left; on Armv7E-M the C kernels instead of the assembly passes)."""
    record = characterize_kernel(firmware, kernel, check)
    if kernel != "add":        # the add's shifts are branch-free (hwsim_requantize_any)
        record["left_shift"] = characterize_kernel(firmware, kernel, check, path="left")
    return record


def dumps(data: dict) -> str:
    """The data file's text: sorted keys, two-space indent, final newline."""
    return json.dumps(data, sort_keys=True, indent=1) + "\n"
