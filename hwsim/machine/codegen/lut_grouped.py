"""A lut dense layer as one call of the grouped dense kernel (hwsim_lut_grouped_dense,
hwsim/machine/kernels/lut/lut_grouped.c) where the cost model chose it
(hwsim.cost.lut_choice; handed over as `lut_grouped`, (node, variant) pairs).

Stored per layer (hwsim.ir.lut_grouped.grouped_layout): the combined weight indices
(one byte per unit and group, blocked, word-aligned), the int32 bias with the offsets
folded in, the fused threshold's padded bounds and the `hwsim_lut_grouped_call`
constant; shared per product table, its rows plus the offset B as uint16 (TG_<table>);
or, precomputed (hwsim.ir.lut_grouped_flash), the layer's group tables (TF_, TFS_<node>).
In RAM, the group tables live at a time and, with several chunks, the units' sums
(static arrays, the scratch the memory planner counts: GroupedCall.scratch_bytes).
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.lut_grouped import CALL_WORDS, grouped_layout, node_grouped_call, padded_clusters
from hwsim.ir.lut_grouped_flash import precomputed_tables
from hwsim.machine.codegen.c_source import CArray, constant, identifier
from hwsim.machine.codegen.lut_library import GROUPED_FUNCTION, call_node, fused_bounds
from hwsim.machine.codegen.program import NodeCode
from hwsim.machine.kernels.lut import GROUPED_HEADER

ALIGNED = "__attribute__((aligned(4)))"


def _aligned(array: CArray) -> CArray:
    """A constant array placed at a word boundary (the kernel loads weights by words)."""
    head, sep, tail = array.definition.partition("] = {")
    return CArray(array.name, f"{head}] {ALIGNED} = {{{tail}", array.extern, array.size_bytes)


def _precomputed(node: str, ident: str, layout, call) -> tuple[list, list[CArray]]:
    """The call words (tables, pattern bits, short tables) and constants of a layer's
    precomputed group tables (hwsim.ir.lut_grouped_flash)."""
    bits, full, short = precomputed_tables(layout.rows, layout.k_log2, call.g, call.fan)
    arrays = [_aligned(constant(f"TF_{ident}", "uint16_t", full,
                                comment=f"{node}: precomputed group tables, g={call.g}, "
                                        f"{bits} bits a level"))]
    words = [f"TF_{ident}", bits, "0"]
    if short.size:
        arrays.append(_aligned(constant(f"TFS_{ident}", "uint16_t", short,
                                        comment=f"{node}: the short last group's tables")))
        words[2] = f"TFS_{ident}"
    return words, arrays


def grouped_node(g, node: str, kernel: str) -> NodeCode:
    """Dense node `node` as a call of the grouped kernel, variant `kernel`."""
    a = g.nodes[node]["op"]
    call = node_grouped_call(g, node, kernel)
    ident = identifier(node)
    table = np.asarray(g.graph["tables"][a.table], dtype=np.int64)
    k2 = padded_clusters(table.shape[1])
    padded = np.zeros((table.shape[0], k2), dtype=np.int64)
    padded[:, :table.shape[1]] = table
    layout = grouped_layout(padded, np.asarray(a.weight_index).T, np.asarray(a.bias_index),
                            k2, call.g, call.live)
    if call.pattern_bits:
        tname, flash, arrays = "0", *_precomputed(node, ident, layout, call)
    else:
        tname, flash = f"TG_{identifier(a.table)}", ["0", 0, "0"]
        arrays = [_aligned(constant(tname, "uint16_t", layout.rows,
                                    comment=f"product table {a.table!r} + {layout.offset} (its"
                                            " largest |entry|), uint16, the bias row left out"))]
    arrays += [_aligned(constant(f"W_{ident}", "uint8_t", layout.weights,
                                comment=f"{node}: combined weight indices, g={call.g}, blocked")),
              constant(f"BG_{ident}", "int32_t", layout.bias,
                       comment=f"{node}: bias entries - fan_in x {layout.offset}")]
    _, bounds, barrays = fused_bounds(g, node)
    arrays += barrays
    scratch, acc = f"GS_{ident}", "0"
    ram = f"uint16_t {scratch}[{call.table_bytes // 2}] {ALIGNED};\n"
    if call.acc_bytes:
        acc = f"GA_{ident}"
        ram += f"int32_t {acc}[{call.units}];\n"
    row_shift = (k2.bit_length() - 1) + 1
    words = [tname, row_shift, layout.k_log2, call.g, layout.table_shift,
             *layout.crossing_words(), call.fan, call.units, call.groups, call.live,
             4 * call.live, 4 * call.groups, f"BG_{ident}", bounds, call.steps,
             f"W_{ident}", scratch, acc, *flash]
    name = f"CALL_{ident}"
    include = f'#include "{GROUPED_HEADER}"\n'
    definition = (f"/* {node}: the grouped kernel's scratch (RAM) and call parameters */\n"
                  f"{include}{ram}const hwsim_lut_grouped_call {name} = {{\n    "
                  + ", ".join(map(str, words)) + "};\n")
    arrays.append(CArray(name, definition,
                         f"{include}extern const hwsim_lut_grouped_call {name};\n",
                         4 * CALL_WORDS))
    return call_node(g, node, GROUPED_FUNCTION, name, arrays)
