"""The lut style's weighted layers in C (dense, conv1d, conv2d, depthwise conv2d)
and their product tables; the layout and the kernel are described in
hwsim.machine.codegen.lut.

For each output unit, acc = T[bias row, b[o]] + sum over its inputs of
T[(level << log2 K) + w], the fan-in of a unit contiguous in its weight indices;
a fused threshold (hwsim.machine.codegen.lut_kernels) is called once per unit on acc.
'same' padding clips the windows to the input with per-position tables (offset,
first tap, taps)."""
from __future__ import annotations

import math

import numpy as np

from hwsim.ir.lowering import threshold_consumer
from hwsim.machine.codegen.c_source import INT_TYPES, constant, function_name, identifier
from hwsim.machine.codegen.geometry import axis_windows
from hwsim.machine.codegen.lut_kernels import storage_bits
from hwsim.machine.codegen.program import NodeCode
from hwsim.errors import HwsimError


class ProductTables:
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


def _weighted_common(g, node, tables: ProductTables):
    a = g.nodes[node]["op"]
    tname, tarray, log_k, bias_row = tables.table(a.table)
    ident = identifier(node)
    k = a.table_shape[1]
    wtype = _index_type(k)
    w = np.asarray(a.weight_index, dtype=np.int64).T          # (units, taps)
    b = np.asarray(a.bias_index, dtype=np.int64)
    arrays = [tarray, constant(f"W_{ident}", wtype, w, comment=f"{node}: weight indices, "
                               f"unit-major [{w.shape[0]}][{w.shape[1]}]"),
              constant(f"B_{ident}", wtype, b, comment=f"{node}: bias indices")]
    fused = threshold_consumer(g, node)
    if fused and g.out_degree(node) != 1:
        raise HwsimError(f"node {node!r}: several threshold consumers are not supported")
    return {"T": tname, "W": f"W_{ident}", "B": f"B_{ident}", "LOGK": log_k,
            "BIAS": bias_row << log_k, "arrays": arrays, "wtype": wtype, "fused": fused,
            "out_type": "uint8_t" if fused else "int32_t", "layer": a.layer, "attrs": a}


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
    return NodeCode(node, a.kind, function_name(node), code, tuple(c["arrays"]),
                    writes_into=c["fused"] or "",
                    output_type="" if c["fused"] else "int32_t",
                    output_elements=0 if c["fused"] else int(a.outputs))


def emit_conv1d(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer = c["layer"]
    length, cin = c["attrs"].input_shape
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
    h, w, _ = a.input_shape
    rows = axis_windows(h, layer.kernel_h, layer.stride_h, layer.padding)
    cols = axis_windows(w, layer.kernel_w, layer.stride_w, layer.padding)
    return rows, cols


def emit_conv2d(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer, a = c["layer"], c["attrs"]
    _, w_in, cin = a.input_shape
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
        body = _clipped_windows_body(c, rows, cols, rn, cn, unit)
    return _weighted_code(node, c, head + body, None)


def _clipped_windows_body(c, rows, cols, rn, cn, unit: str) -> str:
    """The loop over output positions of a 'same'-padded 2-D kernel: per row and
    column of windows, the first input, the weight offset and the tap count come
    from the axis tables, so taps on the padding are never visited."""
    return f"""    for (uint32_t py = 0; py < {len(rows)}; py++) {{
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


def emit_depthwise(g, node, tables) -> NodeCode:
    c = _weighted_common(g, node, tables)
    layer, a = c["layer"], c["attrs"]
    _, w_in, ch = a.input_shape
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
        body = _clipped_windows_body(c, rows, cols, rn, cn, unit)
    return _weighted_code(node, c, head + body, None)
