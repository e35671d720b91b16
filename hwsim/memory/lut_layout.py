"""The lut style's parameters as the generated code stores them (flash bytes per kind), so
the memory planner describes the code `hwsim codegen` emits and `hwsim validate` runs.

    lines = lut_parameter_bytes(graph, "cortex-m4")   # ((line name, bytes), ...)

`library`: the lut kernel library build the weighted layers call (hwsim.ir.lut_kernels;
hwsim/machine/codegen/lut_library.py), "" for the per-layer loops everywhere
(hwsim/machine/codegen/lut_weighted.py), None for the per-layer loops' what-if of packed
weight indices (ceil(log2 K) bits each, which no generated loop reads). A node the library does not
cover (hwsim.ir.lut_kernels.node_call is None) is a per-layer loop in either case.

Stored per weighted node:
- library call: its weight codes one byte each (blocked, hwsim.ir.lut_kernels.
  blocked_weights) or, where the choice packed them, 4 or 2 bits each in the blocks
  (hwsim.ir.lut_kernels.layout_weights, `weight_bytes`), its bias indices one byte each, the window geometry (eight int32
  arrays, one entry per output row or column: hwsim.ir.lut_kernels.Geometry) and its
  `hwsim_lut_call` constant (CALL_WORDS 32-bit words);
- grouped dense call (hwsim/machine/codegen/lut_grouped.py): its combined weight indices
  one byte per unit and group, its int32 bias (offsets folded in) and its
  `hwsim_lut_grouped_call` constant; its table as rows + B in uint16 without the bias row
  (once per table, beside the plain table when other layers read that), or, its group
  tables precomputed, those (hwsim.ir.lut_grouped_flash, counted as product tables);
  a grouped convolution (hwsim.ir.lut_grouped_conv) likewise, with its geometry arrays
  (window geometry), its padding pixel's tables when a window is clipped (product
  tables) and its longer call constant (CONV_CALL_WORDS);
- per-layer loop: weight and bias indices a byte each (a halfword above K = 256); a
  'same'-padded convolution's per-position tables (first input, first tap, taps: three
  uint32 per output position along each clipped axis).
With the library, every pool, argmax and add the ops library runs
(hwsim.ir.ops_kernels.node_ops_call) stores its parameter struct (STRUCT_WORDS words) in
the same "library call constants" line.
Shared: the product tables used, each row padded to a power of two of entries of the
table's storage width; every threshold padded to 2^steps int32 bounds; average-pool
bounds padded likewise in the narrowest signed type that holds them and the window's
reach; the activation value table of the adds that read levels; the output value table.
"""
from __future__ import annotations

import math

import numpy as np

from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.lut_grouped import CALL_WORDS as GROUPED_CALL_WORDS
from hwsim.ir.lut_grouped import node_grouped_call
from hwsim.ir.lut_grouped_conv import CONV_CALL_WORDS, GroupedConvCall
from hwsim.ir.lut_grouped_flash import precomputed_bytes
from hwsim.ir.lut_kernels import (BLOCKS, CALL_WORDS, geometry, library_target, node_call,
                                  search_steps, weight_bytes, with_kernel)
from hwsim.ir.ops_kernels import STRUCT_WORDS, node_ops_call

TABLE_LINES = ("product tables", "thresholds", "value tables")   # what `tables_in` moves
WEIGHTED = ("dense", "conv1d", "conv2d", "depthwise_conv2d")
WORD_BYTES = 4


def storage_bytes(bits: int) -> int:
    """Bytes of a stored integer of `bits` bits (int8, int16 or int32)."""
    return 1 if bits <= 8 else 2 if bits <= 16 else 4


def signed_bytes(lo: int, hi: int) -> int:
    """Bytes of the narrowest signed int8/16/32 holding lo..hi."""
    for size in (1, 2, 4):
        if -(1 << (8 * size - 1)) <= lo and hi < (1 << (8 * size - 1)):
            return size
    return 8


def padded_count(count: int) -> int:
    """Entries of a search table over `count` bounds: 2^steps."""
    return 1 << search_steps(count)


def _same_axes(a) -> tuple[int, ...]:
    """Output positions along each axis a 'same'-padded per-layer loop tabulates."""
    if getattr(a.layer, "padding", "valid") != "same":
        return ()
    return (a.output_shape[0],) if a.kind == "conv1d" else tuple(a.output_shape[:2])


def _weighted_lines(g, node: str, library: str | None, grouped: str | None = None
                    ) -> dict[str, int]:
    a = g.nodes[node]["op"]
    call = node_call(g, node, library) if library else None
    if call is not None and grouped and grouped.startswith("grouped"):
        gcall = node_grouped_call(g, node, grouped)
        lines = {"weight codes (bytes)": gcall.units * gcall.groups,
                 "bias (int32, grouped)": WORD_BYTES * gcall.units,
                 "library call constants": WORD_BYTES * GROUPED_CALL_WORDS}
        if isinstance(gcall, GroupedConvCall):   # its geometry, padding pixel, longer call
            lines.update({"window geometry": WORD_BYTES * gcall.geometry.words,
                          "product tables": gcall.pad_bytes,
                          "library call constants": WORD_BYTES * CONV_CALL_WORDS})
        if gcall.pattern_bits:                # the layer's precomputed group tables
            lines["product tables"] = precomputed_bytes(gcall.k_log2, gcall.g,
                                                        a.table_shape[0] - 1, gcall.fan)
        return lines
    if call is not None:
        call = with_kernel(call, grouped)
        geo = geometry(call)
        codes = weight_bytes(call)
        return {"weight codes (bytes)" if codes == a.weights else "weight codes (packed)": codes,
                "bias indices": int(a.biases),
                "window geometry": WORD_BYTES * 4 * (geo.out_h + geo.out_w),
                "library call constants": WORD_BYTES * CALL_WORDS}
    if library is None:
        bits = a.index_bits
        return {"weight indices (packed)": math.ceil(a.params * bits / 8)}
    index = 1 if a.table_shape[1] <= 256 else 2
    return {"weight codes (bytes)": index * int(a.weights), "bias indices": index * int(a.biases),
            "window geometry": WORD_BYTES * 3 * sum(_same_axes(a))}


def lut_library(device, options) -> str | None:
    """The lut library build the generated code for `device` calls under MemoryOptions
    `options` ("" for the per-layer loops; None for the packed-index what-if)."""
    target = library_target(device.core.isa) if device is not None else None
    if options.lut_kernels == "library" and target in BLOCKS:
        return target
    return None if options.weight_indices == "packed" else ""


def lut_parameter_bytes(g, library: str | None, grouped=()) -> tuple[tuple[str, int], ...]:
    """(line name, bytes) of the lut parameters graph `g`'s generated code stores;
    `grouped`: (node, kernel) pairs as the lut kernel choice gave them (the grouped
    kernel's variants, packed weight codes; others byte codes)."""
    ops = [a for _, a in g.nodes(data="op")]
    entry = storage_bytes(g.graph["table_entry_bits"])
    lines = dict.fromkeys(("weight indices (packed)", "weight codes (bytes)",
                           "weight codes (packed)", "bias indices",
                           "bias (int32, grouped)", "window geometry", "library call constants",
                           *TABLE_LINES), 0)
    kernels = dict(grouped) if library else {}
    grouped = {n: k for n, k in kernels.items() if k.startswith("grouped")}
    for node in g.nodes:
        if g.nodes[node]["op"].kind in WEIGHTED:
            for name, size in _weighted_lines(g, node, library, kernels.get(node)).items():
                lines[name] += size
        elif library:
            call = node_ops_call(g, node, "lut")      # an ops library call's struct
            if call is not None:
                lines["library call constants"] += WORD_BYTES * STRUCT_WORDS[call.kind]
    used = {a.table for n, a in g.nodes(data="op") if a.kind in WEIGHTED and n not in grouped}
    offset = {g.nodes[n]["op"].table for n in grouped      # rows + B, uint16, no bias row
              if not node_grouped_call(g, n, grouped[n]).pattern_bits}
    for name in sorted(used | offset):
        rows, k = np.asarray(g.graph["tables"][name]).shape
        k2 = 1 << max(0, math.ceil(math.log2(k)))
        lines["product tables"] += (rows * k2 * entry if name in used else 0) + (
            (rows - 1) * k2 * 2 if name in offset else 0)
    for a in ops:
        if a.kind == "threshold":
            lines["thresholds"] += WORD_BYTES * padded_count(len(a.thresholds))
        elif a.kind in ("avg_pool1d", "avg_pool2d"):
            bounds = np.asarray(a.pool_bounds, dtype=np.int64)
            window = a.layer.size if a.kind.endswith("1d") else a.layer.size_h * a.layer.size_w
            reach = window * len(bounds) + 1
            width = signed_bytes(min(int(bounds.min(initial=0)), 0),
                                 max(int(bounds.max(initial=0)), reach))
            lines["thresholds"] += width * padded_count(len(bounds))
    if any(a.kind == "add" and any(g.edges[p, n]["kind"] == "levels"
                                   for p in g.predecessors(n))
           for n, a in g.nodes(data="op")):
        lines["value tables"] += entry * len(g.graph["value_tables"][VALUE_TABLE])
    if any(a.kind == "output_table" for a in ops) and g.graph.get("output_values") is not None:
        lines["value tables"] += entry * int(np.asarray(g.graph["output_values"]).size)
    keep = ("weight indices (packed)",) if library is None else (
        "weight codes (bytes)", *(("weight codes (packed)",) if lines["weight codes (packed)"]
                                  else ()), "bias indices", "window geometry", "library call constants",
        *(("bias (int32, grouped)",) if grouped else ()))
    return tuple((name, size) for name, size in lines.items()
                 if name in keep or name in TABLE_LINES)
