"""Lowering rules: how graph nodes become kernels, shared by the code generator
(hwsim.machine.codegen) and the cost model (hwsim.cost), which must agree on them.
"""
from __future__ import annotations

import networkx as nx

# A pool window of at most this many elements is written out in full in the generated
# C (one load per element, no loop); larger windows loop over rows and columns.
UNROLLED_WINDOW = 4


def threshold_consumer(g: nx.DiGraph, node: str) -> str | None:
    """The threshold node fused into `node`'s kernel, or None: a node whose every
    consumer is a threshold keeps each sum in a register and runs the threshold search
    in the same unit loop (the graph gives an activated layer exactly one)."""
    consumers = list(g.successors(node))
    if consumers and all(g.nodes[s]["op"].kind == "threshold" for s in consumers):
        return consumers[0]
    return None
