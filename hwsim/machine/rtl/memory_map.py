"""The testbench's address map, the one description shared by the RTL and the firmware.

The RTL gets it as top-level parameters (-G), the firmware as preprocessor defines (-D)
and a linker symbol, so the two cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import HwsimError


@dataclass(frozen=True)
class MemoryMap:
    """Flat RAM at 0 (code, data and stack) and three write-only testbench registers."""

    ram_bytes: int = 0x10_0000
    mmio_base: int = 0x1000_0000
    mark_offset: int = 0x0           # testbench records the clock of each write
    exit_offset: int = 0x4           # a write ends the run with the written exit code
    result_offset: int = 0x8         # testbench records the written word

    def __post_init__(self) -> None:
        if self.ram_bytes <= 0 or self.ram_bytes % 4:
            raise HwsimError(f"ram_bytes must be a positive multiple of 4, got {self.ram_bytes}")
        if self.mmio_base < self.ram_bytes:
            raise HwsimError(f"mmio_base {self.mmio_base:#x} overlaps the RAM "
                             f"(ram_bytes {self.ram_bytes:#x})")

    def verilator_parameters(self) -> tuple[tuple[str, int], ...]:
        return (("RamBytes", self.ram_bytes), ("MmioBase", self.mmio_base),
                ("MarkOffset", self.mark_offset), ("ExitOffset", self.exit_offset),
                ("ResultOffset", self.result_offset))

    def gcc_defines(self) -> tuple[tuple[str, int], ...]:
        return (("HWSIM_RAM_BYTES", self.ram_bytes), ("HWSIM_MMIO_BASE", self.mmio_base),
                ("HWSIM_MARK_OFFSET", self.mark_offset), ("HWSIM_EXIT_OFFSET", self.exit_offset),
                ("HWSIM_RESULT_OFFSET", self.result_offset))


MEMORY_MAP = MemoryMap()
