"""The ops kernel library: pools, argmax and the lut residual add in C, run-time shaped.

The C is the description: `hwsim_ops.h` declares the API, the parameter structs and the
branch-free selections that make a kernel's executed instructions a function of its shape
alone; `ops_lut.c` holds the lut style's kernels (additions, masks and shifts only: the
lut image stays multiply-free), `ops_int8.c` the int8 style's; `hwsim_ops_config.h`
(written per build) says which kernels to compile. The selection rule is
hwsim.ir.ops_kernels; the code generator links the style's source
(hwsim.machine.codegen.ops_library).
"""
from __future__ import annotations

from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
HEADER = "hwsim_ops.h"
HEADERS = (HEADER, "hwsim_ops_internal.h", "pool.inc", "argmax.inc")
SOURCES = {"lut": "ops_lut.c", "int8": "ops_int8.c"}
CONFIG_HEADER = "hwsim_ops_config.h"


def config_header(functions) -> str:
    """hwsim_ops_config.h: the kernels a build compiles (names as in
    hwsim.ir.ops_kernels.FUNCTIONS)."""
    uses = "".join(f"#define HWSIM_OPS_USE_{f} 1\n" for f in sorted(set(functions)))
    return ("/* hwsim ops kernel library: the kernels this build compiles. */\n"
            f"#ifndef HWSIM_OPS_CONFIG_H\n#define HWSIM_OPS_CONFIG_H\n{uses}#endif\n")


def source_paths() -> list[Path]:
    """Every C file of the library (the characterization firmware compiles both)."""
    return [SOURCE_DIR / name for name in SOURCES.values()]


def library_sha256() -> str:
    """sha256 over the library's headers and sources (name and bytes of each, in order):
    characterization data names the library it was measured on."""
    import hashlib
    digest = hashlib.sha256()
    for name in (*HEADERS, *SOURCES.values()):
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()
