"""The int8 kernel library: C sources with TensorFlow Lite int8 semantics (per-channel
multiplier and shift, input and output offsets, int32 bias, activation clamp,
MultiplyByQuantizedMultiplier requantization), run-time shaped, in the spirit of CMSIS-NN.

The C is the description: `hwsim_int8.h` declares the API, each `.c` file is one op
family. With the Armv7E-M DSP extension (Cortex-M4/M7/M33) the matrix kernels widen
int8 pairs with SXTB16/SXTAB16 and do two MACs per SMLAD (`dsp_passes.c`: the pointwise
row passes and the 3x3 depthwise channel groups as whole assembly functions); elsewhere
(Armv6-M, RV32) the same functions compile to register-blocked scalar loops. docs/int8-kernels.md has the
measured instructions per MAC.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
HEADER = "hwsim_int8.h"
HEADERS = (HEADER, "hwsim_int8_internal.h", "hwsim_int8_soft.h")
SOURCES = ("requantize.c", "matmul.c", "dsp_passes.c", "fully_connected.c", "conv.c",
           "depthwise.c", "add.c", "conv_scalar.c", "soft_walk.c", "conv_soft.c",
           "depthwise_soft.c")


@dataclass(frozen=True)
class Int8Kernel:
    """One C entry point: the op it computes and what it requires of the shapes."""
    name: str                  # short name used by the harness and the benchmarks
    function: str              # C symbol
    op: str                    # dense, conv2d, depthwise_conv2d, add
    source: str
    requires: str              # shape restrictions beyond the op's own
    scratch: str               # scratch buffer the caller provides ("" when none)

    def __repr__(self) -> str:
        return f"Int8Kernel({self.name!r}, {self.function})"


KERNELS: dict[str, Int8Kernel] = {k.name: k for k in (
    Int8Kernel("fully_connected", "hwsim_fully_connected_s8", "dense", "fully_connected.c",
               "", ""),
    Int8Kernel("conv", "hwsim_conv_s8", "conv2d", "conv.c", "batch 1",
               "int16[2 * kh * kw * in_c] (hwsim_conv_s8_scratch_bytes)"),
    Int8Kernel("conv_1x1", "hwsim_conv_1x1_s8", "conv2d", "conv.c",
               "1x1 filter, stride 1, no padding, batch 1", ""),
    Int8Kernel("conv_scalar", "hwsim_conv_scalar_s8", "conv2d", "conv_scalar.c",
               "batch 1 (a dense layer: a 1x1 convolution of a 1x1 input)", ""),
    Int8Kernel("depthwise", "hwsim_depthwise_s8", "depthwise_conv2d", "depthwise.c",
               "channel multiplier 1, batch 1", ""),
    Int8Kernel("depthwise_3x3", "hwsim_depthwise_3x3_s8", "depthwise_conv2d", "depthwise.c",
               "3x3 filter, channel multiplier 1, batch 1",
               "int8[3 * ((out_w - 1) * stride_w + 3) * c] "
               "(hwsim_depthwise_3x3_s8_scratch_bytes)"),
    Int8Kernel("add", "hwsim_add_s8", "add", "add.c", "two inputs of one shape", ""),
    Int8Kernel("conv_soft", "hwsim_conv_soft_s8", "conv2d", "conv_soft.c",
               "batch 1 (a dense layer: a 1x1 convolution of a 1x1 input); for cores "
               "without a multiplier", ""),
    Int8Kernel("depthwise_soft", "hwsim_depthwise_soft_s8", "depthwise_conv2d",
               "depthwise_soft.c",
               "channel multiplier 1, batch 1; for cores without a multiplier", ""),
)}


def source_paths() -> list[Path]:
    """The C files to compile (headers sit next to them: add SOURCE_DIR to -I)."""
    return [SOURCE_DIR / name for name in SOURCES]


def library_sha256() -> str:
    """sha256 over the library's headers and sources (name and bytes of each, in order):
    characterization data names the library it was measured on."""
    import hashlib
    digest = hashlib.sha256()
    for name in (*HEADERS, *SOURCES):
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()
