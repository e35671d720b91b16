"""What the IR needs to know of a network description: its topology and integer format.

`hwsim.specs.workload.Workload` provides it (and so can any importer); the graph
builder and random models read only these attributes, so the IR never imports the
spec layer above it.
"""
from __future__ import annotations

from typing import Protocol, Sequence

from hwsim.ir import layers as L


class Network(Protocol):
    """A network's topology (layers, their inputs, shapes) and its integer format."""
    name: str
    task: str                            # "classification" or "autoencoder"
    sha256: str
    input_shape: tuple[int, ...]
    input_levels: int
    layers: Sequence[L.Layer]
    inputs: Sequence[tuple[int, ...]]     # per layer, the producing layers (-1: the input)
    names: Sequence[str]
    shapes: Sequence[tuple[int, ...]]     # per layer, its output shape
    activation_flags: list[bool]         # per layer, followed by a threshold node
    discretization: object               # .activation_levels, .weight_clusters, .cluster_scope
    integer: object                      # .accumulator_bits, .table_entry_bits
