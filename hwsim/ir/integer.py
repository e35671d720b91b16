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
    # Residual adds of level tensors: level index -> its value scaled by 2^s.
    value_tables: dict[str, np.ndarray] = field(default_factory=dict)
    # Per layer its sources (-1: the network input); None: a chain.
    inputs: tuple[tuple[int, ...], ...] | None = None

    @property
    def sources(self) -> tuple[tuple[int, ...], ...]:
        """Per layer the layers it reads (-1: the network input)."""
        if self.inputs is not None:
            return self.inputs
        return tuple((i - 1,) for i in range(len(self.layers)))

    @property
    def accumulator_max(self) -> int:
        return (1 << (self.accumulator_bits - 1)) - 1


@dataclass(frozen=True)
class IntegerTrace:
    """Per layer: level indices (or output sums) for every sample."""
    outputs: np.ndarray               # classification: class ids; autoencoder: output levels
    sums: np.ndarray                  # the output layer's integer sums
    per_layer: tuple[np.ndarray, ...]
    add_sums: dict[int, np.ndarray] = field(default_factory=dict)   # activated adds' sums


def worst_case_sum(table: np.ndarray, w: np.ndarray, b: np.ndarray) -> int:
    """Largest |sum| a unit of a weighted layer can reach over every pattern of input
    levels: per weight the worst level row, plus the bias entry (a padding tap adds
    0, which this bound covers)."""
    per_entry = np.abs(table[:-1]).max(axis=0)           # worst level row per weight
    units = per_entry[w].sum(axis=0) + np.abs(table[-1, b])
    return int(units.max(initial=0))


def sum_bounds(layers, inputs, levels_out, weighted: dict[int, int], value_max: int
               ) -> dict[int, int]:
    """Largest |sum| of every layer that outputs sums: `weighted` gives the weighted
    layers' (worst_case_sum); an add's is the sum of its inputs' bounds, a level input
    counting `value_max` (its largest value-table entry); pools and flatten of sums
    carry their input's. levels_out: per layer, 0 for sums."""
    bounds: dict[int, int] = {}
    for i, (layer, sources) in enumerate(zip(layers, inputs)):
        if i in weighted:
            bounds[i] = weighted[i]
        elif isinstance(layer, L.Add):
            bounds[i] = sum(bounds[s] if s >= 0 and levels_out[s] == 0 else value_max
                            for s in sources)
        elif sources[0] >= 0 and sources[0] in bounds and levels_out[i] == 0:
            bounds[i] = bounds[sources[0]]
    return bounds


def model_bounds(model: "IntegerModel") -> dict[int, int]:
    """sum_bounds of a deployed model, from its own tables and value table."""
    weighted = {i: worst_case_sum(model.tables[spec.table], spec.weight_index, spec.bias_index)
                for i, spec in enumerate(model.layers)
                if spec.table is not None and spec.weight_index is not None
                and spec.bias_index is not None and spec.table in model.tables}
    values = model.value_tables.get(VALUE_TABLE)
    value_max = 0 if values is None or not len(values) else int(np.abs(values).max())
    return sum_bounds([spec.layer for spec in model.layers], model.sources,
                      [spec.levels_out for spec in model.layers], weighted, value_max)


def accumulator_overflows(model: "IntegerModel") -> list[tuple[int, str]]:
    """(layer index, message) for each weighted layer or add whose worst-case sum, or a
    threshold one past it, does not fit the signed accumulator: a static proof from
    the tables, independent of any data."""
    found = []
    for i, bound in model_bounds(model).items():
        if not isinstance(model.layers[i].layer, (*L.WEIGHTED_LAYERS, L.Add)):
            continue
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
    x = a = a.astype(np.int64)
    per_layer: list[np.ndarray] = []
    add_sums: dict[int, np.ndarray] = {}
    sums = None
    for i, (spec, sources) in enumerate(zip(model.layers, model.sources)):
        layer = spec.layer
        a = x if sources[0] < 0 else per_layer[sources[0]]
        if isinstance(layer, (*L.WEIGHTED_LAYERS, L.Add)):
            sums = (layer_sums(model, spec, a) if isinstance(layer, L.WEIGHTED_LAYERS)
                    else add_terms(model, per_layer, sources))
            limit = model.accumulator_max
            if sums.size and (sums.max() > limit or sums.min() < -limit - 1):
                raise HwsimError(f"accumulator overflow in layer {i} "
                                 f"({model.accumulator_bits}-bit)")
            if isinstance(layer, L.Add) and spec.thresholds is not None:
                add_sums[i] = sums
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
    return IntegerTrace(outputs, sums, tuple(per_layer), add_sums)


def add_terms(model: IntegerModel, per_layer: list, sources) -> np.ndarray:
    """An add's sums: its inputs in order, a level input through the value table (its
    level's value times 2^s), a sums input as it is."""
    values = model.value_tables.get(VALUE_TABLE)
    total = None
    for s in sources:
        if s < 0:
            raise HwsimError("an add of the network input is not supported (its input "
                             "levels have no value table)")
        if model.layers[s].levels_out:
            if values is None:
                raise HwsimError(f"an add reads level indices but the model has no "
                                 f"{VALUE_TABLE!r} value table")
            term = values[per_layer[s]]
        else:
            term = per_layer[s]
        total = term if total is None else total + term
    return total
