"""Build the grouped lut dense kernel (hwsim/machine/kernels/lut/lut_grouped.c) into a
test firmware per target and run it in unicorn on the lut library's random cases.

    firmware = build_grouped_firmware("cortex-m0", "out/")
    case = grouped_case(random_case(call, rng, levels, clusters), g=4, chunk=4)
    run = run_grouped_case(firmware, case)     # output + what executed

The firmware is hwsim.machine.kernels.lut_harness's with the grouped kernel as the one
function; the product table, bias, weights, thresholds and call struct are parameter
reads (flash in a deployment), the group tables and the units' sums between chunks are
the kernel's scratch in RAM. The output is checked against lut_harness.reference_output,
the same numpy reference as the ungrouped kernels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.lut_grouped import POINTER_BYTES, GroupedLayout, grouped_layout
from hwsim.ir.lut_grouped_conv import (GroupedConvCall, conv_call_scalars, conv_weights,
                                       padding_pixel)
from hwsim.ir.lut_grouped_flash import precomputed_tables
from hwsim.ir.lut_kernels import lut_shift_amounts
from hwsim.machine.codegen.targets import Target, find_target
from hwsim.machine.kernels.harness import (LINKER_SCRIPT, RAM_BYTES, RAM_ORIGIN, STACK_BYTES,
                                           Firmware, KernelRun, _emulate, _kernel_counts,
                                           _profile)
from hwsim.machine.kernels.lut import GROUPED_HEADER as HEADER
from hwsim.machine.kernels.lut import GROUPED_SOURCES, SOURCE_DIR
from hwsim.machine.kernels.lut_harness import LutCase, _LutJob, driver_source
from hwsim.machine.toolchain import CFLAGS, compile_elf, find_compiler

ELF_NAME = "lut_grouped.elf"
FUNCTION = "hwsim_lut_grouped_dense"
CONV_FUNCTION = "hwsim_lut_grouped_conv"
C_SOURCES = tuple(n for n in GROUPED_SOURCES if n.endswith(".c"))


def grouped_driver_source(target: Target) -> str:
    """The lut driver with the grouped kernel as its only case (job word 0 = 0)."""
    source = driver_source(target).replace('"hwsim_lut.h"', f'"{HEADER}"')
    head, _, rest = source.partition("    switch (job[0]) {")
    _, _, tail = rest.partition("    default:")
    return (head.replace("const hwsim_lut_call *call = (const hwsim_lut_call *)",
                         "const hwsim_lut_grouped_call *call = (const hwsim_lut_grouped_call *)")
            + f"    switch (job[0]) {{\n    case 0:\n        {FUNCTION}(call, x, y);\n"
            f"        break;\n    case 1:\n        {CONV_FUNCTION}("
            "(const hwsim_lut_grouped_conv_call *)(const void *)call, x, y);\n"
            "        break;\n    default:" + tail)


def build_grouped_firmware(target: Target | str, directory: str | Path) -> Firmware:
    target = find_target(target) if isinstance(target, str) else target
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(grouped_driver_source(target))
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    command = (compiler, *CFLAGS, "-Wextra", *target.flags, f"-I{SOURCE_DIR}", "driver.c",
               *(str(SOURCE_DIR / n) for n in C_SOURCES), "-T", "link.ld", "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target, "the grouped lut kernel"),
                    command)


@dataclass(frozen=True)
class GroupedCase:
    """A dense LutCase (its call's shape: 1 x 1 x fan -> units) and its grouped layout;
    `precomputed`: the group tables precomputed (hwsim.ir.lut_grouped_flash), one chunk."""
    case: LutCase
    layout: GroupedLayout
    precomputed: bool = False

    def describe(self) -> str:
        how = "precomputed" if self.precomputed else f"chunk={self.layout.chunk}"
        return f"grouped g={self.layout.g} {how} {self.case.describe()}"


def grouped_case(case: LutCase, clusters: int, g: int, chunk: int,
                 precomputed: bool = False) -> GroupedCase:
    return GroupedCase(case, grouped_layout(case.table, case.weight_index, case.bias_index,
                                            clusters, g, chunk), precomputed)


def _job(gc: GroupedCase):
    case, lay = gc.case, gc.layout
    s = case.call.shape
    fan, units = s.in_h * s.in_w * s.in_c, s.out_c
    job = _LutJob()
    first = job.put(b"")
    table = job.put(lay.rows.tobytes())
    row_shift = int(np.log2(case.table.shape[1])) + 1
    bias = job.put(lay.bias.astype(np.int32).tobytes())
    bounds = job.put(case.bounds.astype(np.int32).tobytes()) if case.bounds is not None else 0
    weights = job.put(lay.weights.tobytes())
    flash, scratch_bytes = [0, 0, 0], lay.scratch_bytes
    if gc.precomputed:
        level_bits, full, short = precomputed_tables(lay.rows, lay.k_log2, lay.g, fan)
        flash = [job.put(full.tobytes()), level_bits, job.put(short.tobytes())]
        scratch_bytes = POINTER_BYTES * lay.groups
    chunk = lay.groups if gc.precomputed else lay.chunk
    scratch_words = [0, 0]                     # patched below: scratch and acc in RAM
    words = [table, row_shift, lay.k_log2, lay.g, lay.table_shift,
             *lay.crossing_words(), fan, units,
             lay.groups, chunk, chunk * 4, lay.groups * 4, bias, bounds,
             case.call.steps if case.bounds is not None else 0, weights, *scratch_words,
             *flash]
    call_at = job.put(np.array(words, dtype=np.int64).astype(np.uint32).tobytes())
    parameters = (first, RAM_ORIGIN + len(job.data))
    scratch = job.put(bytes(scratch_bytes))
    acc = job.put(bytes(4 * units))
    patched = np.array(words[:-5] + [scratch, acc] + flash, dtype=np.int64).astype(np.uint32)
    start = call_at - RAM_ORIGIN
    job.data[start:start + 4 * len(words)] = patched.tobytes()
    job.words["call"] = call_at
    job.words["x"] = job.put(case.x.astype(np.uint8).tobytes())
    out_bytes = units * (1 if case.bounds is not None else 4)
    job.words["y"] = job.put(bytes(out_bytes))
    return job, job.words["y"], out_bytes, parameters


@dataclass(frozen=True)
class GroupedConvCase:
    """A convolution LutCase (conv1d as height 1, conv2d) and its grouped call."""
    case: LutCase
    call: GroupedConvCall

    def describe(self) -> str:
        return f"grouped conv g={self.call.g} {self.case.describe()}"


def grouped_conv_case(case: LutCase, clusters: int, g: int) -> GroupedConvCase:
    thresholded = case.bounds is not None
    return GroupedConvCase(case, GroupedConvCall(
        clusters.bit_length() - 1, g, case.call.shape, thresholded,
        case.call.steps if thresholded else 0))


def _conv_job(gc: GroupedConvCase):
    case, call = gc.case, gc.call
    lay = grouped_layout(case.table, case.weight_index, case.bias_index,
                         1 << call.k_log2, call.g, call.groups)
    geo = call.geometry
    job = _LutJob()
    job.words["kernel"] = 1
    first = job.put(b"")
    table = job.put(lay.rows.tobytes())
    row_shift = int(np.log2(case.table.shape[1])) + 1
    bias = job.put(lay.bias.astype(np.int32).tobytes())
    bounds = job.put(case.bounds.astype(np.int32).tobytes()) if case.bounds is not None else 0
    weights = job.put(conv_weights(case.weight_index, call.shape.in_c, call.k_log2,
                                   call.g).tobytes())
    arrays = [job.put(np.asarray(getattr(geo, n), dtype=np.int32).tobytes())
              for n in geo.ARRAYS]
    pad = job.put(padding_pixel(call, lay.offset).tobytes()) if geo.clipped else 0
    dense = [table, row_shift, lay.k_log2, lay.g, lay.table_shift, *lay.crossing_words(),
             call.fan, call.units, call.groups, call.groups, call.groups * 4,
             call.groups * 4, bias, bounds, call.steps, weights, 0, 0, 0, 0, 0]
    words = [*dense, *conv_call_scalars(call), *arrays, 0, pad]
    call_at = job.put(bytes(4 * len(words)))
    parameters = (first, RAM_ORIGIN + len(job.data))
    dense[-5] = job.put(bytes(POINTER_BYTES * call.groups))      # the window's addresses
    ring = job.put(bytes(call.table_bytes))
    words = [*dense, *conv_call_scalars(call), *arrays, ring, pad]
    start = call_at - RAM_ORIGIN
    job.data[start:start + 4 * len(words)] = np.array(words, dtype=np.int64).astype(
        np.uint32).tobytes()
    job.words["call"] = call_at
    job.words["x"] = job.put(case.x.astype(np.uint8).tobytes())
    s = call.shape
    out_bytes = s.out_h * s.out_w * call.units * (1 if case.bounds is not None else 4)
    job.words["y"] = job.put(bytes(out_bytes))
    return job, job.words["y"], out_bytes, parameters


def run_grouped_case(firmware: Firmware, gc: GroupedCase | GroupedConvCase) -> KernelRun:
    """Run the grouped kernel (dense or convolution) once in unicorn; its output (flat)
    and what it executed."""
    job, output_address, out_bytes, parameters = (
        _conv_job(gc) if isinstance(gc, GroupedConvCase) else _job(gc))
    data = job.image()
    if len(data) > RAM_BYTES - STACK_BYTES:
        raise HwsimError(f"{gc.describe()}: {len(data):,} bytes exceed the harness's RAM")
    shifts: dict = {}
    mu, transitions, flash, owner_of, reads = _emulate(firmware, data, gc.describe(),
                                                       parameters, shift_amounts=shifts,
                                                       straight_runs=True)
    raw = bytes(mu.mem_read(output_address, out_bytes))
    output = np.frombuffer(raw, dtype=np.uint8 if gc.case.bounds is not None
                           else np.int32).copy()
    profile = _profile(firmware.target, firmware.image, transitions, flash, owner_of)
    instructions, classes, mnemonics = _kernel_counts(profile)
    riscv = firmware.target.arch == "riscv"
    return KernelRun(gc.case, firmware.target.name, output, profile, instructions, classes,
                     mnemonics, reads, shift_amounts=shifts if riscv else None,
                     shift_parameters=lut_shift_amounts(gc.case.table.shape[1], gc.case.call))
