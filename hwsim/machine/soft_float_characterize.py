"""Characterize libgcc's soft-float routines on one code-generation target: the executed
actions (hwsim.machine.emulate_price with every action at one cycle: alu, load_32,
branch_taken, call_return, ...) of one float operation as the generated float32 code
calls it, per operand class, over a stated operand distribution.

    data = characterize("cortex-m0", "build/")     # {"operations": {...}, provenance}

A small firmware (the int8 harness's start-up code, linker script and emulation,
hwsim.machine.kernels.harness) calls the operation in a loop over operand arrays written
into RAM; everything the loop calls counts (the call itself, the routine, its helpers
such as __clzsi2 or RV32I's __mulsi3), the loop does not. The operations:

OPERAND_DISTRIBUTION (the data files state it).

Each class is the mean over SAMPLES calls (to 4 decimals); `min` and `max` are
the fewest and most actions (sum over actions, but the fetch-wait actions, which are no
instructions) one call took over BOUND_SAMPLES calls run one by one: the bound of a
data-dependent routine.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwsim.machine.characterize import _counting_table
from hwsim.machine.codegen.float32 import PRELUDE
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.emulate_price import price
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.kernels.harness import (KERNEL, LINKER_SCRIPT, START_ARM, START_RISCV,
                                           Firmware, _emulate, _owner_table, _profile)
from hwsim.machine.toolchain import CFLAGS, compile_elf, find_compiler

FORMAT_VERSION = 1
OPERAND_DISTRIBUTION = """\
- mul, add (classes `general` and `zero`): the operands of dot products acc += w * x
  (the weighted kernels of hwsim.machine.codegen.float32) with w ~ N(0, 1/sqrt(fan)),
  x ~ U(-1, 1), fan 16..128: `general` both operands non-zero (mul: w, x; add: the
  running sum and the product); `zero` one operand 0 (mul: an input at 0; add: the first
  tap's acc = 0 or a product of an input at 0, half each way round). libgcc returns
  early on a zero operand.
- compare (`a > b`, as pools and argmax compare): a, b ~ U(-1, 1).
- div: a ~ U(-2, 2), b ~ U(1, 10).
- tanh: the generated hw_tanhf (hwsim.machine.codegen.float32.PRELUDE) with its
  helpers, x ~ U(-4, 4) (pre-activations); class `saturated`: |x| ~ U(9.5, 30), either
  sign, which returns +-1 early (the lower bound of a threshold node: the cost model
  charges `general`, untrained or badly scaled networks saturate).
RV32I's __mulsf3 calls __mulsi3 four times, whose loops run over the operands'
significand bits: the general class (full significands) is its upper region; short
significands (network inputs q / (L - 1), discretized weights) take less.
"""
TARGETS = ("cortex-m0", "cortex-m4", "rv32i", "rv32im")
SAMPLES = 512
BOUND_SAMPLES = 48
SEED = 11
ELF_NAME = "soft_float.elf"
OPERATIONS = {"mul": 0, "add": 1, "div": 2, "compare": 3, "tanh": 4}
EXPRESSIONS = {"mul": "y[i] = a[i] * b[i];", "add": "y[i] = a[i] + b[i];",
               "div": "y[i] = a[i] / b[i];", "compare": "r[i] = a[i] > b[i];",
               "tanh": "y[i] = hw_tanhf(a[i]);"}

DRIVER = """/* hwsim soft-float characterization firmware: one operation over n operand pairs. */
#include <stdint.h>
{prelude}
extern uint32_t hwsim_job[];
extern uint32_t __stack_top[];

__attribute__((noinline, naked)) void hwsim_halt(void)
{{
    __asm__ volatile ("{halt}");
}}

__attribute__((noinline)) void hwsim_dispatch(const uint32_t *job)
{{
    const uint32_t n = job[1];
    const float *a = (const float *)(uintptr_t)job[2];
    const float *b = (const float *)(uintptr_t)job[3];
    float *y = (float *)(uintptr_t)job[4];
    int32_t *r = (int32_t *)(uintptr_t)job[4];
    (void)r;
    switch (job[0]) {{
{cases}
    default:
        break;
    }}
}}
{start}
"""


def driver_source(arch: str) -> str:
    cases = "\n".join(f"    case {i}:\n        #pragma GCC unroll 1\n"
                      f"        for (uint32_t i = 0; i < n; i++)\n            {EXPRESSIONS[op]}\n"
                      "        break;" for op, i in OPERATIONS.items())
    halt = "1: bkpt #0\\n    b 1b\\n" if arch == "arm" else "1: ebreak\\n    j 1b\\n"
    return DRIVER.format(prelude=PRELUDE, halt=halt, cases=cases,
                         start=START_ARM if arch == "arm" else START_RISCV)


def build_firmware(target_name: str, directory) -> Firmware:
    """The driver compiled as the generated float32 code is (toolchain.CFLAGS, the
    target's flags, libgcc)."""
    target = find_target(target_name)
    compiler = find_compiler(target)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "driver.c").write_text(driver_source(target.arch))
    (directory / "link.ld").write_text(LINKER_SCRIPT)
    command = (compiler, *CFLAGS, *target.flags, "driver.c", "-T", "link.ld", "-lgcc",
               "-o", ELF_NAME)
    return Firmware(target, *compile_elf(command, directory, ELF_NAME, target,
                                         "the soft-float driver"), command)


def operands(operation: str, kind: str, rng: np.random.Generator, n: int):
    """(a, b) float32 arrays of n operand pairs of one class (module docstring)."""
    if operation in ("mul", "add"):
        fan = int(rng.integers(16, 129))
        w = (rng.standard_normal(n) / np.sqrt(fan)).astype(np.float32)
        x = rng.uniform(-1, 1, n).astype(np.float32)
        if operation == "mul":
            return (w, x) if kind == "general" else (w, np.zeros(n, np.float32))
        products = (w * x).astype(np.float32)
        if kind == "zero":
            zeros = np.zeros(n, np.float32)
            half = np.arange(n) % 2 == 0
            return np.where(half, zeros, products), np.where(half, products, zeros)
        acc, terms = [], []
        while len(acc) < n:                # running sums of dot products over `fan` taps
            p = (rng.standard_normal(fan) / np.sqrt(fan)).astype(np.float32) \
                * rng.uniform(-1, 1, fan).astype(np.float32)
            running = p[0]
            for term in p[1:]:
                acc.append(running)
                terms.append(term)
                running = np.float32(running + term)
        return np.array(acc[:n], np.float32), np.array(terms[:n], np.float32)
    if operation == "compare":
        return rng.uniform(-1, 1, n).astype(np.float32), rng.uniform(-1, 1, n).astype(np.float32)
    if operation == "div":
        return rng.uniform(-2, 2, n).astype(np.float32), rng.uniform(1, 10, n).astype(np.float32)
    x = rng.uniform(-4, 4, n) if kind == "general" else rng.uniform(9.5, 30, n) * rng.choice(
        [-1.0, 1.0], n)
    return x.astype(np.float32), np.zeros(n, np.float32)


def _run(firmware: Firmware, operation: str, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Executed actions of len(a) calls (priced at one cycle each)."""
    from hwsim.machine.kernels.harness import RAM_ORIGIN
    n = len(a)
    header = 5 * 4
    pa = RAM_ORIGIN + header
    pb, py = pa + 4 * n, pa + 8 * n
    job = np.array([OPERATIONS[operation], n, pa, pb, py], dtype=np.uint32).tobytes()
    data = job + a.astype("<f4").tobytes() + b.astype("<f4").tobytes() + bytes(4 * n)
    _mu, transitions, flash, _, _ = _emulate(firmware, data, f"soft-float {operation}")
    profile = _profile(firmware.target, firmware.image, transitions, flash,
                       _owner_table(firmware.image))
    actions = price(profile, _counting_table()).nodes[KERNEL].actions
    return {k: v for k, v in actions.items() if round(v)}


def characterize_class(firmware: Firmware, operation: str, kind: str, seed: int = SEED) -> dict:
    rng = np.random.default_rng([seed, OPERATIONS[operation], sorted(CLASSES[operation]).index(kind)])
    a, b = operands(operation, kind, rng, SAMPLES)
    total = _run(firmware, operation, a, b)
    per_call = {k: round(v / SAMPLES, 4) for k, v in sorted(total.items())}
    singles = [sum(n for action, n in _run(firmware, operation, a[i:i + 1], b[i:i + 1]).items()
                   if action not in FETCH_ACTIONS) for i in range(BOUND_SAMPLES)]
    return {"actions": per_call, "min": min(singles), "max": max(singles)}


CLASSES = {"mul": ("general", "zero"), "add": ("general", "zero"), "div": ("general",),
           "compare": ("general",), "tanh": ("general", "saturated")}


def characterize(target_name: str, directory) -> dict:
    """The characterization data of one target (module docstring; docs/codegen.md)."""
    firmware = build_firmware(target_name, directory)
    operations = {op: {kind: characterize_class(firmware, op, kind) for kind in kinds}
                  for op, kinds in CLASSES.items()}
    return {"format_version": FORMAT_VERSION, "target": target_name,
            "compiler": Path(firmware.command[0]).name, "compiler_version": firmware.compiler_version,
            "flags": list(firmware.command[1:-6]), "libraries": ["libgcc"],
            "samples": SAMPLES, "bound_samples": BOUND_SAMPLES, "seed": SEED,
            "operand_distribution": OPERAND_DISTRIBUTION,
            "operations": operations}


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
