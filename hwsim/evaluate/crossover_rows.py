"""The results document's `crossover` rows (docs/results.md): a crossover map
(hwsim.evaluate.crossover) as plain JSON-ready dicts, one per device or SoC core."""
from __future__ import annotations

from hwsim.evaluate.crossover import MEASURES, Cell, Column, CrossoverMap, StyleCost, winner
from hwsim.ir.style import STYLES


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def _costs_row(costs: dict[str, StyleCost], prefix: str = "") -> dict:
    row = {}
    for style in STYLES:
        cost = costs.get(style)
        row[f"{prefix}{style}_cycles"] = None if cost is None else round(cost.cycles)
        row[f"{prefix}{style}_energy_uj"] = None if cost is None else _round(cost.energy_pj / 1e6)
    return row


def _winner_row(column: Column, cell: Cell | None) -> dict:
    row = {}
    for measure in MEASURES:
        costs = column.costs(cell, measure)
        best, margin = winner(costs) if costs else (None, None)
        row[f"winner_{measure}"] = best
        row[f"margin_{measure}"] = None if margin is None else _round(margin)
    return row


def crossover_rows(found: CrossoverMap) -> list[dict]:
    """The results document's `crossover` rows (docs/results.md), one per column: the
    three styles at the network's own (L, K) with the winner and its margin per measure,
    per layer class, the lut grid (cycles and energy, [L][K]), and on a SoC core the
    network's share of the product's battery per style."""
    rows = []
    for column in found.columns:
        at_own = {**column.baselines,
                  **({"lut": column.own.lut} if column.own and column.own.lut else {})}
        row = {"workload": found.network, "device": column.device, "soc": column.soc,
               "core": column.core, "core_class": column.core_class,
               "activation_levels": found.own[0] if found.own else None,
               "weight_clusters": found.own[1] if found.own else None,
               **_costs_row(at_own), **_winner_row(column, column.own if found.own else None),
               "classes": {c: _costs_row({s: _class_cost(cost, c) for s, cost in at_own.items()})
                           for c in found.classes},
               "unavailable": dict(sorted(column.unavailable.items())),
               "levels": list(found.levels), "clusters": list(found.clusters),
               "lut_cycles_grid": _grid(found, column, lambda c: round(c.cycles)),
               "lut_energy_uj_grid": _grid(found, column, lambda c: _round(c.energy_pj / 1e6))}
        if column.soc is not None:
            some = next(iter(column.battery.values()), None)
            row.update({"load": some.load if some else None,
                        "baseline_power_mw": some.baseline_mw if some else None,
                        "frame_period_ms": found.frame_period_ms})
            for style in STYLES:
                battery = column.battery.get(style)
                row[f"{style}_network_share"] = None if battery is None else battery.share
                row[f"{style}_keeps_up"] = column.keeps_up.get(style)
        rows.append(row)
    return rows


def _class_cost(cost: StyleCost, layer_class: str) -> StyleCost:
    return StyleCost(cost.style, cost.cycles_by_class[layer_class],
                     cost.energy_pj_by_class[layer_class], {}, {})


def _grid(found: CrossoverMap, column: Column, value) -> list[list]:
    width = len(found.clusters)
    return [[None if cell.lut is None else value(cell.lut)
             for cell in column.cells[i * width:(i + 1) * width]]
            for i in range(len(found.levels))]

