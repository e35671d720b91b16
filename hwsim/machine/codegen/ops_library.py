"""Pools, argmax, the lut residual add and output table as calls into the ops kernel library
(hwsim/machine/kernels/ops): the node's parameters are one constant struct (the call's
window walk, bounds, value table), its function one call (`node_function`, which the
characterization firmware compiles too, so the characterized counts include it).

The call is the one selection rule's (hwsim.ir.ops_kernels.node_ops_call); a node it does
not cover keeps its per-node loop (hwsim.machine.codegen.lut_kernels, pools). Outputs are
bit-exact with those loops: the same padded pool bounds, thresholds and value table.
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.ops_kernels import (STRUCT_WORDS, OpsCall, node_ops_call, pool_taps,
                                  tap_offsets)
from hwsim.machine.codegen.c_source import INT_TYPES, CArray, constant, function_name, identifier
from hwsim.machine.codegen.program import NodeCode
from hwsim.machine.kernels.ops import (CONFIG_HEADER, HEADER, HEADERS, SOURCE_DIR, SOURCES,
                                      config_header)

STRUCTS = {"max": "hwsim_ops_pool", "avg": "hwsim_ops_pool", "argmax": "hwsim_ops_argmax",
           "add": "hwsim_ops_add", "table": "hwsim_ops_add"}
POOL_FIELDS = ("out_h", "out_w", "channels", "size_h", "size_w", "row_step", "col_step",
               "x_row")
__all__ = ["STRUCTS", "c_types", "include_line", "library_files", "node_function", "ops_node",
           "struct_words", "uses_ops"]


def c_types(function: str) -> tuple[str, str]:
    """(input element, output element) C types of a kernel's node function (an add's
    output is levels or sums: void)."""
    if function.startswith(("add", "table")):
        return ("void" if function.startswith("add_sv") else "uint8_t"), "void"
    element = {"u8": "uint8_t", "i8": "int8_t", "i32": "int32_t"}
    suffix = [part for part in function.split("_") if part in element][0]
    return element[suffix], "uint8_t" if function.startswith("argmax") else element[suffix]


def struct_words(call: OpsCall, pointer: int | str = 0, bounds: int | str = 0) -> list:
    """The parameter struct's words (hwsim_ops.h), pointers given as addresses or C
    expressions: a pool's bounds (`pointer`), an add's value table (`pointer`) and
    thresholds (`bounds`), an output table's values (`pointer`)."""
    if call.kind == "argmax":
        return [call.classes]
    if call.kind in ("add", "table"):
        return [call.elements, pointer, bounds, call.steps, call.sums_input]
    return ([getattr(call, f) for f in POOL_FIELDS] + [pointer, call.steps, call.reciprocal]
            + [pool_taps(call), *tap_offsets(call)])


def node_function(name: str, kernel: str, params: str, inputs: int, in_type: str,
                  out_type: str) -> str:
    """The C of a node's function: one call of `kernel` with the address of `params`."""
    if inputs == 2:
        args, call = (f"const {in_type} *restrict x0, const {in_type} *restrict x1, "
                      f"{out_type} *restrict y"), "x0, x1, y"
    else:
        args, call = f"const {in_type} *restrict x, {out_type} *restrict y", "x, y"
    return f"void {name}({args})\n{{\n    {kernel}(&{params}, {call});\n}}\n"


def uses_ops(target_name: str) -> bool:
    """Whether the code for library build `target_name` calls the ops library: where the
    library is characterized (hwsim/cost/data/ops_<target>.json), so what runs is priced."""
    from hwsim.cost.ops_library import library_data
    return library_data(target_name) is not None


def include_line() -> str:
    return f'#include "{HEADER}"\n'


def library_files(style: str, functions) -> dict[str, str]:
    """The library's headers, the style's source and the configuration compiling the
    kernels `functions` (C names) the nodes call, as program files."""
    files = {name: (SOURCE_DIR / name).read_text() for name in (*HEADERS, SOURCES[style])}
    files[CONFIG_HEADER] = config_header(f.removeprefix("hwsim_ops_") for f in functions)
    return files


def _struct(ident: str, call: OpsCall, words: list) -> CArray:
    name = f"OPS_{ident}"
    ctype = STRUCTS[call.kind]
    text = ", ".join(str(w) for w in words)
    definition = (f"/* {call.c_function}'s parameters */\n{include_line()}"
                  f"const {ctype} {name} = {{{text}}};\n")
    return CArray(name, definition, f"extern const {ctype} {name};\n", 4 * len(words))


def ops_node(g, node: str, style: str) -> NodeCode | None:
    """One node as an ops library call (its constants and function), or None when the
    library does not cover it."""
    call = node_ops_call(g, node, style)
    if call is None:
        return None
    a = g.nodes[node]["op"]
    ident = identifier(node)
    arrays: list[CArray] = []
    pointer, bounds = "0", "0"
    element, out_type = c_types(call.function)
    writes_into, elements = "", int(getattr(a, "outputs", 1))
    if call.function.startswith("avg_pool_u8"):
        from hwsim.machine.codegen.lut_kernels import pool_bounds_array
        array, _ = pool_bounds_array(node, a, call.size_h * call.size_w)
        arrays.append(array)
        pointer = array.name
    if call.kind == "table":
        from hwsim.machine.codegen.lut_kernels import output_value_table
        bits = 8 if call.function.endswith("v8") else 16
        values, one = output_value_table(g, bits)
        pointer = f"V_{ident}"
        arrays.append(constant(pointer, INT_TYPES[(True, bits)], values,
                               comment=f"{node}: output value of each level, fixed point "
                                       f"(1.0 = {one})"))
        out_type = INT_TYPES[(True, bits)]
    if call.kind == "add":
        bits = 8 if call.function.endswith("v8") else 16
        values = np.asarray(g.graph["value_tables"][VALUE_TABLE], dtype=np.int64)
        arrays.append(constant("V_add_activation", INT_TYPES[(True, bits)], values,
                               comment="the integer value of each activation level (adds)"))
        pointer = "V_add_activation"
        fused = threshold_consumer(g, node)
        if fused:
            from hwsim.machine.codegen.lut_kernels import padded_bounds
            bounds = f"TH_{identifier(fused)}"
            arrays.append(constant(bounds, "int32_t",
                                   padded_bounds(g.nodes[fused]["op"].thresholds),
                                   comment=f"{fused}: thresholds, padded[k] = theta[k-1], "
                                           "INT32_MAX beyond"))
            writes_into = fused
    words = struct_words(call, pointer, bounds)
    assert len(words) == STRUCT_WORDS[call.kind]
    arrays.append(_struct(ident, call, words))
    code = node_function(function_name(node), call.c_function, f"OPS_{ident}",
                         2 if call.kind == "add" else 1, element, out_type)
    if call.kind == "argmax":
        elements = 1
    if call.kind == "add" and not writes_into:
        out_type = "int32_t"
    return NodeCode(node, a.kind, function_name(node), code, tuple(arrays),
                    writes_into=writes_into, output_type="" if writes_into else out_type,
                    output_elements=0 if writes_into else elements,
                    ops_function=call.c_function)
