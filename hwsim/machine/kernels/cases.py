"""Kernel cases for the int8 kernel test firmware (hwsim.machine.kernels.harness):
random int8 data and TFLite-style per-channel quantization shaped as the C API takes
them, with the arguments of the matching numpy reference
(hwsim.importers.int8_kernel_reference) carried along for the comparison.

    case = conv_case("conv", rng, (12, 9, 5), out_c=7, kernel_hw=(3, 3), stride=(2, 1))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KernelCall, requantize_path, shift_roles
from hwsim.ir.int8_scales import ADD_LEFT_SHIFT, add_quant, quantize_multiplier
from hwsim.machine.kernels.int8 import KERNELS


@dataclass(frozen=True)
class KernelCase:
    """One kernel call: its arrays and quantization, shaped as the C API takes them."""
    kernel: str
    x: np.ndarray                 # int8: (batches, in) or (h, w, c)
    w: np.ndarray                 # int8: (out, in), (out_c, kh, kw, in_c) or (kh, kw, c)
    bias: np.ndarray              # int32 per output channel
    multiplier: np.ndarray        # int32 per output channel
    shift: np.ndarray             # int32 per output channel
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)                 # top, left
    output_shape: tuple[int, ...] = ()            # (batches, out) or (h, w, c)
    input2_offset: int = 0                        # add: the second input's offset

    # add: x and w are the two inputs (size,), bias is unused, multiplier and shift are
    # (input 1, input 2, output), left shift ADD_LEFT_SHIFT.

    @property
    def op(self) -> str:
        return KERNELS[self.kernel].op

    @property
    def macs(self) -> int:
        if self.op == "add":
            return 0
        if self.op == "dense":
            return int(self.x.shape[0] * self.w.size)
        out_pixels = self.output_shape[0] * self.output_shape[1]
        return int(out_pixels * self.w.size)      # conv: out_c*kh*kw*in_c; depthwise: kh*kw*c

    @property
    def call(self) -> KernelCall:
        """The library call this case makes (hwsim.ir.int8_kernels)."""
        if self.op == "add":
            return KernelCall("add", 1, 1, self.x.size, 1, 1, self.x.size)
        if self.op == "dense":
            return KernelCall(self.kernel, 1, 1, self.x.shape[1], 1, 1, self.w.shape[0],
                              batches=self.x.shape[0])
        h, w, c = self.x.shape
        kh, kw = (self.w.shape[1:3] if self.op == "conv2d" else self.w.shape[:2])
        out_h, out_w, out_c = self.output_shape
        return KernelCall(self.kernel, h, w, c, out_h, out_w, out_c, kh, kw, *self.stride,
                          *self.pad)

    @property
    def reference_arguments(self) -> dict:
        """Keyword arguments of hwsim.importers.int8_kernel_reference.REFERENCES[op]."""
        if self.op == "add":
            return dict(x1=self.x, x2=self.w, multiplier=self.multiplier, shift=self.shift,
                        input_offset=self.input_offset, input2_offset=self.input2_offset,
                        output_offset=self.output_offset, act_min=self.act_min,
                        act_max=self.act_max, left_shift=ADD_LEFT_SHIFT)
        args = dict(x=self.x, w=self.w, bias=self.bias, multiplier=self.multiplier,
                    shift=self.shift, input_offset=self.input_offset,
                    output_offset=self.output_offset, act_min=self.act_min,
                    act_max=self.act_max)
        if self.op != "dense":
            args.update(stride=self.stride, pad=self.pad, out_hw=self.output_shape[:2])
        return args

    def check(self) -> None:
        """The kernel's own restrictions on the case's shapes."""
        if self.kernel == "conv_1x1" and (self.w.shape[1:3] != (1, 1) or self.stride != (1, 1)
                                          or self.pad != (0, 0)):
            raise HwsimError(f"{self.describe()}: conv_1x1 needs a 1x1 filter, stride 1, "
                             "no padding")
        if self.kernel == "depthwise_3x3" and self.w.shape[:2] != (3, 3):
            raise HwsimError(f"{self.describe()}: depthwise_3x3 needs a 3x3 filter")
        if self.op == "add" and self.x.shape != self.w.shape:
            raise HwsimError(f"{self.describe()}: add needs two inputs of one shape")

    def describe(self) -> str:
        if self.op == "add":
            return f"add {self.x.size}"
        if self.op == "dense":
            return f"{self.kernel} {self.x.shape[0]}x{self.x.shape[1]} -> {self.w.shape[0]}"
        kh, kw = (self.w.shape[1:3] if self.op == "conv2d" else self.w.shape[:2])
        return (f"{self.kernel} {'x'.join(map(str, self.x.shape))} k{kh}x{kw} "
                f"s{self.stride[0]},{self.stride[1]} p{self.pad[0]},{self.pad[1]} -> "
                f"{'x'.join(map(str, self.output_shape))}")


def add_case(rng, size: int, *, relu: bool = False) -> KernelCase:
    """An add of two random int8 inputs with random scales and zero points."""
    scale1, scale2 = 2.0 ** rng.uniform(-8, -4, 2)
    multiplier, shift = add_quant(scale1, scale2, (scale1 + scale2) * rng.uniform(0.3, 1.0))
    output_offset = int(rng.integers(-40, 40))
    return KernelCase("add", _int8(rng, size), _int8(rng, size), np.zeros(0, np.int32),
                      multiplier, shift, input_offset=-int(rng.integers(-20, 20)),
                      output_offset=output_offset, act_min=output_offset if relu else -128,
                      act_max=127, output_shape=(size,),
                      input2_offset=-int(rng.integers(-20, 20)))


def _channel_quant(rng, channels: int, depth: int, left_shifts: bool):
    """Per-channel (multiplier, shift) for reals around 0.02 / sqrt(depth) (outputs
    mostly inside int8); with `left_shifts` a third of the channels get reals above 1."""
    reals = 2.0 ** rng.uniform(-1.5, 1.5, channels) * 0.02 / math.sqrt(depth)
    if left_shifts:
        big = rng.random(channels) < 0.34
        reals[big] = 2.0 ** rng.uniform(0.1, 4.0, int(big.sum()))
    pairs = [quantize_multiplier(float(r)) for r in reals]
    return (np.array([p[0] for p in pairs], dtype=np.int32),
            np.array([p[1] for p in pairs], dtype=np.int32))


def _quant(rng, out_channels: int, depth: int, relu: bool, left_shifts: bool) -> dict:
    multiplier, shift = _channel_quant(rng, out_channels, depth, left_shifts)
    output_offset = int(rng.integers(-40, 40))
    return dict(multiplier=multiplier, shift=shift,
                input_offset=-int(rng.integers(-128, 128)), output_offset=output_offset,
                act_min=output_offset if relu else -128, act_max=127,
                bias=rng.integers(-30000, 30000, out_channels).astype(np.int32))


def _int8(rng, shape) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def window_geometry(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, padding before) of one axis, TFLite 'same' or 'valid'."""
    if padding == "valid":
        return (size - kernel) // stride + 1, 0
    if padding != "same":
        raise HwsimError(f"padding must be 'same' or 'valid', got {padding!r}")
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


def dense_case(rng, batches: int, in_features: int, out_features: int, *, relu: bool = False,
               left_shifts: bool = False) -> KernelCase:
    q = _quant(rng, out_features, in_features, relu, left_shifts)
    return KernelCase("fully_connected", _int8(rng, (batches, in_features)),
                      _int8(rng, (out_features, in_features)), **q,
                      output_shape=(batches, out_features))


def conv_case(kernel: str, rng, input_shape: tuple[int, int, int], out_c: int,
              kernel_hw: tuple[int, int], stride: tuple[int, int] = (1, 1),
              padding: str = "same", *, relu: bool = False, left_shifts: bool = False
              ) -> KernelCase:
    """A conv2d case for kernel "conv" or "conv_1x1" (or a depthwise kernel, out_c ignored)."""
    h, w, c = input_shape
    (out_h, top), (out_w, left) = (window_geometry(h, kernel_hw[0], stride[0], padding),
                                   window_geometry(w, kernel_hw[1], stride[1], padding))
    depthwise = KERNELS[kernel].op == "depthwise_conv2d"
    channels = c if depthwise else out_c
    weights = (kernel_hw[0], kernel_hw[1], c) if depthwise else (out_c, *kernel_hw, c)
    depth = kernel_hw[0] * kernel_hw[1] * (1 if depthwise else c)
    q = _quant(rng, channels, depth, relu, left_shifts)
    return KernelCase(kernel, _int8(rng, input_shape), _int8(rng, weights), **q,
                      stride=tuple(stride), pad=(top, left), output_shape=(out_h, out_w, channels))


def fixed_path_case(call: KernelCall, rng, path: str = "right") -> KernelCase:
    """A case for `call` whose every output takes one requantization path, so that its
    executed instructions depend on the shapes only: random weights and input offset,
    every input at the zero point (each accumulator is its bias, 0: no rounding up, no
    negative product), per-channel multipliers with right shifts (`path` "left": every
    channel shifted left, hwsim.ir.int8_kernels.REQUANTIZE_PATHS), output offset inside
    the clamp range (nothing saturates)."""
    depthwise = call.kernel.startswith("depthwise")
    if call.kernel == "add":      # both inputs at their zero points: every sum is 0
        case = add_case(rng, call.in_c)
        return replace(case, x=np.full(call.in_c, -case.input_offset, dtype=np.int8),
                       w=np.full(call.in_c, -case.input2_offset, dtype=np.int8),
                       act_min=-128, act_max=127)
    if call.kernel == "fully_connected":
        x_shape, w_shape = (call.batches, call.in_c), (call.out_c, call.in_c)
        output_shape = (call.batches, call.out_c)
    else:
        x_shape = (call.in_h, call.in_w, call.in_c)
        w_shape = ((call.kh, call.kw, call.in_c) if depthwise
                   else (call.out_c, call.kh, call.kw, call.in_c))
        output_shape = (call.out_h, call.out_w, call.out_c)
    zero_point = int(rng.integers(-128, 128))
    multiplier, shift = _channel_quant(rng, call.out_c, 64, left_shifts=False)
    if path == "left":
        shift = rng.integers(0, 17, call.out_c).astype(np.int32)
    return KernelCase(call.kernel, np.full(x_shape, zero_point, dtype=np.int8), _int8(rng, w_shape),
                      np.zeros(call.out_c, dtype=np.int32), multiplier, shift,
                      input_offset=-zero_point, output_offset=int(rng.integers(-100, 100)),
                      act_min=-128, act_max=127, stride=(call.stride_h, call.stride_w),
                      pad=(call.pad_top, call.pad_left), output_shape=output_shape)


def designed_shifts(case, rng):
    """A RISC-V fixed-path case with designed requantization shifts and its shift roles
    (hwsim.ir.int8_kernels.shift_roles), drawn per call so that each shift by a register
    shows which role it shifts by: one right shift by 1 to 16 for every channel of a
    weighted kernel (a left shift by 0 to 16 when the case shifts left: its path,
    hwsim.ir.int8_kernels.requantize_path); right shifts by 0 to 15 for the add's three
    (TFLite's add never shifts left: its reals are at most 1/2; the sign's test before
    the loop is one path). The accumulators stay 0: one path."""
    if case.kernel == "add":
        shift = -rng.integers(0, 16, 3).astype(np.int32)
        return replace(case, shift=shift), shift_roles("add", shift)
    left = requantize_path(case.shift) == "left"
    shift = int(rng.integers(0, 17)) if left else -int(rng.integers(1, 17))
    return replace(case, shift=np.full_like(case.shift, shift)), shift_roles(case.kernel, shift)
