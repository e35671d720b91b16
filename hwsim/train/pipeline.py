"""One training run as the CLI offers it: the continuous baseline (or one taken
from an earlier artifact), the discretized fine-tune with weight clustering, the
integer export, and the metrics of all three networks on the test split."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwsim.datasets import Dataset, load_dataset
from hwsim.errors import HwsimError
from hwsim.train import layers as L
from hwsim.train.export import ScaleChoice, export_integer
from hwsim.ir.input_encoding import InputEncoding
from hwsim.ir.integer import IntegerModel, integer_forward
from hwsim.train.loop import Clustering, Progress, train
from hwsim.train.network import Mode, forward, quantize_input
from hwsim.specs.workload import Workload

EVAL_BATCH = 512


@dataclass(frozen=True)
class TrainResult:
    workload: Workload
    continuous_params: list
    discrete_params: list | None
    clustering: Clustering | None
    integer_model: IntegerModel | None
    scale: ScaleChoice | None
    metrics: dict
    input_encoding: InputEncoding | None = None     # a converted model's input (ir.input_encoding)


def dataset_for(workload: Workload) -> Dataset:
    if workload.dataset is None:
        raise HwsimError(f"workload {workload.name!r} is shape-only (dataset: none): "
                         "there is nothing to train on")
    data = load_dataset(workload.dataset)
    if tuple(data.input_shape) != tuple(workload.input_shape):
        raise HwsimError(f"workload {workload.name!r}: input.shape {list(workload.input_shape)} "
                         f"does not match dataset {data.name!r} {list(data.input_shape)}")
    if workload.task == "classification":
        outputs = math.prod(workload.output_shape)
        if outputs != data.num_classes:
            raise HwsimError(f"workload {workload.name!r}: the output layer has {outputs} units, "
                             f"dataset {data.name!r} has {data.num_classes} classes")
    return data


def predict(layers, params, x, mode: Mode, task: str, flags=None, inputs=None) -> np.ndarray:
    """Float forward in batches: logits or auto-encoder outputs."""
    outs = [forward(layers, params, x[i:i + EVAL_BATCH], mode, task, flags, inputs)[0]
            for i in range(0, len(x), EVAL_BATCH)]
    return np.concatenate(outs)


def score(task: str, out: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Classification: accuracy; auto-encoder: mean squared error against the input."""
    if task == "classification":
        return float(np.mean(np.argmax(out, axis=1) == y))
    return float(np.mean((out.reshape(len(x), -1) - x.reshape(len(x), -1)) ** 2))


def _same_shapes(params_a, params_b) -> bool:
    return len(params_a) == len(params_b) and all(
        p.keys() == q.keys() and all(p[k].shape == q[k].shape for k in p)
        for p, q in zip(params_a, params_b))


def run_training(workload: Workload, *, init_params: list | None = None,
                 progress: Progress | None = None) -> TrainResult:
    """Train (or start from `init_params`, the continuous weights of an earlier
    artifact), discretize, export and measure."""
    data = dataset_for(workload)
    layers, task, t = workload.layers, workload.task, workload.training
    d = workload.discretization
    x_train, y_train = np.asarray(data.x_train, np.float64), data.y_train
    x_test, y_test = np.asarray(data.x_test, np.float64), data.y_test
    continuous = Mode(None, None)
    flags = workload.activation_flags
    inputs = workload.graph_inputs
    common = dict(task=task, batch_size=t.batch_size, flags=flags, inputs=inputs)
    if init_params is None:
        base, _ = train(layers, x_train, y_train, mode=continuous, epochs=t.epochs,
                        seed=t.seed, phase="continuous", progress=progress,
                        learning_rate=t.learning_rate, **common)
    else:
        expected = [layer.param_shapes() for layer in layers]
        if not _same_shapes([{k: np.empty(s) for k, s in e.items()} for e in expected], init_params):
            raise HwsimError("--init-from: the artifact's network does not have this workload's "
                             "layers and shapes")
        base = [{k: np.array(v, dtype=np.float64) for k, v in p.items()} for p in init_params]
    metric = "accuracy" if task == "classification" else "mse"
    metrics = {"metric": metric,
               "continuous": score(task, predict(layers, base, x_test, continuous, task, flags,
                                                 inputs), x_test, y_test)}
    if d.activation_levels is None and d.weight_clusters is None:
        return TrainResult(workload, base, None, None, None, None, metrics)

    mode = Mode(d.activation_levels, workload.input_levels if d.activation_levels else None)
    tuned, clustering = train(layers, x_train, y_train, mode=mode, epochs=t.finetune_epochs,
                              seed=t.seed + 1, params=base, clusters=d.weight_clusters,
                              cluster_scope=d.cluster_scope,
                              cluster_interval_steps=t.cluster_interval_steps,
                              phase="discretized", progress=progress,
                              learning_rate=t.finetune_learning_rate, **common)
    simulated = predict(layers, tuned, x_test, mode, task, flags, inputs)
    metrics["discretized"] = score(task, simulated, x_test, y_test)
    if clustering is not None:
        metrics["unique_weights"] = {name: int(len(c)) for name, c in clustering.codebooks.items()}
    if not d.is_discrete or workload.integer is None:
        return TrainResult(workload, base, tuned, clustering, None, None, metrics)

    model, scale = export_integer(layers, clustering, task=task, input_shape=workload.input_shape,
                                  input_levels=workload.input_levels,
                                  levels=d.activation_levels,
                                  accumulator_bits=workload.integer.accumulator_bits,
                                  table_entry_bits=workload.integer.table_entry_bits,
                                  flags=flags, inputs=inputs)
    trace = integer_forward(model, quantize_input(x_test, workload.input_levels))
    if task == "classification":
        metrics["integer"] = float(np.mean(trace.outputs == y_test))
        metrics["agreement"] = float(np.mean(trace.outputs == np.argmax(simulated, axis=1)))
    else:
        values = model.output_values[trace.outputs]
        metrics["integer"] = score(task, values, x_test, y_test)
        metrics["agreement"] = float(np.mean(values == simulated.reshape(len(x_test), -1)))
    return TrainResult(workload, base, tuned, clustering, model, scale, metrics)


def weighted_indices(layers) -> list[int]:
    return [i for i, layer in enumerate(layers) if isinstance(layer, L.WEIGHTED_LAYERS)]
