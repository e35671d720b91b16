"""Verification of a trained artifact on its dataset, or on a data file in the input
format of the model it was converted from (`samples_for`, hwsim.ir.input_encoding).

1. The op-level executor (hwsim/execute/executor.py) against the trainer's own vectorised
   integer forward pass (hwsim.ir.integer.integer_forward), node by node, bit
   for bit: a weighted layer's lut node against the layer's integer sums, its
   threshold node and every pool and flatten against the layer's level indices, the
   output node against the trainer's outputs. The first difference (in execution
   order, then sample, then unit) is reported.
2. The integer network against the float-simulated discretized network
   (hwsim.train.network.forward, Mode(L, input levels), on the artifact's discrete
   weights): the task metric of both, their agreement, and the error metrics
   X-CUBE-AI's validate reports (rmse, mae, l2 relative error, cosine similarity)
   between the output values: logits (integer sums times 2^-s) for a classifier,
   values in [0, 1] for an auto-encoder.
3. The executor's action counts per inference, with the multiplies, divisions and
   float operations measured on the inference itself (hwsim.execute.measure): any
   of them fails verification.

The artifact passes when the nodes are bit-exact, every float comparison metric is
finite, and the integer network agrees with the float-simulated one on at least
MIN_AGREEMENT of the samples (classifier) or output values (auto-encoder): rounding
the tables and thresholds to integers flips a level now and then (97% agreement at
L=2, K=2 on digits, docs/training.md), a wrong table flips most of them.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from hwsim.ir.ops import WEIGHTED
from hwsim.execute.counters import Counts, Placement, total
from hwsim.execute.measure import Measured, measured_run
from hwsim.execute.plan import build_plan
from hwsim.errors import HwsimError
from hwsim.execute.executor import Execution, execute
from hwsim.ir.graph import execution_order, graph_from_artifact
from hwsim.ir.input_encoding import read_samples, unit_encoding
from hwsim.ir.integer import IntegerTrace, integer_forward, layer_sums
from hwsim.train.network import Mode, quantize_input
from hwsim.train.pipeline import dataset_for, predict

SPLITS = ("test", "train")
MIN_AGREEMENT = 0.95


@dataclass(frozen=True)
class Mismatch:
    node: str
    layer_index: int | None
    sample: int
    unit: int                          # flattened index within one sample's output
    expected: int | None               # the trainer's value
    got: int | None                    # the executor's value
    detail: str = ""                   # set when the shapes differ


@dataclass(frozen=True)
class FloatComparison:
    """Integer network vs float-simulated network on one split."""
    metric: str                        # "accuracy" or "mse"
    integer: float | None              # None: accuracy without labels (--data without 'y')
    float_simulated: float | None
    agreement: float                   # same class (classifier) or same value (auto-encoder)
    rmse: float
    mae: float
    l2_relative: float | None          # ||int - float|| / ||float|| (None if ||float|| = 0)
    cosine: float


@dataclass(frozen=True)
class VerifyReport:
    artifact: str
    name: str
    split: str
    samples: int
    nodes_compared: int
    values_compared: int
    mismatch: Mismatch | None
    comparison: FloatComparison
    per_inference: Counts
    node_counts: dict[str, Counts]     # per inference, in execution order
    node_ops: dict[str, str]
    measured: dict[str, Measured] = dataclasses.field(default_factory=dict)  # whole batch

    @property
    def bit_exact(self) -> bool:
        return self.mismatch is None

    @property
    def float_problems(self) -> list[str]:
        """Why the integer network does not stand for the float-simulated one."""
        c, found = self.comparison, []
        for name in ("integer", "float_simulated", "agreement", "rmse", "mae", "l2_relative",
                     "cosine"):
            value = getattr(c, name)
            if value is not None and not np.isfinite(value):
                found.append(f"{name} is not finite ({value})")
        if np.isfinite(c.agreement) and c.agreement < MIN_AGREEMENT:
            metrics = ("" if c.integer is None else
                       f" ({c.metric} {c.integer:.4g} vs {c.float_simulated:.4g})")
            found.append(f"the integer network agrees with the float-simulated network on "
                         f"{100 * c.agreement:.2f}% of the "
                         f"{'samples' if c.metric == 'accuracy' else 'output values'}, below "
                         f"the {100 * MIN_AGREEMENT:.0f}% tolerance{metrics}")
        return found

    @property
    def measured_problems(self) -> list[str]:
        """Nodes whose inference multiplied, divided or used a float (measured)."""
        return [f"node {node!r} performed {m.multiplies} multiplies, {m.divisions} divisions "
                f"and {m.float_ops} float operations on {self.samples} samples (measured)"
                for node, m in self.measured.items() if not m.clean]

    @property
    def passed(self) -> bool:
        return self.bit_exact and not self.float_problems and not self.measured_problems

    def as_dict(self) -> dict:
        return {"artifact": self.artifact, "workload": self.name, "split": self.split,
                "samples": self.samples, "passed": self.passed, "bit_exact": self.bit_exact,
                "min_agreement": MIN_AGREEMENT, "float_problems": self.float_problems,
                "nodes_compared": self.nodes_compared, "values_compared": self.values_compared,
                "mismatch": None if self.mismatch is None else vars(self.mismatch),
                "float_comparison": {k: (None if isinstance(v, float) and not np.isfinite(v)
                                         else v)          # non-finite: see float_problems
                                     for k, v in vars(self.comparison).items()},
                "measured_problems": self.measured_problems,
                "measured_per_batch": {node: m.as_dict() for node, m in self.measured.items()},
                "counts_per_inference": self.per_inference.as_dict(),
                "node_counts_per_inference": {node: {"op": self.node_ops[node], **c.as_dict()}
                                              for node, c in self.node_counts.items()}}


def _expected(g: nx.DiGraph, node: str, model, trace: IntegerTrace, x_levels: np.ndarray):
    """What the trainer's integer pass says `node` outputs."""
    a = g.nodes[node]["op"]
    op, i = a.kind, getattr(a, "layer_index", None)
    if op in ("argmax", "output_table"):
        return trace.outputs
    spec = model.layers[i]
    if op in WEIGHTED and spec.thresholds is not None:
        source = model.sources[i][0]
        layer_input = x_levels if source < 0 else trace.per_layer[source]
        return layer_sums(model, spec, layer_input)
    if op == "add" and i in trace.add_sums:
        return trace.add_sums[i]
    return trace.per_layer[i]


def first_mismatch(node: str, layer_index, expected: np.ndarray, got: np.ndarray
                   ) -> Mismatch | None:
    n = len(expected)
    want, have = expected.reshape(n, -1), np.asarray(got).reshape(len(got), -1)
    if want.shape != have.shape:
        return Mismatch(node, layer_index, -1, -1, None, None,
                        f"shape {list(have.shape)} differs from the trainer's {list(want.shape)}")
    differ = np.argwhere(want != have)
    if not len(differ):
        return None
    sample, unit = (int(v) for v in differ[0])
    return Mismatch(node, layer_index, sample, unit, int(want[sample, unit]),
                    int(have[sample, unit]))


def compare_nodes(g: nx.DiGraph, run: Execution, model, x_levels: np.ndarray):
    """(nodes compared, values compared, first mismatch or None)."""
    trace = integer_forward(model, x_levels)
    nodes = values = 0
    for node in execution_order(g):
        if g.nodes[node]["op"].kind == "input":
            continue
        expected = _expected(g, node, model, trace, x_levels)
        mismatch = first_mismatch(node, getattr(g.nodes[node]["op"], "layer_index", None), expected,
                                  run.nodes[node].output)
        nodes += 1
        if mismatch is not None:
            return nodes, values, mismatch
        values += expected.size
    return nodes, values, None


def _errors(integer: np.ndarray, reference: np.ndarray) -> dict[str, float | None]:
    a, b = integer.reshape(-1), reference.reshape(-1)
    diff = a - b
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a and norm_b:
        cosine = float(np.dot(a, b) / (norm_a * norm_b))
    else:
        cosine = 1.0 if norm_a == norm_b else 0.0
    return {"rmse": float(np.sqrt(np.mean(diff ** 2))), "mae": float(np.mean(np.abs(diff))),
            "l2_relative": float(np.linalg.norm(diff)) / norm_b if norm_b else None,
            "cosine": cosine}


def compare_float(g: nx.DiGraph, run: Execution, artifact, x: np.ndarray,
                  y: np.ndarray | None) -> FloatComparison:
    """`y` None (a data file without labels): no accuracies, the agreement and errors."""
    workload = artifact.workload
    mode = Mode(workload.discretization.activation_levels, workload.input_levels)
    simulated = predict(workload.layers, artifact.discrete_params, x, mode, workload.task,
                        workload.activation_flags, workload.graph_inputs)
    simulated = simulated.reshape(len(x), -1)
    output = next(n for n in g.nodes if g.out_degree(n) == 0)
    if workload.task == "classification":
        last = next(iter(g.predecessors(output)))
        logits = np.ldexp(run.nodes[last].output.reshape(len(x), -1).astype(np.float64),
                          -g.graph["scale_bits"])
        classes = np.argmax(simulated, axis=1)
        return FloatComparison("accuracy",
                               None if y is None else float(np.mean(run.outputs == y)),
                               None if y is None else float(np.mean(classes == y)),
                               float(np.mean(run.outputs == classes)),
                               **_errors(logits, simulated))
    values = np.asarray(g.graph["output_values"], dtype=np.float64)[run.outputs]
    target = x.reshape(len(x), -1)
    return FloatComparison("mse", float(np.mean((values - target) ** 2)),
                           float(np.mean((simulated - target) ** 2)),
                           float(np.mean(values == simulated)), **_errors(values, simulated))


def samples_for(artifact, split: str, data: str | Path | None
                ) -> tuple[str, np.ndarray, np.ndarray | None]:
    """(what was run, inputs in [0, 1], labels or None): the .npz file `data` read in
    the artifact's input encoding (a converted model's original input; a trained
    artifact's floats in [0, 1]), else `split` of the artifact's dataset."""
    workload = artifact.workload
    if data is not None:
        encoding = artifact.input_encoding or unit_encoding(workload.input_shape)
        classes = math.prod(workload.output_shape) if workload.task == "classification" else 0
        samples = read_samples(data, encoding.tensor, classes, "--data")
        return f"data {Path(data).name}", encoding.unit(samples.x), samples.y
    if split not in SPLITS:
        raise HwsimError(f"split must be 'test' or 'train', got {split!r}")
    if workload.dataset is None:
        raise HwsimError(f"{artifact.directory}: the artifact names no dataset (dataset: none), "
                         "and hwsim verify runs an artifact on its dataset or on --data FILE.npz "
                         "(array 'x' in the input format of the model it was converted from, "
                         "optional labels 'y'); a converted model gets a dataset with hwsim "
                         "convert --dataset NAME")
    dataset = dataset_for(workload)
    x = np.asarray(dataset.x_test if split == "test" else dataset.x_train, dtype=np.float64)
    return split, x, dataset.y_test if split == "test" else dataset.y_train


def verify_artifact(artifact, *, split: str = "test", data: str | Path | None = None,
                    graph: nx.DiGraph | None = None, placement: Placement = Placement()
                    ) -> VerifyReport:
    """Verify `artifact` (hwsim.artifact.load.Artifact) on a split of its dataset, or on
    the samples of the .npz file `data` (`samples_for`). `graph` replaces the artifact's
    own graph (to check a modified one)."""
    g = graph if graph is not None else graph_from_artifact(artifact)
    if artifact.integer_model is None:
        raise HwsimError(f"{artifact.directory}: no integer model to verify")
    split, x, y = samples_for(artifact, split, data)
    x_levels = quantize_input(x, artifact.workload.input_levels)
    run, measured = measured_run(build_plan(g, placement), x_levels)
    nodes, values, mismatch = compare_nodes(g, run, artifact.integer_model, x_levels)
    comparison = compare_float(g, run, artifact, x, y)
    node_counts = {node: _with_measured(run.node_per_inference(node), measured[node], len(x))
                   for node in run.nodes}
    return VerifyReport(artifact.directory, artifact.workload.name, split, len(x), nodes, values,
                        mismatch, comparison, total(node_counts.values()), node_counts,
                        {node: r.op for node, r in run.nodes.items()}, measured)


def _with_measured(counts: Counts, measured: Measured, batch: int) -> Counts:
    """The executor's counts with multiplies and float_ops as measured (per
    inference, rounded up so that any operation shows)."""
    return dataclasses.replace(counts, multiplies=-(-measured.multiplies // batch),
                               float_ops=-(-(measured.float_ops + measured.divisions) // batch))
