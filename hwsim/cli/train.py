"""`hwsim train`: train a workload, export the integer model, print its metrics."""
from __future__ import annotations

import argparse
import json
import sys
import time

from hwsim.cli.commands import HELP
from hwsim.io import check_output_directory
from hwsim.artifact.save import artifact_sha256, save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.cli.arguments import count_or_continuous, seed
from hwsim.cli.format import human_bytes
from hwsim.cli.progress import ProgressBar
from hwsim.errors import HwsimError
from hwsim.memory.footprint import weight_footprint
from hwsim.train.pipeline import run_training
from hwsim.specs.workload import load_workload


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help=HELP["train"],
        description="Train the continuous baseline and the discretized network of a workload "
                    "(bundled name or YAML path), export the deployable integer model and "
                    "report the metrics of all three.")
    parser.add_argument("workload", metavar="WORKLOAD")
    parser.add_argument("--levels", type=count_or_continuous(2, 256), metavar="L",
                        help="activation levels (2..256 or 'continuous'); default: the workload's")
    parser.add_argument("--clusters", type=count_or_continuous(2, 4096), metavar="K",
                        help="unique weights (2..4096 or 'continuous'); default: the workload's")
    parser.add_argument("--scope", choices=("global", "per_layer"),
                        help="weight clustering scope; default: the workload's")
    parser.add_argument("--seed", type=seed, metavar="S", help="training seed")
    parser.add_argument("--init-from", metavar="ARTIFACT",
                        help="start from this artifact's continuous weights instead of training "
                             "the baseline (bit-width sweeps)")
    parser.add_argument("--out", metavar="DIR",
                        help="artifact directory (default: runs/NAME-L<L>-K<K>-s<seed>)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def default_out(workload) -> str:
    d = workload.discretization
    levels = d.activation_levels or "cont"
    clusters = d.weight_clusters or "cont"
    scope = "-per-layer" if d.cluster_scope == "per_layer" else ""
    return f"runs/{workload.name}-L{levels}-K{clusters}{scope}-s{workload.training.seed}"


def run(args: argparse.Namespace) -> int:
    workload = load_workload(args.workload).with_overrides(levels=args.levels,
                                                           clusters=args.clusters, scope=args.scope,
                                                           seed=args.seed)
    out_dir = check_output_directory(args.out or default_out(workload), "artifact directory")
    init_params, init_sha = None, None
    if args.init_from:
        source = load_artifact(args.init_from)
        if source.workload.layers != workload.layers:
            raise HwsimError(f"--init-from {args.init_from}: its layers differ from workload "
                             f"{workload.name!r}")
        init_params, init_sha = source.continuous_params, artifact_sha256(args.init_from)
    started = time.perf_counter()
    with ProgressBar(sys.stderr) as bar:
        result = run_training(workload, init_params=init_params, progress=bar.update)
    seconds = time.perf_counter() - started
    out = save_artifact(result, out_dir, init_from=init_sha)
    if result.integer_model is not None:        # int8 operand statistics (model-format 2.13)
        from hwsim.machine.operand_statistics import record_int8_input_statistics
        record_int8_input_statistics(out)
    summary = {"artifact": str(out), "workload": workload.name,
               "activation_levels": workload.discretization.activation_levels,
               "weight_clusters": workload.discretization.weight_clusters,
               "seed": workload.training.seed, "seconds": round(seconds, 2),
               "metrics": result.metrics}
    if result.integer_model is not None:
        fp = weight_footprint(result.integer_model)
        summary["scale_bits"] = result.scale.scale_bits
        summary["binding_bound"] = result.scale.binding
        summary["weight_memory"] = {"float32_bytes": fp.float32_bytes,
                                    "deployed_bytes": fp.deployed_bytes,
                                    "index_bytes": fp.index_bytes, "table_bytes": fp.table_bytes,
                                    "threshold_bytes": fp.threshold_bytes,
                                    "ratio_to_float32": round(fp.ratio_to_float32, 4)}
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
        return 0
    print(render(summary))
    return 0


def render(summary: dict) -> str:
    m = summary["metrics"]
    name = m["metric"]
    fmt = (lambda v: f"{100 * v:.2f}%") if name == "accuracy" else (lambda v: f"{v:.5f}")
    lines = [f"{summary['workload']}: L={summary['activation_levels'] or 'continuous'} "
             f"K={summary['weight_clusters'] or 'continuous'} seed={summary['seed']} "
             f"({summary['seconds']:.1f} s)",
             f"  test {name}: continuous {fmt(m['continuous'])}"]
    if "discretized" in m:
        lines[-1] += f", discretized {fmt(m['discretized'])}"
    if "integer" in m:
        lines[-1] += f", integer {fmt(m['integer'])}"
        lines.append(f"  integer vs discretized agreement: {100 * m['agreement']:.2f}%")
    if "weight_memory" in summary:
        wm = summary["weight_memory"]
        lines.append(f"  scale 2^{summary['scale_bits']} (bound: {summary['binding_bound']})")
        lines.append(f"  weights: {human_bytes(wm['deployed_bytes'])} deployed "
                     f"(indices {human_bytes(wm['index_bytes'])}, tables "
                     f"{human_bytes(wm['table_bytes'])}, thresholds "
                     f"{human_bytes(wm['threshold_bytes'])}) vs "
                     f"{human_bytes(wm['float32_bytes'])} float32 = "
                     f"{100 * wm['ratio_to_float32']:.1f}%")
    lines.append(f"  artifact: {summary['artifact']}")
    return "\n".join(lines)
