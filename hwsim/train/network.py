"""The whole network in floating point: forward and backward over a workload's
layers, in one of two modes.

- continuous: float inputs, tanh after every hidden weighted layer (the baseline);
- discrete: inputs quantized to the workload's input levels, tanhD with L levels
  after every hidden weighted layer (straight-through gradient), average pools
  re-quantized to the nearest level (ties up). With clustered weights this is the
  "float-simulated" discretized network.

Which layers are followed by the activation is the workload's decision
(Workload.activation_flags, passed as `flags`); without flags the chain rule
applies: every weighted layer but the last, and the last too for an auto-encoder,
whose outputs are then mapped to [0, 1] by (v + 1) / 2. The output layer of a
classification has no activation: its sums are the logits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.ir.levels import default_flags, hidden_flags, input_values, quantize_input, requantize_mean  # noqa: F401
from hwsim.train import activations as act
from hwsim.train import layers as L


@dataclass(frozen=True)
class Mode:
    """levels None: continuous tanh; input_levels None: float inputs."""
    levels: int | None
    input_levels: int | None

    @property
    def discrete(self) -> bool:
        return self.levels is not None


def init_network(layers, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    return [L.init_params(layer, rng) for layer in layers]


def forward(layers, params, x: np.ndarray, mode: Mode, task: str, flags=None, inputs=None):
    """Returns (output, tape). Output: logits (classification) or values in [0, 1]
    (auto-encoder), the last layer's. tape holds what backward needs. flags: which
    layers are followed by the activation (Workload.activation_flags; default: the
    chain rule). inputs: per layer its sources (Workload.inputs, -1 the network input;
    default: a chain). An add sums its inputs' values: raw sums as they are, activated
    tensors as their level values (the integer network's value table)."""
    flags = default_flags(layers, task) if flags is None else flags
    tape = []
    if mode.input_levels is not None:
        index = quantize_input(x, mode.input_levels)
        level_set = input_values(mode.input_levels)      # values of the current indices
        a = level_set[index]
    else:
        a = np.asarray(x, dtype=np.float64)
        index, level_set = None, None
    network_input, outputs = (a, index, level_set), []
    for i, layer in enumerate(layers):
        if inputs is not None:
            source = inputs[i][0]
            a, index, level_set = network_input if source < 0 else outputs[source]
        if isinstance(layer, L.Add):
            z, cache = _add(outputs, inputs[i]), None
            index = None
        else:
            z, cache = L.forward(layer, params[i], a)
        entry = {"layer": cache}
        if isinstance(layer, (L.AvgPool1D, L.AvgPool2D)) and index is not None:
            mean_index, _ = L.forward(layer, {}, index.astype(np.float64))
            index = requantize_mean(mean_index)
            z = level_set[index]
        elif isinstance(layer, (L.MaxPool1D, L.MaxPool2D)) and index is not None:
            index, _ = L.forward(layer, {}, index)
        elif isinstance(layer, L.Flatten) and index is not None:
            index = index.reshape(index.shape[0], -1)
        elif isinstance(layer, L.WEIGHTED_LAYERS):
            index = None                                   # raw sums until an activation
        if flags[i]:
            if mode.discrete:
                z, index, entry["act"] = act.tanhd_forward(z, mode.levels)
                level_set = act.level_values(mode.levels)
            else:
                z, entry["act"] = act.tanh_forward(z)
        tape.append(entry)
        a = z
        if inputs is not None:
            outputs.append((z, index, level_set))
    if task == "autoencoder":
        a = (a + 1.0) / 2.0
    return a, tape


def _add(outputs, sources):
    """The float value of an add: its inputs summed in order."""
    if min(sources) < 0:
        raise ValueError("an add of the network input is not supported")
    total = outputs[sources[0]][0]
    for s in sources[1:]:
        total = total + outputs[s][0]
    return total


def backward(layers, params, tape, d_out: np.ndarray, task: str, mode: Mode, inputs=None):
    """Gradients of every layer's parameters, given d(loss)/d(output). inputs: as for
    forward; a tensor read by several layers gets the sum of their gradients, an add
    hands its gradient to each of its inputs."""
    grads = [{} for _ in layers]
    d = d_out / 2.0 if task == "autoencoder" else d_out
    pending = {len(layers) - 1: d}
    for i in range(len(layers) - 1, -1, -1):
        d = pending.pop(i, None)
        if d is None:                                      # an output nothing reads
            continue
        entry = tape[i]
        if "act" in entry:
            d = (act.tanhd_backward if mode.discrete else act.tanh_backward)(entry["act"], d)
        if isinstance(layers[i], L.Add):
            targets = [(s, d) for s in inputs[i]]
        else:
            d, grads[i] = L.backward(layers[i], params[i], entry["layer"], d)
            targets = [(i - 1 if inputs is None else inputs[i][0], d)]
        for s, part in targets:
            if s >= 0:
                pending[s] = part if s not in pending else pending[s] + part
    return grads
