"""Build the ops kernel library into one test firmware per target, run single node calls in
unicorn on random data, and count what executed.

    firmware = build_ops_firmware("cortex-m0", "out/")
    case = random_case(call, rng)                 # call: hwsim.ir.ops_kernels.OpsCall
    run = run_ops_case(firmware, case)            # output + hwsim.machine.emulate_profile

The firmware is hwsim.machine.kernels.harness's (start-up code, linker script, block hook,
owner of every instruction) with a driver that calls, per kernel, the node function the
code generator emits (hwsim.machine.codegen.ops_library.node_function: the call with the
address of the node's parameter struct), so the counts include it. The struct sits at a
fixed RAM address (`PARAMS_ADDRESS`, the linker's `hwsim_ops_params`), followed by the
bounds or value table; loads from them (flash in a deployment) are counted as parameter
reads. `reference_output` is the node in numpy, which every run is checked against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.lut_kernels import search_steps
from hwsim.ir.ops_kernels import FUNCTIONS, POOL_SHIFT, OpsCall
from hwsim.machine.codegen.ops_library import STRUCTS, c_types, node_function, struct_words
from hwsim.machine.codegen.targets import Target, find_target
from hwsim.machine.kernels.harness import (LINKER_SCRIPT, RAM_BYTES, RAM_ORIGIN, START_ARM,
                                           START_RISCV, STACK_BYTES, Firmware, KernelRun,
                                           _emulate, _kernel_counts, _profile)
from hwsim.machine.kernels.lut_harness import ArgumentsJob, search_level
from hwsim.machine.kernels.ops import CONFIG_HEADER, SOURCE_DIR, config_header, source_paths
from hwsim.machine.toolchain import CFLAGS, compile_elf, find_compiler

ELF_NAME = "ops_kernels.elf"
ARGUMENTS = ("kernel", "x0", "x1", "y")
PARAMS_ADDRESS = RAM_ORIGIN + 4 * len(ARGUMENTS)
PARAMS_BYTES = 64
INT32_MAX = (1 << 31) - 1

DRIVER = """/* hwsim ops kernel test firmware: one node call described by hwsim_job. */
#include <stdint.h>
#include "hwsim_ops.h"

{externs}
extern uint32_t hwsim_job[];
extern uint32_t __stack_top[];

__attribute__((noinline, naked)) void hwsim_halt(void)
{{
    __asm__ volatile ("{halt}");
}}

{wrappers}
__attribute__((noinline)) void hwsim_dispatch(const uint32_t *job)
{{
    const void *x0 = (const void *)(uintptr_t)job[1];
    const void *x1 = (const void *)(uintptr_t)job[2];
    void *y = (void *)(uintptr_t)job[3];
    switch (job[0]) {{
{cases}
    default:
        break;
    }}
}}
{start}
"""


def _params_name(function: str) -> str:
    return f"hwsim_ops_params_{function}"


def driver_source(target: Target) -> str:
    externs, wrappers, cases = [], [], []
    for i, f in enumerate(FUNCTIONS):
        kind = f.split("_")[0]
        externs.append(f"extern const {STRUCTS[kind]} {_params_name(f)};")
        in_type, out_type = c_types(f)
        inputs = 2 if kind == "add" else 1
        wrapper = f"hwsim_ops_node_{f}"
        wrappers.append("__attribute__((noinline, noclone, used))\n"
                        + node_function(wrapper, f"hwsim_ops_{f}", _params_name(f), inputs,
                                        in_type, out_type))
        args = "x0, x1, y" if inputs == 2 else "x0, y"
        cases.append(f"    case {i}:\n        {wrapper}({args});\n        break;")
    halt = "1: bkpt #0\\n    b 1b\\n" if target.arch == "arm" else "1: ebreak\\n    j 1b\\n"
    return DRIVER.format(externs="\n".join(externs), wrappers="\n".join(wrappers),
                         cases="\n".join(cases), halt=halt,
                         start=START_ARM if target.arch == "arm" else START_RISCV)


def build_ops_firmware(target: Target | str, directory: str | Path) -> Firmware:
    """Compile the ops library (both styles' sources) and the driver, libgcc linked (the
    int8 average pool's multiply on RV32I)."""
    target = find_target(target) if isinstance(target, str) else target
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(driver_source(target))
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    (directory / CONFIG_HEADER).write_text(config_header(FUNCTIONS))
    symbols = [f"-Wl,--defsym={_params_name(f)}=0x{PARAMS_ADDRESS:08x}" for f in FUNCTIONS]
    command = (compiler, *CFLAGS, "-Wextra", *target.flags, "-I.", f"-I{SOURCE_DIR}", "driver.c",
               *map(str, source_paths()), "-T", "link.ld", *symbols, "-lgcc", "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target,
                                         "the ops kernels"), command)


# ----------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class OpsCase:
    """One call with its data: the inputs (flat), the bounds (padded) or value table."""
    call: OpsCall
    x0: np.ndarray
    x1: np.ndarray | None = None
    table: np.ndarray | None = None       # avg pool: padded bounds; add: value table
    bounds: np.ndarray | None = None      # add: padded thresholds

    def describe(self) -> str:
        return self.call.describe()


def input_elements(call: OpsCall) -> int:
    """Elements a pool's window walk reads from (its input tensor's size)."""
    if call.kind == "argmax":
        return call.classes
    if call.kind in ("add", "table"):
        return call.elements
    last = ((call.out_h - 1) * call.row_step + (call.out_w - 1) * call.col_step
            + (call.size_h - 1) * call.x_row + (call.size_w - 1) * call.channels
            + call.channels)
    return last


def padded(values: np.ndarray, top: int) -> np.ndarray:
    """Sorted bounds padded to 2^steps entries: p[k] = values[k-1], `top` beyond."""
    out = np.full(1 << search_steps(len(values)), top, dtype=np.int64)
    out[0] = values[0] if len(values) else 0
    out[1:len(values) + 1] = values
    return out


def random_case(call: OpsCall, rng: np.random.Generator, levels: int = 9) -> OpsCase:
    """Random data of the kernel's element type for `call`."""
    f, n = call.function, input_elements(call)
    if f.endswith("i8") or f == "avg_pool_i8":
        return OpsCase(call, rng.integers(-128, 128, n))
    if f.endswith("i32"):
        return OpsCase(call, rng.integers(-(1 << 31), 1 << 31, n))
    if call.kind == "table":
        high = 127 if f.endswith("v8") else 32767
        return OpsCase(call, rng.integers(0, levels, n),
                       table=rng.integers(-high, high + 1, levels))
    if call.kind == "add":
        high = 127 if f.endswith("v8") else 32767
        values = np.sort(rng.integers(-high, high + 1, levels))
        spread = 2 * high if f.startswith("add_v") else 1 << 30
        bounds = None
        if call.thresholded:
            theta = np.sort(rng.integers(-spread, spread, (1 << call.steps) - 1))
            bounds = padded(theta, INT32_MAX)
        x = [rng.integers(0, levels, n), rng.integers(0, levels, n)]
        if f.startswith("add_sv"):
            x[call.sums_input] = rng.integers(-(1 << 30), 1 << 30, n)
        return OpsCase(call, x[0], x[1], values, bounds)
    x = rng.integers(0, levels, n)
    if f.startswith("avg_pool_u8"):
        window = call.size_h * call.size_w
        count = (1 << call.steps) - 1
        bits = int(f.rsplit("b", 1)[1])
        top = (1 << (bits - 1)) - 1
        theta = np.sort(rng.integers(0, window * (levels - 1) + 2, count))
        return OpsCase(call, x, table=padded(np.minimum(theta, top), top))
    return OpsCase(call, x)


def reference_output(case: OpsCase) -> np.ndarray:
    """The node computed in numpy."""
    call, f = case.call, case.call.function
    x = np.asarray(case.x0, dtype=np.int64)
    if call.kind == "argmax":
        return np.array([int(np.argmax(x[:call.classes]))], dtype=np.uint8)
    if call.kind == "table":
        return case.table[x].astype(np.int8 if f.endswith("v8") else np.int16)
    if call.kind == "add":
        if f.startswith("add_sv"):
            sums, levels = ((case.x0, case.x1) if call.sums_input == 0 else (case.x1, case.x0))
            acc = np.asarray(sums, dtype=np.int64) + case.table[levels]
        else:
            acc = case.table[case.x0] + case.table[case.x1]
        if case.bounds is None:
            return acc.astype(np.int32)
        return np.array([search_level(int(v), case.bounds) for v in acc], dtype=np.uint8)
    out = []
    for oy in range(call.out_h):
        for ox in range(call.out_w):
            for c in range(call.channels):
                base = oy * call.row_step + ox * call.col_step + c
                window = [x[base + r * call.x_row + j * call.channels]
                          for r in range(call.size_h) for j in range(call.size_w)]
                if f.startswith("max"):
                    out.append(max(window))
                elif f == "avg_pool_i8":
                    out.append((sum(window) * call.reciprocal + (1 << (POOL_SHIFT - 1)))
                               >> POOL_SHIFT)
                else:
                    out.append(search_level(sum(window), case.table))
    dtype = {"max_pool_i32": np.int32, "max_pool_i8": np.int8, "avg_pool_i8": np.int8}
    return np.array(out, dtype=np.int64).astype(dtype.get(f, np.uint8))


# ----------------------------------------------------------------------------- running

def _element_dtype(function: str):
    if function.endswith("i32"):
        return np.int32
    return np.int8 if function.endswith("i8") else np.uint8


def _job(case: OpsCase) -> tuple[ArgumentsJob, int, int, np.dtype, tuple[int, int]]:
    call, f = case.call, case.call.function
    job = ArgumentsJob(ARGUMENTS)
    job.words["kernel"] = FUNCTIONS.index(f)
    params = job.put(bytes(PARAMS_BYTES))
    assert params == PARAMS_ADDRESS
    pointer = 0
    if case.table is not None:
        width = (np.int8 if f.endswith(("b8", "v8")) else
                 np.int16 if f.endswith(("b16", "v16")) else np.int32)
        pointer = job.put(np.asarray(case.table, dtype=np.int64).astype(width).tobytes())
    bounds = 0
    if case.bounds is not None:
        bounds = job.put(np.asarray(case.bounds, dtype=np.int64).astype(np.int32).tobytes())
    words = np.array(struct_words(call, pointer, bounds), dtype=np.int64).astype(np.uint32)
    job.data[PARAMS_ADDRESS - RAM_ORIGIN:PARAMS_ADDRESS - RAM_ORIGIN + 4 * len(words)] = \
        words.tobytes()
    parameters = (params, RAM_ORIGIN + len(job.data))
    dtype = _element_dtype(f)
    for k, x in enumerate((case.x0, case.x1)):
        if x is not None:
            kind = (np.int32 if f.startswith("add_sv") and k == call.sums_input else dtype)
            job.words[f"x{k}"] = job.put(np.asarray(x, dtype=np.int64).astype(kind).tobytes())
    expected = reference_output(case)
    out_dtype = expected.dtype
    job.words["y"] = job.put(bytes(expected.nbytes))
    return job, job.words["y"], expected.nbytes, out_dtype, parameters


def run_ops_case(firmware: Firmware, case: OpsCase) -> KernelRun:
    """Run one node call in unicorn; its output (flat) and what it executed."""
    job, address, out_bytes, out_dtype, parameters = _job(case)
    data = job.image()
    if len(data) > RAM_BYTES - STACK_BYTES:
        raise HwsimError(f"{case.describe()}: {len(data):,} bytes exceed the harness's RAM")
    shifts: dict = {}
    operands: dict = {}
    mu, transitions, flash, owner_of, reads = _emulate(firmware, data, case.describe(),
                                                       parameters, mul_operands=operands,
                                                       shift_amounts=shifts)
    output = np.frombuffer(bytes(mu.mem_read(address, out_bytes)), dtype=out_dtype).copy()
    profile = _profile(firmware.target, firmware.image, transitions, flash, owner_of)
    instructions, classes, mnemonics = _kernel_counts(profile)
    riscv = firmware.target.arch == "riscv"
    return KernelRun(case, firmware.target.name, output, profile, instructions, classes,
                     mnemonics, reads, operands, shift_amounts=shifts if riscv else None,
                     shift_parameters=case.call.shift_amounts)


__all__ = ["OpsCase", "build_ops_firmware", "random_case",
           "reference_output", "run_ops_case"]
