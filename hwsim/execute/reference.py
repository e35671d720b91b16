"""A plain-Python reference of the integer network, to read as its specification.

Loops over nodes, samples, units and connections with Python ints, straight from
the semantics in docs/graph.md; slow, for tiny networks only. The vectorised
executor (hwsim/execute/executor.py) is tested against it: every node's output bit for bit
and every action count number for number.

    run = reference_run(graph, x_levels)
    run.nodes["L1.dense"]            # (N, *output_shape) int64
    run.counts["L1.dense"]["adds"]   # over the whole batch
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import networkx as nx
import numpy as np

from hwsim.ir.ops import WEIGHTED
from hwsim.errors import HwsimError
from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.graph import execution_order
from hwsim.ir import layers as L



@dataclass(frozen=True)
class ReferenceRun:
    outputs: np.ndarray                      # class ids (N,) or output levels (N, units)
    nodes: dict[str, np.ndarray]             # every node's output, batch first
    counts: dict[str, dict[str, int]]        # node -> counter -> count over the batch


def search_steps(levels: int) -> int:
    """Compare-and-branch steps of a binary search over levels - 1 sorted values:
    ceil(log2(levels))."""
    return (levels - 1).bit_length()


def count_reached(value: int, bounds) -> int:
    """How many of the sorted bounds the value reaches (value >= bound)."""
    return sum(1 for bound in bounds if value >= bound)


class _Accumulator:
    """A signed accumulator of `bits` bits: every partial sum must stay in range."""

    def __init__(self, node: str, bits: int, sample: int, unit: int, start: int):
        self.node, self.bits, self.sample, self.unit = node, bits, sample, unit
        self.low, self.high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        self.value = start
        self._check()

    def add(self, term: int) -> None:
        self.value += term
        self._check()

    def _check(self) -> None:
        if not self.low <= self.value <= self.high:
            raise HwsimError(f"node {self.node!r}: accumulator overflow: a sum of unit "
                             f"{self.unit} of sample {self.sample} leaves the {self.bits}-bit "
                             f"signed range [{self.low}, {self.high}]")


def _before(length: int, kernel: int, stride: int, padding: str) -> int:
    """Leading padding: TensorFlow's 'same' rule, none for 'valid'."""
    if padding == "valid":
        return 0
    out = -(-length // stride)
    return max((out - 1) * stride + kernel - length, 0) // 2


def _geometry(layer, in_shape):
    """(kernel sizes, strides, leading paddings) over the spatial axes."""
    if isinstance(layer, L.Conv1D):
        kernels, strides = (layer.kernel,), (layer.stride,)
    elif isinstance(layer, (L.Conv2D, L.DepthwiseConv2D)):
        kernels, strides = (layer.kernel_h, layer.kernel_w), (layer.stride_h, layer.stride_w)
    elif isinstance(layer, (L.MaxPool1D, L.AvgPool1D)):
        kernels, strides = (layer.size,), (layer.stride,)
    else:
        kernels, strides = (layer.size_h, layer.size_w), (layer.stride_h, layer.stride_w)
    padding = getattr(layer, "padding", "valid")
    before = tuple(_before(n, k, s, padding) for n, k, s in zip(in_shape[:-1], kernels, strides))
    return kernels, strides, before


def _lut(g, node, a, x, tally):
    """Sums of a weighted layer: bias entry, then every connection in weight-row order."""
    layer = a.layer
    table = g.graph["tables"][a.table].tolist()
    w, b = a.weight_index.tolist(), a.bias_index.tolist()
    bias_row = len(table) - 1
    bits = g.graph["accumulator_bits"]
    out_shape = tuple(a.output_shape)
    out = np.zeros((len(x),) + out_shape, dtype=np.int64)
    in_shape = x.shape[1:]
    depthwise = isinstance(layer, L.DepthwiseConv2D)
    if isinstance(layer, L.Dense):
        taps, strides, before = (), (), ()
    else:
        kernels, strides, before = _geometry(layer, in_shape)
        taps = list(np.ndindex(*kernels))
    for n in range(len(x)):
        for unit, position in enumerate(np.ndindex(*out_shape)):
            *where, o = position
            tally["index_loads"] += 1
            tally["table_loads"] += 1
            acc = _Accumulator(node, bits, n, unit, table[bias_row][b[o]])
            if isinstance(layer, L.Dense):
                connections = [((i,), i) for i in range(in_shape[0])]
            else:
                connections = []
                for t, tap in enumerate(taps):
                    spot = tuple(p * s + j - pb for p, s, j, pb in zip(where, strides, tap, before))
                    if not all(0 <= q < size for q, size in zip(spot, in_shape[:-1])):
                        continue          # a padded tap: nothing to load, nothing to add
                    if depthwise:
                        connections.append((spot + (o,), t))
                    else:
                        channels = in_shape[-1]
                        connections += [(spot + (c,), t * channels + c) for c in range(channels)]
            for index, row in connections:
                level = int(x[(n,) + index])
                acc.add(table[level][w[row][o]])
                tally["activation_loads"] += 1
                tally["index_loads"] += 1
                tally["table_loads"] += 1
                tally["adds"] += 1
            out[(n,) + position] = acc.value
            tally["stores"] += 1
    return out


def _threshold(a, x, tally):
    thresholds = a.thresholds.tolist()
    out = np.zeros(x.shape, dtype=np.int64)
    steps = search_steps(a.levels)
    for n in range(len(x)):
        for position in np.ndindex(*x.shape[1:]):
            out[(n,) + position] = count_reached(int(x[(n,) + position]), thresholds)
            tally["activation_loads"] += 1
            tally["threshold_loads"] += steps
            tally["compares"] += steps
            tally["branches"] += steps
            tally["stores"] += 1
    return out


def _pool(a, x, tally):
    layer = a.layer
    out_shape = tuple(a.output_shape)
    kernels, strides, _ = _geometry(layer, x.shape[1:])
    average = a.kind.startswith("avg_")
    bounds = a.pool_bounds.tolist() if average else None
    out = np.zeros((len(x),) + out_shape, dtype=np.int64)
    for n in range(len(x)):
        for position in np.ndindex(*out_shape):
            *where, c = position
            values = []
            for tap in np.ndindex(*kernels):
                spot = tuple(p * s + j for p, s, j in zip(where, strides, tap))
                values.append(int(x[(n,) + spot + (c,)]))
                tally["activation_loads"] += 1
            if average:
                out[(n,) + position] = count_reached(sum(values), bounds)
                tally["adds"] += len(values) - 1
                steps = search_steps(len(bounds) + 1)
                tally["threshold_loads"] += steps
                tally["compares"] += steps
                tally["branches"] += steps
            else:
                best = values[0]
                for value in values[1:]:
                    best = max(best, value)
                    tally["max_ops"] += 1
                out[(n,) + position] = best
            tally["stores"] += 1
    return out


def _add(g, node, inputs, kinds, tally):
    table = g.graph.get("value_tables", {}).get(VALUE_TABLE)
    bits = g.graph["accumulator_bits"]
    shape = inputs[0].shape
    out = np.zeros(shape, dtype=np.int64)
    for n in range(shape[0]):
        for unit, position in enumerate(np.ndindex(*shape[1:])):
            terms = []
            for array, kind in zip(inputs, kinds):
                value = int(array[(n,) + position])
                tally["activation_loads"] += 1
                if kind == "levels":
                    value = int(table[value])
                    tally["table_loads"] += 1
                terms.append(value)
            acc = _Accumulator(node, bits, n, unit, terms[0])
            for term in terms[1:]:
                acc.add(term)
                tally["adds"] += 1
            out[(n,) + position] = acc.value
            tally["stores"] += 1
    return out


def _argmax(x, tally):
    flat = x.reshape(len(x), -1)
    out = np.zeros(len(x), dtype=np.int64)
    for n in range(len(x)):
        best, arg = int(flat[n, 0]), 0
        tally["activation_loads"] += 1
        for c in range(1, flat.shape[1]):
            value = int(flat[n, c])
            tally["activation_loads"] += 1
            tally["compares"] += 1
            tally["branches"] += 1
            if value > best:            # the first maximum wins
                best, arg = value, c
        out[n] = arg
        tally["stores"] += 1
    return out


def reference_run(g: nx.DiGraph, x) -> ReferenceRun:
    """Run graph `g` on input level indices `x` (N, *input_shape), node by node."""
    x = np.asarray(x, dtype=np.int64)
    values: dict[str, np.ndarray] = {}
    counts: dict[str, dict[str, int]] = {}
    out_node = None
    for node in execution_order(g):
        a = g.nodes[node]["op"]
        op = a.kind
        sources = list(g.predecessors(node))
        inputs = [values[s] for s in sources]
        tally: Counter = Counter()
        if op == "input":
            result = x
        elif op in WEIGHTED:
            result = _lut(g, node, a, inputs[0], tally)
        elif op == "threshold":
            result = _threshold(a, inputs[0], tally)
        elif op.endswith(("_pool1d", "_pool2d")):
            result = _pool(a, inputs[0], tally)
        elif op == "add":
            kinds = [g.edges[s, node]["kind"] for s in sources]
            result = _add(g, node, inputs, kinds, tally)
        elif op == "argmax":
            result, out_node = _argmax(inputs[0], tally), node
        elif op == "flatten":                    # C order: the last axis fastest
            result = inputs[0].reshape(len(inputs[0]), math.prod(inputs[0].shape[1:]))
        else:                                    # output_table: the output levels as they are
            result, out_node = inputs[0], node
        values[node] = result
        counts[node] = dict(tally)
    outputs = values[out_node]
    return ReferenceRun(outputs.reshape(len(outputs), -1) if outputs.ndim > 1 else outputs,
                        values, counts)
