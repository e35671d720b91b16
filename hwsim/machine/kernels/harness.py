"""Build the int8 kernel library into one test firmware per target, run single kernel
calls in unicorn on random int8 data, and count what executed.

    firmware = build_firmware("cortex-m4", "out/")      # once per target
    case = conv_case("conv", rng, (12, 9, 5), out_c=7, kernel_hw=(3, 3), stride=(2, 1))
    run = run_case(firmware, case)                        # output bytes + counts
    cost = price_run(run, find_device("nrf52840"))        # cycles with the device table

The firmware is the whole program: `_start` calls `hwsim_dispatch(hwsim_job)`, then
`hwsim_halt`. `run_case` writes at `hwsim_job` (the start of RAM) the kernel id, the
argument words, the parameter structs and every buffer (weights too), so one image
serves every case. A basic-block hook counts the instructions (each block disassembled
once) of everything the dispatcher calls: a hwsim.machine.emulate_profile.Profile,
priced by hwsim.machine.emulate_price.price. Cases (hwsim.machine.kernels.cases) carry
the numpy reference's arguments (hwsim.importers.int8_kernel_reference), which tests
and benchmarks compare (machine may not import importers).

Longer than 300 lines: the firmware's C driver, start-up code and linker script are text
beside the Python that lays out their job words and reads the runs back.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import folded_bias
from hwsim.machine.codegen.targets import Target, find_target
from hwsim.machine.disasm import _capstone, decode
from hwsim.machine.emulate import mul_operand_hooks
from hwsim.machine.emulate_price import EmulatedCost, price
from hwsim.machine.emulate_profile import HARNESS, Block, Profile, StraightRuns, code_bytes
from hwsim.machine.emulate_profile import fall_through_runs, next_run
from hwsim.machine.kernels.cases import ADD_LEFT_SHIFT, KernelCase
from hwsim.machine.kernels.int8 import KERNELS, SOURCE_DIR, source_paths
from hwsim.machine.toolchain import CFLAGS, ElfImage, compile_elf, find_compiler

KERNEL = "kernel"                         # the owner of everything the dispatcher calls
FLASH_ORIGIN, FLASH_BYTES = 0x0000_0000, 1 << 20
RAM_ORIGIN, RAM_BYTES = 0x2000_0000, 1 << 20
STACK_BYTES = 8192
ELF_NAME = "int8_kernels.elf"
KERNEL_IDS = {name: i for i, name in enumerate(KERNELS)}
REQUANTIZE_ID = len(KERNELS)              # hwsim_requantize over an array (run_requantize)
ARGUMENTS = ("kernel", "quant", "channels", "input_shape", "x", "kh", "kw", "w", "bias",
             "window", "output_shape", "y", "scratch", "batches", "in_features",
             "out_features")
_HARNESS_FUNCTIONS = ("_start", "hwsim_main", "hwsim_halt", "hwsim_dispatch")

DRIVER = """/* hwsim int8 kernel test firmware: one kernel call described by hwsim_job. */
#include <stdint.h>
#include "hwsim_int8.h"

{enum}
extern uint32_t hwsim_job[];
extern uint32_t __stack_top[];

#define ARG(name) (job[ARGUMENT_##name])
#define PTR(type, name) ((type)(uintptr_t)ARG(name))
#define INT(name) ((int32_t)ARG(name))

__attribute__((noinline, naked)) void hwsim_halt(void)
{{
    __asm__ volatile ("{halt}");
}}

__attribute__((noinline)) void hwsim_dispatch(const uint32_t *job)
{{
    const hwsim_quant *q = PTR(const hwsim_quant *, quant);
    const hwsim_channel_quant *ch = PTR(const hwsim_channel_quant *, channels);
    const hwsim_shape *in = PTR(const hwsim_shape *, input_shape);
    const hwsim_shape *out = PTR(const hwsim_shape *, output_shape);
    const hwsim_window *win = PTR(const hwsim_window *, window);
    const int8_t *x = PTR(const int8_t *, x), *w = PTR(const int8_t *, w);
    const int32_t *bias = PTR(const int32_t *, bias);
    int8_t *y = PTR(int8_t *, y);
    switch (ARG(kernel)) {{
{cases}
    default:
        break;
    }}
}}
{start}
"""
CALLS = {
    "fully_connected": "hwsim_fully_connected_s8(q, ch, INT(batches), INT(in_features), "
                       "INT(out_features), x, w, bias, y)",
    "conv": "hwsim_conv_s8(q, ch, in, x, INT(kh), INT(kw), w, bias, win, out, y, "
            "PTR(int16_t *, scratch))",
    "conv_1x1": "hwsim_conv_1x1_s8(q, ch, in, x, w, bias, out, y)",
    "depthwise_3x3": "hwsim_depthwise_3x3_s8(q, ch, in, x, w, bias, win, out, y, "
                     "PTR(int8_t *, scratch))",
    "add": "hwsim_add_s8(PTR(const hwsim_add_quant *, quant), x, w, INT(in_features), y)",
    **{k: f"hwsim_{k}_s8(q, ch, in, x, INT(kh), INT(kw), w, bias, win, out, y)"
       for k in ("conv_scalar", "depthwise", "conv_soft", "depthwise_soft")},
}
START_ARM = """
__attribute__((noreturn, section(".text.start"))) void _start(void)
{
    hwsim_dispatch(hwsim_job);
    hwsim_halt();
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) const void *const hwsim_vectors[2] = {
    __stack_top, (const void *)_start,
};
"""
START_RISCV = """
__attribute__((noreturn, used)) void hwsim_main(void)
{
    hwsim_dispatch(hwsim_job);
    hwsim_halt();
    for (;;) {
    }
}

__attribute__((naked, section(".text.start"))) void _start(void)
{
    __asm__ volatile ("la sp, __stack_top\\n    j hwsim_main\\n");
}
"""
LINKER_SCRIPT = f"""/* hwsim int8 kernel test firmware: memory map. */
MEMORY
{{
    FLASH (rx)  : ORIGIN = 0x{FLASH_ORIGIN:08x}, LENGTH = {FLASH_BYTES}
    RAM   (rwx) : ORIGIN = 0x{RAM_ORIGIN:08x}, LENGTH = {RAM_BYTES}
}}
ENTRY(_start)
SECTIONS
{{
    .text :
    {{
        KEEP(*(.vectors))
        *(.text.start)
        *(.text .text.*)
        *(.rodata .rodata.* .srodata .srodata.*)
    }} > FLASH
    .data : {{ *(.data .data.* .sdata .sdata.*) }} > RAM AT > FLASH
    .bss (NOLOAD) : {{ *(.bss .bss.* .sbss .sbss.* COMMON) }} > RAM
    ASSERT(SIZEOF(.data) == 0 && SIZEOF(.bss) == 0, "hwsim: the kernels keep no static data")
    __stack_top = ORIGIN(RAM) + LENGTH(RAM);
    hwsim_job = ORIGIN(RAM);
    /DISCARD/ : {{ *(.ARM.exidx*) *(.ARM.extab*) *(.comment) *(.eh_frame*) }}
}}
"""


@dataclass(frozen=True)
class Firmware:
    target: Target
    elf_path: Path
    image: ElfImage
    compiler_version: str
    command: tuple[str, ...]


def driver_source(target: Target) -> str:
    """The dispatcher: job word 0 picks the kernel, the other words (ARGUMENTS) are its
    arguments; then the start-up code for the target's architecture."""
    cases = "\n".join(f"    case {KERNEL_IDS[name]}:\n        {CALLS[name]};\n        break;"
                      for name in KERNELS)
    cases += (f"\n    case {REQUANTIZE_ID}:\n        for (int32_t i = 0; i < INT(batches); i++)\n"
              "            ((int32_t *)y)[i] = hwsim_requantize(((const int32_t *)x)[i], "
              "ch->multiplier[i], ch->shift[i]);\n        break;")
    enum = "enum {\n" + "".join(f"    ARGUMENT_{a} = {i},\n" for i, a in enumerate(ARGUMENTS)) \
        + "};"
    halt = "1: bkpt #0\\n    b 1b\\n" if target.arch == "arm" else "1: ebreak\\n    j 1b\\n"
    return DRIVER.format(enum=enum, halt=halt, cases=cases,
                         start=START_ARM if target.arch == "arm" else START_RISCV)


def build_firmware(target: Target | str, directory: str | Path) -> Firmware:
    """Compile the kernel library and the driver for `target` (toolchain.CFLAGS plus the
    target's flags, libgcc linked for the 64-bit multiply helpers) into `directory`."""
    target = find_target(target) if isinstance(target, str) else target
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(driver_source(target))
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    command = (compiler, *CFLAGS, "-Wextra", *target.flags, f"-I{SOURCE_DIR}", "driver.c",
               *map(str, source_paths()), "-T", "link.ld", "-lgcc", "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target, "the int8 kernels"),
                    command)


# ----------------------------------------------------------------------------- running

@dataclass(frozen=True)
class KernelRun:
    case: KernelCase
    target: str
    output: np.ndarray                  # int8, case.output_shape
    profile: Profile
    instructions: int                   # executed by the kernel (helpers included)
    classes: dict[str, int] = field(default_factory=dict)   # disasm action -> count
    mnemonics: dict[str, int] = field(default_factory=dict)
    parameter_reads: int = 0            # loads of weights, bias, multipliers and structs
    mul_operands: dict = field(default_factory=dict)   # RISC-V (mul address, rs2) -> count
    shift_amounts: dict | None = None   # RISC-V (shift address, amount) -> count, if recorded
    shift_parameters: dict = field(default_factory=dict)  # role -> the call's amount

    @property
    def instructions_per_mac(self) -> float:
        return self.instructions / self.case.macs


class _Job:
    """The job block at the start of RAM: argument words, then structs and buffers."""

    def __init__(self):
        self.words = dict.fromkeys(ARGUMENTS, 0)
        self.data = bytearray(4 * len(ARGUMENTS))

    def put(self, payload: bytes) -> int:
        self.data += bytes(-len(self.data) % 8)
        address = RAM_ORIGIN + len(self.data)
        self.data += payload
        return address

    def image(self) -> bytes:
        words = np.array([self.words[a] for a in ARGUMENTS], dtype=np.uint32).tobytes()
        return words + bytes(self.data[len(words):])


def _job(case: KernelCase) -> tuple[_Job, int, int, tuple[int, int]]:
    """The job block; the output's address and size, and the address range of the
    parameters (structs, weights, bias, multipliers: what a deployment keeps in flash)."""
    job = _Job()
    arg, arg["kernel"] = job.words, KERNEL_IDS[case.kernel]
    i32 = lambda values: np.asarray(values, dtype=np.int32).tobytes()   # noqa: E731
    first = job.put(b"")
    if case.op == "add":          # hwsim_add_quant; the inputs as x and w
        pairs = np.stack([case.multiplier, case.shift], axis=1).ravel().tolist()
        arg["quant"] = job.put(i32([case.input_offset, case.input2_offset, *pairs,
                                    case.output_offset, case.act_min, case.act_max, ADD_LEFT_SHIFT]))
        parameters = (first, RAM_ORIGIN + len(job.data))
        arg["x"], arg["w"] = (job.put(v.astype(np.int8).tobytes()) for v in (case.x, case.w))
        arg["y"], arg["in_features"] = job.put(bytes(case.x.size)), case.x.size
        return job, arg["y"], case.x.size, parameters
    arg["quant"] = job.put(i32([case.input_offset, case.output_offset, case.act_min,
                                case.act_max]))
    multiplier, shift = job.put(i32(case.multiplier)), job.put(i32(case.shift))
    arg["channels"] = job.put(np.array([multiplier, shift], dtype=np.uint32).tobytes())
    arg["w"] = job.put(case.w.astype(np.int8).tobytes())
    arg["bias"] = job.put(i32(folded_bias(case.kernel, case.bias, case.w,
                                          case.input_offset)))
    if case.op != "dense":
        arg["input_shape"] = job.put(i32(case.x.shape))
        arg["output_shape"] = job.put(i32(case.output_shape))
        arg["window"] = job.put(i32([*case.stride, *case.pad]))
    parameters = (first, RAM_ORIGIN + len(job.data))
    arg["x"] = job.put(case.x.astype(np.int8).tobytes())
    out_bytes = int(np.prod(case.output_shape))
    arg["y"] = job.put(bytes(out_bytes))
    if case.op == "dense":
        arg["batches"], arg["in_features"] = case.x.shape
        arg["out_features"] = case.w.shape[0]
    else:
        kh, kw = case.w.shape[1:3] if case.op == "conv2d" else case.w.shape[:2]
        arg["kh"], arg["kw"] = kh, kw
        if case.call.scratch_bytes:
            arg["scratch"] = job.put(bytes(case.call.scratch_bytes))
    return job, arg["y"], out_bytes, parameters


def run_case(firmware: Firmware, case: KernelCase, mul_operands: bool = False,
             shift_parameters: dict | None = None) -> KernelRun:
    """Run one kernel call in unicorn; its output and what it executed (RISC-V: with
    `mul_operands` muls' (address, rs2), with `shift_parameters` shifts' (address, amount))."""
    case.check()
    target, image = firmware.target, firmware.image
    job, output_address, out_bytes, parameters = _job(case)
    data = job.image()
    if len(data) > RAM_BYTES - STACK_BYTES:
        raise HwsimError(f"{case.describe()}: {len(data):,} bytes of buffers exceed the "
                         f"{RAM_BYTES - STACK_BYTES:,} bytes of RAM the harness has")
    operands, shifts = {}, ({} if shift_parameters is not None and target.arch == "riscv" else None)
    mu, transitions, flash, owner_of, reads = _emulate(
        firmware, data, case.describe(), parameters, mul_operands and operands, shifts)
    output = np.frombuffer(bytes(mu.mem_read(output_address, out_bytes)), dtype=np.int8)
    profile = _profile(target, image, transitions, flash, owner_of)
    instructions, classes, mnemonics = _kernel_counts(profile)
    return KernelRun(case, target.name, output.reshape(case.output_shape).copy(), profile,
                     instructions, classes, mnemonics, reads, operands, shifts,
                     dict(shift_parameters or {}))


def _emulate(firmware: Firmware, data: bytes, what: str, parameters: tuple[int, int] = (0, 0),
             mul_operands: dict | None = None, shift_amounts: dict | None = None):
    """Load the image and the job block, run from _start to hwsim_halt with the block hook
    (blocks joined into straight runs, StraightRuns) and flash-read hooks; the unicorn instance,
    the hook counts, the reads from the `parameters` range. RISC-V muls (address, rs2) and
    shifts by a register (address, amount) are counted into those dicts when given."""
    import unicorn as uc
    target, image = firmware.target, firmware.image
    if target.arch == "arm":
        import unicorn.arm_const as ac
        mu = uc.Uc(uc.UC_ARCH_ARM, uc.UC_MODE_THUMB | uc.UC_MODE_MCLASS)
        model = {"cortex-m0": "UC_CPU_ARM_CORTEX_M0", "cortex-m4": "UC_CPU_ARM_CORTEX_M4"}
        cpu = getattr(ac, model.get(target.name, ""), None)
        if cpu is not None:
            mu.ctl_set_cpu_model(cpu)
        sp, pc = ac.UC_ARM_REG_SP, ac.UC_ARM_REG_PC
    else:
        import unicorn.riscv_const as rc
        mu = uc.Uc(uc.UC_ARCH_RISCV, uc.UC_MODE_RISCV32)
        sp, pc = rc.UC_RISCV_REG_SP, rc.UC_RISCV_REG_PC
    mu.mem_map(FLASH_ORIGIN, FLASH_BYTES, uc.UC_PROT_READ | uc.UC_PROT_EXEC)
    mu.mem_map(RAM_ORIGIN, RAM_BYTES, uc.UC_PROT_ALL)
    for segment in image.segments:
        if segment.data:
            mu.mem_write(segment.address, segment.data)
    mu.mem_write(RAM_ORIGIN, data)
    mu.reg_write(sp, RAM_ORIGIN + RAM_BYTES)
    owner_of = _owner_table(image)
    owners: dict[int, str] = {}
    transitions: dict[tuple, int] = {}
    flash: dict[tuple, int] = {}
    state = {"prev": None, "run": None}

    def on_block(_mu, address, size, _data):
        owner = owners.get(address)
        if owner is None:
            owner = owners[address] = owner_of(address)
        key = (address, size, owner)
        t = (state["run"], address)
        transitions[t] = transitions.get(t, 0) + 1
        state["prev"], state["run"] = key, next_run(state["run"], key)

    def on_flash_read(_mu, _access, _address, _size, _value, _data):
        flash[state["prev"]] = flash.get(state["prev"], 0) + 1

    def on_parameter_read(_mu, _access, _address, _size, _value, _data):
        state["parameter_reads"] += 1

    state["parameter_reads"] = 0
    mu.hook_add(uc.UC_HOOK_BLOCK, StraightRuns(image, target.arch).hook(on_block, state, flash))
    if parameters[1] > parameters[0]:
        mu.hook_add(uc.UC_HOOK_MEM_READ, on_parameter_read, begin=parameters[0],
                    end=parameters[1] - 1)
    mu.hook_add(uc.UC_HOOK_MEM_READ, on_flash_read, begin=FLASH_ORIGIN,
                end=FLASH_ORIGIN + FLASH_BYTES - 1)
    from hwsim.machine.register_shifts import register_shift_hooks
    for counts, hooks in ((mul_operands, mul_operand_hooks),
                          (shift_amounts, register_shift_hooks)):
        if isinstance(counts, dict) and target.arch == "riscv":   # (address, value) -> n
            hooks(mu, image, lambda a, v, c=counts: c.__setitem__((a, v), c.get((a, v), 0) + 1))
    entry, halt = image.address_of("_start"), image.address_of("hwsim_halt")
    try:
        mu.emu_start(entry | 1 if target.arch == "arm" else entry, halt,
                     timeout=600 * 1_000_000)
    except uc.UcError as exc:
        raise HwsimError(f"{what} on {target.name}: emulation failed at "
                         f"pc=0x{mu.reg_read(pc):x}: {exc}") from None
    if mu.reg_read(pc) != halt:
        raise HwsimError(f"{what} on {target.name}: stopped at "
                         f"pc=0x{mu.reg_read(pc):x} before hwsim_halt")
    transitions[(state["run"], None)] = transitions.get((state["run"], None), 0) + 1
    return mu, transitions, flash, owner_of, state["parameter_reads"]


def run_requantize(firmware: Firmware, acc, multiplier, shift) -> np.ndarray:
    """hwsim_requantize(acc[i], multiplier[i], shift[i]) for every i, run on the target."""
    acc, multiplier, shift = (np.asarray(a, dtype=np.int64).astype(np.int32)
                              for a in (acc, multiplier, shift))
    job = _Job()
    i32 = lambda values: np.asarray(values, dtype=np.int32).tobytes()   # noqa: E731
    job.words["kernel"] = REQUANTIZE_ID
    job.words["batches"] = len(acc)
    job.words["x"] = job.put(i32(acc))
    job.words["channels"] = job.put(np.array([job.put(i32(multiplier)), job.put(i32(shift))],
                                             dtype=np.uint32).tobytes())
    job.words["quant"] = job.put(bytes(16))
    job.words["y"] = output = job.put(bytes(4 * len(acc)))
    mu = _emulate(firmware, job.image(), "requantize")[0]
    return np.frombuffer(bytes(mu.mem_read(output, 4 * len(acc))), dtype=np.int32).copy()


def _owner_table(image: ElfImage):
    import bisect
    functions = [f for f in image.functions if f.size > 0]
    starts = [f.address for f in functions]

    def owner_of(address: int) -> str:
        k = bisect.bisect_right(starts, address) - 1
        if k >= 0 and address < functions[k].address + functions[k].size:
            return HARNESS if functions[k].name in _HARNESS_FUNCTIONS else KERNEL
        return HARNESS
    return owner_of


def _profile(target: Target, image: ElfImage, transitions: dict, flash: dict, owner_of
             ) -> Profile:
    md = _capstone(target.arch)
    blocks: dict[tuple[int, int], Block] = {}
    executions: dict[tuple, int] = {}
    taken: dict[tuple, int] = {}
    for (run, address), count in transitions.items():
        if run is None:
            continue
        prev, key = run[-1], run[-1][:2]
        if key not in blocks:
            instructions = tuple(decode(target.arch, code_bytes(image, *key), key[0], md))
            last = instructions[-1]
            call_owner = (owner_of(last.target) if last.action == "call"
                          and last.target is not None else None)
            blocks[key] = Block(key[0], key[1], owner_of(key[0]), instructions, call_owner)
        last = blocks[key].instructions[-1]
        if last.action == "cond_branch" and last.target == address:
            taken[prev] = taken.get(prev, 0) + count
        executions[prev] = executions.get(prev, 0) + count
    return Profile(target.name, 1, blocks, executions, taken, dict(flash),
                   runs=fall_through_runs(transitions, blocks))


def _kernel_counts(profile: Profile) -> tuple[int, dict[str, int], dict[str, int]]:
    """Instructions the kernel executed, by disasm action and by mnemonic: blocks owned by
    the kernel, plus the call instructions that entered it (as price() charges them)."""
    classes, mnemonics = Counter(), Counter()
    for (address, size, owner), n in profile.executions.items():
        block = profile.blocks[(address, size)]
        body = list(block.instructions)
        last = body[-1]
        if last.action == "call" and block.call_owner is not None:
            body.pop()
            if block.call_owner == KERNEL:
                classes[last.action] += n
                mnemonics[last.mnemonic] += n
        if owner != KERNEL:
            continue
        for i in body:
            classes[i.action] += n
            mnemonics[i.mnemonic] += n
    return sum(classes.values()), dict(classes), dict(mnemonics)


def price_run(run: KernelRun, device) -> EmulatedCost:
    """The run priced with `device`'s cycle table; `.nodes["kernel"].cycles` is the kernel's."""
    return price(run.profile, device)


def kernel_cycles(run: KernelRun, device) -> float:
    return price_run(run, device).cycles_of(KERNEL)
