"""The float32 style in C: the same network in single-precision floats
(hwsim.machine.codegen.float32_reference says which numbers), compiled soft-float
(-mfloat-abi=soft, libgcc's __aeabi_f* / __addsf3 ... routines) on every target: the
float operations cost what those routines execute, which the device's `soft_float`
cycles describe on a core without an FPU.

Data (const, flash): weights unit-major as float (the fan-in of output unit o
contiguous; a depthwise channel's taps likewise), biases; 'same'-padding window tables
as the int8 style's (offset, first tap, taps per position).

Kernels (one C function per graph node, output-stationary like the cost model,
hwsim.cost.float32): per output unit acc = 0, acc += w[i] * x[i] over its taps (one
float multiply and one float add each), then acc += bias; a threshold is a function
the unit loop calls once per unit with acc and the output slot, storing tanh(acc)
(hw_tanhf: 1 - 2 / (exp(2x) + 1), exp by range reduction and a degree-6 polynomial,
no libm; its instructions count for the threshold node). Pools compare (max) or sum
and multiply by 1 / window (average) floats; an add sums its inputs; argmax compares
floats. An auto-encoder's output is its last tanh values (no output table).
"""
from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order
from hwsim.ir.lowering import threshold_consumer
from hwsim.machine.codegen.c_source import CArray, c_extern, constant, function_name, \
    identifier, int_type
from hwsim.machine.codegen.float32_reference import layer_values
from hwsim.machine.codegen.geometry import axis_windows, position_tables
from hwsim.machine.codegen.lut_kernels import argmax_code, pool_geometry
from hwsim.machine.codegen.pools import pool_function
from hwsim.machine.codegen.program import NodeCode

F = "float"
PRELUDE = """/* float32 helpers (soft-float routines of libgcc where the core has no FPU). */
typedef union { float f; uint32_t u; } hw_float_bits;

/* e^x for |x| <= 18: x = k ln 2 + r, |r| <= ln 2 / 2 (Cody-Waite), e^r by a degree-6
   polynomial (error < 2e-7), 2^k added to the exponent bits. */
__attribute__((noinline)) static float hw_expf(float x)
{
    const float t = x * 1.44269504f;
    const int32_t k = (int32_t)(t < 0.0f ? t - 0.5f : t + 0.5f);
    const float kf = (float)k;
    const float r = (x - kf * 0.693145752f) - kf * 1.42860677e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    hw_float_bits b;
    b.f = p;
    b.u += (uint32_t)k << 23;
    return b.f;
}

/* tanh(x) = 1 - 2 / (e^2x + 1); +-1 beyond |x| = 9 (float32 rounds it there). */
__attribute__((noinline)) static float hw_tanhf(float x)
{
    if (x > 9.0f)
        return 1.0f;
    if (x < -9.0f)
        return -1.0f;
    return 1.0f - 2.0f / (hw_expf(2.0f * x) + 1.0f);
}
"""


def float_literal(value: float) -> str:
    """A C float literal that round-trips float32 (%.9g), with a decimal point or an
    exponent so the `f` suffix is valid ("1.f", not "1f")."""
    text = f"{float(value):.9g}"
    return f"{text}f" if any(c in text for c in ".e") else f"{text}.f"


def _float_constant(name: str, values, comment: str) -> CArray:
    """A const float array, every value written exactly (%.9g round-trips float32)."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if not len(flat):
        raise HwsimError(f"array {name!r} would be empty")
    lines = [", ".join(float_literal(v) for v in flat[i:i + 8]) for i in range(0, len(flat), 8)]
    definition = (f"/* {comment} */\nconst float {name}[{len(flat)}] = {{\n    "
                  + ",\n    ".join(lines) + "\n};\n")
    return CArray(name, definition, c_extern(name, F, len(flat)), 4 * len(flat))


def _tables(ident: str, tables: dict[str, np.ndarray]) -> list[CArray]:
    return [constant(f"{tag}_{ident}", int_type(v, signed=False), v)
            for tag, v in tables.items()]


def _dot(x: str, w: str, n: str, indent: str, step: int = 1) -> str:
    """acc += w[i] * x[i * step] over n taps (one float multiply and add each)."""
    read = f"{x}[i]" if step == 1 else f"*{x}"
    advance = "" if step == 1 else f", {x} += {step}"
    return (f"{indent}#pragma GCC unroll 1\n"
            f"{indent}for (uint32_t i = 0; i < {n}; i++{advance})\n"
            f"{indent}    acc += {w}[i] * {read};\n")


class _Emitter:
    def __init__(self, g):
        self.g = g

    def _finish(self, node: str) -> str:
        fused = threshold_consumer(self.g, node)
        return f"{function_name(fused)}(acc, y++);" if fused else "*y++ = acc;"

    def _code(self, node: str, code: str, arrays) -> NodeCode:
        a = self.g.nodes[node]["op"]
        fused = threshold_consumer(self.g, node)
        if fused and self.g.out_degree(node) != 1:
            raise HwsimError(f"node {node!r}: several threshold consumers are not supported")
        return NodeCode(node, a.kind, function_name(node), code, tuple(arrays),
                        writes_into=fused or "", output_type="" if fused else F,
                        output_elements=0 if fused else int(a.outputs))

    def _weights(self, node: str) -> list[CArray]:
        ident = identifier(node)
        w, b = layer_values(self.g, node)
        return [_float_constant(f"W_{ident}", w.T, f"{node}: float32 weights, unit-major"),
                _float_constant(f"B_{ident}", b, f"{node}: float32 biases")]

    def dense(self, node: str) -> NodeCode:
        layer = self.g.nodes[node]["op"].layer
        fan, units = layer.in_features, layer.out_features
        ident = identifier(node)
        code = f"""void {function_name(node)}(const float *restrict x, float *restrict y)
{{
    const float *w = W_{ident};
    for (uint32_t o = 0; o < {units}; o++, w += {fan}) {{
        float acc = 0.0f;
{_dot('x', 'w', str(fan), '        ')}        acc += B_{ident}[o];
        {self._finish(node)}
    }}
}}
"""
        return self._code(node, code, self._weights(node))

    def conv1d(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        layer = a.layer
        length, cin = a.input_shape
        cout, fan = layer.out_channels, layer.fan_in
        ident = identifier(node)
        arrays = self._weights(node)
        windows = axis_windows(length, layer.kernel, layer.stride, layer.padding)
        unit = f"""        for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
            float acc = 0.0f;
{_dot('xp', 'w', 'N', '            ')}            acc += B_{ident}[o];
            {self._finish(node)}
        }}
"""
        if layer.padding == "valid":
            body = f"""    const float *xp = x;
    for (uint32_t p = 0; p < {len(windows)}; p++, xp += {layer.stride * cin}) {{
        const float *w = W_{ident};
{unit.replace('N', str(fan))}    }}
"""
        else:
            arrays += _tables(ident, {"PX": np.array([w.start * cin for w in windows]),
                                      "PW": np.array([w.first_tap * cin for w in windows]),
                                      "PN": np.array([w.taps * cin for w in windows])})
            body = f"""    for (uint32_t p = 0; p < {len(windows)}; p++) {{
        const float *xp = x + PX_{ident}[p];
        const uint32_t n = PN_{ident}[p];
        const float *w = W_{ident} + PW_{ident}[p];
{unit.replace('N', 'n')}    }}
"""
        code = (f"void {function_name(node)}(const float *restrict x, float *restrict y)\n"
                f"{{\n{body}}}\n")
        return self._code(node, code, arrays)

    def conv2d(self, node: str, depthwise: bool = False) -> NodeCode:
        a = self.g.nodes[node]["op"]
        layer = a.layer
        h, w_in, cin = a.input_shape
        ident = identifier(node)
        arrays = self._weights(node)
        rows = axis_windows(h, layer.kernel_h, layer.stride_h, layer.padding)
        cols = axis_windows(w_in, layer.kernel_w, layer.stride_w, layer.padding)
        units = layer.channels if depthwise else layer.out_channels
        per_tap = 1 if depthwise else cin
        step = cin if depthwise else 1
        indent = " " * 20
        inner = (f"{indent}const float *xt = xr;\n" + _dot("xt", "wr", "COLS", indent, step)
                 if depthwise else _dot("xr", "wr", "COLS", indent))
        unit = f"""            for (uint32_t c = 0; c < {units}; c++, w += {layer.fan_in}) {{
                float acc = 0.0f;
                const float *xr = {'xc + c' if depthwise else 'xc'};
                const float *wr = w;
                #pragma GCC unroll 1
                for (uint32_t r = 0; r < ROWS; r++, xr += {w_in * cin}, wr += {layer.kernel_w * per_tap}) {{
{inner}                }}
                acc += B_{ident}[c];
                {self._finish(node)}
            }}
"""
        if layer.padding == "valid":
            body = f"""    const float *xrow = x;
    for (uint32_t py = 0; py < {len(rows)}; py++, xrow += {layer.stride_h * w_in * cin}) {{
        const float *xc = xrow;
        for (uint32_t px = 0; px < {len(cols)}; px++, xc += {layer.stride_w * cin}) {{
            const float *w = W_{ident};
{unit.replace('ROWS', str(layer.kernel_h)).replace('COLS', str(layer.kernel_w * per_tap))}        }}
    }}
"""
        else:
            arrays += _tables(ident, position_tables(rows, cols, w_in, cin, layer.kernel_w,
                                                     per_tap))
            body = f"""    for (uint32_t py = 0; py < {len(rows)}; py++) {{
        const float *xrow = x + RX_{ident}[py];
        const uint32_t nrows = RN_{ident}[py];
        for (uint32_t px = 0; px < {len(cols)}; px++) {{
            const float *xc = xrow + CX_{ident}[px];
            const uint32_t ncols = CN_{ident}[px];
            const float *w = W_{ident} + RW_{ident}[py] + CW_{ident}[px];
{unit.replace('ROWS', 'nrows').replace('COLS', 'ncols')}        }}
    }}
"""
        code = (f"void {function_name(node)}(const float *restrict x, float *restrict y)\n"
                f"{{\n{body}}}\n")
        return self._code(node, code, arrays)

    def threshold(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        (source,) = list(self.g.predecessors(node))
        if threshold_consumer(self.g, source) != node:
            raise HwsimError(f"node {node!r}: the float32 code calls a threshold from the "
                             "weighted layer or add before it")
        code = (f"void {function_name(node)}(float acc, float *restrict y)\n{{\n"
                f"    *y = hw_tanhf(acc);\n}}\n")
        return NodeCode(node, "threshold", function_name(node), code, (),
                        called_per_unit_by=function_name(source), output_type=F,
                        output_elements=int(a.units))

    def pool(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        positions, ch, rows, cols, row_step = pool_geometry(a)
        kind = "max" if a.kind.startswith("max") else "avg"
        reduce_avg = (f"const float out = s * {float_literal(1.0 / (rows * cols))};"
                      if kind == "avg" else "")
        code = pool_function(node, F, F, F, kind, positions, ch, rows, cols, row_step,
                             reduce_avg, sum_type=F)
        return self._code(node, code, ())

    def add(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        sources = list(self.g.predecessors(node))
        params = ", ".join(f"const float *restrict x{k}" for k in range(len(sources)))
        terms = " + ".join(f"x{k}[i]" for k in range(len(sources)))
        fused = threshold_consumer(self.g, node)
        store = f"{function_name(fused)}(acc, y + i);" if fused else "y[i] = acc;"
        code = (f"void {function_name(node)}({params}, float *restrict y)\n{{\n"
                f"    for (uint32_t i = 0; i < {a.outputs}; i++) {{\n"
                f"        const float acc = {terms};\n        {store}\n    }}\n}}\n")
        return self._code(node, code, ())

    def node(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        op = a.kind
        if op == "input":
            return NodeCode(node, op, output_type=F, output_elements=int(a.outputs))
        if op in ("flatten", "output_table"):
            return NodeCode(node, op)           # alias: the values are the output
        emitters = {"dense": self.dense, "conv1d": self.conv1d, "conv2d": self.conv2d,
                    "depthwise_conv2d": lambda n: self.conv2d(n, depthwise=True),
                    "threshold": self.threshold, "add": self.add,
                    "argmax": lambda n: argmax_code(n, F, a.classes)}
        if op in emitters:
            return emitters[op](node)
        if op.startswith(("max_pool", "avg_pool")):
            return self.pool(node)
        raise HwsimError(f"node {node!r}: the float32 style does not support op {op!r}")


def emit_float32(g) -> tuple[list[NodeCode], list[str]]:
    """The float32 network's node functions and the notes validation reports."""
    emitter = _Emitter(g)
    codes = [emitter.node(node) for node in execution_order(g)]
    notes = ["float32 weights are the artifact's discretized values, tanh activations, "
             "inputs q / (levels - 1) (docs/codegen.md); compiled soft-float"]
    return codes, notes
