"""lut weighted layers as calls into the lut kernel library (hwsim/machine/kernels/lut): the
generated network is data plus calls, and the library's sources are compiled into the
firmware with hwsim_lut_config.h giving the target's block (hwsim.ir.lut_kernels.BLOCKS).

The call of each layer is the one selection rule's (hwsim.ir.lut_kernels.lut_call). The
layer's data: the product table (shared, as for the per-layer loops), its weight codes
blocked for the call (hwsim.ir.lut_kernels.blocked_weights), its bias indices, its fused
threshold's padded bounds (the threshold node then runs no code of its own: the library
searches them) and the window geometry (hwsim.ir.lut_kernels.geometry) as constant arrays.
The outputs are bit-exact with the per-layer loops (hwsim.machine.codegen.lut_weighted)
and the integer executor.
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.lut_kernels import (BLOCKS, CALL_WORDS, Geometry, LutCall, geometry,
                                  layout_weights, node_call)
from hwsim.machine.codegen.c_source import CArray, constant, function_name, identifier
from hwsim.machine.codegen.lut_kernels import padded_bounds, storage_bits
from hwsim.machine.codegen.program import NodeCode
from hwsim.machine.kernels.lut import (CONFIG_HEADER, GROUPED_SOURCES, HEADER, HEADERS,
                                       SOURCE_DIR, SOURCES)

GROUPED_FUNCTION = "hwsim_lut_grouped_dense"
GROUPED_CONV_FUNCTION = "hwsim_lut_grouped_conv"

LUT_KERNELS = ("library", "loops")
__all__ = ["GROUPED_CONV_FUNCTION", "GROUPED_FUNCTION", "LUT_KERNELS", "call_node", "config_header", "fused_bounds",
           "fused_threshold_node", "include_line", "library_build", "library_files",
           "library_node", "node_call"]


def library_build(target, lut_kernels: str = "library") -> str:
    """The library build lut weighted layers call on `target` ("" for none): with
    "library" where the library has a build for the target's instruction set. (Which
    devices the cost model prices from the library's data: hwsim.cost.lut_library.covers;
    `hwsim validate` asks for the loops where it does not.)"""
    if lut_kernels not in LUT_KERNELS:
        from hwsim.errors import HwsimError
        raise HwsimError(f"lut_kernels must be one of {', '.join(LUT_KERNELS)}, got "
                         f"{lut_kernels!r}")
    return target.name if lut_kernels == "library" and target.name in BLOCKS else ""


def config_header(target_name: str, functions=None) -> str:
    """hwsim_lut_config.h for a library build: the target's block and the kernel
    functions to compile (None: all of them, the characterization firmware)."""
    from hwsim.ir.lut_kernels import FUNCTIONS
    names = functions if functions is not None else FUNCTIONS
    uses = "".join(f"#define HWSIM_LUT_USE_{n.removeprefix('hwsim_lut_')} 1\n"
                   for n in sorted(set(names)))
    return (f"/* hwsim lut kernel library: the build's configuration ({target_name}). */\n"
            f"#ifndef HWSIM_LUT_CONFIG_H\n#define HWSIM_LUT_CONFIG_H\n"
            f"#define HWSIM_LUT_BLOCK {BLOCKS[target_name]}\n{uses}#endif\n")


def library_files(target_name: str, codes) -> dict[str, str]:
    """The library's headers, sources and configuration (the kernel functions the nodes
    `codes` call), as program files."""
    called = {c.library_function for c in codes if c.library_function}
    grouped = GROUPED_SOURCES if called & {GROUPED_FUNCTION, GROUPED_CONV_FUNCTION} else ()
    files = {name: (SOURCE_DIR / name).read_text() for name in (*HEADERS, *SOURCES, *grouped)}
    called -= {GROUPED_FUNCTION, GROUPED_CONV_FUNCTION}
    files[CONFIG_HEADER] = config_header(target_name, sorted(called))
    return files


def include_line() -> str:
    return f'#include "{HEADER}"\n'


def _geometry_arrays(ident: str, geo: Geometry) -> tuple[list, list[str]]:
    arrays, names = [], []
    for field in Geometry.ARRAYS:
        name = f"G{field.replace('_', '')}_{ident}"
        arrays.append(constant(name, "int32_t", np.array(getattr(geo, field), dtype=np.int64)))
        names.append(name)
    return arrays, names


def library_node(g, node: str, call: LutCall, tables) -> NodeCode:
    """One weighted node as a library call: its constants and its function."""
    a = g.nodes[node]["op"]
    ident = identifier(node)
    tname, tarray, log_k, bias_row = tables.table(a.table)
    entry_bytes = storage_bits(g.graph["table_entry_bits"]) // 8
    w = constant(f"W_{ident}", "uint8_t",
                 layout_weights(np.asarray(a.weight_index, dtype=np.int64).T, call),
                 comment=f"{node}: weight codes, {call.function}'s layout",
                 align_bytes=4 if call.kernel == "conv" else 0)   # loaded by words
    arrays = [tarray, w,
              constant(f"B_{ident}", "uint8_t", np.asarray(a.bias_index, dtype=np.int64),
                       comment=f"{node}: bias indices")]
    fused, bounds, barrays = fused_bounds(g, node)
    arrays += barrays
    geo = geometry(call)
    garrays, gnames = _geometry_arrays(ident, geo)
    arrays += garrays
    scalars = ", ".join(str(getattr(geo, f)) for f in Geometry.SCALARS)
    row_shift = log_k + entry_bytes.bit_length() - 1
    name = f"CALL_{ident}"
    definition = (f"/* {node}: the library call's parameters */\n{include_line()}"
                  f"const hwsim_lut_call {name} = {{\n"
                  f"    {{{tname}, {row_shift}, &{tname}[{bias_row << log_k}], B_{ident}, "
                  f"{bounds}, {call.steps}}},\n"
                  f"    {{{scalars}, {', '.join(gnames)}}},\n    W_{ident}}};\n")
    arrays.append(CArray(name, definition, f"extern const hwsim_lut_call {name};\n",
                         4 * CALL_WORDS))
    return call_node(g, node, call.function, name, arrays)


def fused_bounds(g, node: str) -> tuple[str | None, str, list]:
    """(the fused threshold node or None, the C expression of its padded bounds, "0" for
    none, and their constant array) of a weighted node searched in its library call."""
    fused = threshold_consumer(g, node)
    if not fused:
        return None, "0", []
    bounds = f"TH_{identifier(fused)}"
    return fused, bounds, [constant(bounds, "int32_t",
                                    padded_bounds(g.nodes[fused]["op"].thresholds),
                                    comment=f"{fused}: thresholds, padded[k] = theta[k-1], "
                                            "INT32_MAX beyond")]


def call_node(g, node: str, function: str, call_name: str, arrays: list) -> NodeCode:
    """A weighted node whose function is one library call `function(&call_name, x, y)`
    (its fused threshold searched in the call)."""
    a = g.nodes[node]["op"]
    fused = threshold_consumer(g, node)
    out_type = "uint8_t" if fused else "int32_t"
    code = (f"void {function_name(node)}(const uint8_t *restrict x, {out_type} *restrict y)\n"
            f"{{\n    {function}(&{call_name}, x, y);\n}}\n")
    return NodeCode(node, a.kind, function_name(node), code, tuple(arrays),
                    writes_into=fused or "", output_type="" if fused else "int32_t",
                    output_elements=0 if fused else int(a.outputs), library_function=function)


def fused_threshold_node(g, node: str) -> NodeCode:
    """A threshold searched inside the library call before it: no code of its own."""
    a = g.nodes[node]["op"]
    return NodeCode(node, "threshold", output_type="uint8_t", output_elements=int(a.units))
