"""int8 weighted layers as calls into the int8 kernel library (hwsim/machine/kernels/int8,
the CMSIS-NN class kernels): the generated network is data plus calls, and the library's
sources are compiled into the firmware.

The kernel of each layer is the one the cost model chose for the device and prices from
the library's characterization (hwsim.cost.int8_choice; `node_kernels`), or without a
device the library's preferred one (hwsim.ir.int8_kernels.kernel_call). The quantization of
hwsim.machine.codegen.int8_reference maps onto the library's parameters unchanged:
activations have zero point 0, so input_offset is 0 and the bias is the plain
b_q = round(b / (s_w s_x)) (hwsim.ir.int8_kernels.folded_bias with offset 0; the plain
loops fold -128 sum w into it because they add 128 to every activation; both give the
accumulator b_q + sum x w); 'same' windows pad with
the zero point, which adds nothing, as clipping the window does; the per-layer multiplier
and shift are repeated per output channel; the clamp is the layer's [low, high] with
output offset 0. The outputs are bit-exact with `int8_forward`.
"""
from __future__ import annotations

import numpy as np

from hwsim.cost.int8_library import library_data
from hwsim.cost.options import INT8_KERNELS
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import SOFT_KERNELS, REFERENCE, folded_bias, kernel_call, soft_kernel
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.codegen.c_source import constant, function_name, identifier
from hwsim.ir.int8_scales import ADD_LEFT_SHIFT
from hwsim.machine.codegen.program import NodeCode
from hwsim.machine.codegen.targets import Target
from hwsim.machine.kernels.int8 import HEADER, HEADERS, SOURCE_DIR, SOURCES

def uses_library(target: Target, int8_kernels: str = "optimized") -> bool:
    """Whether int8 weighted layers call the library on `target` without a per-node
    choice: not "reference" and a characterized build (the cost model prices what runs:
    hwsim.cost.int8_library)."""
    if int8_kernels not in INT8_KERNELS:
        raise HwsimError(f"int8_kernels must be one of {', '.join(INT8_KERNELS)}, got "
                         f"{int8_kernels!r}")
    return int8_kernels != REFERENCE and library_data(target.name) is not None


def node_kernels(g, target: Target, int8_kernels: str = "optimized",
                 choice: tuple[tuple[str, str], ...] | None = None) -> dict[str, str | None]:
    """The kernel of every int8 weighted node: the per-node `choice` (the cost model's,
    hwsim.cost.int8_choice), else by `int8_kernels` (None: the library's preferred
    kernel)."""
    weighted = [n for n, op in g.nodes(data="op") if op.kind in WEIGHTED]
    if choice is None:
        kernel = None if uses_library(target, int8_kernels) else REFERENCE
        if kernel is None and not target.has_multiply:     # the soft kernels
            return {n: soft_kernel(g.nodes[n]["op"].kind) for n in weighted}
        return dict.fromkeys(weighted, kernel)
    chosen = dict(choice)
    missing = [n for n in weighted if n not in chosen]
    if missing:
        raise HwsimError(f"int8 kernel choice: no kernel for node {missing[0]!r}")
    if library_data(target.name) is None and any(chosen[n] != REFERENCE for n in weighted):
        raise HwsimError(f"int8 kernel choice: the int8 library is not characterized for "
                         f"{target.name}; only 'reference' can run there")
    return {n: chosen[n] for n in weighted}


# Sources linked only into firmware that calls one of their kernels (the kernels' names):
# a newer variant must not grow the code of networks that do not use it (16 KB-flash parts).
OPTIONAL_SOURCES = {"conv_scalar.c": ("conv_scalar",), "soft_walk.c": SOFT_KERNELS,
                    "conv_soft.c": ("conv_soft",), "depthwise_soft.c": ("depthwise_soft",)}


def library_files(kernels=()) -> dict[str, str]:
    """The library's headers and sources, as program files; an optional source only
    when one of `kernels` (the nodes' chosen kernels) is its kernel. When every kernel is
    a soft one (a core without a multiplier, whose adds are plain loops) no other source
    is linked."""
    used = set(kernels)
    sources = tuple(OPTIONAL_SOURCES) if used and used <= set(SOFT_KERNELS) else SOURCES
    return {name: (SOURCE_DIR / name).read_text() for name in (*HEADERS, *sources)
            if name not in OPTIONAL_SOURCES or used & set(OPTIONAL_SOURCES[name])}


def include_line() -> str:
    return f'#include "{HEADER}"\n'


def library_add(g, node: str, plan) -> NodeCode:
    """A residual add as a call of the library's hwsim_add_s8 (TFLite's int8 ADD; input
    and output offsets 0, the plan's multipliers and shifts). Every target calls it: the
    int8 style has no other add."""
    a = g.nodes[node]["op"]
    p = plan.params[node]
    pairs = ", ".join(f"{int(m)}, {int(s)}" for m, s in zip(p["multiplier"], p["shift"]))
    code = (f"void {function_name(node)}(const int8_t *restrict x0, const int8_t *restrict x1, "
            f"int8_t *restrict y)\n{{\n"
            f"    static const hwsim_add_quant quant = {{0, 0, {pairs}, 0, {p['low']}, "
            f"{p['high']}, {ADD_LEFT_SHIFT}}};\n"
            f"    hwsim_add_s8(&quant, x0, x1, {int(a.outputs)}, y);\n}}\n")
    return NodeCode(node, "add", function_name(node), code, (), output_type="int8_t",
                    output_elements=int(a.outputs))


def library_node(g, node: str, plan, kernel: str | None = None) -> NodeCode:
    """One weighted node as a call of library `kernel` (None: the preferred one): its
    constants and its function."""
    a = g.nodes[node]["op"]
    call = kernel_call(a, kernel)
    p = plan.params[node]
    ident = identifier(node)
    units = call.out_c
    weights = p["w"] if a.kind == "depthwise_conv2d" else p["w"].T
    arrays = (
        constant(f"W_{ident}", "int8_t", weights,
                 comment=f"{node}: int8 weights, the library's layout"),
        constant(f"B_{ident}", "int32_t", folded_bias(call.kernel, p["bias_plain"], weights, 0),
                 comment=f"{node}: int32 biases"),
        constant(f"M_{ident}", "int32_t", np.full(units, p["multiplier"]),
                 comment=f"{node}: requantization multiplier (Q31) per channel"),
        constant(f"S_{ident}", "int32_t", np.full(units, p["shift"]),
                 comment=f"{node}: requantization shift per channel (> 0: left)"),
    )
    lines = [f"    static const hwsim_quant quant = {{0, 0, {p['low']}, {p['high']}}};",
             f"    static const hwsim_channel_quant channels = {{M_{ident}, S_{ident}}};"]
    w, b = f"W_{ident}", f"B_{ident}"
    if call.kernel == "fully_connected":
        lines.append(f"    hwsim_fully_connected_s8(&quant, &channels, 1, {call.in_c}, {units}, "
                     f"x, {w}, {b}, y);")
    else:
        lines.append(f"    static const hwsim_shape input = {{{call.in_h}, {call.in_w}, "
                     f"{call.in_c}}};")
        lines.append(f"    static const hwsim_shape output = {{{call.out_h}, {call.out_w}, "
                     f"{units}}};")
        lines.append(f"    static const hwsim_window window = {{{call.stride_h}, "
                     f"{call.stride_w}, {call.pad_top}, {call.pad_left}}};")
        if call.scratch_bytes:
            lines.append(f"    static int32_t scratch[{(call.scratch_bytes + 3) // 4}];")
        args = {"conv_1x1": f"hwsim_conv_1x1_s8(&quant, &channels, &input, x, {w}, {b}, "
                            "&output, y);",
                "conv": f"hwsim_conv_s8(&quant, &channels, &input, x, {call.kh}, {call.kw}, "
                        f"{w}, {b}, &window, &output, y, (int16_t *)scratch);",
                "depthwise_3x3": f"hwsim_depthwise_3x3_s8(&quant, &channels, &input, x, {w}, "
                                 f"{b}, &window, &output, y, (int8_t *)scratch);",
                "conv_scalar": f"hwsim_conv_scalar_s8(&quant, &channels, &input, x, "
                               f"{call.kh}, {call.kw}, {w}, {b}, &window, &output, y);",
                **{k: f"hwsim_{k}_s8(&quant, &channels, &input, x, {call.kh}, {call.kw}, "
                      f"{w}, {b}, &window, &output, y);"
                   for k in ("depthwise", "conv_soft", "depthwise_soft")}}
        if call.kernel == "conv_1x1":
            lines = [line for line in lines if "window" not in line]
        lines.append("    " + args[call.kernel])
    code = (f"void {function_name(node)}(const int8_t *restrict x, int8_t *restrict y)\n{{\n"
            + "\n".join(lines) + "\n}\n")
    return NodeCode(node, a.kind, function_name(node), code, arrays, output_type="int8_t",
                    output_elements=int(a.outputs))
