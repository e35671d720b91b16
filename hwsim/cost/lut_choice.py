"""Which kernel runs each lut weighted node: the per-node choice of the cost model, the
one the code generator emits, the memory planner counts and `hwsim validate` checks.

    choices = lut_kernel_choices(graph, device, options)   # {node: KernelChoice}
    choices["L0.dense"].kernel                              # "grouped_g4" or "conv_s16"

Candidates, on a core the lut library's data covers (hwsim.cost.lut_library.covers): the
register-blocked library call (named by its function, e.g. "conv_s16") and, for a dense
layer, the grouped dense kernel (issue 12's grouped lookups,
hwsim/machine/kernels/lut/lut_grouped.c) for every group size g with K^g <= 256
(hwsim.ir.lut_grouped.GROUPINGS, K the table's columns padded to a power of two) whose
table and bias allow uint16 group tables (hwsim.ir.lut_grouped.grouped_limits_ok), each
with every group table live and, when fewer, CHUNK_TABLE_BYTES of them live (the units'
sums then wait in RAM between chunks) and, where the layer's inputs have few levels,
with its group tables precomputed (flash, hwsim.ir.lut_grouped_flash: nothing built; for
g >= FLASH_MIN_G when they take at most FLASH_TABLE_BYTES). Each is priced with the
device's cycle table from the same action counts `cost_graph` uses, all characterized:
the build of the group tables is part of the call's counts, so it is amortized over the
layer's outputs by construction. The choice is the candidate with the fewest cycles
among those whose working set (the node's level tensors plus the kernel's scratch) fits
the device's SRAM net of the reserved part, the first in order (ungrouped, then g = 2,
3, 4, all live before chunked before precomputed) on a tie; when none fits, the fewest
cycles. A conv1d or conv2d layer's grouped candidates are the grouped convolution
(hwsim/machine/kernels/lut/lut_grouped_conv.c) for every g <= its channels, its scratch
the ring of kernel rows of group tables and a window's table addresses
(hwsim.ir.lut_grouped_conv.GroupedConvCall.scratch_bytes), priced and chosen alike.

Packed weight codes (hwsim.ir.lut_kernels.packed_calls: 4 bits a code at K <= 16, 2
bits at K <= 4, in the dense/convolution call) are candidates too, by
`options.weight_indices`: "aligned" never; "packed" always (where packing saves bytes:
a layer with a full block of units), the narrowest codes the layer's K allows in place
of the byte-code call; "auto" (default) both, the fewest cycles winning as above, and then where the network
would not otherwise fit the device's flash: when the memory planner
(hwsim.memory.planner.plan_memory, the default memory options with the cost options'
table placement) finds the choice above over flash, the byte-code calls with the most
weight bytes to save switch to their narrowest packed codes, largest saving first, until
the saving covers the excess (or none is left).

`options.lut_grouping`: "auto" (default) as above; "off" only the ungrouped call; an
integer g only the grouped kernel of that g where the layer allows it (else the
ungrouped call). The choice is a pure function of the graph, the device and the
options, so anyone holding those three recomputes it.
"""
from __future__ import annotations

import math

import networkx as nx

from hwsim.cost.actions import core_traits, node_actions
# the records and the pricing of a candidate are the int8 choice's
from hwsim.cost.int8_choice import KernelChoice, KernelOption, _cycles
from hwsim.cost.kernels import Node
from hwsim.cost.lut_library import grouped_data, has_record, node_library_call
from hwsim.cost.options import CostOptions
from hwsim.cost.prices import action_prices
from hwsim.ir.lut_grouped import (FLASH, GROUPINGS, chunk_options, grouped_limits_ok,
                                  kernel_name, node_grouped_call, padded_clusters)
from hwsim.ir.int8_kernels import select_kernel
from hwsim.ir.lut_grouped_conv import CONV_KINDS, conv_shape_ok
from hwsim.ir.lut_grouped_flash import FLASH_MIN_G, FLASH_TABLE_BYTES, precomputed_bytes
from hwsim.ir.lut_kernels import packed_calls, weight_bytes
from hwsim.ir.ops import WEIGHTED
from hwsim.specs.device import Device


def grouped_kernels(graph: nx.DiGraph, node: str, target: str, grouping="auto"
                    ) -> tuple[str, ...]:
    """The grouped variants that can run lut node `node` on library build `target`."""
    op = graph.nodes[node]["op"]
    data = grouped_data(target)
    if op.kind not in ("dense", *CONV_KINDS) or grouping == "off" or data is None:
        return ()
    k2 = padded_clusters(op.table_shape[1])
    table = graph.graph["tables"][op.table]
    fan = len(op.weight_index)
    if op.kind != "dense":
        return grouped_conv_kernels(op, data, k2, table, grouping)
    names = []
    for k, g in GROUPINGS:
        if k != k2 or grouping not in ("auto", g) or f"grouped_k{k}_g{g}" not in data["kernels"]:
            continue
        if not grouped_limits_ok(table, op.bias_index, fan, g):
            continue
        groups = -(-fan // g)
        names += [kernel_name(g, live, groups)
                  for live in chunk_options(k.bit_length() - 1, g, fan)]
        if (g >= FLASH_MIN_G and f"grouped_k{k}_g{g}{FLASH}" in data["kernels"]
                and precomputed_bytes(k.bit_length() - 1, g, len(table) - 1, fan)
                <= FLASH_TABLE_BYTES):
            names.append(kernel_name(g, groups, groups, precomputed=True))
    return tuple(names)


def grouped_conv_kernels(op, data: dict, k2: int, table, grouping) -> tuple[str, ...]:
    """The grouped convolution's variants (every input row's tables in a ring of kernel
    rows: one per g) that can run conv1d/conv2d op `op`."""
    shape = select_kernel(op.kind, tuple(op.input_shape), op.layer)
    return tuple(
        kernel_name(g, 1, 1) for k, g in GROUPINGS
        if k == k2 and grouping in ("auto", g) and f"grouped_conv_k{k}_g{g}" in data["kernels"]
        and conv_shape_ok(op.kind, shape, g)
        and grouped_limits_ok(table, op.bias_index, len(op.weight_index), g))


def lut_kernel_choices(graph: nx.DiGraph, device: Device,
                       options: CostOptions | None = None) -> dict[str, KernelChoice]:
    """The kernel of every lut weighted node of `graph` the library covers on one core
    of `device` (the others are per-layer loops: not listed)."""
    options = options or CostOptions()
    traits = core_traits(device)
    prices = action_prices(device)
    budget = device.memory.sram_bytes - device.memory.reserved_sram_bytes
    choices, packed = {}, {}
    for node, op in graph.nodes(data="op"):
        if op.kind not in WEIGHTED:
            continue
        found = node_library_call(Node(graph, node, op, "lut", traits, options))
        if found is None or not has_record(*found):
            continue
        target, call = found
        tensors = math.prod(op.input_shape) + int(op.outputs)
        narrow = [p for p in packed_calls(call, op.table_shape[1]) if has_record(target, p)
                  and weight_bytes(p) < weight_bytes(call)][-1:] if (
            options.weight_indices != "aligned") else []
        kernels = [f"{c.kernel}_{c.variant}" for c in
                   (narrow if narrow and options.weight_indices == "packed"
                    else [call, *narrow])]
        grouped = grouped_kernels(graph, node, target, options.lut_grouping)
        kernels = list(grouped) if grouped and options.lut_grouping != "auto" else (
            kernels + list(grouped))
        if narrow and options.weight_indices == "auto":
            packed[node] = (f"{narrow[0].kernel}_{narrow[0].variant}",
                            weight_bytes(call) - weight_bytes(narrow[0]),
                            f"{call.kernel}_{call.variant}", tensors)
        candidates = [_option(graph, node, kernel, traits, options, prices, tensors, budget)
                      for kernel in kernels]
        fitting = [c for c in candidates if c.fits] or candidates
        best = min(fitting, key=lambda c: c.cycles)
        choices[node] = KernelChoice(node, best.kernel, tuple(candidates))
    if not packed:
        return choices
    return _packed_to_fit(graph, device, options, choices, packed,
                          lambda node, kernel, tensors: _option(graph, node, kernel, traits,
                                                                options, prices, tensors, budget))


def _option(graph, node, kernel, traits, options, prices, tensors, budget) -> KernelOption:
    """One candidate kernel of a node, priced, with its working set and whether it fits."""
    actions = node_actions(graph, node, "lut", traits, options, kernel)
    gcall = node_grouped_call(graph, node, kernel)
    scratch = gcall.scratch_bytes if gcall is not None else 0
    return KernelOption(kernel, _cycles(actions, prices), scratch, tensors + scratch,
                        tensors + scratch <= budget, actions)


def _packed_to_fit(graph: nx.DiGraph, device: Device, options: CostOptions,
                   choices: dict[str, KernelChoice], packed: dict[str, tuple], option
                   ) -> dict[str, KernelChoice]:
    """`choices` with byte-code calls switched to their packed codes (`packed`: node ->
    (packed kernel, weight bytes it saves, the byte-code kernel, its level tensors'
    bytes); `option` prices one), largest saving first, until the network fits the
    device's flash as the memory planner counts it (the packed candidate joins the
    node's candidates)."""
    from hwsim.memory.planner import MemoryOptions, plan_memory
    chosen = tuple(sorted((n, c.kernel) for n, c in choices.items()))
    memory = plan_memory(graph, device, "lut", MemoryOptions(
        tables_in=options.tables_in, lut_kernels="library", lut_grouped=chosen,
        weight_indices=options.weight_indices))
    excess = -memory.flash_margin_bytes
    order = sorted((n for n in packed if choices[n].kernel == packed[n][2]),
                   key=lambda n: (-packed[n][1], n))
    out = dict(choices)
    for node in order:
        if excess <= 0:
            break
        kernel, _, _, tensors = packed[node]
        out[node] = KernelChoice(node, kernel, (*choices[node].candidates,
                                                option(node, kernel, tensors)))
        excess -= packed[node][1]
    return out
