"""`hwsim convert`: a user's .tflite/.onnx classifier or auto-encoder as the paper's network
(L levels, K unique weights, tables and thresholds), saved as an artifact; prints its
agreement with the original model, or an auto-encoder's reconstruction error and
correlation against it (docs/import.md §12)."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from hwsim.cli.commands import HELP
from hwsim.cli.arguments import integer_between, positive, seed

EPOCHS = 20


def _range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"give two numbers LOW,HIGH, got {text!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise argparse.ArgumentTypeError(f"needs finite LOW < HIGH, got {text!r}")
    return low, high


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert", help=HELP["convert"],
        description="Convert a float or int8 .tflite/.onnx classifier or auto-encoder (residual "
                    "adds included) to the paper's method: "
                    "activation ranges calibrated on data and fitted to L tanhD levels, weights "
                    "clustered to K values, product tables and integer thresholds; optionally "
                    "fine-tuned with the trainer. Saves an artifact (verify, simulate, codegen "
                    "and validate take it) and prints the top-1 agreement of its integer network "
                    "with the original model, and accuracies where labels are given (an "
                    "auto-encoder: the mean squared error and correlation of its outputs against "
                    "the original's).")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite or .onnx classifier or auto-encoder")
    parser.add_argument("--levels", type=integer_between(2, 256), required=True, metavar="L",
                        help="activation levels (2..256)")
    parser.add_argument("--clusters", type=integer_between(2, 4096), required=True, metavar="K",
                        help="unique weights (2..4096)")
    parser.add_argument("--data", metavar="FILE.npz",
                        help="calibration and evaluation samples: array x [N, ...] (the model's "
                             "input shape without batch, channels-last), optional labels y [N]")
    parser.add_argument("--dataset", choices=("digits", "har"),
                        help="a bundled dataset instead of --data: its train split calibrates, "
                             "its test split evaluates; the artifact names it (hwsim verify runs it)")
    parser.add_argument("--finetune", metavar="FILE.npz",
                        help="fine-tune the discretized network on these samples (x, labels y or "
                             "the original model's classes)")
    parser.add_argument("--epochs", type=positive, default=EPOCHS,
                        help=f"fine-tuning epochs ({EPOCHS})")
    parser.add_argument("--learning-rate", type=_rate, default=1e-3, help="fine-tuning rate (0.001)")
    parser.add_argument("--seed", type=seed, default=0, help="fine-tuning seed (0)")
    parser.add_argument("--scope", choices=("global", "per_layer"), default="global",
                        help="weight clustering scope (global)")
    parser.add_argument("--input-range", type=_range, metavar="LOW,HIGH",
                        help="real input range mapped onto the 256 input levels (default: an int8 "
                             "input's quantized range, else the data's minimum and maximum)")
    parser.add_argument("--out", metavar="DIR",
                        help="artifact directory (default: runs/MODEL-L<L>-K<K>-converted)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hwsim.artifact.save import save_artifact
    from hwsim.importers.convert import Options, convert_model
    from hwsim.io import check_output_directory
    out_dir = check_output_directory(
        args.out or f"runs/{Path(args.model).stem}-L{args.levels}-K{args.clusters}-converted",
        "artifact directory")
    options = Options(args.levels, args.clusters, scope=args.scope, input_range=args.input_range,
                      epochs=args.epochs, learning_rate=args.learning_rate, seed=args.seed)
    conversion = convert_model(args.model, options, data=args.data, dataset=args.dataset,
                               finetune=args.finetune)
    out = save_artifact(conversion.result, out_dir)
    report = {**conversion.report, "artifact": str(out)}
    print(json.dumps(report, indent=2, allow_nan=False) if args.json else render(report))
    return 0


def _scores(scores: dict) -> str:
    if "agreement" not in scores:                        # an auto-encoder's reconstruction
        return f"mse {scores['mse']:.4g}, correlation {scores['correlation']:.4f}"
    text = f"agreement {100 * scores['agreement']:.2f}%"
    return text + (f", accuracy {100 * scores['accuracy']:.2f}%" if "accuracy" in scores else "")


def render(r: dict) -> str:
    low, high = r["input_range"]
    evaluation = r["evaluation"]
    where = "held out" if evaluation["held_out"] else "the calibration samples"
    lines = [f"{Path(r['model']).name} ({r['format']}, {r['arithmetic']}): L={r['activation_levels']} "
             f"K={r['weight_clusters']} ({r['cluster_scope']}), input {low:g}..{high:g} onto "
             f"{r['input_levels']} levels",
             f"  calibration: {r['calibration']['source']} ({r['calibration']['samples']} samples)",
             f"  evaluation:  {evaluation['source']} ({evaluation['samples']} samples, {where})"]
    if "original_accuracy" in r:
        lines.append(f"  original:    accuracy {100 * r['original_accuracy']:.2f}%")
    if "original_mse" in r:
        lines.append(f"  original:    mse {r['original_mse']:.4g} "
                     "(its reconstruction of the input)")
    compared = "top-1" if "agreement" in r["converted"] else "output values"
    lines.append(f"  converted:   {_scores(r['converted'])} (integer network vs original, "
                 f"{compared})")
    if "finetuned" in r:
        f = r["finetune"]
        lines.append(f"  fine-tuned:  {_scores(r['finetuned'])} ({f['epochs']} epochs on "
                     f"{f['source']}, {f['samples']} samples, labels: {f['labels']}, seed {f['seed']})")
    books = ", ".join(f"{name} {count}" for name, count in r["unique_weights"].items())
    lines.append(f"  scale 2^{r['scale_bits']}; unique weights: {books}")
    lines.append(f"  artifact: {r['artifact']}")
    return "\n".join(lines)
