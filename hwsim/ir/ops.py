"""The typed ops of the graph: one frozen record per node, stored as the node's
`op` attribute (`g.nodes[name]["op"]`), style-neutral.

An op's `kind` names what it computes (`dense`, `conv1d`, `conv2d`,
`depthwise_conv2d`, `max_pool1d`, `max_pool2d`, `avg_pool1d`, `avg_pool2d`,
`flatten`, `add`, `threshold`, `argmax`, `output_table`, `input`); the arithmetic
style (hwsim.ir.style) is a separate axis chosen by whoever costs, executes or
generates it. Arrays inside ops (indices, thresholds) are not compared or hashed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwsim.ir import layers as L

WEIGHTED_KINDS = {L.Dense: "dense", L.Conv1D: "conv1d", L.Conv2D: "conv2d",
                  L.DepthwiseConv2D: "depthwise_conv2d"}
SHAPE_KINDS = {L.MaxPool1D: "max_pool1d", L.MaxPool2D: "max_pool2d", L.AvgPool1D: "avg_pool1d",
               L.AvgPool2D: "avg_pool2d", L.Flatten: "flatten", L.Add: "add"}
WEIGHTED = tuple(WEIGHTED_KINDS.values())
KINDS = ("input", *WEIGHTED_KINDS.values(), "threshold", *SHAPE_KINDS.values(), "argmax",
         "output_table")
POOL_KINDS = ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d")


def _array():
    return field(compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Op:
    """What every node has. `layer_index`, `layer_name`, `layer` and `input_shape` are
    None for the graph's `input` and output nodes."""
    kind: str
    order: int
    output_shape: tuple[int, ...]
    outputs: int                              # elements of one sample's output
    layer_index: int | None = None
    layer_name: str | None = None
    layer: L.Layer | None = None
    input_shape: tuple[int, ...] | None = None

    @property
    def weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS.values()


@dataclass(frozen=True, kw_only=True)
class InputOp(Op):
    levels: int


@dataclass(frozen=True, kw_only=True)
class WeightedOp(Op):
    """dense, conv1d, conv2d, depthwise_conv2d: product-table lookups and adds."""
    fan_in: int
    connections: int                          # outputs x fan_in ("MACs")
    weights: int
    biases: int
    params: int
    clusters: int                             # K, the table's columns
    index_bits: int                           # a packed weight index
    table: str                                # a key of g.graph["tables"]
    table_shape: tuple[int, int]
    levels_in: int
    padding: str                              # "valid" or "same"
    weight_index: np.ndarray = _array()
    bias_index: np.ndarray = _array()


@dataclass(frozen=True, kw_only=True)
class ThresholdOp(Op):
    levels: int
    units: int
    compares_per_unit: int
    thresholds: np.ndarray = _array()


@dataclass(frozen=True, kw_only=True)
class ShapeOp(Op):
    """Pools, flatten and add: `levels` of the indices they carry (None or 0 for sums);
    pools also their `window` and, averages, their `pool_bounds`."""
    levels: int | None
    window: int | None = None
    pool_bounds: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class ArgmaxOp(Op):
    classes: int


@dataclass(frozen=True, kw_only=True)
class OutputTableOp(Op):
    levels: int | None
