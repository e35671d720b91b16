"""Cycle-exact ground truth from the RTL of open RISC-V cores, simulated with Verilator.

This package owns: the configurations of the open cores hwsim checks its cycle tables
against (Ibex, CV32E40P, PicoRV32; `cores`), the testbench that runs them (Verilog wrappers
and the C++ driver in `hdl/`, the address map in `memory_map`), building the simulators
(`build`, cached on disk), turning an ELF linked at 0 into a memory image (`image`),
running it and reading the clocks at each MARK write (`run`), a small firmware builder for
snippets (`firmware`), and the cores' documented timing tables with their sources
(`documented`).

It imports only hwsim.errors (and pyelftools when reading an ELF); it needs the
Debian packages verilator and gcc-riscv64-unknown-elf and the pinned pythondata-cpu-*
packages from PyPI at run time. docs/rtl.md describes the testbench and the measured
timings.
"""
from hwsim.machine.rtl.build import build_core
from hwsim.machine.rtl.cores import RTL_CORES, RtlCore, RtlPackage, rtl_core
from hwsim.machine.rtl.documented import DocumentedCycles, documented_cycles
from hwsim.machine.rtl.firmware import compile_firmware, compile_snippet
from hwsim.machine.rtl.image import elf_to_words, write_hex
from hwsim.machine.rtl.memory_map import MEMORY_MAP, MemoryMap
from hwsim.machine.rtl.run import Event, RtlRun, run_firmware

__all__ = [
    "RTL_CORES", "RtlCore", "RtlPackage", "rtl_core", "DocumentedCycles", "documented_cycles",
    "build_core", "compile_firmware", "compile_snippet",
    "elf_to_words", "write_hex", "MEMORY_MAP", "MemoryMap", "Event", "RtlRun", "run_firmware",
]
