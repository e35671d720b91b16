"""How a user's input samples become a network's input levels, and the data files that
hold them (docs/import.md §12).

A network reads input levels q = quantize_input(u) of values u in [0, 1]
(hwsim.ir.levels). A converted model (`hwsim convert`) takes what the original model
took: an `InputTensor` (name, one sample's shape, dtype, and for an integer input the
affine quantization real = scale * (x - zero_point)), whose real values are mapped by
the `InputEncoding`'s range: u = (real - low) / (high - low). The encoding is stored in
the artifact (model.json `input.encoding`, with a description of the data it was
calibrated and evaluated on), so `hwsim verify ARTIFACT --data FILE.npz` runs the
artifact on data in the original model's format. A trained artifact reads u directly
(`unit_encoding`: float32 in [0, 1]).

A data file is an .npz with array `x` ([N, ...], one sample's shape, channels-last;
integers in the input's range for an integer input) and optional `y` ([N] integer
class labels). Any other array, a wrong shape or dtype, a NaN or an infinity, or a
label outside the classes is one HwsimError naming the file, the array and the problem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError, Problem
from hwsim.io import read_npz

RULE = "u = (scale * (x - zero_point) - low) / (high - low) (a float input: scale 1, " \
       "zero point 0), then the input levels of u"


@dataclass(frozen=True)
class InputTensor:
    """What the network's input takes, one sample."""
    name: str
    shape: tuple[int, ...]          # without the batch dimension, channels-last
    dtype: str                      # numpy dtype name: "int8", "uint8", "float32", ...
    scale: float | None = None      # integer input: real = scale * (x - zero_point)
    zero_point: int | None = None

    @property
    def integer(self) -> bool:
        return np.dtype(self.dtype).kind in "iu"

    def real(self, x: np.ndarray) -> np.ndarray:
        """The real values of samples `x` (float64)."""
        if self.integer:
            return (x.astype(np.float64) - self.zero_point) * self.scale
        return x.astype(np.float64)


@dataclass(frozen=True)
class InputEncoding:
    """An input tensor and the real range [low, high] mapped onto [0, 1]."""
    tensor: InputTensor
    low: float
    high: float
    data: dict = field(default_factory=dict, compare=False)   # description (plain data)

    def unit(self, real: np.ndarray) -> np.ndarray:
        """Real input values as the network's [0, 1] inputs (not clipped here)."""
        return (np.asarray(real, dtype=np.float64) - self.low) / (self.high - self.low)

    def as_dict(self) -> dict:
        t = self.tensor
        return {"tensor": t.name, "shape": list(t.shape), "dtype": t.dtype, "scale": t.scale,
                "zero_point": t.zero_point, "range": [self.low, self.high], "rule": RULE,
                "data": self.data}


def unit_encoding(shape: tuple[int, ...]) -> InputEncoding:
    """A trained artifact's input: float32 values in [0, 1] read as they are."""
    return InputEncoding(InputTensor("input", tuple(shape), "float32"), 0.0, 1.0,
                         {"source": "the workload's dataset format: floats in [0, 1]"})


def encoding_from_dict(doc, shape: tuple[int, ...], path: str = "input.encoding"
                       ) -> tuple[InputEncoding | None, list[Problem]]:
    """An `input.encoding` object of model.json read back, with a problem per bad field;
    `shape` is the network's input shape (the tensor must hold as many values)."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return None, [Problem(path, f"must be an object, got {doc!r}")]

    def get(key, check, message):
        value = doc.get(key)
        if key not in doc or not check(value):
            problems.append(Problem(f"{path}.{key}", message + f", got {value!r}"))
            return None
        return value

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    name = get("tensor", lambda v: isinstance(v, str), "must be a string")
    dims = get("shape", lambda v: isinstance(v, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in v),
        "must be a list of positive integers")
    if dims is not None and math.prod(dims) != math.prod(shape):
        problems.append(Problem(f"{path}.shape", f"holds {math.prod(dims)} values, the "
                                                 f"network's input {list(shape)} holds "
                                                 f"{math.prod(shape)}"))
    dtype = get("dtype", lambda v: v in ("int8", "uint8", "int16", "float32", "float64"),
                "must be int8, uint8, int16, float32 or float64")
    integer = dtype is not None and np.dtype(dtype).kind in "iu"
    scale = zero_point = None
    if integer:
        scale = get("scale", lambda v: number(v) and v > 0, "must be a number > 0")
        zero_point = get("zero_point", lambda v: isinstance(v, int) and not isinstance(v, bool),
                         "must be an integer")
    bounds = get("range", lambda v: isinstance(v, list) and len(v) == 2 and all(map(number, v))
                 and v[0] < v[1], "must be [low, high], finite numbers, low < high")
    data = get("data", lambda v: isinstance(v, dict), "must be an object")
    if problems:
        return None, problems
    return InputEncoding(InputTensor(name, tuple(dims), dtype, scale, zero_point),
                         float(bounds[0]), float(bounds[1]), data), []


@dataclass(frozen=True)
class Samples:
    """A data file: what the input takes, the same as real numbers, labels."""
    source: str                # for messages: the option and the path
    raw: np.ndarray            # [N, ...] in the input's dtype
    x: np.ndarray              # [N, ...] float64 real values (integer inputs dequantized)
    y: np.ndarray | None       # [N] int64 class labels
    file: str = ""             # for descriptions: the file name (or the dataset and split)

    def describe(self) -> dict:
        return {"source": self.file or self.source, "samples": int(len(self.x)),
                "labels": self.y is not None}


def read_samples(path: str | Path, tensor: InputTensor, classes: int, what: str) -> Samples:
    """The arrays `x` (and `y`) of an .npz data file, checked against the input."""
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
    samples = check_samples(arrays["x"], arrays.get("y"), tensor, classes, source)
    return Samples(samples.source, samples.raw, samples.x, samples.y, path.name)


def check_samples(x: np.ndarray, y: np.ndarray | None, tensor: InputTensor, classes: int,
                  source: str) -> Samples:
    """Inputs `x` [N, ...] and labels `y` [N] (or None) checked against the input."""
    one = tuple(tensor.shape)
    if x.ndim != len(one) + 1 or tuple(x.shape[1:]) != one or x.shape[0] < 1:
        raise HwsimError(f"{source}: array 'x' has shape {list(x.shape)}; the model's input "
                         f"{tensor.name!r} needs [N, {', '.join(map(str, one))}] (channels-last)")
    if x.dtype.kind not in "iuf" or (tensor.integer and x.dtype.kind == "f"):
        raise HwsimError(f"{source}: array 'x' is {x.dtype}; input {tensor.name!r} takes "
                         f"{'integers' if tensor.integer else 'numbers'} ({tensor.dtype})")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))
        raise HwsimError(f"{source}: array 'x' holds {len(bad)} NaN or infinite value(s), the "
                         f"first at index {bad[0].tolist()}")
    if tensor.integer:
        info = np.iinfo(np.dtype(tensor.dtype))
        if x.min() < info.min or x.max() > info.max:
            raise HwsimError(f"{source}: array 'x' holds {x.min()}..{x.max()}, outside input "
                             f"{tensor.name!r}'s {tensor.dtype} range {info.min}..{info.max}")
    if y is not None:
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise HwsimError(f"{source}: array 'y' is {y.dtype} {list(y.shape)}; labels are "
                             f"integers [N] = [{x.shape[0]}], one per sample of 'x'")
        if classes < 1:
            raise HwsimError(f"{source}: array 'y' gives labels; the network is not a "
                             "classifier (give 'x' only)")
        if y.min() < 0 or y.max() >= classes:
            raise HwsimError(f"{source}: array 'y' holds labels {y.min()}..{y.max()}; the model "
                             f"has {classes} classes (0..{classes - 1})")
        y = y.astype(np.int64)
    return Samples(source, x.astype(tensor.dtype), tensor.real(x), y)
