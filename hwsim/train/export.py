"""From clustered float parameters to the deployed integer network: product
tables, the scale 2^s, integer thresholds and the output mapping."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
from hwsim.train import activations as act
from hwsim.train import layers as L
from hwsim.ir.integer import VALUE_TABLE, IntegerLayer, IntegerModel, sum_bounds, worst_case_sum
from hwsim.train.loop import Clustering
from hwsim.ir.levels import (MAX_SCALE_BITS, avg_pool_bounds, chain_inputs, default_flags,
                              integer_thresholds, level_counts,  # noqa: F401 (re-exported)
                              level_flow, table_rows)



@dataclass(frozen=True)
class ScaleChoice:
    scale_bits: int
    binding: str            # "accumulator", "table_entry" or "cap"
    accumulator_limit_bits: int | None
    table_entry_limit_bits: int | None


@dataclass(frozen=True)
class _WeightedPlan:
    index: int
    table: str
    levels_in: int


def _table_name(scope: str, layer_index: int, first: bool) -> str:
    if scope == "per_layer":
        return f"layer{layer_index}"
    return "input" if first else "hidden"


def plan_tables(layers, clustering: Clustering, input_levels: int, levels: int,
                reads_input=None):
    """Which table each weighted layer reads, and the float tables themselves.
    reads_input: per layer, whether it reads the input's levels (level_flow; default:
    the first weighted layer of a chain)."""
    plans, tables, codebook_of = [], {}, {}
    first = True
    for i, layer in enumerate(layers):
        if not isinstance(layer, L.WEIGHTED_LAYERS):
            continue
        if reads_input is not None:
            first = reads_input[i]
        levels_in = input_levels if first else levels
        name = _table_name(clustering.scope, i, first)
        codebook = clustering.codebooks[clustering.layer_scope[i]]
        tables[name] = float_table(table_rows(first, input_levels, levels), codebook)
        codebook_of[name] = clustering.layer_scope[i]
        plans.append(_WeightedPlan(i, name, levels_in))
        first = False
    return plans, tables, codebook_of


def float_table(rows: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """The product table before scaling: row value times codebook value."""
    return rows[:, None] * np.asarray(codebook, dtype=np.float64)[None, :]


def _round(table: np.ndarray, scale_bits: int) -> np.ndarray:
    """Entries scaled by 2^s, rounded to nearest (ties to even, numpy rint)."""
    return np.rint(np.ldexp(table, scale_bits)).astype(np.int64)


def integer_table(rows: np.ndarray, codebook: np.ndarray, scale_bits: int) -> np.ndarray:
    """A deployed product table from its definition: rint(row * codebook * 2^s)."""
    return _round(float_table(rows, codebook), scale_bits)


def value_table(levels: int, scale_bits: int) -> np.ndarray:
    """The value table of adds: each activation level's value times 2^s, rounded."""
    return _round(act.level_values(levels), scale_bits)


def choose_scale(tables, plans, clustering, accumulator_bits, entry_bits, adds=None
                 ) -> ScaleChoice:
    """Largest s <= MAX_SCALE_BITS such that every table entry fits entry_bits and no
    reachable sum (or its threshold) overflows the accumulator, both signed. adds:
    (layers, inputs, levels_out, levels) of a graph with adds, whose value table and
    sums must fit too."""
    acc_max = (1 << (accumulator_bits - 1)) - 1
    entry_max = (1 << (entry_bits - 1)) - 1

    def fits(s: int) -> tuple[bool, bool]:
        rounded = {name: _round(t, s) for name, t in tables.items()}
        entry_ok = all(np.abs(t).max() <= entry_max for t in rounded.values())
        weighted = {p.index: worst_case_sum(rounded[p.table], clustering.indices[p.index]["w"],
                                            clustering.indices[p.index]["b"]) for p in plans}
        bounds = list(weighted.values())
        if adds is not None:
            values = value_table(adds[3], s)
            entry_ok = entry_ok and int(np.abs(values).max()) <= entry_max
            bounds = list(sum_bounds(*adds[:3], weighted, int(np.abs(values).max())).values())
        acc_ok = all(bound + 1 <= acc_max for bound in bounds)
        return entry_ok, acc_ok

    entry_limit = acc_limit = None
    for s in range(MAX_SCALE_BITS + 1):
        entry_ok, acc_ok = fits(s)
        if entry_limit is None and not entry_ok:
            entry_limit = s - 1
        if acc_limit is None and not acc_ok:
            acc_limit = s - 1
        if entry_limit is not None and acc_limit is not None:
            break
    limits = [v for v in (entry_limit, acc_limit) if v is not None]
    scale = min(limits) if limits else MAX_SCALE_BITS
    if scale < 0:
        raise HwsimError(f"no scale fits: the tables do not fit {entry_bits}-bit entries or "
                         f"a {accumulator_bits}-bit accumulator even unscaled")
    if not limits:
        binding = "cap"
    elif acc_limit is not None and acc_limit == scale:
        binding = "accumulator"
    else:
        binding = "table_entry"
    return ScaleChoice(scale, binding, acc_limit, entry_limit)


def export_integer(layers, clustering: Clustering, *, task: str, input_shape, input_levels: int,
                   levels: int, accumulator_bits: int, table_entry_bits: int, flags=None,
                   inputs=None):
    """The deployed network and the scale choice. inputs: per layer its sources (a
    workload's `inputs`; default: a chain); a graph with adds also gets the value
    table of its level inputs and thresholds on its activated adds."""
    flags = default_flags(layers, task) if flags is None else flags
    chain = chain_inputs(layers)
    inputs = chain if inputs is None else tuple(tuple(s) for s in inputs)
    dag = inputs != chain
    graph = any(isinstance(layer, L.Add) for layer in layers)
    flow, reads_input = level_flow(layers, inputs, flags, input_levels, levels)
    levels_out = [f[1] for f in flow]
    if graph:
        for i, layer in enumerate(layers):
            if isinstance(layer, L.Add) and any(s < 0 or (reads_input[s] and not isinstance(
                    layers[s], (*L.WEIGHTED_LAYERS, L.Add))) for s in inputs[i]):
                raise HwsimError(f"layer {i}: an add of the network input's levels is not "
                                 "supported (only activation levels have a value table)")
    plans, float_tables, _ = plan_tables(layers, clustering, input_levels, levels,
                                         reads_input if dag else None)
    adds = (layers, inputs, levels_out, levels) if graph else None
    scale = choose_scale(float_tables, plans, clustering, accumulator_bits, table_entry_bits,
                         adds)
    tables = {name: _round(t, scale.scale_bits) for name, t in float_tables.items()}
    values = value_table(levels, scale.scale_bits) if graph else None
    plan_of = {p.index: p for p in plans}
    weighted = {p.index: worst_case_sum(tables[p.table], clustering.indices[p.index]["w"],
                                        clustering.indices[p.index]["b"]) for p in plans}
    bounds = (sum_bounds(layers, inputs, levels_out, weighted, int(np.abs(values).max()))
              if graph else weighted)
    out_layers = []
    for i, (layer, (levels_in, levels_out_i)) in enumerate(zip(layers, flow)):
        thresholds = None
        if levels_out_i and isinstance(layer, (*L.WEIGHTED_LAYERS, L.Add)):
            thresholds = integer_thresholds(levels, scale.scale_bits, bounds[i])
        if i in plan_of:
            plan = plan_of[i]
            w, b = clustering.indices[i]["w"], clustering.indices[i]["b"]
            out_layers.append(IntegerLayer(layer, levels_in, levels_out_i, plan.table,
                                           w.astype(np.int64), b.astype(np.int64), thresholds))
        elif isinstance(layer, (L.AvgPool1D, L.AvgPool2D)):
            window = layer.size if isinstance(layer, L.AvgPool1D) else layer.size_h * layer.size_w
            out_layers.append(IntegerLayer(layer, levels_in, levels_out_i,
                                           pool_bounds=avg_pool_bounds(window, levels_in)))
        else:
            out_layers.append(IntegerLayer(layer, levels_in, levels_out_i, thresholds=thresholds))
    output_values = (act.level_values(levels) + 1.0) / 2.0 if task == "autoencoder" else None
    model = IntegerModel(task, tuple(input_shape), input_levels, levels, tables,
                         tuple(out_layers), scale.scale_bits, accumulator_bits,
                         table_entry_bits, output_values,
                         {VALUE_TABLE: values} if graph else {}, inputs if dag else None)
    return model, scale
