"""The float network's parameters for tanhD levels, layer by layer through its graph: the
second step of `hwsim convert` (docs/import.md §12), after float_network.py and with the
fits of calibrate.py.

Every tensor t of the converted network stands for the original tensor u through a
per-channel decoding `u ~ P t + Q` (the input: its real range over [0, 1]). A weighted
layer folds its input's decoding into its weights; an activated layer also folds the
fitted `A z + B` of its tanhD activation (its output then decodes with that fit's P and
Q); then its bias moves by the mean difference between the converted network's
pre-activation (every earlier layer discretized) and the original's, mapped the same way.

A residual add sums its inputs in the trainer's domain, so they must share a scale: an
activated input (level values v, decoding P_l, Q_l) reads as `(u - Q_l) / P_l`, which
fixes the add's gain A = 1 / P_l per channel; the add's activation fit then searches
only its shift B (with no activated input it searches both). So that this gain is a good
one, the activated input spreads its own levels over a range 2 / A* wide (A* the gain the
add's fit would choose freely; its own range where that is wider). Each raw input (a weighted
layer with no activation of its own, feeding only this add) computes `A z` with the
offsets, all on its first raw input: B + A Q_l. After the add, the first raw input's
bias moves by the mean difference of the add's pre-activation (bias correction through
the add). Refused, each listed in one error: an add of two activated inputs, an add
without a raw weighted input, a raw input read by anything but its add, an add of adds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.importers.calibrate import fit_encoding, fold_input, fold_output
from hwsim.importers.float_network import float_forward
from hwsim.importers.network import INPUT_LEVELS
from hwsim.train import layers as L
from hwsim.train.network import Mode, forward

MAX_CORRECTION_SAMPLES = 2048     # calibration samples the bias correction runs (strided)


@dataclass(frozen=True)
class _AddPlan:
    gain: np.ndarray               # A per channel
    offsets: dict[int, np.ndarray]  # raw input -> its offset
    decode: tuple[np.ndarray, np.ndarray]
    target_offset: np.ndarray      # B: the add's trainer pre-activation is A u + B
    mse: float | None              # its activation fit's error (activated adds)


def _raw(layers, flags, s: int) -> bool:
    return s >= 0 and isinstance(layers[s], (*L.WEIGHTED_LAYERS, L.Add)) and not flags[s]


def graph_problems(workload, flags) -> list[str]:
    """Why the adds of `workload` cannot be converted (empty: they can)."""
    layers, inputs, names = workload.layers, workload.inputs, workload.names
    problems = []
    for j, layer in enumerate(layers):
        if not isinstance(layer, L.Add):
            continue
        raw = [s for s in inputs[j] if _raw(layers, flags, s)]
        level = [s for s in inputs[j] if s not in raw]
        what = f"add {names[j]!r}"
        if len(level) > 1:
            problems.append(f"{what}: adds {len(level)} activated tensors; the converted add "
                            "reads one at its own scale and folds the others' into raw layers")
        if not raw:
            problems.append(f"{what}: no input is a weighted layer without an activation "
                            "(its scale has nowhere to fold)")
        for s in raw:
            readers = [i for i, found in enumerate(inputs) if s in found]
            if isinstance(layers[s], L.Add):
                problems.append(f"{what}: reads add {names[s]!r} (an add of adds)")
            elif readers != [j]:
                problems.append(f"{what}: its input {names[s]!r} has no activation and is read "
                                "by other layers too")
        if level and raw and level[0] > min(raw):
            problems.append(f"{what}: its activated input {names[level[0]]!r} comes after its "
                            "raw input in the graph")
    return problems


def _add_plan(net, j: int, pre, decode, flags, levels: int) -> _AddPlan:
    layers, sources = net.layers, net.imported.workload.inputs[j]
    raw = [s for s in sources if _raw(layers, flags, s)]
    level = [s for s in sources if s not in raw]
    channels = pre[j].shape[-1]
    gain = 1.0 / decode[level[0]][0] if level else None
    q_level = decode[level[0]][1] if level else np.zeros(channels)
    mse = None
    if flags[j]:
        encoding = fit_encoding(pre[j], net.intervals[j], levels, gain_a=gain)
        a, b, out = encoding.a, encoding.b, (encoding.p, encoding.q)
        mse = encoding.mse
    else:
        a = np.ones(channels) if gain is None else gain
        b = np.zeros(channels)
        out = (1.0 / a, np.zeros(channels))
    offsets = {s: np.zeros(channels) for s in raw}
    offsets[raw[0]] = b + a * q_level
    return _AddPlan(a, offsets, out, b, mse)


def _shortcut_span(net, i: int, pre, flags, levels: int):
    """The range (lo, hi) per channel over which activated layer i spreads its levels
    when it is an activated add's level input (None otherwise): centred on i's own
    range and 2 / A wide, A the gain the add's own free fit would choose, so that the
    add reads i at its best gain (wider where i's own range is wider)."""
    j = _consumer_add(net, i)
    if j is None or not flags[j]:
        return None
    gain = fit_encoding(pre[j], net.intervals[j], levels).a
    u = np.clip(pre[i], *net.intervals[i]).reshape(-1, pre[i].shape[-1])
    lo, hi = u.min(axis=0), u.max(axis=0)
    half = np.maximum(hi - lo, 2.0 / gain) / 2.0
    return (hi + lo) / 2.0 - half, (hi + lo) / 2.0 + half


def _consumer_add(net, i: int) -> int | None:
    for j, found in enumerate(net.imported.workload.inputs):
        if i in found and isinstance(net.layers[j], L.Add):
            return j
    return None


def encode(net, x01: np.ndarray, x_real: np.ndarray, low: float, high: float, levels: int,
           flags, task: str) -> tuple[list, list[float]]:
    """(parameters for tanhD activations and inputs in [0, 1], each activation fit's mean
    squared error). An auto-encoder's output layer is fitted to the input's range, so its
    levels mapped to [0, 1] read as the input's (x - low) / (high - low)."""
    step = max(1, len(x01) // MAX_CORRECTION_SAMPLES)
    x01, x_real = x01[::step], x_real[::step]
    _, pre = float_forward(net, None, x_real)
    workload = net.imported.workload
    graph = workload.graph_inputs
    decode = {-1: (np.array([high - low]), np.array([low]))}     # tensor -> (P, Q)
    plans: dict[int, _AddPlan] = {}
    params, errors = [], []
    mode = Mode(levels, INPUT_LEVELS)
    last = len(net.layers) - 1

    def converted(i: int, with_params: list) -> np.ndarray:
        """The converted network's pre-activation of layer i."""
        z, _ = forward(net.layers[:i + 1], with_params, x01, mode, "classification",
                       list(flags[:i]) + [False], None if graph is None else graph[:i + 1])
        return z

    def mean(d: np.ndarray) -> np.ndarray:
        return d.mean(axis=tuple(range(d.ndim - 1)))

    for i, layer in enumerate(net.layers):
        source = workload.inputs[i][0]
        if isinstance(layer, L.Add):
            plan = plans[i]
            decode[i] = plan.decode
            if plan.mse is not None:
                errors.append(plan.mse)
            first = next(iter(plan.offsets))
            error = mean(converted(i, params + [{}]) - (plan.gain * pre[i] + plan.target_offset))
            params[first] = {**params[first], "b": params[first]["b"] - error}
            params.append({})
            continue
        if not isinstance(layer, L.WEIGHTED_LAYERS):
            decode[i] = decode[source]
            params.append({})
            continue
        folded = fold_input(layer, net.params[i], *decode[source])
        target = pre[i]
        if flags[i]:
            span = (low, high) if task == "autoencoder" and i == last else \
                _shortcut_span(net, i, pre, flags, levels)
            encoding = fit_encoding(pre[i], net.intervals[i], levels, span=span)
            folded = fold_output(folded, encoding.a, encoding.b)
            decode[i] = (encoding.p, encoding.q)
            errors.append(encoding.mse)
            target = encoding.a * pre[i] + encoding.b
        elif (j := _consumer_add(net, i)) is not None:
            if j not in plans:
                plans[j] = _add_plan(net, j, pre, decode, flags, levels)
            gain, offset = plans[j].gain, plans[j].offsets[i]
            folded = fold_output(folded, gain, offset)
            target = gain * pre[i] + offset
        folded["b"] = folded["b"] - mean(converted(i, params + [folded]) - target)
        params.append(folded)
    return params, errors
