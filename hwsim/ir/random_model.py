"""A deployed integer model with random weights of a workload's kind: the right
shapes, K-value codebooks, product tables, scale and thresholds, for costing
shape-only workloads (reference architectures nobody trained here)."""
from __future__ import annotations

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir import levels as act
from hwsim.ir import layers as L
from hwsim.ir.levels import MAX_SCALE_BITS, avg_pool_bounds, input_values, integer_thresholds
from hwsim.ir.integer import VALUE_TABLE, IntegerLayer, IntegerModel, sum_bounds
from hwsim.ir.network import Network



def _index_counts(w: np.ndarray, k: int) -> np.ndarray:
    """(outputs, k): for each output unit (column of w), how many taps hold each index."""
    outputs = w.shape[1]
    keys = w + k * np.arange(outputs)[None, :]
    return np.bincount(keys.ravel(), minlength=k * outputs).reshape(outputs, k)


def random_integer_model(workload: Network, seed: int = 0) -> IntegerModel:
    d, fmt = workload.discretization, workload.integer
    if not d.is_discrete or fmt is None:
        raise HwsimError(f"workload {workload.name!r}: a graph needs numeric activation_levels "
                         "and weight_clusters and an integer section")
    rng = np.random.default_rng(seed)
    levels, k = d.activation_levels, d.weight_clusters
    flags = workload.activation_flags
    flow, reads_input = act.level_flow(workload.layers, workload.inputs, flags,
                                       workload.input_levels, levels)
    codebooks: dict[str, np.ndarray] = {}
    float_tables: dict[str, np.ndarray] = {}
    arrays: dict[int, tuple[str, np.ndarray, np.ndarray]] = {}
    for i, layer in enumerate(workload.layers):
        if not isinstance(layer, L.WEIGHTED_LAYERS):
            continue
        scope = "global" if d.cluster_scope == "global" else f"layer{i}"
        if scope not in codebooks:
            # The distinct draws, sorted: np.unique's result, without the 30 ms import of
            # numpy.ma that np.unique costs a command's start-up.
            draws = np.sort(rng.normal(0.0, 0.3, size=4 * k))
            values = draws[np.concatenate(([True], draws[1:] != draws[:-1]))]
            codebooks[scope] = np.sort(rng.choice(values, size=k, replace=False))
        first = reads_input[i]
        name = ("input" if first else "hidden") if scope == "global" else scope
        rows = input_values(workload.input_levels) if first else act.level_values(levels)
        float_tables[name] = np.concatenate([rows, [1.0]])[:, None] * codebooks[scope][None, :]
        shapes = layer.param_shapes()
        arrays[i] = (name, rng.integers(0, k, size=shapes["w"]), rng.integers(0, k, size=shapes["b"]))
    # Per weighted layer and output unit, how many taps use each codebook index: a
    # layer's worst-case sum at any scale is then one small integer product.
    counts = {i: _index_counts(w, k) for i, (_, w, _) in arrays.items()}

    def bounds_at(scale: int):
        tables = {n: np.rint(np.ldexp(t, scale)).astype(np.int64) for n, t in float_tables.items()}
        values = np.rint(np.ldexp(act.level_values(levels), scale)).astype(np.int64)
        weighted: dict[int, int] = {}
        for i, (name, w, b) in arrays.items():
            worst = np.abs(tables[name][:-1]).max(axis=0)
            weighted[i] = int((counts[i] @ worst + np.abs(tables[name][-1, b])).max())
        bound = sum_bounds(workload.layers, workload.inputs, [f[1] for f in flow], weighted,
                           int(np.abs(values).max()))
        return tables, values, bound

    acc_max = (1 << (fmt.accumulator_bits - 1)) - 1
    entry_max = (1 << (fmt.table_entry_bits - 1)) - 1
    def fits(s: int) -> bool:
        tables, values, bound = bounds_at(s)
        return (all(np.abs(t).max() <= entry_max for t in tables.values())
                and np.abs(values).max() <= entry_max
                and all(b + 1 <= acc_max for b in bound.values()))

    # The largest fitting scale: every entry and bound only grows with the scale, so
    # the scales that fit are 0..scale and a bisection finds the last one.
    low, high = -1, MAX_SCALE_BITS + 1          # fits(low) (or low = -1), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    scale = low
    if scale < 0:
        raise HwsimError(f"workload {workload.name!r}: no scale fits the integer widths")
    tables, values, bound = bounds_at(scale)
    specs = []
    for i, layer in enumerate(workload.layers):
        levels_in, levels_out = flow[i]
        thresholds = integer_thresholds(levels, scale, bound[i]) if levels_out and (
            i in arrays or isinstance(layer, L.Add)) else None
        if i in arrays:
            name, w, b = arrays[i]
            specs.append(IntegerLayer(layer, levels_in, levels_out, name, w, b, thresholds))
        elif isinstance(layer, (L.AvgPool1D, L.AvgPool2D)):
            window = layer.size if isinstance(layer, L.AvgPool1D) else layer.size_h * layer.size_w
            specs.append(IntegerLayer(layer, levels_in, levels_out,
                                      pool_bounds=avg_pool_bounds(window, levels_in)))
        else:
            specs.append(IntegerLayer(layer, levels_in, levels_out, thresholds=thresholds))
    output_values = (act.level_values(levels) + 1) / 2 if workload.task == "autoencoder" else None
    return IntegerModel(workload.task, tuple(workload.input_shape), workload.input_levels, levels,
                        tables, tuple(specs), scale, fmt.accumulator_bits, fmt.table_entry_bits,
                        output_values, {VALUE_TABLE: values}, tuple(workload.inputs))
