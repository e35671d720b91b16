"""The lut style in C: the paper's method, table lookups, integer adds and compares.

Data (all `const`, in flash, in a separate translation unit so the compiler cannot
fold table values into the code):
- product tables `T_<name>[rows * K]`, row-major, int8/16/32 entries; a table
  whose K is not a power of two is padded with zero columns to the next power of
  two, so the address of T[level, w] is (level << log2 K) + w, no multiply;
- weight indices one byte each (uint16 above K = 256), unit-major: the fan-in of
  output unit o is contiguous (a depthwise channel's taps likewise);
- thresholds padded to 2^steps int32 entries, padded[k] = theta[k-1] for
  k = 1..L-1 and INT32_MAX beyond (the executor's search layout); average-pool
  bounds the same way, narrowest signed type.

Kernels (one C function per graph node, output-stationary like the cost model):
for each output unit, acc = T[bias row, b[o]] + sum over its inputs of
T[(level << log2 K) + w]; a fused threshold function (one call per unit, the sum
stays in a register) turns acc into the level by a branchy binary search that
walks a pointer over the padded thresholds. 'same' padding: windows are clipped
to the input with per-position tables (offset, first tap, taps).
"""
from __future__ import annotations

import math

import numpy as np

from hwsim.codegen.c_source import (
    INT_TYPES,
    constant,
    function_name,
    identifier,
    int_type,
)
from hwsim.codegen.geometry import axis_windows
from hwsim.codegen.pools import pool_function
from hwsim.codegen.program import NodeCode
from hwsim.errors import HwsimError

INT32_MAX = (1 << 31) - 1
WEIGHTED = ("lut_dense", "lut_conv1d", "lut_conv2d", "lut_depthwise_conv2d")


def storage_bits(bits: int) -> int:
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def search_steps(count: int) -> int:
    """Binary-search steps over `count` sorted bounds: ceil(log2(count + 1))."""
    return max(0, math.ceil(math.log2(count + 1)))


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


class _Tables:
    """Product tables as C arrays (shared by name across nodes)."""

    def __init__(self, g):
        self.g = g
        self.entry_type = INT_TYPES[(True, storage_bits(g.graph["table_entry_bits"]))]
        if g.graph["accumulator_bits"] > 32:
            raise HwsimError(f"graph {g.graph.get('name')!r}: accumulator_bits "
                             f"{g.graph['accumulator_bits']} > 32 is not supported by code "
                             "generation")

    def table(self, name: str):
        table = np.asarray(self.g.graph["tables"][name], dtype=np.int64)
        rows, k = table.shape
        k2 = 1 << max(0, math.ceil(math.log2(k)))
        padded = np.zeros((rows, k2), dtype=np.int64)
        padded[:, :k] = table
        cname = f"T_{identifier(name)}"
        array = constant(cname, self.entry_type, padded,
                         comment=f"product table {name!r}: {rows} rows x {k} columns"
                                 + (f" (padded to {k2})" if k2 != k else ""))
        return cname, array, int(math.log2(k2)), rows - 1


def _index_type(k: int) -> str:
    return "uint8_t" if k <= 256 else "uint16_t"


def _weighted_common(g, node, tables: _Tables):
    a = g.nodes[node]
    tname, tarray, log_k, bias_row = tables.table(a["table"])
    ident = identifier(node)
    k = a["table_shape"][1]
    wtype = _index_type(k)
    w = np.asarray(a["weight_index"], dtype=np.int64).T          # (units, taps)
    b = np.asarray(a["bias_index"], dtype=np.int64)
    arrays = [tarray, constant(f"W_{ident}", wtype, w, comment=f"{node}: weight indices, "
                               f"unit-major [{w.shape[0]}][{w.shape[1]}]"),
              constant(f"B_{ident}", wtype, b, comment=f"{node}: bias indices")]
    succ = list(g.successors(node))
    fused = bool(succ) and all(g.nodes[s]["op"] == "threshold" for s in succ)
    if fused and len(succ) != 1:
        raise HwsimError(f"node {node!r}: several threshold consumers are not supported")
    return {"T": tname, "W": f"W_{ident}", "B": f"B_{ident}", "LOGK": log_k,
            "BIAS": bias_row << log_k, "arrays": arrays, "wtype": wtype, "fused": succ[0] if fused else None,
            "out_type": "uint8_t" if fused else "int32_t", "layer": a["layer"], "attrs": a}


def _finish(c: dict) -> str:
    if c["fused"]:
        return f"*y++ = (uint8_t){function_name(c['fused'])}(acc);"
    return "*y++ = acc;"


def _axis_tables(ident: str, tag: str, windows, x_step: int, w_step: int, n_step: int):
    """Per output position along an axis: input offset, weight offset, tap count (each
    already scaled by the element stride), as constant arrays. 32-bit entries: with a
    narrow count gcc -mcpu=cortex-m4 forms `w + 2 * n` with SMLABB, a multiply."""
    xs = np.array([w.start * x_step for w in windows])
    ws = np.array([w.first_tap * w_step for w in windows])
    ns = np.array([w.taps * n_step for w in windows])
    names = [f"{tag}X_{ident}", f"{tag}W_{ident}", f"{tag}N_{ident}"]
    arrays = [constant(n, "uint32_t", v) for n, v in zip(names, (xs, ws, ns))]
    return names, arrays


def _dot(c: dict, x: str, w: str, n: str, indent: str = "            ") -> str:
    """The inner loop over a contiguous run (the first line takes the template's indent)."""
    return (f"#pragma GCC unroll 1\n"
            f"{indent}for (uint32_t i = 0; i < {n}; i++)\n"
            f"{indent}    acc += {c['T']}[({x}[i] << {c['LOGK']}) + {w}[i]];")


def emit_dense(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer = c["layer"]
    fan, units = layer.in_features, layer.out_features
    code = f"""void {function_name(node)}(const uint8_t *restrict x, {c['out_type']} *restrict y)
{{
    const {_wt(c)} *w = {c['W']};
    for (uint32_t o = 0; o < {units}; o++, w += {fan}) {{
        int32_t acc = {c['T']}[{c['BIAS']} + {c['B']}[o]];
        #pragma GCC unroll 1
        for (uint32_t i = 0; i < {fan}; i++)
            acc += {c['T']}[(x[i] << {c['LOGK']}) + w[i]];
        {_finish(c)}
    }}
}}
"""
    return _weighted_code(node, c, code, units)


def _wt(c: dict) -> str:
    return c["wtype"]


def _weighted_code(node, c, code, units_total) -> NodeCode:
    a = c["attrs"]
    return NodeCode(node, a["op"], function_name(node), code, tuple(c["arrays"]),
                    writes_into=c["fused"] or "",
                    output_type="" if c["fused"] else "int32_t",
                    output_elements=0 if c["fused"] else int(a["outputs"]))


def emit_conv1d(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer = c["layer"]
    length, cin = c["attrs"]["input_shape"]
    cout, fan = layer.out_channels, layer.fan_in
    windows = axis_windows(length, layer.kernel, layer.stride, layer.padding)
    fn = function_name(node)
    head = f"void {fn}(const uint8_t *restrict x, {c['out_type']} *restrict y)\n{{\n"
    if layer.padding == "valid":
        body = f"""    const uint8_t *xp = x;
    for (uint32_t p = 0; p < {len(windows)}; p++, xp += {layer.stride * cin}) {{
        const {_wt(c)} *w = {c['W']};
        for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
            int32_t acc = {c['T']}[{c['BIAS']} + {c['B']}[o]];
            {_dot(c, 'xp', 'w', str(fan))}
            {_finish(c)}
        }}
    }}
}}
"""
    else:
        names, arrays = _axis_tables(identifier(node), "P", windows, cin, cin, cin)
        c["arrays"].extend(arrays)
        body = f"""    for (uint32_t p = 0; p < {len(windows)}; p++) {{
        const uint8_t *xp = x + {names[0]}[p];
        const uint32_t n = {names[2]}[p];
        const {_wt(c)} *w = {c['W']} + {names[1]}[p];
        for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
            int32_t acc = {c['T']}[{c['BIAS']} + {c['B']}[o]];
            {_dot(c, 'xp', 'w', 'n')}
            {_finish(c)}
        }}
    }}
}}
"""
    return _weighted_code(node, c, head + body, None)


def _windows_2d(a, layer):
    h, w, _ = a["input_shape"]
    rows = axis_windows(h, layer.kernel_h, layer.stride_h, layer.padding)
    cols = axis_windows(w, layer.kernel_w, layer.stride_w, layer.padding)
    return rows, cols


def emit_conv2d(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer, a = c["layer"], c["attrs"]
    _, w_in, cin = a["input_shape"]
    cout, fan = layer.out_channels, layer.fan_in
    kw_c = layer.kernel_w * cin
    rows, cols = _windows_2d(a, layer)
    ident = identifier(node)
    fn = function_name(node)
    head = f"void {fn}(const uint8_t *restrict x, {c['out_type']} *restrict y)\n{{\n"
    unit = f"""            for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
                int32_t acc = {c['T']}[{c['BIAS']} + {c['B']}[o]];
                const uint8_t *xr = xc;
                const {_wt(c)} *wr = w;
                #pragma GCC unroll 1
                for (uint32_t r = 0; r < {{ROWS}}; r++, xr += {w_in * cin}, wr += {kw_c}) {{
                    #pragma GCC unroll 1
                    for (uint32_t i = 0; i < {{COLS}}; i++)
                        acc += {c['T']}[(xr[i] << {c['LOGK']}) + wr[i]];
                }}
                {_finish(c)}
            }}"""
    if layer.padding == "valid":
        body = f"""    const uint8_t *xrow = x;
    for (uint32_t py = 0; py < {len(rows)}; py++, xrow += {layer.stride_h * w_in * cin}) {{
        const uint8_t *xc = xrow;
        for (uint32_t px = 0; px < {len(cols)}; px++, xc += {layer.stride_w * cin}) {{
            const {_wt(c)} *w = {c['W']};
{unit.replace('{ROWS}', str(layer.kernel_h)).replace('{COLS}', str(kw_c))}
        }}
    }}
}}
"""
    else:
        rn, ra = _axis_tables(ident, "R", rows, w_in * cin, kw_c, 1)
        cn, ca = _axis_tables(ident, "C", cols, cin, cin, cin)
        c["arrays"].extend(ra + ca)
        body = f"""    for (uint32_t py = 0; py < {len(rows)}; py++) {{
        const uint8_t *xrow = x + {rn[0]}[py];
        const uint32_t nrows = {rn[2]}[py];
        for (uint32_t px = 0; px < {len(cols)}; px++) {{
            const uint8_t *xc = xrow + {cn[0]}[px];
            const uint32_t ncols = {cn[2]}[px];
            const {_wt(c)} *w = {c['W']} + {rn[1]}[py] + {cn[1]}[px];
{unit.replace('{ROWS}', 'nrows').replace('{COLS}', 'ncols')}
        }}
    }}
}}
"""
    return _weighted_code(node, c, head + body, None)


def emit_depthwise(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer, a = c["layer"], c["attrs"]
    _, w_in, ch = a["input_shape"]
    taps = layer.kernel_h * layer.kernel_w
    rows, cols = _windows_2d(a, layer)
    ident = identifier(node)
    fn = function_name(node)
    head = f"void {fn}(const uint8_t *restrict x, {c['out_type']} *restrict y)\n{{\n"
    unit = f"""            for (uint32_t c = 0; c < {ch}; c++, w += {taps}) {{
                int32_t acc = {c['T']}[{c['BIAS']} + {c['B']}[c]];
                const uint8_t *xr = xc + c;
                const {_wt(c)} *wr = w;
                #pragma GCC unroll 1
                for (uint32_t r = 0; r < {{ROWS}}; r++, xr += {w_in * ch}, wr += {layer.kernel_w}) {{
                    const uint8_t *xt = xr;
                    #pragma GCC unroll 1
                    for (uint32_t j = 0; j < {{COLS}}; j++, xt += {ch})
                        acc += {c['T']}[(*xt << {c['LOGK']}) + wr[j]];
                }}
                {_finish(c)}
            }}"""
    if layer.padding == "valid":
        body = f"""    const uint8_t *xrow = x;
    for (uint32_t py = 0; py < {len(rows)}; py++, xrow += {layer.stride_h * w_in * ch}) {{
        const uint8_t *xc = xrow;
        for (uint32_t px = 0; px < {len(cols)}; px++, xc += {layer.stride_w * ch}) {{
            const {_wt(c)} *w = {c['W']};
{unit.replace('{ROWS}', str(layer.kernel_h)).replace('{COLS}', str(layer.kernel_w))}
        }}
    }}
}}
"""
    else:
        rn, ra = _axis_tables(ident, "R", rows, w_in * ch, layer.kernel_w, 1)
        cn, ca = _axis_tables(ident, "C", cols, ch, 1, 1)
        c["arrays"].extend(ra + ca)
        body = f"""    for (uint32_t py = 0; py < {len(rows)}; py++) {{
        const uint8_t *xrow = x + {rn[0]}[py];
        const uint32_t nrows = {rn[2]}[py];
        for (uint32_t px = 0; px < {len(cols)}; px++) {{
            const uint8_t *xc = xrow + {cn[0]}[px];
            const uint32_t ncols = {cn[2]}[px];
            const {_wt(c)} *w = {c['W']} + {rn[1]}[py] + {cn[1]}[px];
{unit.replace('{ROWS}', 'nrows').replace('{COLS}', 'ncols')}
        }}
    }}
}}
"""
    return _weighted_code(node, c, head + body, None)


def emit_threshold(g, node) -> NodeCode:
    a = g.nodes[node]
    preds = list(g.predecessors(node))
    if len(preds) != 1 or g.nodes[preds[0]]["op"] not in WEIGHTED:
        raise HwsimError(f"node {node!r}: code generation fuses a threshold into the "
                         "weighted layer before it; this one follows "
                         f"{[g.nodes[p]['op'] for p in preds]}")
    ident = identifier(node)
    padded = padded_bounds(a["thresholds"])
    steps = search_steps(len(a["thresholds"]))
    name = f"TH_{ident}"
    code = (f"uint32_t {function_name(node)}(int32_t acc)\n{{\n"
            f"    typedef int32_t {name}_t;\n    uint32_t level;\n"
            + search_code("acc", name, steps, "    ", "level")
            + "\n    return level;\n}\n")
    array = constant(name, "int32_t", padded,
                     comment=f"{node}: thresholds, padded[k] = theta[k-1], INT32_MAX beyond")
    return NodeCode(node, "threshold", function_name(node), code, (array,),
                    called_per_unit_by=function_name(preds[0]), output_type="uint8_t",
                    output_elements=int(a["units"]))


def _pool_input(g, node) -> tuple[str, str]:
    edge = g.in_edges(node, data=True)
    (_, _, e), = list(edge)
    return ("uint8_t", "levels") if e["kind"] == "levels" else ("int32_t", "sums")


def pool_geometry(a) -> tuple[list, int, int, int, int]:
    """(position loops, channels, window rows, window columns, row step) of a pool."""
    layer = a["layer"]
    if a["op"].endswith("1d"):
        _, ch = a["input_shape"]
        positions = [("p", "xp", a["output_shape"][0], layer.stride * ch)]
        return positions, ch, 1, layer.size, 0
    _, w_in, ch = a["input_shape"]
    oh, ow = a["output_shape"][:2]
    positions = [("py", "xrow", oh, layer.stride_h * w_in * ch),
                 ("px", "xc", ow, layer.stride_w * ch)]
    return positions, ch, layer.size_h, layer.size_w, w_in * ch


def emit_pool(g, node) -> NodeCode:
    a = g.nodes[node]
    op = a["op"]
    ctype, kind = _pool_input(g, node)
    is_max = op.startswith("max")
    if not is_max and kind != "levels":
        raise HwsimError(f"node {node!r}: an average pool of sums is not supported")
    wide = "uint32_t" if ctype == "uint8_t" else "int32_t"     # compare in registers
    positions, ch, rows, cols, row_step = pool_geometry(a)
    arrays, reduce_avg = [], ""
    if not is_max:
        bounds = np.asarray(a["pool_bounds"], dtype=np.int64)
        padded = padded_bounds(bounds)
        name = f"PB_{identifier(node)}"
        reach = rows * cols * len(bounds) + 1
        btype = int_type(np.array([bounds.min(initial=0), bounds.max(initial=0), reach]),
                         signed=True)
        top = np.iinfo(np.dtype(btype.replace("_t", ""))).max
        padded = np.where(padded == INT32_MAX, top, padded)
        arrays.append(constant(name, btype, padded, comment=f"{node}: pool bounds, padded"))
        reduce_avg = (f"typedef {btype} {name}_t;\n"
                      + search_code("s", name, search_steps(len(bounds)), "",
                                    "const uint32_t out"))
    out_type = ctype if is_max else "uint8_t"
    code = pool_function(node, ctype, out_type, wide, "max" if is_max else "avg", positions,
                         ch, rows, cols, row_step, reduce_avg)
    return NodeCode(node, op, function_name(node), code, tuple(arrays), output_type=out_type,
                    output_elements=int(a["outputs"]))


def emit_argmax(g, node) -> NodeCode:
    a = g.nodes[node]
    ctype, _ = _pool_input(g, node)
    classes = a["classes"]
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


def output_value_table(g, entry_bits: int) -> tuple[np.ndarray, int]:
    """Auto-encoder output values as signed fixed point of the table entry width:
    round(value * (2^(bits-1) - 1)), value in [0, 1]."""
    values = np.asarray(g.graph["output_values"], dtype=np.float64)
    one = (1 << (entry_bits - 1)) - 1
    return np.rint(values * one).astype(np.int64), one


def emit_output_table(g, node) -> NodeCode:
    a = g.nodes[node]
    bits = storage_bits(g.graph["table_entry_bits"])
    values, one = output_value_table(g, bits)
    ctype = INT_TYPES[(True, bits)]
    fn = function_name(node)
    name = f"V_{identifier(node)}"
    code = f"""void {fn}(const uint8_t *restrict x, {ctype} *restrict y)
{{
    #pragma GCC unroll 1
    for (uint32_t i = 0; i < {a['outputs']}; i++)
        y[i] = {name}[x[i]];
}}
"""
    array = constant(name, ctype, values, comment=f"{node}: output value of each level, "
                                                  f"fixed point (1.0 = {one})")
    return NodeCode(node, "output_table", fn, code, (array,), output_type=ctype,
                    output_elements=int(a["outputs"]))


def emit_node(g, node, tables: _Tables) -> NodeCode:
    op = g.nodes[node]["op"]
    if op == "input":
        return NodeCode(node, op, output_type="uint8_t",
                        output_elements=int(g.nodes[node]["outputs"]))
    if op == "flatten":
        return NodeCode(node, op)
    emitters = {"lut_dense": emit_dense, "lut_conv1d": emit_conv1d, "lut_conv2d": emit_conv2d,
                "lut_depthwise_conv2d": emit_depthwise}
    if op in emitters:
        return emitters[op](g, node, tables)
    if op == "threshold":
        return emit_threshold(g, node)
    if op in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        return emit_pool(g, node)
    if op == "argmax":
        return emit_argmax(g, node)
    if op == "output_table":
        return emit_output_table(g, node)
    raise HwsimError(f"node {node!r}: code generation does not support op {op!r}")


def emit_lut(g) -> list[NodeCode]:
    from hwsim.graph import execution_order
    tables = _Tables(g)
    return [emit_node(g, node, tables) for node in execution_order(g)]


__all__ = ["emit_lut", "output_value_table", "padded_bounds", "pool_geometry", "search_steps"]
