"""Which int8 library kernel (hwsim/machine/kernels/int8) runs a weighted node, its
scratch buffer, and the trip counts its executed instructions are a function of.

One selection rule for everyone: the cost model prices the selected kernel from its
characterization (hwsim/cost/data/int8_<target>.json), the memory planner counts its
scratch, the code generator calls it, the characterization (hwsim.machine.characterize)
fits and proves counts as functions of its trip counts (hwsim.ir.int8_trip_counts).

    call = kernel_call(op)                   # a WeightedOp of the graph
    call.kernel, call.scratch_bytes          # "depthwise_3x3", 1344

Candidates (`candidate_kernels`, CMSIS-NN's order of preference): dense ->
fully_connected; conv2d 1x1, stride 1, no padding -> conv_1x1, then conv (im2col); other
conv2d -> conv; then, for dense and conv2d, conv_scalar (the direct scalar loop of small
fan-in, a dense layer as a 1x1 convolution of a 1x1 input); depthwise 3x3 ->
depthwise_3x3, then depthwise; other depthwise -> depthwise. conv1d is conv2d of height 1; batch 1 for the convolutions, channel
multiplier 1 (the IR's depthwise has no multiplier). `select_kernel` without a kernel
takes the first candidate; the cost model chooses among the candidates and REFERENCE
(the plain C loops) per node (hwsim.cost.int8_choice), and the code generator and the
memory planner are handed that choice.

A fitted count is a sum of `coefficient x monomial(trip counts)`; a monomial is a
product of factors ("v", name) = the count, ("q", name, b) = count // b and
("e", name, b, r) = 1 when count % b == r, ("eq", name, s) = 1 when count == s
(`monomial_value`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hwsim.ir.geometry import output_length, same_padding

KERNEL_NAMES = ("fully_connected", "conv_1x1", "conv", "depthwise_3x3", "depthwise", "add",
                "conv_scalar", "conv_soft", "depthwise_soft")   # the order seeds each
# kernel's designed shapes: append
# On a core without a multiplier (RV32I/E) the one kernel of each weighted op: the
# clipped-window direct loops with sign-magnitude products, so that libgcc's
# __mulsi3/__muldi3 loop over a weight's magnitude or a requantization multiplier, which
# the graph fixes (hwsim_int8_soft.h); the other kernels would multiply by the data.
SOFT_KERNELS = ("conv_soft", "depthwise_soft")
# The per-node alternative to a library kernel: the plain C loops (TFLite Micro's
# reference kernels, hwsim.machine.codegen.int8), no scratch buffer.
REFERENCE = "reference"

# Device ISA -> the library build (code generation target) its core runs: a superset ISA
# runs the subset's code (Cortex-M33/M55 run the Armv7E-M build, RV32IMC the RV32IM one).
TARGET_OF_ISA = {"armv6-m": "cortex-m0", "armv7e-m": "cortex-m4", "armv8-m.main": "cortex-m4",
                 "rv32i": "rv32i", "rv32e": "rv32i", "rv32im": "rv32im", "rv32imc": "rv32im",
                 "rv32imac": "rv32im", "rv32imfc": "rv32im"}


# The kernels whose bias carries the input offset (CMSIS-NN's and TFLite Micro's folding of
# the input zero point): they compute bias' + sum x w, with bias' = bias + input_offset sum w
# (`folded_bias`), padded taps holding the zero point; the others (clipped windows) add
# the offset per tap. input_offset still names the zero point the padding is filled with.
FOLDED_OFFSET = frozenset({"fully_connected", "conv_1x1", "conv", "depthwise_3x3"})


# The amounts a RISC-V build's shifts by a register take, by role (a serial shifter's time
# follows them, hwsim.cost.serial_shift): a weighted kernel's requantization divides by
# 2^r with e = r - 1 (`exponent`, hwsim_high_mul_divide); the add kernel shifts each of its
# three requantizations (ADD_TENSORS) left and right by its shift's parts
# (hwsim_requantize_any). The characterization gives every channel of a call one shift.
ADD_TENSORS = ("input1", "input2", "output")

# The weighted kernels' requantization paths, each characterized apart: "right" (every
# channel's shift < 0: a right shift, the path of the Armv7E-M assembly passes) and "left"
# (a channel's shift >= 0, a real multiplier of 1/2 or more: hwsim_requantize_inline's left
# branch, and on Armv7E-M the whole call in the C kernels, hwsim_shifts_right).
REQUANTIZE_PATHS = ("right", "left")


def requantize_path(shifts) -> str:
    """The characterized path a weighted call with requantization shift(s) `shifts` (one
    int, or one per channel) takes: "left" when any shifts left (>= 0), as the library's
    hwsim_shifts_right decides it, else "right"."""
    return "left" if (np.asarray(shifts) >= 0).any() else "right"


def shift_roles(kernel: str, shifts) -> dict[str, int]:
    """Role -> amount of the shifts by a register of one call of `kernel` whose
    requantization shift is `shifts` (a weighted kernel: one int, the exponent e = r - 1
    of a right shift by r, or the amount of a left shift, `left`; the add: its three)."""
    if kernel == "add":
        roles = {}
        for tensor, shift in zip(ADD_TENSORS, shifts, strict=True):
            roles[f"{tensor}_left"] = max(int(shift), 0)
            roles[f"{tensor}_right"] = max(-int(shift), 0)
        return roles
    if int(shifts) >= 0:
        return {"left": int(shifts)}
    return {"exponent": -int(shifts) - 1}


# A RISC-V build's address arithmetic multiplies by shape values of the call: a mul site
# whose second operand (rs2) is one of them in every call is counted as mul_by_<name>
# (hwsim.machine.characterize.site_roles, the first name that matches in this order) and an
# operand-dependent multiplier prices it at that value's bits (hwsim.cost.int8_library).
MUL_BY = "mul_by_"


def mul_parameters(call) -> dict[str, int]:
    """The shape values of one call that its address muls may take as rs2, by name: the
    call's fields and the tensor strides its kernels compute (an input row, a window row,
    a filter, an output row, in bytes)."""
    return {"in_c": call.in_c, "out_c": call.out_c, "in_w": call.in_w, "in_h": call.in_h,
            "out_w": call.out_w, "out_h": call.out_h, "kh": call.kh, "kw": call.kw,
            "stride_h": call.stride_h, "stride_w": call.stride_w, "batches": call.batches,
            "in_row": call.in_w * call.in_c, "window_row": call.kw * call.in_c,
            "filter": call.kh * call.kw * call.in_c, "out_row": call.out_w * call.out_c}


def folded_bias(kernel: str, bias, weights, input_offset: int):
    """The int32 bias a call of `kernel` takes: for FOLDED_OFFSET kernels bias +
    input_offset x (the sum of each output channel's weights), wrapping as the kernels'
    int32 accumulators do (so the sum is the same modulo 2^32); else the bias. weights in
    the library's layout: [out][in], [out][kh][kw][in] or, for depthwise, [kh][kw][c]."""
    bias = np.asarray(bias, dtype=np.int64)
    if kernel not in FOLDED_OFFSET or not input_offset:
        return bias.astype(np.int32)
    w = np.asarray(weights, dtype=np.int64)
    sums = (w.reshape(-1, w.shape[-1]).sum(axis=0) if kernel.startswith("depthwise")
            else w.reshape(w.shape[0], -1).sum(axis=1))
    return ((bias + input_offset * sums) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


@dataclass(frozen=True)
class KernelCall:
    """One library call: the kernel and the shapes it is called with (NHWC, batch 1 for
    the convolutions; a fully connected layer has in_h = in_w = out_h = out_w = 1)."""
    kernel: str
    in_h: int
    in_w: int
    in_c: int
    out_h: int
    out_w: int
    out_c: int
    kh: int = 1
    kw: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_left: int = 0
    batches: int = 1

    def __post_init__(self):
        if self.kernel not in KERNEL_NAMES:
            raise ValueError(f"unknown int8 kernel {self.kernel!r}; one of {KERNEL_NAMES}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates, padded taps included (none for add)."""
        if self.kernel == "add":
            return 0
        if self.kernel == "fully_connected":
            return self.batches * self.in_c * self.out_c
        depth = self.kh * self.kw * (1 if self.kernel.startswith("depthwise") else self.in_c)
        return self.out_h * self.out_w * self.out_c * depth

    @property
    def scratch_bytes(self) -> int:
        """The scratch buffer the caller provides (hwsim_conv_s8_scratch_bytes,
        hwsim_depthwise_3x3_s8_scratch_bytes in hwsim_int8.h), 0 when none."""
        if self.kernel == "conv":
            return 4 * self.kh * self.kw * self.in_c
        if self.kernel == "depthwise_3x3":
            return 3 * self.padded_w * self.in_c
        return 0

    @property
    def padded_w(self) -> int:
        """Columns of a depthwise_3x3 scratch row."""
        return (self.out_w - 1) * self.stride_w + 3


def _axis(length: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    out = output_length(length, kernel, stride, padding)
    return out, same_padding(length, kernel, stride)[0] if padding == "same" else 0


def candidate_kernels(kind: str, input_shape: tuple[int, ...], layer,
                      multiplier: bool = True) -> tuple[str, ...]:
    """The library kernels that can run one weighted layer, in order of preference, on a
    core with a `multiplier` or without one (the SOFT_KERNELS only)."""
    if not multiplier:
        return (soft_kernel(kind),)
    call = select_kernel(kind, input_shape, layer)
    return (call.kernel,) + _FALLBACK.get(call.kernel, ())


def soft_kernel(kind: str) -> str:
    """The SOFT_KERNELS entry that runs a weighted op kind (dense, conv1d and conv2d as a
    convolution, a dense layer a 1x1 one of a 1x1 input)."""
    return "depthwise_soft" if kind == "depthwise_conv2d" else "conv_soft"


_FALLBACK = {"fully_connected": ("conv_scalar",), "conv_1x1": ("conv", "conv_scalar"),
             "conv": ("conv_scalar",), "depthwise_3x3": ("depthwise",)}


def select_kernel(kind: str, input_shape: tuple[int, ...], layer,
                  kernel: str | None = None) -> KernelCall:
    """The library call of one weighted layer (an hwsim.ir.layers record) on one sample:
    with `kernel` (one of its `candidate_kernels`), that kernel's; else the preferred."""
    return _select_kernel(kind, tuple(input_shape), layer, kernel)


@lru_cache(maxsize=4096)
def _select_kernel(kind: str, input_shape: tuple[int, ...], layer, kernel) -> KernelCall:
    if kind not in ("dense", "conv1d", "conv2d", "depthwise_conv2d"):
        raise ValueError(f"no int8 library kernel for op kind {kind!r}")
    if kind == "dense":
        call = KernelCall("fully_connected", 1, 1, int(input_shape[-1]), 1, 1,
                          layer.out_features)
    elif kind == "conv1d":
        length, channels = input_shape
        out, pad = _axis(length, layer.kernel, layer.stride, layer.padding)
        call = _conv(1, length, channels, 1, out, layer.out_channels, 1, layer.kernel, 1,
                     layer.stride, 0, pad)
    else:
        h, w, channels = input_shape
        out_h, top = _axis(h, layer.kernel_h, layer.stride_h, layer.padding)
        out_w, left = _axis(w, layer.kernel_w, layer.stride_w, layer.padding)
        if kind == "conv2d":
            call = _conv(h, w, channels, out_h, out_w, layer.out_channels, layer.kernel_h,
                         layer.kernel_w, layer.stride_h, layer.stride_w, top, left)
        else:
            name = "depthwise_3x3" if (layer.kernel_h, layer.kernel_w) == (3, 3) else "depthwise"
            call = KernelCall(name, h, w, channels, out_h, out_w, channels, layer.kernel_h,
                              layer.kernel_w, layer.stride_h, layer.stride_w, top, left)
    if kernel is None or kernel == call.kernel:
        return call
    if kernel == soft_kernel(kind):
        if call.kernel == "fully_connected":
            return KernelCall(kernel, 1, 1, call.in_c, 1, 1, call.out_c)
        return replace(call, kernel=kernel)
    if kernel not in _FALLBACK.get(call.kernel, ()):
        raise ValueError(f"int8 kernel {kernel!r} cannot run this {kind} layer; one of "
                         f"{(call.kernel,) + _FALLBACK.get(call.kernel, ())}")
    if call.kernel == "fully_connected":     # a 1x1 convolution of a 1x1 input
        return KernelCall(kernel, 1, 1, call.in_c, 1, 1, call.out_c)
    return replace(call, kernel=kernel)


def _conv(h, w, c, out_h, out_w, out_c, kh, kw, sh, sw, top, left) -> KernelCall:
    pointwise = (kh, kw, sh, sw, top, left) == (1, 1, 1, 1, 0, 0) and (out_h, out_w) == (h, w)
    return KernelCall("conv_1x1" if pointwise else "conv", h, w, c, out_h, out_w, out_c,
                      kh, kw, sh, sw, top, left)


def kernel_call(op, kernel: str | None = None) -> KernelCall:
    """The library call of a graph's WeightedOp (hwsim.ir.ops), by `kernel` when given;
    of an add node, the elementwise add (in_c = out_c = its elements)."""
    if op.kind == "add":
        return KernelCall("add", 1, 1, int(op.outputs), 1, 1, int(op.outputs))
    return select_kernel(op.kind, tuple(op.input_shape), op.layer, kernel)


def kernel_scratch_bytes(op, kernel: str | None = None) -> int:
    """The scratch buffer of a graph's WeightedOp run by `kernel` (a library kernel, None
    for the preferred one, or REFERENCE: the plain loops need none)."""
    return 0 if kernel == REFERENCE else kernel_call(op, kernel).scratch_bytes


def monomial_text(monomial) -> str:
    """A monomial as the data files write it: "1", "rows//2 * depth%8==3 * columns==1"."""
    parts = []
    for factor in monomial:
        kind, name = factor[0], factor[1]
        parts.append(name if kind == "v" else f"{name}//{factor[2]}" if kind == "q" else
                     f"{name}%{factor[2]}=={factor[3]}" if kind == "e" else f"{name}=={factor[2]}")
    return " * ".join(parts) or "1"


def parse_monomial(text: str) -> tuple:
    """The inverse of `monomial_text`."""
    factors = []
    for part in text.split(" * "):
        if part == "1":
            continue
        if "%" in part:
            name, rest = part.split("%")
            modulus, residue = rest.split("==")
            factors.append(("e", name, int(modulus), int(residue)))
        elif "==" in part:
            name, value = part.split("==")
            factors.append(("eq", name, int(value)))
        elif "//" in part:
            name, block = part.split("//")
            factors.append(("q", name, int(block)))
        else:
            factors.append(("v", part))
    return tuple(factors)


def monomial_value(monomial, counts: dict[str, int]) -> int:
    """The value of one basis monomial (a sequence of factors, module docstring; or its
    text)."""
    if isinstance(monomial, str):
        monomial = parse_monomial(monomial)
    value = 1
    for factor in monomial:
        kind, name = factor[0], factor[1]
        n = counts[name]
        if kind == "v":
            value *= n
        elif kind == "q":
            value *= n // factor[2]
        elif kind == "e":
            value *= int(n % factor[2] == factor[3])
        elif kind == "eq":
            value *= int(n == factor[2])
        else:
            raise ValueError(f"unknown monomial factor {factor!r}")
    return value
