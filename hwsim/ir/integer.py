"""The deployed integer network: its record, and the trainer's own integer
forward pass (vectorised numpy on integers only) that the executor is checked
against.

A weighted layer's unit computes
    acc = T[bias_row, b] + sum over its inputs of T[a_i, w_i]
with T the layer's integer product table (rows: input levels, then the bias
row), and its output level is the number of its thresholds that acc reaches
(acc >= theta). Pools work on level indices: max directly, average through the
nearest level (exact halves up) found by compares against precomputed bounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir import layers as L
from hwsim.ir.geometry import extract_patches_1d, extract_patches_2d

CHUNK_ELEMENTS = 1 << 22   # gathered table entries per chunk, bounds peak memory


@dataclass(frozen=True)
class IntegerLayer:
    layer: L.Layer
    levels_in: int                    # level count of this layer's input indices
    levels_out: int                   # level count of its output (0: raw sums)
    table: str | None = None          # weighted layers: name of the product table
    weight_index: np.ndarray | None = None
    bias_index: np.ndarray | None = None
    thresholds: np.ndarray | None = None   # ascending int64; None: output sums
    pool_bounds: np.ndarray | None = None  # average pools: level k iff sum >= bound[k-1]


@dataclass(frozen=True)
class IntegerModel:
    task: str
    input_shape: tuple[int, ...]
    input_levels: int
    activation_levels: int
    tables: dict[str, np.ndarray]     # name -> (rows, K) int64 entries
    layers: tuple[IntegerLayer, ...]
    scale_bits: int
    accumulator_bits: int
    table_entry_bits: int
    output_values: np.ndarray | None  # auto-encoder: output level -> value in [0, 1]
    # Residual adds of level tensors: level index -> its value scaled by 2^s (shape-only graphs).
    value_tables: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def accumulator_max(self) -> int:
        return (1 << (self.accumulator_bits - 1)) - 1


@dataclass(frozen=True)
class IntegerTrace:
    """Per layer: level indices (or output sums) for every sample."""
    outputs: np.ndarray               # classification: class ids; autoencoder: output levels
    sums: np.ndarray                  # the output layer's integer sums
    per_layer: tuple[np.ndarray, ...]


def worst_case_sum(table: np.ndarray, w: np.ndarray, b: np.ndarray) -> int:
    """Largest |sum| a unit of a weighted layer can reach over every pattern of input
    levels: per weight the worst level row, plus the bias entry (a padding tap adds
    0, which this bound covers)."""
    per_entry = np.abs(table[:-1]).max(axis=0)           # worst level row per weight
    units = per_entry[w].sum(axis=0) + np.abs(table[-1, b])
    return int(units.max(initial=0))


def accumulator_overflows(model: "IntegerModel") -> list[tuple[int, str]]:
    """(layer index, message) for each weighted layer whose worst-case sum, or a
    threshold one past it, does not fit the signed accumulator: a static proof from
    the tables, independent of any data."""
    found = []
    for i, spec in enumerate(model.layers):
        if spec.table is None or spec.weight_index is None or spec.bias_index is None:
            continue
        bound = worst_case_sum(model.tables[spec.table], spec.weight_index, spec.bias_index)
        if bound + 1 > model.accumulator_max:
            found.append((i, f"a sum can reach {bound} for some input, beyond the "
                             f"{model.accumulator_bits}-bit accumulator (max "
                             f"{model.accumulator_max})"))
    return found


def check_accumulator(model: "IntegerModel", source: str) -> None:
    """HwsimError naming `source` when any layer can overflow the accumulator."""
    problems = accumulator_overflows(model)
    if problems:
        raise HwsimError(f"{source}: the integer network can overflow its accumulator: " +
                         "; ".join(f"layers[{i}]: {m}" for i, m in problems))


VALUE_TABLE = "activation"   # the key of the level -> value table of adds in value_tables
PAD = -1   # level index of a "same"-padding tap: it contributes nothing (activation 0)


def _lookup(table: np.ndarray, a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """table[a, w] with broadcasting; taps whose level index is PAD give 0."""
    entries = table[np.maximum(a, 0), w]
    return np.where(a >= 0, entries, 0) if a.size and a.min() < 0 else entries


def _gather_sums(table: np.ndarray, a: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """acc[n, o] = table[-1, b[o]] + sum_i table[a[n, i], w[i, o]]  (a: (N, F), w: (F, O))."""
    n, f = a.shape
    out = np.empty((n, w.shape[1]), dtype=np.int64)
    rows = max(1, CHUNK_ELEMENTS // max(1, f * w.shape[1]))
    for start in range(0, n, rows):
        chunk = a[start:start + rows]
        out[start:start + rows] = _lookup(table, chunk[:, :, None], w[None, :, :]).sum(axis=1)
    out += table[-1, b][None, :]
    return out


def _depthwise_sums(table, patches, w, b):
    """patches (N, P, T, C), w (T, C): acc[n, p, c] = bias + sum_t table[patch, w[t, c]]."""
    n = patches.shape[0]
    out = np.empty((n, patches.shape[1], w.shape[1]), dtype=np.int64)
    rows = max(1, CHUNK_ELEMENTS // max(1, patches[0].size))
    for start in range(0, n, rows):
        out[start:start + rows] = _lookup(table, patches[start:start + rows],
                                          w[None, None]).sum(axis=2)
    out += table[-1, b][None, None, :]
    return out


def layer_sums(model: IntegerModel, spec: IntegerLayer, a: np.ndarray) -> np.ndarray:
    """Integer pre-activation sums of one weighted layer for level indices a."""
    table = model.tables[spec.table]
    layer, w, b = spec.layer, spec.weight_index, spec.bias_index
    if isinstance(layer, L.Dense):
        return _gather_sums(table, a, w, b)
    if isinstance(layer, L.Conv1D):
        patches = extract_patches_1d(a, layer.kernel, layer.stride, layer.padding, fill=PAD)
        n, p = patches.shape[:2]
        return _gather_sums(table, patches.reshape(n * p, -1), w, b).reshape(n, p, -1)
    if isinstance(layer, L.Conv2D):
        patches = extract_patches_2d(a, layer.kernel_h, layer.kernel_w, layer.stride_h,
                                     layer.stride_w, layer.padding, fill=PAD)
        n, oh, ow = patches.shape[:3]
        flat = patches.reshape(n * oh * ow, -1)
        return _gather_sums(table, flat, w, b).reshape(n, oh, ow, -1)
    patches = extract_patches_2d(a, layer.kernel_h, layer.kernel_w, layer.stride_h,
                                 layer.stride_w, layer.padding, fill=PAD)
    n, oh, ow = patches.shape[:3]
    taps = patches.reshape(n, oh * ow, layer.kernel_h * layer.kernel_w, -1)
    return _depthwise_sums(table, taps, w, b).reshape(n, oh, ow, -1)


def count_reached(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Number of ascending bounds each value reaches (value >= bound)."""
    return np.searchsorted(bounds, values, side="right").astype(np.int64)


def pool(spec: IntegerLayer, a: np.ndarray) -> np.ndarray:
    layer = spec.layer
    if isinstance(layer, (L.MaxPool1D, L.AvgPool1D)):
        patches = extract_patches_1d(a, layer.size, layer.stride)          # (N, P, size, C)
        window = patches
        axes = (2,)
    else:
        patches = extract_patches_2d(a, layer.size_h, layer.size_w, layer.stride_h,
                                     layer.stride_w)                       # (N, H, W, sh, sw, C)
        axes = (3, 4)
        window = patches
    if isinstance(layer, (L.MaxPool1D, L.MaxPool2D)):
        return window.max(axis=axes)
    return count_reached(window.sum(axis=axes), spec.pool_bounds)


def integer_forward(model: IntegerModel, x_levels: np.ndarray) -> IntegerTrace:
    """Run the deployed network on input level indices (N, *input_shape)."""
    a = np.asarray(x_levels)
    if a.dtype.kind not in "iu":
        raise HwsimError(f"integer inputs must be level indices, got dtype {a.dtype}")
    if a.shape[1:] != tuple(model.input_shape):
        raise HwsimError(f"inputs have shape {list(a.shape[1:])}, the model expects "
                         f"{list(model.input_shape)}")
    if a.size and (a.min() < 0 or a.max() >= model.input_levels):
        raise HwsimError(f"input levels must lie in 0..{model.input_levels - 1}")
    a = a.astype(np.int64)
    per_layer = []
    sums = None
    for spec in model.layers:
        layer = spec.layer
        if isinstance(layer, L.WEIGHTED_LAYERS):
            sums = layer_sums(model, spec, a)
            limit = model.accumulator_max
            if sums.size and (sums.max() > limit or sums.min() < -limit - 1):
                raise HwsimError(f"accumulator overflow in layer {len(per_layer)} "
                                 f"({model.accumulator_bits}-bit)")
            a = sums if spec.thresholds is None else count_reached(sums, spec.thresholds)
        elif isinstance(layer, L.Flatten):
            a = a.reshape(a.shape[0], -1)
        else:
            a = pool(spec, a)
        per_layer.append(a)
    if model.task == "classification":
        outputs = np.argmax(sums.reshape(sums.shape[0], -1), axis=1)
    else:
        outputs = a.reshape(a.shape[0], -1)
    return IntegerTrace(outputs, sums, tuple(per_layer))
