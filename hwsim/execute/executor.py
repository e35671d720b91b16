"""The integer executor: runs a graph (hwsim/ir/graph.py) op by op on a batch of input
level indices with integer gathers, adds, compares and maxima only, and counts
every action per node (hwsim/execute/counters.py).

    plan = build_plan(graph)                 # check the graph, prepare gathers (once)
    run = run_plan(plan, x_levels)           # or: execute(graph, x_levels)
    run.outputs                              # class ids, or output level indices
    run.nodes["L1.dense"].output         # every node's integer output
    run.per_inference                        # Counts of one inference

The inference path (this module, hwsim/execute/ops.py, hwsim/execute/counters.py,
hwsim/execute/host.py and its C loop) holds no multiplication and no float;
docs/graph.md documents the counters and the overflow modes.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from hwsim.execute.counters import Counts, Placement, tally, total
from hwsim.errors import HwsimError
from hwsim.execute.ops import RUNNERS
from hwsim.execute.plan import ExecutionPlan, build_plan
from hwsim.execute.search import level_dtype

OVERFLOW_MODES = ("raise", "saturate")

__all__ = ["Execution", "NodeRun", "build_plan", "check_inputs", "execute", "run_plan"]


@dataclass(frozen=True)
class NodeRun:
    node: str
    op: str
    output: np.ndarray            # level indices or integer sums, batch first
    counts: Counts                # actions over the whole batch
    saturated: int                # sums clamped by overflow="saturate" (0 otherwise)

    def __repr__(self) -> str:
        return (f"NodeRun({self.node!r}, {self.op}, output {self.output.dtype}"
                f"{list(self.output.shape)}, saturated={self.saturated})")


@dataclass(frozen=True)
class Execution:
    name: str
    batch: int
    overflow: str
    outputs: np.ndarray           # classification: class ids (N,); else output levels (N, units)
    nodes: dict[str, NodeRun]     # in execution order

    def __repr__(self) -> str:
        return (f"Execution({self.name!r}, batch={self.batch}, {len(self.nodes)} nodes, "
                f"overflow={self.overflow!r}, saturated={self.saturated})")

    @property
    def counts(self) -> Counts:
        """Actions over the whole batch."""
        return total(run.counts for run in self.nodes.values())

    @property
    def per_inference(self) -> Counts:
        return self.counts.per_inference(self.batch)

    def node_per_inference(self, node: str) -> Counts:
        return self.nodes[node].counts.per_inference(self.batch)

    @property
    def saturated(self) -> int:
        return sum(run.saturated for run in self.nodes.values())


def check_inputs(plan: ExecutionPlan, x) -> np.ndarray:
    """Input level indices in the narrowest unsigned type that holds them (a byte each
    up to 256 levels, as every level the executor makes: hwsim/execute/search.py), or
    HwsimError: integer dtype, shape (N, *input_shape) with N >= 1, values in
    0..input_levels-1."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise HwsimError(f"inputs must be integer level indices, got dtype {a.dtype} "
                         "(quantize raw values with hwsim.train.network.quantize_input)")
    if a.ndim < 1 or a.shape[1:] != plan.input_shape or len(a) == 0:
        raise HwsimError(f"inputs have shape {list(a.shape)}, graph {plan.name!r} expects "
                         f"[N, {', '.join(map(str, plan.input_shape))}] with N >= 1")
    unsigned = a.view(a.dtype.str.replace("i", "u"))   # negative levels: beyond any level
    if unsigned.max() >= plan.input_levels:
        raise HwsimError(f"input levels must lie in 0..{plan.input_levels - 1}, found "
                         f"{int(a.min())}..{int(a.max())}")
    return a.astype(level_dtype(plan.input_levels - 1), copy=False)


def run_plan(plan: ExecutionPlan, x, *, overflow: str = "raise", probe=None) -> Execution:
    """Run a prepared graph on input level indices `x` (N, *input_shape).
    overflow: "raise" (HwsimError naming node, unit and sample) or "saturate".
    probe(node, label, array), when given, sees every array the inference makes (on
    numpy's gathers: the compiled row sums, hwsim/execute/host.py, make no array
    between a layer's digits and its sums)."""
    if overflow not in OVERFLOW_MODES:
        raise HwsimError(f"overflow must be 'raise' or 'saturate', got {overflow!r}")
    values = {}
    nodes = {}
    for step in plan.steps:
        if step.op == "input":
            output, counts, saturated = check_inputs(plan, x), tally(), 0
        else:
            output, counts, saturated = RUNNERS[step.op](
                step, [values[src] for src in step.inputs], overflow, probe)
        if probe is not None:
            probe(step.node, "output", output)
        values[step.node] = output
        nodes[step.node] = NodeRun(step.node, step.op, output, counts, saturated)
    out = values[plan.output]
    outputs = out if out.ndim == 1 else out.reshape(len(out), -1)
    return Execution(plan.name, len(out), overflow, outputs, nodes)


def execute(g: nx.DiGraph, x, *, placement: Placement = Placement(), overflow: str = "raise",
            probe=None) -> Execution:
    """Check and run graph `g` on input level indices `x`."""
    a = np.asarray(x)
    return run_plan(build_plan(g, placement, len(a) if a.ndim else None), x,
                    overflow=overflow, probe=probe)
