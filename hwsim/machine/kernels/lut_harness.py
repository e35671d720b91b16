"""Build the lut kernel library into one test firmware per target, run single kernel calls
in unicorn on random tables, weights and levels, and count what executed.

    firmware = build_lut_firmware("cortex-m0", "out/")
    case = random_case(call, rng)                 # call: hwsim.ir.lut_kernels.LutCall
    run = run_lut_case(firmware, case)            # output + hwsim.machine.emulate_profile

The firmware is hwsim.machine.kernels.harness's (start-up code, linker script, block
hook, owner of every instruction) with a driver for the lut API: job word 0 picks the
kernel, the others point at the hwsim_lut_call, x and y, all laid out in RAM by
`run_lut_case`; loads from the tables, weights, bias indices, thresholds and
geometry (flash in a deployment) are counted as parameter reads. `reference_output` is
the layer in numpy (acc = T[bias row, b] + sum of T[level, w] over the clipped window;
the level by the padded-bounds search), which every run is checked against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.lut_kernels import (FUNCTIONS, PACK_BITS, Geometry, LutCall, entry_variant,
                                  geometry, layout_weights, lut_shift_amounts, pack_bits,
                                  row_shift)
from hwsim.machine.codegen.lut_library import config_header
from hwsim.machine.codegen.targets import Target, find_target
from hwsim.machine.kernels.harness import (LINKER_SCRIPT, RAM_BYTES, RAM_ORIGIN, START_ARM,
                                           START_RISCV, STACK_BYTES, Firmware, KernelRun,
                                           _emulate, _Job, _kernel_counts, _profile)
from hwsim.machine.kernels.lut import CONFIG_HEADER, SOURCE_DIR, source_paths
from hwsim.machine.toolchain import CFLAGS, compile_elf, find_compiler

ELF_NAME = "lut_kernels.elf"
ARGUMENTS = ("kernel", "call", "x", "y")
INT32_MAX = (1 << 31) - 1

DRIVER = """/* hwsim lut kernel test firmware: one kernel call described by hwsim_job. */
#include <stdint.h>
#include "hwsim_lut.h"

extern uint32_t hwsim_job[];
extern uint32_t __stack_top[];

__attribute__((noinline, naked)) void hwsim_halt(void)
{{
    __asm__ volatile ("{halt}");
}}

__attribute__((noinline)) void hwsim_dispatch(const uint32_t *job)
{{
    const hwsim_lut_call *call = (const hwsim_lut_call *)(uintptr_t)job[1];
    const uint8_t *x = (const uint8_t *)(uintptr_t)job[2];
    void *y = (void *)(uintptr_t)job[3];
    switch (job[0]) {{
{cases}
    default:
        break;
    }}
}}
{start}
"""


def driver_source(target: Target) -> str:
    cases = "\n".join(f"    case {i}:\n        {f}(call, x, y);\n        break;"
                      for i, f in enumerate(FUNCTIONS))
    halt = "1: bkpt #0\\n    b 1b\\n" if target.arch == "arm" else "1: ebreak\\n    j 1b\\n"
    return DRIVER.format(halt=halt, cases=cases,
                         start=START_ARM if target.arch == "arm" else START_RISCV)


def build_lut_firmware(target: Target | str, directory: str | Path) -> Firmware:
    """Compile the lut library (with the target's hwsim_lut_config.h) and the driver."""
    target = find_target(target) if isinstance(target, str) else target
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(driver_source(target))
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    (directory / CONFIG_HEADER).write_text(config_header(target.name))
    command = (compiler, *CFLAGS, "-Wextra", *target.flags, "-I.", f"-I{SOURCE_DIR}",
               "driver.c", *map(str, source_paths()), "-T", "link.ld", "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target, "the lut kernels"),
                    command)


# ----------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class LutCase:
    """One call with its data: the product table (rows x K2, the last row the bias row),
    unit-major weight indices, bias indices, input levels (h, w, c) and padded bounds."""
    call: LutCall
    table: np.ndarray
    weight_index: np.ndarray          # (units, taps)
    bias_index: np.ndarray
    x: np.ndarray
    bounds: np.ndarray | None         # padded thresholds (2^steps), None: sums out

    def describe(self) -> str:
        s = self.call.shape
        return (f"{self.call.function} {s.in_h}x{s.in_w}x{s.in_c} -> {s.out_h}x{s.out_w}x"
                f"{s.out_c} k{s.kh}x{s.kw} s{s.stride_h}x{s.stride_w} "
                f"pad {s.pad_top},{s.pad_left}")


def random_case(call: LutCall, rng: np.random.Generator, levels: int = 7,
                clusters: int | None = None) -> LutCase:
    """Random data for `call`: entries of the variant's width, K = 256 for s16i (else
    `clusters`, default 16, 8 bits 200 wide), thresholds spread over the sums' range."""
    k = clusters or PACK_BITS.get(pack_bits(call.variant)) or {"s8": 16, "s16": 16,
                                                                "s16i": 256}[call.variant]
    k2 = 1 << int(np.ceil(np.log2(k)))
    high = 8 if entry_variant(call.variant) == "s8" else 3000
    table = np.zeros((levels + 1, k2), dtype=np.int64)
    table[:, :k] = rng.integers(-high, high, size=(levels + 1, k))
    s = call.shape
    taps = s.kh * s.kw * (1 if call.kernel == "depthwise" else s.in_c)
    w = rng.integers(0, k, size=(s.out_c, taps))
    b = rng.integers(0, k, size=s.out_c)
    x = rng.integers(0, levels, size=(s.in_h, s.in_w, s.in_c))
    bounds = None
    if call.thresholded:
        spread = high * max(1, int(np.sqrt(taps)))
        theta = np.sort(rng.integers(-spread, spread, size=(1 << call.steps) - 1))
        bounds = np.full(1 << call.steps, INT32_MAX, dtype=np.int64)
        bounds[0] = theta[0] if len(theta) else 0
        bounds[1:len(theta) + 1] = theta
    return LutCase(call, table, w, b, x, bounds)


def reference_output(case: LutCase) -> np.ndarray:
    """The layer computed in numpy, NHWC flat: levels (uint8) or sums (int32)."""
    call, g = case.call, geometry(case.call)
    t, x = case.table, case.x.reshape(-1)
    s = call.shape
    out = []
    for py in range(g.out_h):
        for px in range(g.out_w):
            for o in range(g.units):
                acc = int(t[-1, case.bias_index[o]])
                for r in range(g.row_count[py]):
                    base = g.row_x[py] + g.col_x[px] + r * g.x_row
                    tap = g.row_tap[py] + g.col_tap[px] + r * g.tap_row
                    for j in range(g.col_count[px]):
                        xi = base + (j * s.in_c + o if call.kernel == "depthwise" else j)
                        acc += int(t[x[xi], case.weight_index[o, tap + j]])
                out.append(acc)
    sums = np.array(out, dtype=np.int64)
    if case.bounds is None:
        return sums.astype(np.int32)
    return np.array([search_level(v, case.bounds) for v in sums], dtype=np.uint8)


def search_level(acc: int, bounds: np.ndarray) -> int:
    """The binary search of the kernels' fused threshold: the level of `acc`."""
    p, s = 0, len(bounds) // 2
    while s:
        if acc >= bounds[p + s]:
            p += s
        s //= 2
    return p


# ----------------------------------------------------------------------------- running

class ArgumentsJob(_Job):
    """A job block whose first words are a driver's argument words (`arguments`, by name):
    the lut driver's by default, the ops driver's (hwsim.machine.kernels.ops_harness)."""

    def __init__(self, arguments: tuple[str, ...] = ARGUMENTS):
        self.arguments = tuple(arguments)
        self.words = dict.fromkeys(self.arguments, 0)
        self.data = bytearray(4 * len(self.arguments))

    def image(self) -> bytes:
        words = np.array([self.words[a] for a in self.arguments], dtype=np.uint32).tobytes()
        return words + bytes(self.data[len(words):])


_LutJob = ArgumentsJob


def _job(case: LutCase) -> tuple[_Job, int, int, tuple[int, int]]:
    call, g = case.call, geometry(case.call)
    job = _LutJob()
    arg = job.words
    arg["kernel"] = FUNCTIONS.index(call.function)
    entry = np.int8 if entry_variant(call.variant) == "s8" else np.int16
    i32 = lambda values: np.asarray(values, dtype=np.int64).astype(np.int32).tobytes()  # noqa
    first = job.put(b"")
    table = job.put(case.table.astype(entry).tobytes())
    k2 = case.table.shape[1]
    entry_bytes = np.dtype(entry).itemsize
    bias_row = table + (case.table.shape[0] - 1) * k2 * entry_bytes
    bias = job.put(case.bias_index.astype(np.uint8).tobytes())
    bounds = job.put(i32(case.bounds)) if case.bounds is not None else 0
    shift = row_shift(k2, call.variant)
    pointers = [job.put(i32(getattr(g, f))) for f in Geometry.ARRAYS]
    weights = job.put(layout_weights(case.weight_index, call).tobytes())
    words = ([table, shift, bias_row, bias, bounds, call.steps]
             + [getattr(g, f) for f in Geometry.SCALARS] + pointers + [weights])
    arg["call"] = job.put(np.array(words, dtype=np.int64).astype(np.uint32).tobytes())
    parameters = (first, RAM_ORIGIN + len(job.data))
    arg["x"] = job.put(case.x.astype(np.uint8).tobytes())
    out_bytes = g.out_h * g.out_w * g.units * (1 if call.thresholded else 4)
    arg["y"] = job.put(bytes(out_bytes))
    return job, arg["y"], out_bytes, parameters


def run_lut_case(firmware: Firmware, case: LutCase) -> KernelRun:
    """Run one kernel call in unicorn; its output (flat) and what it executed."""
    job, output_address, out_bytes, parameters = _job(case)
    data = job.image()
    if len(data) > RAM_BYTES - STACK_BYTES:
        raise HwsimError(f"{case.describe()}: {len(data):,} bytes exceed the harness's RAM")
    shifts: dict = {}
    mu, transitions, flash, owner_of, reads = _emulate(firmware, data, case.describe(),
                                                       parameters, shift_amounts=shifts,
                                                       straight_runs=True)
    raw = bytes(mu.mem_read(output_address, out_bytes))
    output = np.frombuffer(raw, dtype=np.uint8 if case.call.thresholded else np.int32).copy()
    profile = _profile(firmware.target, firmware.image, transitions, flash, owner_of)
    instructions, classes, mnemonics = _kernel_counts(profile)
    riscv = firmware.target.arch == "riscv"
    return KernelRun(case, firmware.target.name, output, profile, instructions, classes,
                     mnemonics, reads, shift_amounts=shifts if riscv else None,
                     shift_parameters=lut_shift_parameters(case))


def lut_shift_parameters(case: LutCase) -> dict[str, int]:
    """The call's shift amounts a shift by a register may take (hwsim.machine.
    register_shifts): the table's row shift, and the fused threshold's first search
    step (1 << (steps - 1))."""
    return lut_shift_amounts(case.table.shape[1], case.call)
