"""`hwsim verify`: run an artifact op by op on its dataset and prove it matches the
trainer. Exit 0 when bit-exact and in agreement with the float-simulated network,
1 on a mismatch or a disagreement (printed), 2 for user errors."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.commands import HELP
from hwsim.artifact.load import load_artifact
from hwsim.cli.arguments import seed
from hwsim.errors import HwsimError
from hwsim.execute.verify import MIN_AGREEMENT, SPLITS, VerifyReport, verify_artifact
from hwsim.importers.network import is_model_path

COLUMNS = (("loads_sram", "sram ld"), ("loads_flash", "flash ld"), ("adds", "adds"),
           ("compares", "cmp"), ("branches", "br"), ("max_ops", "max"), ("stores", "st"),
           ("multiplies", "mul"), ("float_ops", "flop"))


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify", help=HELP["verify"],
        description="Run an artifact's deployed integer network op by op on a split of its "
                    "dataset, compare every node bit for bit with the trainer's integer "
                    "forward pass, compare the integer outputs with the float-simulated "
                    "network, and count the actions per inference. Exit status 0: bit-exact "
                    "and the integer network agrees with the float-simulated one on at least "
                    f"{100 * MIN_AGREEMENT:.0f}% of the test samples (all metrics finite); a "
                    "model: the executor's outputs equal its runtime's; "
                    "1: a mismatch or disagreement; 2: a usage or input error.")
    parser.add_argument("artifact", metavar="ARTIFACT|MODEL",
                        help="artifact directory, or a .tflite/.onnx model: run it with hwsim's "
                             "int8 (or float) executor and compare with the model's runtime")
    parser.add_argument("--inputs", metavar="FILE.npy",
                        help="model: input samples [N, ...] channels-last (default: random, "
                             "--seed)")
    parser.add_argument("--save-outputs", metavar="FILE.npy",
                        help="model: write the executor's outputs, stacked, in the runtime's dtype")
    parser.add_argument("--seed", type=seed, default=0, help="model: seed of random inputs (0)")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="dataset split to run (default: test)")
    parser.add_argument("--data", metavar="FILE.npz",
                        help="artifact: run these samples instead of a dataset split: array x "
                             "[N, ...] in the input format of the model it was converted from "
                             "(a trained artifact: floats in [0, 1]), optional labels y [N]")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if is_model_path(args.artifact):
        return run_model(args)
    if args.inputs or args.save_outputs:
        raise HwsimError("--inputs and --save-outputs apply to .tflite/.onnx models")
    if args.data and args.split != "test":
        raise HwsimError("give --data or --split, not both")
    report = verify_artifact(load_artifact(args.artifact), split=args.split, data=args.data)
    print(json.dumps(report.as_dict(), indent=2, allow_nan=False) if args.json else render(report))
    return 0 if report.passed else 1


def _metric(name: str, value: float | None) -> str:
    if value is None:
        return "n/a (no labels)"
    return f"{100 * value:.2f}%" if name == "accuracy" else f"{value:.5f}"


def render(report: VerifyReport) -> str:
    c = report.comparison
    what = report.split if report.split.startswith("data ") else f"{report.split} split"
    lines = [f"{report.name}: {what}, {report.samples} samples ({report.artifact})"]
    m = report.mismatch
    if m is None:
        lines.append(f"  bit-exact: yes, {report.nodes_compared} nodes and "
                     f"{report.values_compared:,} values equal the trainer's integer pass")
    elif m.detail:
        lines.append(f"  MISMATCH at node {m.node!r} (layer {m.layer_index}): {m.detail}")
    else:
        lines.append(f"  MISMATCH at node {m.node!r} (layer {m.layer_index}), sample {m.sample}, "
                     f"unit {m.unit}: trainer {m.expected}, executor {m.got} "
                     f"({report.values_compared:,} values equal before it)")
    lines.append(f"  integer vs float-simulated: {c.metric} {_metric(c.metric, c.integer)} vs "
                 f"{_metric(c.metric, c.float_simulated)}, agreement {100 * c.agreement:.2f}%")
    for problem in report.float_problems:
        lines.append(f"  FLOAT DISAGREEMENT: {problem}")
    for problem in report.measured_problems:
        lines.append(f"  MEASURED ARITHMETIC: {problem}")
    l2r = "n/a" if c.l2_relative is None else f"{c.l2_relative:.3g}"
    lines.append(f"    rmse {c.rmse:.4g}  mae {c.mae:.4g}  l2r {l2r}  cos {c.cosine:.6f}")
    p = report.per_inference
    lines.append(f"  per inference: {p.loads:,} loads ({p.table_loads:,} table, {p.index_loads:,} "
                 f"index, {p.activation_loads:,} activation, {p.threshold_loads:,} threshold;")
    lines.append(f"    {p.loads_flash:,} flash, {p.loads_sram:,} sram), {p.adds:,} adds, "
                 f"{p.compares:,} compares, {p.max_ops:,} max, {p.stores:,} stores, "
                 f"{p.multiplies} multiplies, {p.float_ops} float ops")
    width = max(len(n) for n in report.node_counts)
    lines.append("  " + "node".ljust(width) + "".join(f"{h:>10}" for _, h in COLUMNS))
    for node, counts in report.node_counts.items():
        values = counts.as_dict()
        lines.append("  " + node.ljust(width)
                     + "".join(f"{values[k]:>10,}" for k, _ in COLUMNS))
    return "\n".join(lines)


def run_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hwsim.importers.load import load_model
    from hwsim.importers.verify import outputs_bytes, read_inputs, verify_model
    from hwsim.io import write_files_atomically
    model = load_model(args.artifact)
    inputs = read_inputs(args.inputs) if args.inputs else None
    result = verify_model(model, inputs, seed=args.seed, inputs_from=args.inputs)
    if args.save_outputs:
        target = Path(args.save_outputs)
        write_files_atomically(target.parent, {target.name: outputs_bytes(result, target)})
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(render_model(result, args.save_outputs))
    return 1 if result.matches is False else 0


def render_model(result, saved: str | None) -> str:
    lines = [f"{result.path}: {result.format}, {result.arithmetic}, {result.samples} samples "
             f"({result.inputs_from})"]
    if result.runtime is None:
        lines.append(f"  not compared: {result.runtime_missing}")
    elif result.matches:
        lines.append(f"  matches {result.runtime}: {result.criterion} on every sample "
                     f"(max abs difference {result.max_abs_difference:g})")
    else:
        lines.append(f"  MISMATCH with {result.runtime} ({result.criterion}): samples "
                     f"{', '.join(map(str, result.mismatched_samples))}; max abs difference "
                     f"{result.max_abs_difference:g}")
    for i, output in enumerate(result.outputs):
        lines.append(f"  output {i}: {list(output.shape)} {output.dtype}"
                     + (f" -> {saved}" if saved else ""))
    return "\n".join(lines)
