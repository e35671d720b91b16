"""Compiling small test firmware for the RTL testbench with riscv64-unknown-elf-gcc.

    elf = compile_firmware([Path("kernel.c")], "rv32im", Path("out/kernel.elf"))
    elf = compile_snippet(ASSEMBLY, "S", "rv32i", Path("out/"))   # main in .S or .c

firmware/start.S sets the stack at the top of the RAM, calls main and writes its return
value to the EXIT register; firmware/link.ld links everything at 0; firmware/hwsim_rtl.h
gives C code HWSIM_MARK(value) and HWSIM_RESULT(value). The register addresses come from
memory_map as -D options, in assembly too (HWSIM_MMIO_BASE, HWSIM_MARK_OFFSET, ...).
Plain -march=rv32i / rv32im / rv32imc (GCC 12 multilibs fall back to 64-bit libgcc for
other strings); no libc and no libgcc.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from hwsim.errors import HwsimError
from hwsim.machine.rtl.cores import ISAS
from hwsim.machine.rtl.memory_map import MEMORY_MAP, MemoryMap

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
GCC = "riscv64-unknown-elf-gcc"
CFLAGS = ("-O2", "-mabi=ilp32", "-ffreestanding", "-nostdlib", "-nostartfiles",
          "-fno-builtin", "-Wall")


def compile_firmware(sources: Sequence[Path | str], isa: str, elf_path: Path | str,
                     memory_map: MemoryMap = MEMORY_MAP) -> Path:
    """Compile and link C (.c) and assembly (.S) sources with the start-up code."""
    if isa not in ISAS:
        raise HwsimError(f"isa {isa!r} is not one of {', '.join(ISAS)}")
    if shutil.which(GCC) is None:
        raise HwsimError(f"{GCC} is not installed (Debian: apt-get install "
                         "gcc-riscv64-unknown-elf)")
    elf_path = Path(elf_path)
    elf_path.parent.mkdir(parents=True, exist_ok=True)
    defines = [f"-D{name}={value:#x}" for name, value in memory_map.gcc_defines()]
    command = [GCC, f"-march={isa}", *CFLAGS, *defines, f"-I{FIRMWARE_DIR}",
               "-T", str(FIRMWARE_DIR / "link.ld"),
               f"-Wl,--defsym=__ram_bytes={memory_map.ram_bytes:#x}",
               str(FIRMWARE_DIR / "start.S"), *(str(s) for s in sources), "-o", str(elf_path)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise HwsimError(f"{GCC} failed for {elf_path.name}:\n{done.stderr.strip()}")
    return elf_path


def compile_snippet(text: str, language: str, isa: str, out_dir: Path | str,
                    name: str = "snippet", memory_map: MemoryMap = MEMORY_MAP) -> Path:
    """Write `text` (a C file or an assembly file defining main) and compile it."""
    suffixes = {"c": ".c", "S": ".S"}
    if language not in suffixes:
        raise HwsimError(f"snippet language must be 'c' or 'S', got {language!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / f"{name}{suffixes[language]}"
    source.write_text(text)
    return compile_firmware([source], isa, out_dir / f"{name}.elf", memory_map)
