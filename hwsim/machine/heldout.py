"""Held-out validation: the cost model on networks nobody fitted it to.

`heldout_workloads(seed, count)` draws random workloads unlike the bundled ones (odd
and small sizes, strides, 'same' padding, depthwise, pools, residual adds, L and K
from 2 to 256 including non-powers of two, 8- and 16-bit table entries) with a fixed
seed; `run_heldout` gives them random weights (hwsim.ir.random_model), generates,
compiles and emulates them on each target and, optionally, runs them on RTL cores,
and returns every node's and every network's error of the cost model against the
emulated cycles (executed instructions priced with the device table) and against the
RTL clocks. A network the code generator refuses is reported as such, never dropped.
benchmarks/heldout_validation.py prints the distributions.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.specs.device import Device
from hwsim.specs.workload import Workload, workload_from_data

LEVELS = (2, 3, 4, 5, 8, 12, 16, 32, 64, 100, 256)
CLUSTERS = (2, 3, 4, 6, 8, 16, 24, 32, 64, 200, 256)
FAMILIES = ("mlp", "conv1d", "conv2d", "depthwise", "residual")
THRESHOLDS = (0.01, 0.02, 0.05, 0.10)     # the distribution's "within" bounds


def _pick(rng: np.random.Generator, values):
    return values[int(rng.integers(len(values)))]


def _layers(rng: np.random.Generator, family: str) -> tuple[list[int], list[dict]]:
    """(input shape, layer specs) of one random network of `family`."""
    padding = lambda: _pick(rng, ("valid", "same"))          # noqa: E731
    if family == "mlp":
        shape = [int(_pick(rng, (6, 13, 37, 64, 100, 130)))]
        layers = [{"type": "dense", "units": int(_pick(rng, (3, 10, 16, 33, 64)))}
                  for _ in range(int(rng.integers(1, 4)))]
        return shape, layers
    if family == "conv1d":
        shape = [int(rng.integers(20, 65)), int(rng.integers(1, 5))]
        layers = [{"type": "conv1d", "filters": int(rng.integers(3, 17)),
                   "kernel": int(rng.integers(1, 8)), "stride": int(rng.integers(1, 3)),
                   "padding": padding()}]
        if rng.random() < 0.6:
            layers.append({"type": _pick(rng, ("max_pool1d", "avg_pool1d")),
                           "size": int(rng.integers(2, 4))})
        return shape, layers + [{"type": "flatten"}, {"type": "dense", "units": 5}]
    side = int(rng.integers(5, 13))
    shape = [side, int(rng.integers(5, 13)), int(rng.integers(1, 5))]
    conv = {"type": "conv2d", "filters": int(rng.integers(2, 9)),
            "kernel": [int(rng.integers(1, 4)), int(rng.integers(1, 4))],
            "stride": [int(rng.integers(1, 3)), int(rng.integers(1, 3))], "padding": padding()}
    if family == "conv2d":
        layers = [conv]
    elif family == "depthwise":
        layers = [dict(conv, stride=1, padding="same"),
                  {"type": "depthwise_conv2d", "kernel": int(_pick(rng, (2, 3))),
                   "stride": int(rng.integers(1, 3)), "padding": padding()},
                  {"type": "conv2d", "filters": int(rng.integers(2, 9)), "kernel": 1}]
    else:
        same = dict(conv, stride=1, padding="same")
        layers = [dict(same, name="a"), dict(same, name="b"),
                  {"type": "add", "name": "sum", "inputs": ["b", "a"]}]
    if rng.random() < 0.5:
        layers.append({"type": _pick(rng, ("max_pool2d", "avg_pool2d")), "size": 2})
    return shape, layers + [{"type": "flatten"}, {"type": "dense", "units": 4}]


def random_workload_data(rng: np.random.Generator, index: int) -> dict:
    """One random workload as the data of a workload file (shape-only, dataset none)."""
    family = FAMILIES[index % len(FAMILIES)]
    shape, layers = _layers(rng, family)
    return {
        "schema_version": 1, "name": f"heldout-{index:02d}-{family}",
        "description": "held-out validation network", "task": "classification",
        "dataset": "none", "input": {"shape": shape, "levels": int(_pick(rng, LEVELS))},
        "layers": layers,
        "discretization": {"activation_levels": int(_pick(rng, LEVELS)),
                           "weight_clusters": int(_pick(rng, CLUSTERS)),
                           "cluster_scope": _pick(rng, ("global", "per_layer"))},
        "integer": {"accumulator_bits": 32, "table_entry_bits": int(_pick(rng, (8, 16, 16)))},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8,
                     "learning_rate": 0.01, "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 100, "deadline_ms": 100}}


def heldout_workloads(seed: int, count: int) -> list[Workload]:
    """`count` random workloads drawn with `seed` (the same seed gives the same list)."""
    rng = np.random.default_rng(seed)
    return [workload_from_data(random_workload_data(rng, i), f"<heldout {i}>")
            for i in range(count)]


@dataclass(frozen=True)
class ErrorDistribution:
    """How a set of relative errors is distributed: the share within each bound."""
    count: int
    within: tuple[tuple[float, float], ...]      # (bound, share of |error| <= bound)
    worst: float                                 # the error of largest magnitude

    def to_dict(self) -> dict:
        return {"count": self.count, "worst": self.worst,
                "within": {f"{b:.0%}": share for b, share in self.within}}


def distribution(errors) -> ErrorDistribution:
    e = np.asarray(list(errors), dtype=np.float64)
    if e.size == 0:
        return ErrorDistribution(0, tuple((b, 0.0) for b in THRESHOLDS), 0.0)
    worst = float(e[np.argmax(np.abs(e))])
    return ErrorDistribution(int(e.size), tuple((b, float(np.mean(np.abs(e) <= b + 1e-12)))
                                                for b in THRESHOLDS), worst)


@dataclass(frozen=True)
class HeldoutRun:
    """One network on one device (or RTL core) in one style."""
    workload: str
    platform: str                       # device name, or "rtl:<core>"
    style: str
    reference: str                      # "emulation" or "rtl"
    network_error: float | None         # None when not generated
    node_errors: tuple[tuple[str, str, float, str], ...]   # (node, op, error, basis)
    bit_exact: bool
    refused: str                        # the generator's or builder's refusal, else ""

    def to_dict(self) -> dict:
        return {"workload": self.workload, "platform": self.platform, "style": self.style,
                "reference": self.reference, "network_error": self.network_error,
                "bit_exact": self.bit_exact, "refused": self.refused,
                "nodes": [{"node": n, "op": op, "error": e, "basis": b}
                          for n, op, e, b in self.node_errors]}


def _inputs(workload: Workload, samples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, workload.input_levels, size=(samples, *workload.input_shape))


# Calibration inputs: drawn like the inputs the networks run on (uniform levels), but a
# separate draw (another seed), as a trained artifact's statistics come from its training
# split and it runs on test data.
CALIBRATION_SAMPLES = 64
CALIBRATION_SEED = 1_000_003


# Where a network's int8 input statistics come from (run_heldout `statistics`): none
# (shape-only), calibration inputs drawn apart from the ones run (as a trained artifact's
# come from its training split), or the very inputs run (an oracle: what is left is the
# model's own error, not the data's spread).
STATISTICS = ("none", "calibration", "run")


def with_input_statistics(g, workload: Workload, seed: int, x: np.ndarray | None = None):
    """`g` carrying int8 input statistics (hwsim.ir.graph.INT8_INPUT_BITS) measured as a
    trained artifact's are (hwsim.machine.operand_statistics), over CALIBRATION_SAMPLES
    inputs drawn apart from the ones it runs on, or over the level inputs `x`."""
    from hwsim.ir.graph import INT8_INPUT_BITS
    from hwsim.machine.operand_statistics import int8_input_statistics
    if x is None:
        x = _inputs(workload, CALIBRATION_SAMPLES, CALIBRATION_SEED + seed)
    statistics = int8_input_statistics(g, x)
    g.graph[INT8_INPUT_BITS] = {node: statistics[str(op.layer_index)]
                                for node, op in g.nodes(data="op") if op.weighted}
    return g


# Which weighted layers a held-out network shifts left in its int8 requantization
# (run_heldout `left_shifts`): none (the layers hwsim builds), every other one, or all.
LEFT_SHIFTS = ("none", "some", "all")
# Weights this many times larger make a layer before a threshold shift left (its real
# multiplier s_w s_x / s_out is s_w: s_x = s_out = 1/127), as an imported model whose
# output scale is small against s_w s_x does.
LEFT_SHIFT_SCALE = 1000.0


def with_left_shifts(g, which: str):
    """A copy of graph `g` whose weighted layers (`which`, LEFT_SHIFTS: every one, or every
    other in execution order from the first) have their weights and biases scaled by
    LEFT_SHIFT_SCALE (each its own table), so that the int8 requantization of each
    scaled layer followed by a threshold shifts left (hwsim.cost.int8_library.left_shifted);
    the last layer, whose output scale follows its weights, keeps a right shift."""
    from hwsim.ir.graph import execution_order
    if which not in LEFT_SHIFTS:
        raise HwsimError(f"left_shifts must be one of {', '.join(LEFT_SHIFTS)}, not {which!r}")
    if which == "none":
        return g
    out = g.copy()
    out.graph["tables"] = dict(g.graph["tables"])
    weighted = [n for n in execution_order(g) if g.nodes[n]["op"].weighted]
    chosen = weighted if which == "all" else weighted[::2]
    for node in chosen:
        op = g.nodes[node]["op"]
        table = f"{op.table}@{node}"
        out.graph["tables"][table] = np.asarray(g.graph["tables"][op.table]) * LEFT_SHIFT_SCALE
        out.nodes[node]["op"] = replace(op, table=table)
    return out


def _emulated(g, device: Device, style: str, x: np.ndarray, name: str, workdir,
              weight_indices: str = "auto", int8_kernels: str = "optimized") -> HeldoutRun:
    from hwsim.machine.validate import codegen_options, validate_graph
    options = replace(codegen_options(), weight_indices=weight_indices,
                      int8_kernels=int8_kernels)
    try:
        [r] = validate_graph(g, [device], style, x, workdir=workdir, check_instructions=False,
                             options=options)
    except HwsimError as exc:
        return HeldoutRun(name, device.name, style, "emulation", None, (), False, str(exc))
    return HeldoutRun(name, r.device, style, "emulation", r.error,
                      tuple((n.node, n.op, n.error, n.basis) for n in r.nodes), r.bit_exact, "")


def _on_rtl(g, core, style: str, x: np.ndarray, name: str, cache_dir, workdir) -> HeldoutRun:
    from hwsim.machine.validate_rtl import validate_rtl_graph
    try:
        r = validate_rtl_graph(g, core, style, x, cache_dir=cache_dir, workdir=workdir)
    except HwsimError as exc:
        return HeldoutRun(name, f"rtl:{core.name}", style, "rtl", None, (), False, str(exc))
    return HeldoutRun(name, f"rtl:{core.name}", style, "rtl", r.estimate_error,
                      tuple((row.node, row.op, row.estimate_error, _basis(r, row)) for row in r.rows),
                      r.outputs_equal, "")


def _basis(report, row) -> str:
    """An RTL row's basis: that of the graph nodes it holds, or "mixed"."""
    of = {n.node: n.basis for n in report.emulation.nodes}
    found = {of[m] for m in row.nodes if m in of}
    return found.pop() if len(found) == 1 else "mixed"


def run_heldout(workloads: list[Workload], devices: list[Device], styles: tuple[str, ...], *,
                rtl_cores: tuple = (), cache_dir: str | Path | None = None,
                samples: int = 2, seed: int = 0, workdir: str | Path | None = None,
                statistics: str = "none", weight_indices: str = "auto",
                int8_kernels: str = "optimized", left_shifts: str = "none"
                ) -> list[HeldoutRun]:
    """Every workload on every device (emulation) and RTL core, in every style.
    `statistics` (STATISTICS): each network carries int8 input statistics
    (`with_input_statistics`) from calibration inputs, as a trained artifact does, or from
    the inputs it runs on (the oracle); with "none" it is shape-only.
    `weight_indices`, `int8_kernels`: the lut weight codes and the int8 kernels
    ("reference": the plain loops) in emulation (CostOptions). `left_shifts`
    (LEFT_SHIFTS): which weighted layers shift left (`with_left_shifts`)."""
    if statistics not in STATISTICS:
        raise HwsimError(f"statistics must be one of {', '.join(STATISTICS)}, "
                         f"not {statistics!r}")
    runs = []
    for i, w in enumerate(workloads):
        g = with_left_shifts(graph_from_workload(w, seed=seed + i), left_shifts)
        x = _inputs(w, samples, seed + i)
        if statistics != "none":
            g = with_input_statistics(g, w, seed + i, x if statistics == "run" else None)
        for style in styles:
            base = Path(workdir) / f"{w.name}-{style}" if workdir else None
            for device in devices:
                runs.append(_emulated(g, device, style, x, w.name,
                                      base / device.name if base else None, weight_indices,
                                      int8_kernels))
            for core in rtl_cores:
                if cache_dir is None:
                    raise HwsimError("RTL held-out runs need a cache directory for the cores")
                runs.append(_on_rtl(g, core, style, x, w.name, cache_dir,
                                    base / f"rtl-{core.name}" if base else None))
    return runs
