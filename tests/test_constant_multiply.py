"""The shift-and-add sequences gcc emits for a multiply by a constant on RV32I
(hwsim.cost.constant_multiply), checked against the pinned compiler's code."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from hwsim.cost.constant_multiply import constant_multiply
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.toolchain import CFLAGS, find_compiler

needs_riscv = pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None,
                                 reason="needs the RISC-V cross-compiler")

# Windows whose reciprocal gcc's pruned search multiplies with another count (the
# module docstring states them).
DIFFERENT = {6: 2, 53: 2, 75: -2, 106: 2}


def _gcc_instructions(constants, tmp_path) -> list[int]:
    """Instructions of `int f(int x) { return x * c; }` per constant, ret excluded."""
    target = find_target("rv32i")
    source = "".join(f"int f{i}(int x) {{ return x * {c}; }}\n" for i, c in enumerate(constants))
    (tmp_path / "m.c").write_text(source)
    obj = tmp_path / "m.o"
    subprocess.run([find_compiler(target), *CFLAGS, *target.flags, "-c", str(tmp_path / "m.c"),
                    "-o", str(obj)], check=True)
    listing = subprocess.run(["riscv64-unknown-elf-objdump", "-d", "--no-show-raw-insn", str(obj)],
                             capture_output=True, text=True, check=True).stdout
    counts: dict[int, int] = {}
    current = None
    for line in listing.splitlines():
        head = re.match(r"^[0-9a-f]+ <f(\d+)>:", line)
        if head:
            current = int(head.group(1))
            counts[current] = 0
        elif current is not None and re.match(r"^\s+[0-9a-f]+:\t", line) and "ret" not in line:
            counts[current] += 1
    return [counts[i] for i in range(len(constants))]


@needs_riscv
def test_the_sequences_have_gccs_length_on_the_pool_reciprocals(tmp_path):
    windows = [n for n in range(2, 200) if n & (n - 1)]
    constants = [round(65536 / n) for n in windows]
    measured = _gcc_instructions(constants, tmp_path)
    for window, constant, gcc in zip(windows, constants, measured):
        shifts, adds = constant_multiply(constant)
        assert len(shifts) + adds + DIFFERENT.get(window, 0) == gcc, (window, constant)


def test_a_sequence_is_shifts_and_adds_and_rejects_zero():
    assert constant_multiply(1) == ((), 0)
    assert constant_multiply(64) == ((6,), 0)
    shifts, adds = constant_multiply(21845)            # 5 * 17 * 257
    assert sorted(shifts) == [2, 4, 8] and adds == 3
    with pytest.raises(ValueError, match="constant must be >= 1"):
        constant_multiply(0)
