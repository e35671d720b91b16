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

The weighted layers and their product tables are emitted by
hwsim.machine.codegen.lut_weighted, the threshold, pool, argmax and output-table kernels
by hwsim.machine.codegen.lut_kernels; this module dispatches the graph's nodes to them.
"""
from __future__ import annotations

from hwsim.machine.codegen.lut_kernels import (
    INT32_MAX,
    WEIGHTED,
    emit_add,
    emit_argmax,
    emit_output_table,
    emit_pool,
    emit_threshold,
    output_value_table,
    padded_bounds,
    pool_geometry,
    search_code,
    search_steps,
    storage_bits,
)
from hwsim.machine.codegen.lut_weighted import (
    ProductTables,
    emit_conv1d,
    emit_conv2d,
    emit_dense,
    emit_depthwise,
)
from hwsim.machine.codegen.lut_library import fused_threshold_node, library_node, node_call
from hwsim.ir.lut_kernels import with_kernel
from hwsim.machine.codegen.ops_library import ops_node, uses_ops
from hwsim.machine.codegen.program import NodeCode
from hwsim.ir.ops_kernels import node_ops_call
from hwsim.errors import HwsimError


def emit_node(g, node, tables: ProductTables, library: str = "",
              grouped: dict | None = None, ops: bool = True) -> NodeCode:
    """One node's code; `library`: the lut library build whose kernels weighted layers
    call where it covers them (hwsim.machine.codegen.lut_library), "" for none;
    `grouped`: {node: variant} of the dense layers that call the grouped kernel
    (hwsim.machine.codegen.lut_grouped); with a library, pools, argmax and adds call the
    ops library (hwsim.machine.codegen.ops_library) where it covers them (unless `ops`
    is False)."""
    op = g.nodes[node]["op"].kind
    if op == "input":
        return NodeCode(node, op, output_type="uint8_t",
                        output_elements=int(g.nodes[node]["op"].outputs))
    if op == "flatten":
        return NodeCode(node, op)
    emitters = {"dense": emit_dense, "conv1d": emit_conv1d, "conv2d": emit_conv2d,
                "depthwise_conv2d": emit_depthwise}
    if op in emitters:
        call = node_call(g, node, library) if library else None
        kernel = (grouped or {}).get(node)
        if call is not None and kernel and kernel.startswith("grouped"):
            from hwsim.machine.codegen.lut_grouped import grouped_node, pool_bytes
            calls = {n: k for n, k in grouped.items() if k.startswith("grouped")}
            return grouped_node(g, node, kernel, pool_bytes(g, calls))
        call = with_kernel(call, kernel) if call is not None else None
        return (library_node(g, node, call, tables) if call is not None
                else emitters[op](g, node, tables))
    if op == "threshold":
        sources = list(g.predecessors(node))
        if (library and len(sources) == 1 and g.nodes[sources[0]]["op"].kind in emitters
                and node_call(g, sources[0], library)):
            return fused_threshold_node(g, node)
        if (library and len(sources) == 1 and g.nodes[sources[0]]["op"].kind == "add"
                and ops and uses_ops(library) and node_ops_call(g, sources[0], "lut")):
            return fused_threshold_node(g, node)        # searched in the ops add
        return emit_threshold(g, node)
    if library and ops and uses_ops(library):
        code = ops_node(g, node, "lut")
        if code is not None:
            return code
    if op in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        return emit_pool(g, node)
    if op == "add":
        return emit_add(g, node)
    if op == "argmax":
        return emit_argmax(g, node)
    if op == "output_table":
        return emit_output_table(g, node)
    raise HwsimError(f"node {node!r}: code generation does not support op {op!r}")


def emit_lut(g, library: str = "", grouped=(), ops: bool = True) -> list[NodeCode]:
    """Every node's code; weighted layers call the lut library build `library` where it
    covers them ("" : the per-layer loops everywhere), the dense layers of `grouped`
    ((node, variant) pairs) its grouped kernel."""
    from hwsim.ir.graph import execution_order
    tables = ProductTables(g)
    return [emit_node(g, node, tables, library, dict(grouped), ops)
            for node in execution_order(g)]


__all__ = [
    "INT32_MAX",
    "WEIGHTED",
    "emit_lut",
    "output_value_table",
    "padded_bounds",
    "pool_geometry",
    "search_code",
    "search_steps",
    "storage_bits",
]
