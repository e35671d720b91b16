"""Pool kernels in C, shared by the lut and int8 styles.

Output-stationary over positions, then channels (the innermost loop, one output
per iteration). A window of at most UNROLLED_WINDOW elements is written out in
full, one base pointer per window element and the channel as a shared index, so
every core gets one load per element without address arithmetic (Thumb-1 needs a
register offset for LDRSB, RV32 folds the element offsets into the loads). Larger
windows loop over their rows and columns."""
from __future__ import annotations

from hwsim.ir.lowering import UNROLLED_WINDOW
from hwsim.machine.codegen.c_source import function_name



def window_offsets(rows: int, cols: int, row_step: int, col_step: int) -> list[int]:
    return [r * row_step + c * col_step for r in range(rows) for c in range(cols)]


def pool_function(node: str, in_type: str, out_type: str, wide: str, kind: str,
                  positions: list[tuple[str, str, int, int]], channels: int, rows: int,
                  cols: int, row_step: int, reduce_avg: str = "", sum_type: str = "int32_t"
                  ) -> str:
    """C of one pool node.

    positions: the position loops, outermost first, as (loop variable, pointer name,
    count, pointer step in elements); kind "max" or "avg"; reduce_avg: C statements
    that turn the window sum `s` (of C type `sum_type`) into the output value `out`
    (average pools)."""
    fn = function_name(node)
    lines = [f"void {fn}(const {in_type} *restrict x, {out_type} *restrict y)", "{"]
    indent = "    "
    base = "x"
    for var, name, count, step in positions:
        lines.append(f"{indent}const {in_type} *{name} = {base};")
        lines.append(f"{indent}for (uint32_t {var} = 0; {var} < {count}; {var}++, {name} += {step}) {{")
        base = name
        indent += "    "
    window = rows * cols
    if window <= UNROLLED_WINDOW:
        offsets = window_offsets(rows, cols, row_step, channels)
        for k, off in enumerate(offsets):
            lines.append(f"{indent}const {in_type} *q{k} = {base} + {off};")
        lines.append(f"{indent}for (uint32_t c = 0; c < {channels}; c++) {{")
        body = indent + "    "
        if kind == "max":
            lines.append(f"{body}{wide} m = q0[c];")
            for k in range(1, window):
                lines.append(f"{body}{{ const {wide} v = q{k}[c]; if (v > m) m = v; }}")
            lines.append(f"{body}y[c] = ({out_type})m;")
        else:
            terms = " + ".join(f"q{k}[c]" for k in range(window))
            lines.append(f"{body}const {sum_type} s = {terms};")
            lines += [body + line for line in reduce_avg.strip().splitlines()]
            lines.append(f"{body}y[c] = ({out_type})out;")
        lines.append(f"{indent}}}")
    else:
        lines.append(f"{indent}for (uint32_t c = 0; c < {channels}; c++) {{")
        body = indent + "    "
        lines.append(f"{body}const {in_type} *q = {base} + c;")
        if kind == "max":
            lines.append(f"{body}{wide} m = q[0];")
        else:
            lines.append(f"{body}{sum_type} s = 0;")
        lines.append(f"{body}for (uint32_t r = 0; r < {rows}; r++, q += {row_step}) {{")
        lines.append(f"{body}    for (uint32_t j = 0; j < {cols}; j++) {{")
        if kind == "max":
            lines.append(f"{body}        const {wide} v = q[j * {channels}];")
            lines.append(f"{body}        if (v > m) m = v;")
        else:
            lines.append(f"{body}        s += q[j * {channels}];")
        lines.append(f"{body}    }}")
        lines.append(f"{body}}}")
        if kind == "max":
            lines.append(f"{body}y[c] = ({out_type})m;")
        else:
            lines += [body + line for line in reduce_avg.strip().splitlines()]
            lines.append(f"{body}y[c] = ({out_type})out;")
        lines.append(f"{indent}}}")
    lines.append(f"{indent}y += {channels};")
    for _ in positions:
        indent = indent[:-4]
        lines.append(f"{indent}}}")
    lines.append("}")
    return "\n".join(lines) + "\n"
