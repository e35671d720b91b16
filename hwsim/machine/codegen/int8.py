"""The int8 style in C: the multiply-accumulate baseline on the same shapes, and its
bit-exact numpy reference (`int8_forward`).

Quantization, derived deterministically from the graph (no data):
- weights: the layer's discretized values, w = T[bias row, w_index] / 2^s (the bias
  row of a product table is the codebook times 2^s), symmetric per layer:
  s_w = max|w| / 127, w_q = round(w / s_w) in [-127, 127];
- activations: symmetric int8, zero point 0. The input (values in [0, 1], level
  q -> q / (levels - 1)) and every thresholded layer's output (hard tanh, [-1, 1])
  have scale 1/127; a layer without activation gets scale bound / 127, bound =
  max over its units of sum |w| * max|x| + |b| (it can never clip); pools keep
  their input's scale;
- bias: b_q = round(b / (s_w s_x)) - 128 * sum(w_q of the unit's taps);
- requantization (TFLite Micro MultiplyByQuantizedMultiplier): M = s_w s_x / s_out
  as a Q31 multiplier and a right shift (hwsim.ir.int8_scales), rounding as gemmlowp;
  then the clamp
  (the activation: [-127, 127] after a threshold, else [-128, 127]).

Kernel: acc = b_q + sum (x + 128) * w_q. On RV32I (no multiplier) the products are
sign-magnitude: __mulsi3(x + 128, |w_q|) and __muldi3(|acc|, M), so each routine
loops over a value the graph fixes (SOFT_MULTIPLY). On Cortex-M4 the
inner loop is CMSIS-NN's: four int8 per word, SXTAB16 (with the +128 folded in)
/ SXTB16 and two SMLADs per 4 MACs; a fan-in tail runs scalar. 'same' padding:
windows are clipped as in the lut style, and the bias of a clipped window drops
the -128 * w terms of the skipped taps (one bias table per window class).
Average pools: round(sum / N) as (sum * R + 2^15) >> 16, R = round(2^16 / N).
The auto-encoder's output is the last layer's int8 tensor (value = (q/127 + 1)/2).

Longer than 300 lines: the int8 C emitters and the quantization they share must change
together with their numpy reference to stay bit-exact.
"""
from __future__ import annotations

import numpy as np

from hwsim.machine.codegen.c_source import constant, function_name, identifier, int_type
from hwsim.machine.codegen.geometry import axis_windows, position_tables
from hwsim.machine.codegen.int8_reference import (
    OFFSET,
    POOL_SHIFT,
    Int8Plan,
    int8_forward,
    quantize_input,
)
from hwsim.machine.codegen.int8_library import library_add, library_node
from hwsim.ir.int8_scales import ADD_LEFT_SHIFT
from hwsim.ir.int8_kernels import REFERENCE
from hwsim.machine.codegen.lut_kernels import argmax_code
from hwsim.machine.codegen.ops_library import ops_node, uses_ops
from hwsim.machine.codegen.pools import pool_function
from hwsim.machine.codegen.program import NodeCode
from hwsim.machine.codegen.targets import Target
from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order
from hwsim.ir.ops import WEIGHTED

__all__ = ["OFFSET", "Int8Plan", "emit_int8", "int8_forward", "prelude", "quantize_input"]


# ----------------------------------------------------------------------------- C

# Without a multiplier (RV32I/E): libgcc's __mulsi3(a, b) loops once per significant bit of
# b (at least once) and __muldi3 once per significant bit of its second operand's low word
# (hwsim.machine.soft_multiply_characterize). So each product passes a magnitude known
# from the graph there: a MAC the weight's |w| (<= 7 bits; the offset activation x + 128
# is the first operand), the requantization the Q31 multiplier with |acc| as the other
# factor (both high words 0: no __mulsi3 call inside); the sign is applied after, without
# a branch. The executed instructions then follow the weights and the multipliers, not
# the data.
SOFT_MULTIPLY = """int __mulsi3(int a, int b);   /* libgcc shift-and-add multiply */
static inline __attribute__((always_inline)) int32_t hw_mul(int32_t w, int32_t x)
{
    const int32_t sign = w >> 31;
    const int32_t product = __mulsi3(x, (w ^ sign) - sign);
    return (product ^ sign) - sign;
}
#define HW_MUL(w, x) hw_mul((w), (x))

/* The residual add's requantizations (hw_requantize, below), one copy for the three. */
static int32_t hw_requantize_call(int32_t acc, int32_t multiplier, int left, int right);

static inline __attribute__((always_inline)) int64_t hw_soft_product(uint32_t a, int32_t multiplier)
{
    const int32_t sign = (int32_t)a >> 31;
    const uint64_t magnitude = (uint64_t)((a ^ (uint32_t)sign) - (uint32_t)sign)
        * (uint32_t)multiplier;
    const int64_t wide = (int64_t)sign;
    return (int64_t)(magnitude ^ (uint64_t)wide) - wide;
}
"""


REQUANTIZE_CALL = """static __attribute__((noipa, unused))
int32_t hw_requantize_call(int32_t acc, int32_t multiplier, int left, int right)
{
    return hw_requantize(acc, multiplier, left, right);
}

"""


def prelude(target: Target) -> str:
    """Helpers shared by the int8 node functions (inlined into each)."""
    lines = ["/* int8 helpers: TFLite Micro MultiplyByQuantizedMultiplier (gemmlowp rounding). */"]
    if not target.has_multiply:
        lines.append(SOFT_MULTIPLY)
    else:
        lines.append("#define HW_MUL(w, x) ((w) * (x))")
    if target.dsp:
        lines.append("#include <arm_acle.h>")
        lines.append("typedef uint32_t __attribute__((aligned(1), may_alias)) hw_u32_unaligned;")
        lines.append("""static inline __attribute__((always_inline)) int32_t hw_sxtab16_ror8(int32_t a, uint32_t b)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline __attribute__((always_inline)) int32_t hw_sxtb16_ror8(uint32_t b)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(b));
    return r;
}
""")
    product = ("hw_soft_product((uint32_t)acc << left, multiplier)" if not target.has_multiply
               else "(int64_t)(int32_t)((uint32_t)acc << left) * multiplier")
    lines.append("""static inline __attribute__((always_inline))
int32_t hw_requantize(int32_t acc, int32_t multiplier, int left, int right)
{
    const int64_t ab = PRODUCT;
    const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    const int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    const int32_t mask = (int32_t)((1u << right) - 1);
    const int32_t remainder = high & mask;
    const int32_t threshold = (mask >> 1) + (high < 0);
    return (high >> right) + (remainder > threshold);
}

HW_REQUANTIZE_CALL
static inline __attribute__((always_inline))
int8_t hw_clamp(int32_t v, int32_t low, int32_t high)
{
    if (v < low) v = low;
    if (v > high) v = high;
    return (int8_t)v;
}
""".replace("PRODUCT", product).replace("HW_REQUANTIZE_CALL\n", "" if target.has_multiply else
                                          REQUANTIZE_CALL))
    return "\n".join(lines) + "\n"


def _dot_scalar(x: str, w: str, n: str, indent: str) -> str:
    return (f"{indent}#pragma GCC unroll 1\n"
            f"{indent}for (uint32_t i = 0; i < {n}; i++)\n"
            f"{indent}    acc += HW_MUL({w}[i], {x}[i] + {OFFSET});\n")


def _dot_simd(x: str, w: str, n: str, indent: str) -> str:
    """CMSIS-NN style: four int8 per word, two SMLAD per four MACs, scalar tail."""
    return f"""{indent}{{
{indent}    const int8_t *xs = {x};
{indent}    const int8_t *ws = {w};
{indent}    uint32_t i = {n};
{indent}    #pragma GCC unroll 1
{indent}    for (; i >= 4; i -= 4, xs += 4, ws += 4) {{
{indent}        const uint32_t xv = *(const hw_u32_unaligned *)xs;
{indent}        const uint32_t wv = *(const hw_u32_unaligned *)ws;
{indent}        const int16x2_t x02 = __sxtab16(0x00800080, xv);
{indent}        const int16x2_t x13 = hw_sxtab16_ror8(0x00800080, xv);
{indent}        const int16x2_t w02 = __sxtb16(wv);
{indent}        const int16x2_t w13 = hw_sxtb16_ror8(wv);
{indent}        acc = __smlad(x02, w02, acc);
{indent}        acc = __smlad(x13, w13, acc);
{indent}    }}
{indent}    #pragma GCC unroll 1
{indent}    for (uint32_t t = 0; t < i; t++)
{indent}        acc += ws[t] * (xs[t] + {OFFSET});
{indent}}}
"""


class _Emitter:
    def __init__(self, g, target: Target, kernels: dict[str, str | None], ops: bool = True):
        self.g, self.target, self.kernels = g, target, kernels
        self.ops = ops and uses_ops(target.name)
        self.plan = Int8Plan(g)

    def dot(self, x: str, w: str, n: str, indent: str, strided: bool = False) -> str:
        if self.target.dsp and not strided:
            return _dot_simd(x, w, n, indent)
        return _dot_scalar(x, w, n, indent)

    def finish(self, node: str) -> str:
        p = self.plan.params[node]
        left, right = max(p["shift"], 0), max(-p["shift"], 0)
        return (f"*y++ = hw_clamp(hw_requantize(acc, Q_{identifier(node)}[0], {left}, {right}), "
                f"{p['low']}, {p['high']});")

    def arrays(self, node: str, w_unit_major: np.ndarray) -> list:
        ident = identifier(node)
        p = self.plan.params[node]
        return [constant(f"W_{ident}", "int8_t", w_unit_major,
                         comment=f"{node}: int8 weights, unit-major"),
                constant(f"BQ_{ident}", "int32_t", p["bias"],
                         comment=f"{node}: int32 biases (- 128 x sum w folded in)"
                                 + (", one row per window class" if len(p["bias"]) > 1 else "")),
                constant(f"Q_{ident}", "int32_t", [p["multiplier"], p["shift"]],
                         comment=f"{node}: requantization multiplier (Q31) and shift")]

    # -- weighted layers
    def dense(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        layer = a.layer
        fan, units = layer.in_features, layer.out_features
        ident = identifier(node)
        w = self.plan.params[node]["w"].T
        code = f"""void {function_name(node)}(const int8_t *restrict x, int8_t *restrict y)
{{
    const int8_t *w = W_{ident};
    for (uint32_t o = 0; o < {units}; o++, w += {fan}) {{
        int32_t acc = BQ_{ident}[o];
{self.dot('x', 'w', str(fan), '        ')}        {self.finish(node)}
    }}
}}
"""
        return self._code(node, code, self.arrays(node, w))

    def _code(self, node, code, arrays) -> NodeCode:
        a = self.g.nodes[node]["op"]
        return NodeCode(node, a.kind, function_name(node), code, tuple(arrays),
                        output_type="int8_t", output_elements=int(a.outputs))

    def _bias_tables(self, node: str, ident: str, tag: str, classes_per_position, stride):
        values = np.asarray(classes_per_position, dtype=np.int64) * stride
        name = f"{tag}B_{ident}"
        return name, constant(name, int_type(values, signed=False), values)

    def conv1d(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        layer = a.layer
        length, cin = a.input_shape
        cout, fan = layer.out_channels, layer.fan_in
        ident = identifier(node)
        p = self.plan.params[node]
        arrays = self.arrays(node, p["w"].T)
        windows = axis_windows(length, layer.kernel, layer.stride, layer.padding)
        fn = function_name(node)
        if layer.padding == "valid":
            body = f"""    const int8_t *xp = x;
    for (uint32_t p = 0; p < {len(windows)}; p++, xp += {layer.stride * cin}) {{
        const int8_t *w = W_{ident};
        for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
            int32_t acc = BQ_{ident}[o];
{self.dot('xp', 'w', str(fan), '            ')}            {self.finish(node)}
        }}
    }}
"""
        else:
            xs = np.array([w.start * cin for w in windows])
            ws = np.array([w.first_tap * cin for w in windows])
            ns = np.array([w.taps * cin for w in windows])
            bs = p["bias_class"] * cout
            tables = []
            for tag, v in (("PX", xs), ("PW", ws), ("PN", ns), ("PB", bs)):
                tables.append(constant(f"{tag}_{ident}", int_type(v, signed=False), v))
            arrays += tables
            body = f"""    for (uint32_t p = 0; p < {len(windows)}; p++) {{
        const int8_t *xp = x + PX_{ident}[p];
        const uint32_t n = PN_{ident}[p];
        const int32_t *bias = BQ_{ident} + PB_{ident}[p];
        const int8_t *w = W_{ident} + PW_{ident}[p];
        for (uint32_t o = 0; o < {cout}; o++, w += {fan}) {{
            int32_t acc = bias[o];
{self.dot('xp', 'w', 'n', '            ')}            {self.finish(node)}
        }}
    }}
"""
        code = f"void {fn}(const int8_t *restrict x, int8_t *restrict y)\n{{\n{body}}}\n"
        return self._code(node, code, arrays)

    def conv2d(self, node: str, depthwise: bool = False) -> NodeCode:
        a = self.g.nodes[node]["op"]
        layer = a.layer
        h, w_in, cin = a.input_shape
        ident = identifier(node)
        p = self.plan.params[node]
        arrays = self.arrays(node, p["w"].T)
        rows = axis_windows(h, layer.kernel_h, layer.stride_h, layer.padding)
        cols = axis_windows(w_in, layer.kernel_w, layer.stride_w, layer.padding)
        units = layer.channels if depthwise else layer.out_channels
        fan = layer.fan_in
        per_tap = 1 if depthwise else cin
        if depthwise:
            inner = f"""                #pragma GCC unroll 1
                for (uint32_t r = 0; r < ROWS; r++, xr += {w_in * cin}, wr += {layer.kernel_w}) {{
                    const int8_t *xt = xr;
                    #pragma GCC unroll 1
                    for (uint32_t j = 0; j < COLS; j++, xt += {cin})
                        acc += HW_MUL(wr[j], *xt + {OFFSET});
                }}
"""
            start = "xc + c"
        else:
            inner = f"""                #pragma GCC unroll 1
                for (uint32_t r = 0; r < ROWS; r++, xr += {w_in * cin}, wr += {layer.kernel_w * cin}) {{
{self.dot('xr', 'wr', 'COLS', '                    ')}                }}
"""
            start = "xc"
        unit = f"""            for (uint32_t c = 0; c < {units}; c++, w += {fan}) {{
                int32_t acc = bias[c];
                const int8_t *xr = {start};
                const int8_t *wr = w;
{inner}                {self.finish(node)}
            }}
"""
        fn = function_name(node)
        if layer.padding == "valid":
            body = f"""    const int8_t *xrow = x;
    const int32_t *bias = BQ_{ident};
    for (uint32_t py = 0; py < {len(rows)}; py++, xrow += {layer.stride_h * w_in * cin}) {{
        const int8_t *xc = xrow;
        for (uint32_t px = 0; px < {len(cols)}; px++, xc += {layer.stride_w * cin}) {{
            const int8_t *w = W_{ident};
{unit.replace('ROWS', str(layer.kernel_h)).replace('COLS', str(layer.kernel_w * per_tap))}        }}
    }}
"""
        else:
            position_class = p["bias_class"].reshape(len(rows), len(cols))
            tables = {**position_tables(rows, cols, w_in, cin, layer.kernel_w, per_tap),
                      "PB": position_class.reshape(-1) * units}
            for tag, v in tables.items():
                arrays.append(constant(f"{tag}_{ident}", int_type(v, signed=False), v))
            body = f"""    for (uint32_t py = 0; py < {len(rows)}; py++) {{
        const int8_t *xrow = x + RX_{ident}[py];
        const uint32_t nrows = RN_{ident}[py];
        for (uint32_t px = 0; px < {len(cols)}; px++) {{
            const int8_t *xc = xrow + CX_{ident}[px];
            const uint32_t ncols = CN_{ident}[px];
            const int32_t *bias = BQ_{ident} + PB_{ident}[py * {len(cols)} + px];
            const int8_t *w = W_{ident} + RW_{ident}[py] + CW_{ident}[px];
{unit.replace('ROWS', 'nrows').replace('COLS', 'ncols')}        }}
    }}
"""
        code = f"void {fn}(const int8_t *restrict x, int8_t *restrict y)\n{{\n{body}}}\n"
        return self._code(node, code, arrays)

    # -- the rest
    def pool(self, node: str) -> NodeCode:
        from hwsim.machine.codegen.lut import pool_geometry
        a = self.g.nodes[node]["op"]
        positions, ch, rows, cols, row_step = pool_geometry(a)
        kind = "max" if a.kind.startswith("max") else "avg"
        reduce_avg = ""
        if kind == "avg":
            r = self.plan.pool_reciprocal(rows * cols)
            reduce_avg = (f"const int32_t out = hw_clamp((s * {r} + "
                          f"{1 << (POOL_SHIFT - 1)}) >> {POOL_SHIFT}, -128, 127);")
        code = pool_function(node, "int8_t", "int8_t", "int32_t", kind, positions, ch, rows,
                             cols, row_step, reduce_avg)
        return self._code(node, code, [])

    def add(self, node: str) -> NodeCode:
        """The residual add as a plain loop (targets without a multiplier): TFLite's int8
        ADD as the library's hwsim_add_s8 computes it (bit-exact: the same gemmlowp
        rounding), but every product sign-magnitude (hw_requantize, SOFT_MULTIPLY), so
        its __muldi3 loops over the constant multipliers and not over the data; the three
        requantizations share one copy (hw_requantize_call), as flash is tight there."""
        a = self.g.nodes[node]["op"]
        p = self.plan.params[node]
        terms = []
        for k, (m, shift) in enumerate(zip(p["multiplier"], p["shift"])):
            terms.append((int(m), max(int(shift), 0), max(-int(shift), 0)))
        (m0, l0, r0), (m1, l1, r1), (mo, lo, ro) = terms
        code = f"""void {function_name(node)}(const int8_t *restrict x0, const int8_t *restrict x1, int8_t *restrict y)
{{
    for (uint32_t i = 0; i < {int(a.outputs)}; i++) {{
        const int32_t a = (int32_t)((uint32_t)x0[i] << {ADD_LEFT_SHIFT});
        const int32_t b = (int32_t)((uint32_t)x1[i] << {ADD_LEFT_SHIFT});
        const int32_t sum = hw_requantize_call(a, {m0}, {l0}, {r0})
                            + hw_requantize_call(b, {m1}, {l1}, {r1});
        y[i] = hw_clamp(hw_requantize_call(sum, {mo}, {lo}, {ro}), {p['low']}, {p['high']});
    }}
}}
"""
        return self._code(node, code, [])

    def argmax(self, node: str) -> NodeCode:
        return argmax_code(node, "int8_t", self.g.nodes[node]["op"].classes)

    def node(self, node: str) -> NodeCode:
        a = self.g.nodes[node]["op"]
        op = a.kind
        if op == "input":
            return NodeCode(node, op, output_type="int8_t", output_elements=int(a.outputs))
        if op in ("flatten", "threshold", "output_table"):
            return NodeCode(node, op)            # alias: no code (threshold: the clamp)
        if op in WEIGHTED and self.kernels.get(node, REFERENCE) != REFERENCE:
            return library_node(self.g, node, self.plan, self.kernels[node])
        if op == "dense":
            return self.dense(node)
        if op == "conv1d":
            return self.conv1d(node)
        if op == "conv2d":
            return self.conv2d(node)
        if op == "depthwise_conv2d":
            return self.conv2d(node, depthwise=True)
        if op.startswith(("max_pool", "avg_pool")) or op == "argmax":
            code = ops_node(self.g, node, "int8") if self.ops else None
            if code is not None:
                return code
        if op.startswith(("max_pool", "avg_pool")):
            return self.pool(node)
        if op == "argmax":
            return self.argmax(node)
        if op == "add":
            if not self.target.has_multiply:
                return self.add(node)
            return library_add(self.g, node, self.plan)
        raise HwsimError(f"node {node!r}: the int8 style does not support op {op!r}")


def emit_int8(g, target: Target, kernels: dict[str, str | None], ops: bool = True
              ) -> tuple[list[NodeCode], list[str]]:
    """The int8 network's node functions: each weighted layer as a call into the int8
    kernel library (hwsim.machine.codegen.int8_library) by its entry in `kernels` (a
    library kernel, None for the preferred one), or as the plain loops here ("reference")."""
    emitter = _Emitter(g, target, kernels, ops)
    codes = [emitter.node(node) for node in execution_order(g)]
    notes = [("int8 weights and activations are derived from the artifact by symmetric "
              "per-layer quantization (docs/codegen.md); outputs differ from the lut style")]
    called = sum(k != REFERENCE for k in kernels.values())
    notes.append(f"int8 weighted layers: {called} of {len(kernels)} call the int8 kernel "
                 "library (CMSIS-NN class), the others are plain C loops (reference)")
    return codes, notes
