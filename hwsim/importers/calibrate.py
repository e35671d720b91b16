"""Calibration for `hwsim convert`: the user's data file, the input range, and the fit of
each hidden layer's activation to the paper's tanhD levels (docs/import.md §12).

The data file is an .npz with array `x` (`[N, ...]`, the model's input shape without
its batch dimension, channels-last; integers in the input's range for an int8 input)
and optional `y` (`[N]` integer class labels). Any other array, a wrong shape or dtype,
a NaN or an infinity, or a label outside the classes is one HwsimError naming the file,
the array and the problem.

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
from hwsim.io import read_npz
from hwsim.ir import layers as IL
from hwsim.ir.levels import level_index, level_values

GAINS = np.geomspace(0.5, 6.0, 18)
SHIFTS = np.linspace(-0.4, 0.4, 9)
MAX_FIT_VALUES = 4096          # samples per channel the fit looks at (evenly strided)
DEAD_WIDTH = 1e-9              # a channel whose output range is narrower is constant


@dataclass(frozen=True)
class Samples:
    """A data file: what the model's input takes, the same as real numbers, labels."""
    source: str
    raw: np.ndarray            # [N, ...] in the input's dtype
    x: np.ndarray              # [N, ...] float64 real values (int8 inputs dequantized)
    y: np.ndarray | None       # [N] int64 class labels


def read_samples(path: str | Path, model: ImportedModel, classes: int, what: str) -> Samples:
    """The arrays `x` (and `y`) of an .npz data file, checked against the model."""
    path = Path(path)
    if path.suffix != ".npz":
        raise HwsimError(f"{what} {path}: give an .npz file with array 'x' (and optional 'y')")
    arrays = read_npz(path)
    source = f"{what} {path}"
    extra = sorted(set(arrays) - {"x", "y"})
    if extra:
        raise HwsimError(f"{source}: unexpected array(s) {', '.join(map(repr, extra))}; "
                         "expected 'x' (inputs) and optional 'y' (labels)")
    if "x" not in arrays:
        raise HwsimError(f"{source}: missing array 'x' (the inputs, [N, ...])")
    return check_samples(arrays["x"], arrays.get("y"), model, classes, source)


def check_samples(x: np.ndarray, y: np.ndarray | None, model: ImportedModel, classes: int,
                  source: str) -> Samples:
    """Inputs `x` [N, ...] and labels `y` [N] (or None) checked against the model."""
    tensor = model.tensors[model.inputs[0]]
    one = tuple(tensor.shape[1:])
    if x.ndim != len(one) + 1 or tuple(x.shape[1:]) != one or x.shape[0] < 1:
        raise HwsimError(f"{source}: array 'x' has shape {list(x.shape)}; the model's input "
                         f"{tensor.name!r} needs [N, {', '.join(map(str, one))}] (channels-last)")
    integer_input = np.dtype(tensor.dtype).kind in "iu"
    if x.dtype.kind not in "iuf" or (integer_input and x.dtype.kind == "f"):
        raise HwsimError(f"{source}: array 'x' is {x.dtype}; input {tensor.name!r} takes "
                         f"{'integers' if integer_input else 'numbers'} ({tensor.dtype})")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))
        raise HwsimError(f"{source}: array 'x' holds {len(bad)} NaN or infinite value(s), the "
                         f"first at index {bad[0].tolist()}")
    if integer_input:
        info = np.iinfo(np.dtype(tensor.dtype))
        if x.min() < info.min or x.max() > info.max:
            raise HwsimError(f"{source}: array 'x' holds {x.min()}..{x.max()}, outside input "
                             f"{tensor.name!r}'s {tensor.dtype} range {info.min}..{info.max}")
        q = tensor.quantization
        real = (x.astype(np.float64) - q.zero_point) * q.scale
    else:
        real = x.astype(np.float64)
    if y is not None:
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise HwsimError(f"{source}: array 'y' is {y.dtype} {list(y.shape)}; labels are "
                             f"integers [N] = [{x.shape[0]}], one per sample of 'x'")
        if y.min() < 0 or y.max() >= classes:
            raise HwsimError(f"{source}: array 'y' holds labels {y.min()}..{y.max()}; the model "
                             f"has {classes} classes (0..{classes - 1})")
        y = y.astype(np.int64)
    return Samples(source, x.astype(tensor.dtype), real, y)


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


def fit_encoding(z: np.ndarray, interval: tuple[float, float], levels: int) -> Encoding:
    """The tanhD encoding of one layer's activation `clip(z, *interval)` (z: its
    pre-activations on the calibration data, channels last)."""
    z = _channels(z)
    u = np.clip(z, *interval)
    lo, hi = u.min(axis=0), u.max(axis=0)
    width = hi - lo
    live = width > DEAD_WIDTH
    width = np.where(live, width, np.median(width[live]) if live.any() else 1.0)
    t = 2.0 * (z - lo) / width - 1.0
    target = np.clip(t, -1.0, 1.0)
    values = level_values(levels)
    best = np.full(z.shape[1], np.inf)
    gain, shift = np.ones(z.shape[1]), np.zeros(z.shape[1])
    for g in GAINS:
        for s in SHIFTS:
            err = np.mean((values[level_index(g * (t - s), levels)] - target) ** 2, axis=0)
            better = err < best
            best, gain[better], shift[better] = np.where(better, err, best), g, s
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
