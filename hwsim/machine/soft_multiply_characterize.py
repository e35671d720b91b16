"""Characterize libgcc's integer multiply routines on a target without a multiplier
(RV32I, and RV32E cores built as RV32I): the executed actions of one call
(hwsim.machine.emulate_price with every action at one cycle: alu, branch_taken,
branch_not_taken, call_return, ...) as an exact function of the operand the routine's
loop runs over.

    data = characterize("rv32i", "build/")     # {"routines": {...}, provenance}

- `mulsi3`: `__mulsi3(a, b)`, a shift-and-add loop over the bits of b: per call a fixed
  part, one pass per significant bit of b (at least one: the loop tests at its end) and
  one add per set bit.
- `muldi3`: the 64-bit product of two unsigned 32-bit values, `(uint64_t)a * b`, as
  gcc 12 calls `__muldi3` for it (both high words 0, so it calls no `__mulsi3`): a
  64-bit shift-and-add over the bits of b, the same form.

Shifts are counted with their amounts (`shift`, `shift_4_bits`, `shift_bit`, as
hwsim.machine.emulate_price prices a serial shifter), so the data price PicoRV32-like
cores too; elsewhere a shift is one `alu`. The basis is {1, bits(b), ones(b)} (bits:
the bit length, at least 1; ones: the set bits). The coefficients are fitted exactly on designed operands (every bit length, few
and many set bits, a = 0 and a = 2^32 - 1) with the other operand random, and then
proven on held-out random operand pairs of every bit length: a count differing by one
action fails. The generated int8 code without a multiplier passes operands whose
bits the graph fixes there (hwsim.machine.codegen.int8: |w| and the Q31 multiplier),
so the cost model prices these calls from the weights and the multipliers
(hwsim.cost.soft_multiply).

A small firmware (the int8 harness's start-up code, linker script and emulation,
hwsim.machine.kernels.harness) calls the routine once on operands written into RAM;
the call and the routine count, the driver does not.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hwsim.errors import HwsimError
from hwsim.machine.characterize import _counting_table
from hwsim.machine.exact_fit import _encode, _solve
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.emulate_price import price
from hwsim.machine.kernels.harness import (KERNEL, LINKER_SCRIPT, RAM_ORIGIN, START_RISCV,
                                           Firmware, _emulate, _owner_table, _profile)
from hwsim.machine.toolchain import CFLAGS, compile_elf, find_compiler

FORMAT_VERSION = 1
TARGETS = ("rv32i",)
ELF_NAME = "soft_multiply.elf"
ROUTINES = {"mulsi3": 0, "muldi3": 1}
BASIS = ("1", "bits", "ones")
SEED = 13
HELD_OUT = 64

DRIVER = """/* hwsim soft-multiply characterization firmware: one call on job operands. */
#include <stdint.h>
int __mulsi3(int a, int b);
extern uint32_t hwsim_job[];
extern uint32_t __stack_top[];

__attribute__((noinline, naked)) void hwsim_halt(void)
{
    __asm__ volatile ("1: ebreak\\n    j 1b\\n");
}

__attribute__((noinline)) void hwsim_dispatch(const uint32_t *job)
{
    volatile uint32_t *y = (volatile uint32_t *)(uintptr_t)job[4];
    const uint32_t a = job[2], b = job[3];
    switch (job[0]) {
    case 0:
        y[0] = (uint32_t)__mulsi3((int)a, (int)b);
        break;
    case 1: {
        const uint64_t p = (uint64_t)a * b;
        y[0] = (uint32_t)p;
        y[1] = (uint32_t)(p >> 32);
        break;
    }
    default:
        break;
    }
}
""" + START_RISCV


def build_firmware(target_name: str, directory) -> Firmware:
    """The driver compiled as the generated int8 code is (toolchain.CFLAGS, the target's
    flags, libgcc)."""
    target = find_target(target_name)
    if target.has_multiply:
        raise HwsimError(f"target {target_name!r} has a multiplier: libgcc's multiply "
                         f"routines are characterized on {', '.join(TARGETS)}")
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(DRIVER)
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    command = (compiler, *CFLAGS, *target.flags, "driver.c", "-T", "link.ld", "-lgcc",
               "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target,
                                         "the soft-multiply driver"), command)


def operand_terms(b: int) -> dict[str, int]:
    """The basis terms of a call whose loop runs over `b` (unsigned 32-bit)."""
    b &= 0xFFFFFFFF
    return {"1": 1, "bits": max(b.bit_length(), 1), "ones": b.bit_count()}


def _counting_shifts():
    """The characterization's counting table (every action one cycle) with a serial
    shifter: each shift then counts as `shift` plus its amount in `shift_4_bits` and
    `shift_bit` (hwsim.machine.emulate_price.shift_actions), so the data price a core
    whose shifts take cycles per bit as well (elsewhere a `shift` is one `alu`)."""
    table = _counting_table()
    table.cycles = dict(table.cycles, shift=1.0, shift_4_bits=1.0, shift_bit=1.0)
    table.serial_shifter = SimpleNamespace(base_cycles=1.0, cycles_per_4_bits=1.0,
                                           cycles_per_bit=1.0)
    return table


def run_call(firmware: Firmware, routine: str, a: int, b: int) -> tuple[dict[str, int], int]:
    """(executed actions of one call, the product's low word as the firmware computed it)."""
    header = 6 * 4
    job = np.array([ROUTINES[routine], 0, a & 0xFFFFFFFF, b & 0xFFFFFFFF,
                    RAM_ORIGIN + header, 0], dtype=np.uint32).tobytes()
    mu, transitions, flash, _, _ = _emulate(firmware, job + bytes(8), f"soft multiply {routine}")
    profile = _profile(firmware.target, firmware.image, transitions, flash,
                       _owner_table(firmware.image))
    actions = price(profile, _counting_shifts()).nodes[KERNEL].actions
    low = int(np.frombuffer(bytes(mu.mem_read(RAM_ORIGIN + header, 4)), dtype=np.uint32)[0])
    return {k: int(round(v)) for k, v in actions.items() if round(v)}, low


def designed_operands(rng: np.random.Generator) -> list[tuple[int, int]]:
    """(a, b) pairs to fit on: b of every bit length 0..32 with one, all and about half
    of its bits set; a random, 0 and all ones."""
    pairs = []
    for bits in range(0, 33):
        top = 1 << (bits - 1) if bits else 0
        for b in {top, (1 << bits) - 1, top | (int(rng.integers(0, 1 << 31)) & (top - 1))
                  if bits > 1 else top}:
            pairs.append((int(rng.integers(0, 1 << 32)), b))
    return pairs + [(0, 0x1234567), (0xFFFFFFFF, 0x89ABCDE)]


def held_out_operands(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Random (a, b) pairs, b of random bit length and random bits."""
    pairs = []
    for _ in range(HELD_OUT):
        bits = int(rng.integers(1, 33))
        b = (1 << (bits - 1)) | (int(rng.integers(0, 1 << 32)) & ((1 << (bits - 1)) - 1))
        pairs.append((int(rng.integers(0, 1 << 32)), b))
    return pairs


def _check_product(routine: str, a: int, b: int, low: int) -> None:
    if low != (a * b) & 0xFFFFFFFF:
        raise HwsimError(f"{routine}({a:#x}, {b:#x}) returned {low:#x}, not the product")


def characterize_routine(firmware: Firmware, routine: str, seed: int = SEED) -> dict:
    """Fit one routine's actions on the designed operands, prove them held out."""
    rng = np.random.default_rng([seed, ROUTINES[routine]])
    fit_pairs, held = designed_operands(rng), held_out_operands(rng)
    runs = []
    for a, b in fit_pairs:
        counts, low = run_call(firmware, routine, a, b)
        _check_product(routine, a, b, low)
        runs.append((b, counts))
    x = np.array([[operand_terms(b)[t] for t in BASIS] for b, _ in runs], dtype=np.int64)
    actions = sorted({a for _, c in runs for a in c})
    coefficients = {}
    for action in actions:
        y = np.array([c.get(action, 0) for _, c in runs], dtype=np.int64)
        solution = _solve(x, y)
        if solution is None:
            raise HwsimError(f"{routine} on {firmware.target.name}: {action} is not an exact "
                             f"function of {', '.join(BASIS)} of the second operand")
        coefficients[action] = solution
    for a, b in held:
        counts, low = run_call(firmware, routine, a, b)
        _check_product(routine, a, b, low)
        terms = operand_terms(b)
        for action in sorted(set(counts) | set(coefficients)):
            predicted = sum(c * terms[t] for c, t in zip(coefficients.get(action, ()), BASIS))
            if predicted != counts.get(action, 0):
                raise HwsimError(f"{routine} on {firmware.target.name}: held-out "
                                 f"({a:#x}, {b:#x}) executes {counts.get(action, 0)} "
                                 f"{action}, the fit predicts {predicted}")
    return {"basis": list(BASIS),
            "counts": {a: [_encode(c) for c in cs] for a, cs in coefficients.items()},
            "fitted_operands": len(fit_pairs), "held_out_operands": len(held)}


def characterize(target_name: str, directory) -> dict:
    """The characterization data of one target (module docstring)."""
    if target_name not in TARGETS:
        raise HwsimError(f"target {target_name!r}: libgcc's multiply routines are "
                         f"characterized on {', '.join(TARGETS)} (cores without a multiplier)")
    firmware = build_firmware(target_name, directory)
    return {"format_version": FORMAT_VERSION, "target": target_name,
            "compiler": Path(firmware.command[0]).name,
            "compiler_version": firmware.compiler_version,
            "flags": [*CFLAGS, *firmware.target.flags], "libraries": ["libgcc"],
            "seed": SEED,
            "operand": "bits and ones of the second operand b (unsigned 32-bit; bits at "
                       "least 1): __mulsi3(a, b) and (uint64_t)a * b (__muldi3)",
            "actions": "executed instructions of one call (the call instruction and the "
                       "routine) as hwsim.machine.emulate_price prices them on a core with a "
                       "serial shifter: a shift is `shift` plus its amount in `shift_4_bits` "
                       "and `shift_bit` (elsewhere one `alu`)",
            "routines": {r: characterize_routine(firmware, r) for r in ROUTINES}}


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
