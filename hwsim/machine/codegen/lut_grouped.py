"""A lut dense layer as one call of the grouped dense kernel (hwsim_lut_grouped_dense,
hwsim/machine/kernels/lut/lut_grouped.c) where the cost model chose it
(hwsim.cost.lut_choice; handed over as `lut_grouped`, (node, variant) pairs).

Stored per layer (hwsim.ir.lut_grouped.grouped_layout): the combined weight indices
(one byte per unit and group, blocked, word-aligned), the int32 bias with the offsets
folded in, the fused threshold's padded bounds and the `hwsim_lut_grouped_call`
constant; shared per product table, its rows plus the offset B as uint16 (TG_<table>);
or, precomputed (hwsim.ir.lut_grouped_flash), the layer's group tables (TF_, TFS_<node>).
In RAM, the group tables live at a time and, with several chunks, the units' sums (the
scratch the memory planner counts: GroupedCall.scratch_bytes), at the start of one
static pool all grouped calls of the program share (they run one at a time), as large
as the largest call's scratch.
A conv1d/conv2d node calls the grouped convolution (hwsim_lut_grouped_conv) with the same
data, its combined indices per pixel (hwsim.ir.lut_grouped_conv.conv_weights), its
geometry arrays (GC*_<node>), its padding pixel (GP_<node>) and, in the pool, its
window's table addresses and its ring of group tables.
"""
from __future__ import annotations

import numpy as np

from hwsim.ir.lut_grouped import CALL_WORDS, grouped_layout, node_grouped_call, padded_clusters
from hwsim.ir.lut_grouped_conv import (CONV_CALL_WORDS, POINTER_BYTES, GroupedConvCall,
                                       conv_call_scalars, conv_weights, padding_pixel)
from hwsim.ir.lut_grouped_flash import precomputed_tables
from hwsim.machine.codegen.c_source import CArray, constant, identifier
from hwsim.machine.codegen.lut_library import (GROUPED_CONV_FUNCTION, GROUPED_FUNCTION,
                                               call_node, fused_bounds)
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


POOL = "hwsim_lut_grouped_scratch"


def pool_bytes(g, grouped: dict) -> int:
    """The scratch every grouped call of a program shares (they run one at a time): the
    largest call's."""
    return max((node_grouped_call(g, n, k).scratch_bytes for n, k in grouped.items()),
               default=0)


def _pool(size: int) -> CArray:
    return CArray(POOL, f"/* the grouped calls' scratch, shared (RAM) */\n"
                        f"uint8_t {POOL}[{max(size, 4)}] {ALIGNED};\n",
                  f"extern uint8_t {POOL}[];\n", 0)


def grouped_node(g, node: str, kernel: str, pool: int | None = None) -> NodeCode:
    """Dense (or conv1d/conv2d) node `node` as a call of the grouped kernel, variant
    `kernel`; its scratch at the start of the program's shared pool of `pool` bytes
    (default: its own)."""
    a = g.nodes[node]["op"]
    call = node_grouped_call(g, node, kernel)
    conv = isinstance(call, GroupedConvCall)
    ident = identifier(node)
    table = np.asarray(g.graph["tables"][a.table], dtype=np.int64)
    k2 = padded_clusters(table.shape[1])
    padded = np.zeros((table.shape[0], k2), dtype=np.int64)
    padded[:, :table.shape[1]] = table
    weight_index = np.asarray(a.weight_index).T
    layout = grouped_layout(padded, weight_index, np.asarray(a.bias_index), k2, call.g,
                            call.groups if conv else call.live)
    if call.pattern_bits:
        tname, flash, arrays = "0", *_precomputed(node, ident, layout, call)
    else:
        tname, flash = f"TG_{identifier(a.table)}", ["0", 0, "0"]
        arrays = [_aligned(constant(tname, "uint16_t", layout.rows,
                                    comment=f"product table {a.table!r} + {layout.offset} (its"
                                            " largest |entry|), uint16, the bias row left out"))]
    weights = (conv_weights(weight_index, call.shape.in_c, call.k_log2, call.g) if conv
               else layout.weights)
    arrays += [_aligned(constant(f"W_{ident}", "uint8_t", weights,
                                comment=f"{node}: combined weight indices, g={call.g}, blocked")),
              constant(f"BG_{ident}", "int32_t", layout.bias,
                       comment=f"{node}: bias entries - fan_in x {layout.offset}")]
    _, bounds, barrays = fused_bounds(g, node)
    arrays += barrays
    addresses = POINTER_BYTES * call.groups if conv else call.table_bytes
    scratch, acc = f"(uint16_t *)(void *){POOL}", "0"
    if call.acc_bytes:
        acc = f"(int32_t *)(void *)({POOL} + {addresses})"
    arrays.append(_pool(pool if pool is not None else call.scratch_bytes))
    row_shift = (k2.bit_length() - 1) + 1
    live = call.groups if conv else call.live
    words = [tname, row_shift, layout.k_log2, call.g, layout.table_shift,
             *layout.crossing_words(), call.fan, call.units, call.groups, live,
             4 * live, 4 * call.groups, f"BG_{ident}", bounds, call.steps,
             f"W_{ident}", scratch, acc, *flash]
    kind, function, size = "hwsim_lut_grouped_call", GROUPED_FUNCTION, 4 * CALL_WORDS
    if conv:
        more, conv_arrays = _conv_words(node, ident, call, layout.offset)
        words, arrays = words + more, arrays + conv_arrays
        kind, function = "hwsim_lut_grouped_conv_call", GROUPED_CONV_FUNCTION
        size = 4 * CONV_CALL_WORDS
    name = f"CALL_{ident}"
    include = f'#include "{GROUPED_HEADER}"\n'
    definition = (f"/* {node}: the grouped kernel's call parameters */\n"
                  f"{include}extern uint8_t {POOL}[];\nconst {kind} {name} = {{\n    "
                  + ", ".join(map(str, words)) + "};\n")
    arrays.append(CArray(name, definition, f"{include}extern const {kind} {name};\n", size))
    return call_node(g, node, function, name, arrays)


def _conv_words(node: str, ident: str, call, offset: int) -> tuple[list, list[CArray]]:
    """The grouped convolution's call words after the dense call's (its ring in the pool
    after the window's addresses) and its constants: the geometry arrays and, when a
    window is clipped, the padding pixel."""
    geo = call.geometry
    arrays, names = [], []
    for field in geo.ARRAYS:
        names.append(f"GC{field.replace('_', '')}_{ident}")
        arrays.append(constant(names[-1], "int32_t", np.array(getattr(geo, field),
                                                              dtype=np.int64)))
    pad = "0"
    if geo.clipped:
        pad = f"GP_{ident}"
        arrays.append(_aligned(constant(pad, "uint16_t", padding_pixel(call, offset),
                                        comment=f"{node}: the padding pixel's group tables "
                                                f"(r x {offset} in every entry)")))
    ring = f"({POOL} + {POINTER_BYTES * call.groups})"
    return [*conv_call_scalars(call), *names, ring, f"(const uint8_t *){pad}"], arrays
