"""The instruction sets code is generated for, and the memory map of an image.

A `Target` names a compiler, its flags, what the ELF must declare (ARM build
attribute Tag_CPU_arch / RISC-V arch string) and the default memory map.
`target_for_device` picks the target a device's core runs (`--target auto`).
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.ir.int8_kernels import TARGET_OF_ISA
from hwsim.specs.device import Device
from hwsim.errors import HwsimError

FLASH_ORIGIN = 0x0000_0000
RAM_ORIGIN = 0x2000_0000
STACK_BYTES = 384
DEFAULT_FLASH_BYTES = 1024 * 1024
DEFAULT_RAM_BYTES = 256 * 1024


@dataclass(frozen=True)
class MemoryMap:
    """Where the image lives: flash (code, tables, weights) and RAM (arena, stack)."""
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    stack_bytes: int = STACK_BYTES
    source: str = "target default"

    def __post_init__(self):
        for name in ("flash_bytes", "ram_bytes", "stack_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise HwsimError(f"memory map: {name} must be a positive integer, got {value!r}")
        if self.stack_bytes >= self.ram_bytes:
            raise HwsimError(f"memory map: stack_bytes ({self.stack_bytes}) must be less than "
                             f"ram_bytes ({self.ram_bytes})")

    def in_flash(self, address: int) -> bool:
        return self.flash_origin <= address < self.flash_origin + self.flash_bytes


@dataclass(frozen=True)
class Target:
    name: str
    arch: str                    # "arm" (Thumb, M-profile) or "riscv" (RV32)
    compiler: str                # gcc driver
    debian_package: str
    flags: tuple[str, ...]       # -mcpu / -march / -mabi
    elf_arch: str                # expected: ARM Tag_CPU_arch name, or RISC-V arch prefix
    has_multiply: bool           # a hardware multiply instruction
    dsp: bool                    # ARMv7E-M SIMD (SMLAD, SXTB16)
    example_device: str          # a bundled device of this target

    def memory_map(self, device: Device | None = None) -> MemoryMap:
        """The device's flash and SRAM (all of it: the harness is the only firmware), or
        a generic map (DEFAULT_FLASH_BYTES, DEFAULT_RAM_BYTES) without a device."""
        if device is None:
            return MemoryMap(FLASH_ORIGIN, DEFAULT_FLASH_BYTES, RAM_ORIGIN, DEFAULT_RAM_BYTES,
                             source="the generic memory map")
        return MemoryMap(FLASH_ORIGIN, device.memory.flash_bytes, RAM_ORIGIN,
                         device.memory.sram_bytes, source=f"device {device.name}")


_ARM = ("arm-none-eabi-gcc", "gcc-arm-none-eabi")
_RISCV = ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf")

TARGETS: dict[str, Target] = {
    "cortex-m0": Target("cortex-m0", "arm", *_ARM, ("-mcpu=cortex-m0", "-mthumb"), "v6S-M",
                        True, False, "samd21"),
    "cortex-m4": Target("cortex-m4", "arm", *_ARM, ("-mcpu=cortex-m4", "-mthumb",
                                                     "-mfloat-abi=soft"), "v7E-M",
                        True, True, "nrf52840"),
    "rv32i": Target("rv32i", "riscv", *_RISCV, ("-march=rv32i", "-mabi=ilp32"), "rv32i",
                    False, False, "ch32v003"),
    "rv32im": Target("rv32im", "riscv", *_RISCV, ("-march=rv32im", "-mabi=ilp32"), "rv32im",
                     True, False, "esp32-c3"),
}

# Device ISA -> target whose code it runs (a superset ISA runs the subset's code); one
# table with the int8 library's builds (hwsim.ir.int8_kernels).
_BY_ISA = TARGET_OF_ISA


def find_target(name: str) -> Target:
    if name not in TARGETS:
        raise HwsimError(f"unknown target {name!r}; one of {', '.join(TARGETS)}")
    return TARGETS[name]


def target_for_device(device: Device) -> Target:
    """The target whose code the device's core runs: armv6-m -> cortex-m0, armv7e-m and
    armv8-m.main -> cortex-m4, rv32i and rv32e -> rv32i (RV32E code is RV32I code with
    16 registers; emulated as RV32I), rv32im* -> rv32im."""
    name = _BY_ISA.get(device.core.isa)
    if name is None:
        raise HwsimError(f"device {device.name!r}: no code generation target for ISA "
                         f"{device.core.isa!r}; targets cover {', '.join(sorted(_BY_ISA))}")
    return TARGETS[name]
