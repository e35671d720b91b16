"""The lut kernel library: the paper's table-lookup layers in C, run-time shaped.

The C is the description: `hwsim_lut.h` declares the API and the layout, `lut.c`
instantiates the template `lut_kernels.inc` per table entry width and weight encoding
(`_s8`, `_s16`, `_s16i`; packed weight codes `_s8p4`, `_s16p4`, `_s8p2`, `_s16p2` through
`lut_packed.inc`). The dense and convolution kernel adds into a block of output
units per pass over a window's inputs (the table row pointer formed once per input and
shared by the block); on Arm that pass is hand-allocated (`lut_asm.h`: gcc spills it).
The code generator (hwsim.machine.codegen.lut_library) writes `hwsim_lut_config.h` with
the target's block (hwsim.ir.lut_kernels.BLOCKS). docs/lut-kernels.md has the measured
cycles per connection.
"""
from __future__ import annotations

from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
HEADER = "hwsim_lut.h"
CONFIG_HEADER = "hwsim_lut_config.h"
HEADERS = (HEADER, "lut_kernels.inc", "lut_packed.inc", "lut_asm.h")
SOURCES = ("lut.c",)
GROUPED_HEADER = "hwsim_lut_grouped.h"
# the grouped kernels: dense (group tables built per inference or precomputed in flash;
# the Arm cores' straight-line K = 4 builds in lut_grouped_arm.inc) and convolution
GROUPED_SOURCES = (GROUPED_HEADER, "lut_grouped_arm.inc", "lut_grouped.c", "lut_grouped_flash.c",
                   "lut_grouped_conv.c")


def source_paths() -> list[Path]:
    """The C files to compile (headers sit next to them: add SOURCE_DIR to -I, and a
    directory holding hwsim_lut_config.h)."""
    return [SOURCE_DIR / name for name in SOURCES]


def library_sha256(names: tuple[str, ...] = (*HEADERS, *SOURCES)) -> str:
    """sha256 over the library's headers and sources (name and bytes of each, in order;
    `names`: GROUPED_SOURCES for the grouped kernel): characterization data names the
    library it was measured on."""
    import hashlib
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()
