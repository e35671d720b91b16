"""The lut style's kernels besides the weighted layers, in C: the threshold search
(a function the weighted layer or residual add calls once per unit), max and average
pools over levels or sums, the residual add, argmax, and the auto-encoder's output
value table; with the padded bounds and the branchy binary search they share
(hwsim.machine.codegen.lut)."""
from __future__ import annotations

import numpy as np

from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.lowering import threshold_consumer
from hwsim.ir.lut_kernels import search_steps
from hwsim.ir.ops import WEIGHTED
from hwsim.ir.ops_kernels import bound_bits
from hwsim.machine.codegen.c_source import INT_TYPES, CArray, constant, function_name, identifier
from hwsim.machine.codegen.pools import pool_function
from hwsim.machine.codegen.program import NodeCode
from hwsim.errors import HwsimError

INT32_MAX = (1 << 31) - 1


def storage_bits(bits: int) -> int:
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def padded_bounds(values: np.ndarray) -> np.ndarray:
    """padded[k] = values[k-1] (k = 1..len), INT32_MAX beyond, 2^steps entries."""
    values = np.asarray(values, dtype=np.int64)
    steps = search_steps(len(values))
    out = np.full(1 << steps, INT32_MAX, dtype=np.int64)
    out[0] = values[0] if len(values) else 0
    out[1:len(values) + 1] = values
    return out


def search_code(var: str, table: str, steps: int, indent: str, result: str) -> str:
    """A branchy binary search: walks pointer p over the padded bounds; the level is
    the distance walked."""
    lines = [f"{indent}const {table}_t *p = {table};"]
    for s in reversed(range(steps)):
        lines.append(f"{indent}if ({var} >= p[{1 << s}]) p += {1 << s};")
    lines.append(f"{indent}{result} = (uint32_t)(p - {table});")
    return "\n".join(lines)


def emit_threshold(g, node) -> NodeCode:
    a = g.nodes[node]["op"]
    preds = list(g.predecessors(node))
    if len(preds) != 1 or g.nodes[preds[0]]["op"].kind not in (*WEIGHTED, "add"):
        raise HwsimError(f"node {node!r}: code generation fuses a threshold into the "
                         "weighted layer or add before it; this one follows "
                         f"{[g.nodes[p]['op'].kind for p in preds]}")
    ident = identifier(node)
    padded = padded_bounds(a.thresholds)
    steps = search_steps(len(a.thresholds))
    name = f"TH_{ident}"
    code = (f"uint32_t {function_name(node)}(int32_t acc)\n{{\n"
            f"    typedef int32_t {name}_t;\n    uint32_t level;\n"
            + search_code("acc", name, steps, "    ", "level")
            + "\n    return level;\n}\n")
    array = constant(name, "int32_t", padded,
                     comment=f"{node}: thresholds, padded[k] = theta[k-1], INT32_MAX beyond")
    return NodeCode(node, "threshold", function_name(node), code, (array,),
                    called_per_unit_by=function_name(preds[0]), output_type="uint8_t",
                    output_elements=int(a.units))


def _pool_input(g, node) -> tuple[str, str]:
    edge = g.in_edges(node, data=True)
    (_, _, e), = list(edge)
    return ("uint8_t", "levels") if e["kind"] == "levels" else ("int32_t", "sums")


def pool_geometry(a) -> tuple[list, int, int, int, int]:
    """(position loops, channels, window rows, window columns, row step) of a pool."""
    layer = a.layer
    if a.kind.endswith("1d"):
        _, ch = a.input_shape
        positions = [("p", "xp", a.output_shape[0], layer.stride * ch)]
        return positions, ch, 1, layer.size, 0
    _, w_in, ch = a.input_shape
    oh, ow = a.output_shape[:2]
    positions = [("py", "xrow", oh, layer.stride_h * w_in * ch),
                 ("px", "xc", ow, layer.stride_w * ch)]
    return positions, ch, layer.size_h, layer.size_w, w_in * ch


def pool_bounds_array(node: str, a, window: int) -> tuple[CArray, str]:
    """An average pool's bounds, padded (the type's maximum beyond), in the narrowest
    signed type that holds them and the window's reach (hwsim.ir.ops_kernels.bound_bits)."""
    bounds = np.asarray(a.pool_bounds, dtype=np.int64)
    btype = INT_TYPES[(True, bound_bits(bounds, window))]
    top = np.iinfo(np.dtype(btype.replace("_t", ""))).max
    padded = np.where(padded_bounds(bounds) == INT32_MAX, top, padded_bounds(bounds))
    return constant(f"PB_{identifier(node)}", btype, padded,
                    comment=f"{node}: pool bounds, padded"), btype


def emit_pool(g, node) -> NodeCode:
    a = g.nodes[node]["op"]
    op = a.kind
    ctype, kind = _pool_input(g, node)
    is_max = op.startswith("max")
    if not is_max and kind != "levels":
        raise HwsimError(f"node {node!r}: an average pool of sums is not supported")
    wide = "uint32_t" if ctype == "uint8_t" else "int32_t"     # compare in registers
    positions, ch, rows, cols, row_step = pool_geometry(a)
    arrays, reduce_avg = [], ""
    if not is_max:
        array, btype = pool_bounds_array(node, a, rows * cols)
        arrays.append(array)
        reduce_avg = (f"typedef {btype} {array.name}_t;\n"
                      + search_code("s", array.name, search_steps(len(a.pool_bounds)), "",
                                    "const uint32_t out"))
    out_type = ctype if is_max else "uint8_t"
    code = pool_function(node, ctype, out_type, wide, "max" if is_max else "avg", positions,
                         ch, rows, cols, row_step, reduce_avg)
    return NodeCode(node, op, function_name(node), code, tuple(arrays), output_type=out_type,
                    output_elements=int(a.outputs))


def argmax_code(node: str, ctype: str, classes: int) -> NodeCode:
    """argmax over `classes` scores of C type `ctype` (the first maximum wins)."""
    out = "uint8_t" if classes <= 256 else "uint16_t"
    fn = function_name(node)
    code = f"""void {fn}(const {ctype} *restrict s, {out} *restrict y)
{{
    {ctype} best = s[0];
    uint32_t arg = 0;
    for (uint32_t i = 1; i < {classes}; i++) {{
        if (s[i] > best) {{
            best = s[i];
            arg = i;
        }}
    }}
    y[0] = ({out})arg;
}}
"""
    return NodeCode(node, "argmax", fn, code, (), output_type=out, output_elements=1)


def emit_argmax(g, node) -> NodeCode:
    ctype, _ = _pool_input(g, node)
    return argmax_code(node, ctype, g.nodes[node]["op"].classes)


def emit_add(g, node) -> NodeCode:
    """The residual add, element by element: a level input is turned into its integer
    value through the activation value table, a sum input is read as it is; the sum
    goes to the fused threshold (the level is stored) or is stored as a sum."""
    a = g.nodes[node]["op"]
    sources = list(g.predecessors(node))
    bits = storage_bits(g.graph["table_entry_bits"])
    vtype = INT_TYPES[(True, bits)]
    name = "V_add_activation"
    fused = threshold_consumer(g, node)
    if fused and g.out_degree(node) != 1:
        raise HwsimError(f"node {node!r}: several threshold consumers are not supported")
    params, terms, levels = [], [], False
    for k, src in enumerate(sources):
        if g.edges[src, node]["kind"] == "levels":
            params.append(f"const uint8_t *restrict x{k}")
            terms.append(f"{name}[x{k}[i]]")
            levels = True
        else:
            params.append(f"const int32_t *restrict x{k}")
            terms.append(f"x{k}[i]")
    out_type = "uint8_t" if fused else "int32_t"
    store = f"({out_type}){function_name(fused)}(acc)" if fused else "acc"
    code = (f"void {function_name(node)}({', '.join(params)}, {out_type} *restrict y)\n{{\n"
            f"    for (uint32_t i = 0; i < {a.outputs}; i++) {{\n"
            f"        const int32_t acc = {' + '.join(terms)};\n"
            f"        y[i] = {store};\n    }}\n}}\n")
    arrays = ()
    if levels:
        values = np.asarray(g.graph["value_tables"][VALUE_TABLE], dtype=np.int64)
        arrays = (constant(name, vtype, values,
                           comment="the integer value of each activation level (adds)"),)
    return NodeCode(node, "add", function_name(node), code, arrays,
                    writes_into=fused or "", output_type="" if fused else "int32_t",
                    output_elements=0 if fused else int(a.outputs))


def output_value_table(g, entry_bits: int) -> tuple[np.ndarray, int]:
    """Auto-encoder output values as signed fixed point of the table entry width:
    round(value * (2^(bits-1) - 1)), value in [0, 1]."""
    values = np.asarray(g.graph["output_values"], dtype=np.float64)
    one = (1 << (entry_bits - 1)) - 1
    return np.rint(values * one).astype(np.int64), one


def emit_output_table(g, node) -> NodeCode:
    a = g.nodes[node]["op"]
    bits = storage_bits(g.graph["table_entry_bits"])
    values, one = output_value_table(g, bits)
    ctype = INT_TYPES[(True, bits)]
    fn = function_name(node)
    name = f"V_{identifier(node)}"
    code = f"""void {fn}(const uint8_t *restrict x, {ctype} *restrict y)
{{
    #pragma GCC unroll 1
    for (uint32_t i = 0; i < {a.outputs}; i++)
        y[i] = {name}[x[i]];
}}
"""
    array = constant(name, ctype, values, comment=f"{node}: output value of each level, "
                                                  f"fixed point (1.0 = {one})")
    return NodeCode(node, "output_table", fn, code, (array,), output_type=ctype,
                    output_elements=int(a.outputs))
