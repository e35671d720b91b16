"""The testbench's memory image from an ELF linked at address 0.

    words = elf_to_words("firmware.elf")    # little-endian 32-bit words from address 0
    write_hex(words, "firmware.hex")        # $readmemh input, one word per line

Loadable segments (PT_LOAD) are placed at their physical addresses; .bss is zero-filled
(the RAM starts at zero). The entry must be 0: every testbench starts the core there
(Ibex through the jump its wrapper answers at its reset vector).
"""
from __future__ import annotations

from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.machine.rtl.memory_map import MEMORY_MAP, MemoryMap


def elf_to_words(elf_path: Path | str, memory_map: MemoryMap = MEMORY_MAP) -> tuple[int, ...]:
    """The RAM image of a 32-bit RISC-V ELF, as words from address 0."""
    try:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise HwsimError("reading ELF files needs pyelftools (pip install pyelftools)") \
            from None
    path = Path(elf_path)
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            if elf["e_machine"] != "EM_RISCV" or elf.elfclass != 32:
                raise HwsimError(f"{path}: not a 32-bit RISC-V ELF "
                                 f"({elf['e_machine']}, ELF{elf.elfclass})")
            if elf["e_entry"] != 0:
                raise HwsimError(f"{path}: entry {elf['e_entry']:#x}; the testbench starts "
                                 "at 0 (link at address 0)")
            image = bytearray()
            for segment in elf.iter_segments():
                if segment["p_type"] != "PT_LOAD" or segment["p_filesz"] == 0:
                    continue
                start, data = segment["p_paddr"], segment.data()
                end = start + len(data)
                if end > memory_map.ram_bytes:
                    raise HwsimError(f"{path}: segment at {start:#x}..{end:#x} lies outside "
                                     f"the testbench RAM (0..{memory_map.ram_bytes:#x})")
                if end > len(image):
                    image.extend(bytes(end - len(image)))
                image[start:end] = data
    except FileNotFoundError:
        raise HwsimError(f"{path}: no such ELF file") from None
    except ELFError as exc:
        raise HwsimError(f"{path}: not an ELF file ({exc})") from None
    if not image:
        raise HwsimError(f"{path}: no loadable bytes")
    image.extend(bytes(-len(image) % 4))
    return tuple(int.from_bytes(image[i:i + 4], "little") for i in range(0, len(image), 4))


def write_hex(words: tuple[int, ...] | list[int], hex_path: Path | str) -> Path:
    """Write `words` for $readmemh (8 hex digits a line) and return the path."""
    bad = [w for w in words if not 0 <= w < 1 << 32]
    if bad:
        raise HwsimError(f"memory image words must be 32-bit unsigned, got {bad[0]!r}")
    path = Path(hex_path)
    path.write_text("".join(f"{w:08x}\n" for w in words))
    return path
