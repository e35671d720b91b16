"""From clustered float parameters to the deployed integer network: product
tables, the scale 2^s, integer thresholds and the output mapping."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
from hwsim.train import activations as act
from hwsim.train import layers as L
from hwsim.ir.integer import IntegerLayer, IntegerModel, worst_case_sum
from hwsim.train.loop import Clustering
from hwsim.ir.levels import (MAX_SCALE_BITS, avg_pool_bounds, integer_thresholds,
                              level_counts, table_rows)



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


def plan_tables(layers, clustering: Clustering, input_levels: int, levels: int):
    """Which table each weighted layer reads, and the float tables themselves."""
    plans, tables, codebook_of = [], {}, {}
    first = True
    for i, layer in enumerate(layers):
        if not isinstance(layer, L.WEIGHTED_LAYERS):
            continue
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


def choose_scale(tables, plans, clustering, accumulator_bits, entry_bits) -> ScaleChoice:
    """Largest s <= MAX_SCALE_BITS such that every table entry fits entry_bits and no
    reachable sum (or its threshold) overflows the accumulator, both signed."""
    acc_max = (1 << (accumulator_bits - 1)) - 1
    entry_max = (1 << (entry_bits - 1)) - 1

    def fits(s: int) -> tuple[bool, bool]:
        rounded = {name: _round(t, s) for name, t in tables.items()}
        entry_ok = all(np.abs(t).max() <= entry_max for t in rounded.values())
        acc_ok = all(worst_case_sum(rounded[p.table], clustering.indices[p.index]["w"],
                                  clustering.indices[p.index]["b"]) + 1 <= acc_max
                     for p in plans)
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
                   levels: int, accumulator_bits: int, table_entry_bits: int, flags=None):
    """The deployed network and the scale choice."""
    plans, float_tables, _ = plan_tables(layers, clustering, input_levels, levels)
    scale = choose_scale(float_tables, plans, clustering, accumulator_bits, table_entry_bits)
    tables = {name: _round(t, scale.scale_bits) for name, t in float_tables.items()}
    plan_of = {p.index: p for p in plans}
    out_layers = []
    for i, (layer, (levels_in, levels_out)) in enumerate(
            zip(layers, level_counts(layers, task, input_levels, levels, flags))):
        if i in plan_of:
            plan = plan_of[i]
            w, b = clustering.indices[i]["w"], clustering.indices[i]["b"]
            thresholds = None
            if levels_out:
                bound = worst_case_sum(tables[plan.table], w, b)
                thresholds = integer_thresholds(levels, scale.scale_bits, bound)
            out_layers.append(IntegerLayer(layer, levels_in, levels_out, plan.table,
                                           w.astype(np.int64), b.astype(np.int64), thresholds))
        elif isinstance(layer, (L.AvgPool1D, L.AvgPool2D)):
            window = layer.size if isinstance(layer, L.AvgPool1D) else layer.size_h * layer.size_w
            out_layers.append(IntegerLayer(layer, levels_in, levels_out,
                                           pool_bounds=avg_pool_bounds(window, levels_in)))
        else:
            out_layers.append(IntegerLayer(layer, levels_in, levels_out))
    output_values = (act.level_values(levels) + 1.0) / 2.0 if task == "autoencoder" else None
    model = IntegerModel(task, tuple(input_shape), input_levels, levels, tables,
                         tuple(out_layers), scale.scale_bits, accumulator_bits,
                         table_entry_bits, output_values)
    return model, scale
