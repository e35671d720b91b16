"""Calibration for `hwsim convert`: the user's data file, the input range, and the fit of
each hidden layer's activation to the paper's tanhD levels (docs/import.md §12).

The data file (array `x`, optional labels `y`) is read and checked by
hwsim.ir.input_encoding against the model's input tensor, which `hwsim verify --data`
shares through the artifact.

Activation fit. The original layer's output is `u = clip(z, low, high)` of its
pre-activation z; the converted layer outputs `v = tanhD(A z + B)` (L levels in
[-1, 1]) and the next layer reads `P v + Q` in its place. Per output channel, the range
`[lo, hi]` of u on the calibration data fixes `P = (hi - lo) / 2`, `Q = (hi + lo) / 2`;
then with `t = 2 (z - lo) / (hi - lo) - 1`, `A z + B = gain (t - shift)`, where gain and
shift are searched on a grid to minimise the mean squared difference between v and the
normalised target `clip(t, -1, 1)` (tanh is S-shaped where a clipped ReLU is straight:
the fit trades the two ends against the middle). Q is then moved by the mean
reconstruction error (bias correction), so the next layer sees u's mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.importers.model import ImportedModel
from hwsim.ir.input_encoding import InputTensor, Samples
from hwsim.ir.input_encoding import check_samples as check_input_samples
from hwsim.ir.input_encoding import read_samples as read_input_samples
from hwsim.ir import layers as IL
from hwsim.ir.levels import level_index, level_values

GAINS = np.geomspace(0.5, 6.0, 18)
SHIFTS = np.linspace(-0.4, 0.4, 9)
MAX_FIT_VALUES = 4096          # samples per channel the fit looks at (evenly strided)
DEAD_WIDTH = 1e-9              # a channel whose output range is narrower is constant


def input_tensor(model: ImportedModel) -> InputTensor:
    """The model's (first) input as the data files must give it."""
    tensor = model.tensors[model.inputs[0]]
    q = tensor.quantization if np.dtype(tensor.dtype).kind in "iu" else None
    return InputTensor(tensor.name, tuple(tensor.shape[1:]), np.dtype(tensor.dtype).name,
                       None if q is None else float(q.scale),
                       None if q is None else int(q.zero_point))


def read_samples(path: str | Path, model: ImportedModel, classes: int, what: str) -> Samples:
    """The arrays `x` (and `y`) of an .npz data file, checked against the model's input."""
    return read_input_samples(path, input_tensor(model), classes, what)


def check_samples(x: np.ndarray, y: np.ndarray | None, model: ImportedModel, classes: int,
                  source: str, file: str = "") -> Samples:
    """Inputs `x` [N, ...] and labels `y` [N] (or None) checked against the model's input."""
    samples = check_input_samples(x, y, input_tensor(model), classes, source)
    return Samples(samples.source, samples.raw, samples.x, samples.y, file)


def input_range(model: ImportedModel, samples: Samples, given: tuple[float, float] | None
                ) -> tuple[float, float]:
    """(low, high) of the real input mapped onto the input levels [0, 1]: `given`, an
    integer input's whole quantized range, or the data's minimum and maximum."""
    tensor = model.tensors[model.inputs[0]]
    if given is not None:
        low, high = given
    elif np.dtype(tensor.dtype).kind in "iu":
        info, q = np.iinfo(np.dtype(tensor.dtype)), tensor.quantization
        low, high = (info.min - q.zero_point) * q.scale, (info.max - q.zero_point) * q.scale
    else:
        low, high = float(samples.x.min()), float(samples.x.max())
    if not high > low:
        raise HwsimError(f"{samples.source}: array 'x' is constant ({low:g}); its range "
                         "cannot be spread over the input levels")
    return float(low), float(high)


@dataclass(frozen=True)
class Encoding:
    """Per output channel: the pre-activation map (A, B) and the decoding (P, Q)."""
    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    q: np.ndarray
    mse: float                 # mean squared error of P v + Q against u (calibration data)


def _channels(z: np.ndarray) -> np.ndarray:
    flat = z.reshape(-1, z.shape[-1])
    step = max(1, len(flat) // MAX_FIT_VALUES)
    return flat[::step]


def fit_encoding(z: np.ndarray, interval: tuple[float, float], levels: int, *,
                 gain_a: np.ndarray | None = None, span: tuple | None = None
                 ) -> Encoding:
    """The tanhD encoding of one layer's activation `clip(z, *interval)` (z: its
    pre-activations on the calibration data, channels last). gain_a: A fixed per channel
    (an add with an activated input must read it at that input's scale), only the shift
    searched; span: (lo, hi) fixed (numbers or one per channel) instead of the data's
    range (an auto-encoder's output, read as the input's range)."""
    z = _channels(z)
    u = np.clip(z, *interval)
    lo, hi = (u.min(axis=0), u.max(axis=0)) if span is None else \
        (np.broadcast_to(span[0], z.shape[1:]).astype(np.float64),
         np.broadcast_to(span[1], z.shape[1:]).astype(np.float64))
    width = hi - lo
    live = width > DEAD_WIDTH
    width = np.where(live, width, np.median(width[live]) if live.any() else 1.0)
    t = 2.0 * (z - lo) / width - 1.0
    target = np.clip(t, -1.0, 1.0)
    values = level_values(levels)
    best = np.full(z.shape[1], np.inf)
    gain, shift = np.ones(z.shape[1]), np.zeros(z.shape[1])
    for g in (GAINS if gain_a is None else [gain_a * width / 2.0]):
        for s in SHIFTS:
            err = np.mean((values[level_index(g * (t - s), levels)] - target) ** 2, axis=0)
            better = err < best
            best, gain, shift[better] = np.where(better, err, best), np.where(better, g, gain), s
    v = values[level_index(gain * (t - shift), levels)]
    p, q = width / 2.0, (hi + lo) / 2.0
    q = q - np.mean(p * v + q - u, axis=0)           # bias correction
    mse = float(np.mean((p * v + q - u) ** 2))
    a = 2.0 * gain / width
    return Encoding(a, -gain * (2.0 * lo / width + 1.0 + shift), p, q, mse)


def fold_input(layer, params: dict, p: np.ndarray, q: np.ndarray) -> dict:
    """The layer reading `P v + Q` (per input channel, or per feature of a dense layer)
    where it read u: weights scaled by P, the Q part moved into the bias."""
    w, b = params["w"], params["b"]
    if isinstance(layer, IL.DepthwiseConv2D):
        return {"w": w * p, "b": b + (w * q).sum(axis=0)}
    rows = w.shape[0]
    p, q = np.resize(p, rows), np.resize(q, rows)     # conv rows: channel fastest (patch order)
    return {"w": w * p[:, None], "b": b + q @ w}


def fold_output(params: dict, a: np.ndarray, b: np.ndarray) -> dict:
    """The layer computing `A z + B` per output channel instead of z."""
    return {"w": params["w"] * a, "b": params["b"] * a + b}
