"""Scratch buffers of the int8 and float32 kernels, counted by the memory planner
(hwsim.memory.planner): int8 weighted layers the chosen int8 kernel's
(hwsim.ir.int8_kernels; the choice is the cost model's, hwsim.cost.int8_choice, handed
over in MemoryOptions.int8_kernels), float32 CMSIS-NN-style im2col; lut: the grouped dense
kernel's group tables and sums between chunks (hwsim.ir.lut_grouped.GroupedCall; the
choice hwsim.cost.lut_choice, handed over in MemoryOptions.lut_grouped), none else."""
from __future__ import annotations

from hwsim.ir.int8_kernels import KERNEL_NAMES, REFERENCE, kernel_scratch_bytes

INT8_CHOICES = (*KERNEL_NAMES, REFERENCE)
CONV_OPS = ("conv1d", "conv2d")
IM2COL_ELEMENT_BYTES = {"int8": 2, "float32": 4}   # CMSIS-NN expands int8 to q15


def scratch_bytes(attrs, style: str, int8_kernel: str | None = None) -> int:
    """Scratch of one node's kernel; `int8_kernel`: the kernel chosen for an int8
    weighted node (None: the library's preferred one)."""
    if style == "lut":
        return 0
    op, layer = attrs.kind, getattr(attrs, "layer", None)
    if style == "int8" and attrs.weighted:
        return kernel_scratch_bytes(attrs, int8_kernel)
    element = IM2COL_ELEMENT_BYTES[style]
    if op in CONV_OPS:
        kernel = (layer.kernel,) if op == "conv1d" else (layer.kernel_h, layer.kernel_w)
        stride = (layer.stride,) if op == "conv1d" else (layer.stride_h, layer.stride_w)
        pointwise = set(kernel) == {1} and set(stride) == {1} and (
            style == "float32" or layer.in_channels % 4 == 0)
        return 0 if pointwise else 2 * attrs.fan_in * element
    if op in ("avg_pool1d", "avg_pool2d") and style == "int8":
        return attrs.output_shape[-1] * 4
    return 0


def lut_grouped_scratch_bytes(g, node: str, variant: str | None) -> int:
    """Scratch of a lut dense node run by grouped `variant` (None: none)."""
    from hwsim.ir.lut_grouped import node_grouped_call
    call = node_grouped_call(g, node, variant) if variant else None
    return call.scratch_bytes if call is not None else 0
