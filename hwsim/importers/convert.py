"""`hwsim convert`: a user's float (or int8) classifier or auto-encoder, residual adds
included, as the paper's network: L activation levels, K unique weights, product tables,
value table and integer thresholds (docs/import.md §12).

Steps: the model's weights on its workload's layers (float_network.py); the input range
mapped onto 256 input levels; layer by layer through the graph, each activation fitted
to tanhD on the calibration data and folded into the weights, the adds' inputs brought
to one scale, then each bias corrected by the mean error of the converted network so
far (encode.py, calibrate.py); the weights and biases clustered to K values; with
fine-tuning data, the trainer's discretized training (hwsim.train.loop.train, tanhD with
a straight-through gradient and periodic clustering) from there; the integer export of
`hwsim.train.export`. The result is a `TrainResult`, which `hwsim.artifact.save` writes
as any trained artifact, and a report: on the evaluation samples, the top-1 agreement of
the integer network (the trainer's integer pass, which `hwsim verify` proves equal to the
executor) with the original model run by its own arithmetic (`run_int8` or
`run_float`), and accuracies where labels are given; for an auto-encoder, the mean
squared error and correlation of its output values against the original's.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.calibrate import Samples, check_samples, input_range, input_tensor, \
    read_samples
from hwsim.importers.diagnostics import fail
from hwsim.importers.encode import encode, graph_problems
from hwsim.importers.float_network import float_network
from hwsim.importers.load import load_model
from hwsim.importers.network import INPUT_LEVELS, workload_from_model
from hwsim.importers.verify import is_int8, samples_from
from hwsim.ir.input_encoding import InputEncoding
from hwsim.ir.integer import integer_forward
from hwsim.ir.levels import quantize_input
from hwsim.specs.workload import workload_from_data
from hwsim.train.export import export_integer
from hwsim.train.loop import apply_clustering, cluster_params, train
from hwsim.train.network import Mode
from hwsim.train.pipeline import TrainResult, dataset_for


@dataclass(frozen=True)
class Options:
    levels: int
    clusters: int
    scope: str = "global"
    input_range: tuple[float, float] | None = None
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    cluster_interval_steps: int = 100
    seed: int = 0
    accumulator_bits: int = 32
    table_entry_bits: int = 16


@dataclass(frozen=True)
class Conversion:
    result: TrainResult           # what hwsim.artifact.save writes
    report: dict                  # plain data (JSON)


def _original_classes(model, samples: Samples) -> np.ndarray:
    from hwsim.importers.float_reference import run_float
    from hwsim.importers.int8_reference import run_int8
    run = run_int8 if is_int8(model) else run_float
    outputs = [run(model, x)[0] for x in samples_from(model, samples.raw, 0, samples.source)]
    return np.array([int(np.argmax(o.reshape(-1))) for o in outputs], dtype=np.int64)


def _dataset_samples(name: str, model, workload, classes: int):
    try:
        data = dataset_for(workload)
    except HwsimError as exc:
        raise HwsimError(f"--dataset {name}: {exc}") from None
    tensor = model.tensors[model.inputs[0]]
    if np.dtype(tensor.dtype).kind != "f":
        raise HwsimError(f"--dataset {name}: its inputs are floats in [0, 1]; the model's input "
                         f"{tensor.name!r} is {tensor.dtype}")
    source = f"dataset {name}"
    return tuple(check_samples(np.asarray(x, np.float32), np.asarray(y) if classes else None,
                               model, classes,
                               f"{source} ({split} split)", f"{source} ({split} split)")
                 for x, y, split in ((data.x_train, data.y_train, "train"),
                                     (data.x_test, data.y_test, "test")))


def _integer(workload, layers, clustering, options: Options, flags):
    try:
        return export_integer(layers, clustering, task=workload.task,
                              input_shape=workload.input_shape, input_levels=INPUT_LEVELS,
                              levels=options.levels, accumulator_bits=options.accumulator_bits,
                              table_entry_bits=options.table_entry_bits, flags=flags,
                              inputs=workload.graph_inputs)
    except HwsimError as exc:
        raise HwsimError(f"{workload.source_file or workload.name}: converted weights: {exc}") \
            from None


def _original_outputs(model, samples: Samples) -> np.ndarray:
    """An auto-encoder's outputs in real values (an int8 output dequantized), (N, units)."""
    from hwsim.importers.float_reference import run_float
    from hwsim.importers.int8_reference import run_int8
    run = run_int8 if is_int8(model) else run_float
    tensor = model.tensors[model.outputs[0]]
    outputs = []
    for x in samples_from(model, samples.raw, 0, samples.source):
        out = run(model, x)[0].reshape(-1).astype(np.float64)
        if tensor.quantization is not None and np.dtype(tensor.dtype).kind in "iu":
            out = (out - tensor.quantization.zero_point) * tensor.quantization.scale
        outputs.append(out)
    return np.array(outputs)


def _scores(model, x01: np.ndarray, original: np.ndarray, y: np.ndarray | None,
            low: float = 0.0, high: float = 1.0) -> dict:
    out = integer_forward(model, quantize_input(x01, INPUT_LEVELS)).outputs
    if model.task == "autoencoder":          # its levels read as the input's real range
        values = low + (high - low) * model.output_values[out]
        return reconstruction(values, original)
    scores = {"agreement": float(np.mean(out == original))}
    if y is not None:
        scores["accuracy"] = float(np.mean(out == y))
    return scores


def reconstruction(values: np.ndarray, original: np.ndarray) -> dict:
    """How an auto-encoder's converted outputs follow the original's, value by value: the
    mean squared error and the Pearson correlation over every output value."""
    a, b = values.reshape(-1), original.reshape(-1)
    spread = float(np.std(a) * np.std(b))
    correlation = float(np.mean((a - a.mean()) * (b - b.mean())) / spread) if spread else 0.0
    return {"mse": float(np.mean((a - b) ** 2)), "correlation": correlation}


def _artifact_workload(workload, options: Options, dataset: str | None, finetuned: bool,
                       low: float, high: float, source: str):
    data = copy.deepcopy(workload.data)
    data["dataset"] = dataset or "none"
    data["description"] = (f"converted from {source} by hwsim convert; input levels read "
                           f"(x - {low:.9g}) / ({high:.9g} - {low:.9g})")
    data["discretization"] = {"activation_levels": options.levels,
                              "weight_clusters": options.clusters,
                              "cluster_scope": options.scope}
    data["integer"] = {"accumulator_bits": options.accumulator_bits,
                       "table_entry_bits": options.table_entry_bits}
    data["training"] = {"epochs": 0, "finetune_epochs": options.epochs if finetuned else 0,
                        "batch_size": options.batch_size,
                        "learning_rate": options.learning_rate,
                        "cluster_interval_steps": options.cluster_interval_steps,
                        "seed": options.seed}
    return workload_from_data(data, f"<converted {source}>")


def convert_model(path: str | Path, options: Options, *, data: str | Path | None = None,
                  dataset: str | None = None, finetune: str | Path | None = None) -> Conversion:
    """Convert the model at `path`. Calibration and evaluation samples: the .npz `data`
    (both), or the bundled `dataset` (its train split calibrates, its test split
    evaluates); `finetune`: an .npz of training samples (labels `y`, or the original
    model's own classes when absent)."""
    model = load_model(path)
    imported = workload_from_model(model, levels=options.levels, clusters=options.clusters)
    net = float_network(model, imported)
    workload, source = imported.workload, Path(model.source_path).name
    task = workload.task
    problems = graph_problems(workload, workload.activation_flags)
    if problems:
        raise fail(model.source_path, problems)
    classes = math.prod(workload.output_shape) if task == "classification" else 0
    if data is not None and dataset is not None:
        raise HwsimError("give --data or --dataset, not both")
    if data is not None:
        calibration = evaluation = read_samples(data, model, classes, "--data")
    elif dataset is not None:
        workload = workload_from_data({**copy.deepcopy(workload.data), "dataset": dataset},
                                      f"<converted {source}>")
        calibration, evaluation = _dataset_samples(dataset, model, workload, classes)
    else:
        raise HwsimError(f"{model.source_path}: no calibration data: give --data FILE.npz (array "
                         "'x' [N, ...] channels-last, optional labels 'y') or --dataset NAME; "
                         "activation ranges are never guessed")
    low, high = input_range(model, calibration, options.input_range)
    if dataset is not None and (low, high) != (0.0, 1.0):
        raise HwsimError(f"--dataset {dataset}: its inputs are read as they are (range 0..1); "
                         f"the conversion maps {low:g}..{high:g} onto the input levels")
    flags = workload.activation_flags
    layers = workload.layers

    def scaled(samples: Samples) -> np.ndarray:
        return (samples.x - low) / (high - low)

    encoded, errors = encode(net, scaled(calibration), calibration.x, low, high,
                             options.levels, flags, task)
    clustering = cluster_params(layers, encoded, options.clusters, options.scope)
    discrete = [{k: v.copy() for k, v in p.items()} for p in encoded]
    apply_clustering(discrete, clustering)
    integer_model, scale = _integer(workload, layers, clustering, options, flags)
    original = (_original_classes if task == "classification" else _original_outputs)(
        model, evaluation)
    report = {
        "model": str(model.source_path), "format": model.format,
        "arithmetic": "int8" if is_int8(model) else "float32",
        "activation_levels": options.levels, "weight_clusters": options.clusters,
        "cluster_scope": options.scope, "input_levels": INPUT_LEVELS,
        "input_range": [low, high], "calibration": {"source": calibration.source,
                                                     "samples": len(calibration.x)},
        "evaluation": {"source": evaluation.source, "samples": len(evaluation.x),
                       "labels": evaluation.y is not None,
                       "held_out": evaluation is not calibration},
        "activation_fit_mse": [round(e, 9) for e in errors],
        "task": task,
        "converted": _scores(integer_model, scaled(evaluation), original, evaluation.y, low,
                             high),
    }
    if evaluation.y is not None:
        report["original_accuracy"] = float(np.mean(original == evaluation.y))
    if task == "autoencoder":        # how well the original itself reconstructs its input
        report["original_mse"] = float(np.mean(
            (original - evaluation.x.reshape(len(original), -1)) ** 2))
    if finetune is not None:
        tuning = read_samples(finetune, model, classes, "--finetune")
        if task == "autoencoder":     # it learns the original's outputs, read as the input's
            labels = (_original_outputs(model, tuning) - low) / (high - low)
        else:
            labels = tuning.y if tuning.y is not None else _original_classes(model, tuning)
        discrete, clustering = train(
            layers, scaled(tuning), labels, task=task, inputs=workload.graph_inputs,
            mode=Mode(options.levels, INPUT_LEVELS), epochs=options.epochs,
            batch_size=options.batch_size, learning_rate=options.learning_rate,
            seed=options.seed, params=encoded, clusters=options.clusters,
            cluster_scope=options.scope, cluster_interval_steps=options.cluster_interval_steps,
            flags=flags)
        integer_model, scale = _integer(workload, layers, clustering, options, flags)
        report["finetune"] = {"source": tuning.source, "samples": len(tuning.x),
                              "labels": ("the original model's outputs" if task == "autoencoder"
                                         else "y" if tuning.y is not None
                                         else "the original model's classes"),
                              "epochs": options.epochs, "seed": options.seed}
        report["finetuned"] = _scores(integer_model, scaled(evaluation), original, evaluation.y,
                                      low, high)
    report["scale_bits"] = scale.scale_bits
    report["unique_weights"] = {name: int(len(c)) for name, c in clustering.codebooks.items()}
    final = _artifact_workload(workload, options, dataset, finetune is not None, low, high,
                               source)
    metrics = {"metric": "agreement" if task == "classification" else "reconstruction",
               "conversion": report}
    described = {"calibration": calibration.describe(), "evaluation": evaluation.describe(),
                 "original_model": source}
    if finetune is not None:
        described["finetune"] = tuning.describe()
    encoding = InputEncoding(input_tensor(model), low, high, described)
    result = TrainResult(final, [{k: v.copy() for k, v in p.items()} for p in encoded],
                         discrete, clustering, integer_model, scale, metrics, encoding)
    return Conversion(result, report)
