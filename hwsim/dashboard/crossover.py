"""Figures of the crossover section (hwsim.evaluate.crossover_rows): where lut beats
int8, as pure functions from rows to plotly Figures.

- `crossover_heatmaps`: per device (a SoC core: SOC.CORE) a heatmap of lut / int8 over
  the (L, K) grid, one (workload, cycles or energy) at a time (dropdown); blue: lut is
  cheaper, orange: int8 is, white: even.
- `verdict_heatmap`: workload x device at each network's own (L, K): the colour is
  lut / int8, the cell names the style with the fewest cycles (energy) and its margin.
- `winner_per_core`: for the products panel, per SoC core the share of the battery of
  the style that costs the product least.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hwsim.dashboard.common import (LABEL_CHARS, NAME_PX, STYLE_COLOURS, add_dropdown,
                                    base_layout, label_axis, number_text, ordered, text)
from hwsim.results.document import STYLES

# log10(lut / int8): -1 (lut 10x cheaper) blue .. 0 white .. +1 (int8 10x cheaper) orange
RATIO_COLOURSCALE = [[0.0, "#08306b"], [0.25, "#4292c6"], [0.5, "#f7f7f7"],
                     [0.75, "#fd8d3c"], [1.0, "#7f2704"]]
RATIO_RANGE = 1.0
COLUMNS, MAP_PX = 4, 210
MEASURES = (("cycles", "cycles", "lut_cycles_grid"),
            ("energy", "energy_uj", "lut_energy_uj_grid"))
LETTER = {"lut": "l", "int8": "i", "float32": "f"}


def _log_ratio(lut, int8) -> float | None:
    if lut is None or int8 is None or lut <= 0 or int8 <= 0:
        return None
    return round(max(-RATIO_RANGE, min(RATIO_RANGE, math.log10(lut / int8))), 4)


def _colour_axis(title: str) -> dict:
    ticks = [-1, -0.5, -0.301, 0, 0.301, 0.5, 1]
    return dict(colorscale=RATIO_COLOURSCALE, cmin=-RATIO_RANGE, cmax=RATIO_RANGE,
                colorbar=dict(title=dict(text=title), tickvals=ticks,
                              ticktext=["≤0.1x", "0.32x", "0.5x", "1x", "2x", "3.2x", "≥10x"],
                              len=0.6))


def _cell(row: dict, measure: str, key: str, i: int, j: int) -> tuple[str, str]:
    """(label, hover) of grid cell [i][j]: the cheapest style and lut / int8."""
    lut = row[MAP_KEYS[measure]][i][j]
    costs = {s: row[f"{s}_{key}"] for s in STYLES if s != "lut" and row[f"{s}_{key}"] is not None}
    if lut is not None:
        costs["lut"] = lut
    if "lut" not in costs:
        return "n/a", "lut not costed here"
    best = min(costs, key=lambda s: (costs[s], STYLES.index(s)))
    ratio = f"{costs['lut'] / costs['int8']:.2f}" if costs.get("int8") else "-"
    hover = "<br>".join(
        [f"<b>{text(row['device'])}</b>, {text(row['workload'])} at L{row['levels'][i]} "
         f"K{row['clusters'][j]}", f"lut / int8 {measure}: {ratio}; cheapest: {best}"]
        + [f"{s}: {number_text(costs[s])} {'cycles' if measure == 'cycles' else 'µJ'}"
           for s in STYLES if s in costs])
    return f"{LETTER.get(best, best[0])} {ratio}", hover


MAP_KEYS = {measure: grid for measure, _, grid in MEASURES}


def crossover_heatmaps(rows: list[dict]) -> go.Figure:
    """lut / int8 over (L, K), one heatmap per device, one (workload, measure) at a time."""
    devices = ordered(r["device"] for r in rows)
    columns = min(COLUMNS, len(devices))
    lines = math.ceil(len(devices) / columns)
    fig = make_subplots(rows=lines, cols=columns, horizontal_spacing=0.05,
                        vertical_spacing=min(0.3 / max(lines - 1, 1), 0.08),
                        subplot_titles=[text(d, LABEL_CHARS) for d in devices])
    groups = []
    for workload in ordered(r["workload"] for r in rows):
        mine = {r["device"]: r for r in rows if r["workload"] == workload}
        for measure, key, grid in MEASURES:
            count = 0
            for index, device in enumerate(devices):
                row = mine.get(device)
                if row is None:
                    continue
                cells = [[_cell(row, measure, key, i, j) for j in range(len(row["clusters"]))]
                         for i in range(len(row["levels"]))]
                fig.add_trace(go.Heatmap(
                    z=[[_log_ratio(v, row[f"int8_{key}"]) for v in line] for line in row[grid]],
                    x=[f"K{k}" for k in row["clusters"]], y=[f"L{l}" for l in row["levels"]],
                    text=[[c[0] for c in line] for line in cells], texttemplate="%{text}",
                    customdata=[[c[1] for c in line] for line in cells],
                    hovertemplate="%{customdata}<extra></extra>", coloraxis="coloraxis",
                    xgap=1, ygap=1, textfont=dict(size=8), name=text(device)),
                    row=index // columns + 1, col=index % columns + 1)
                count += 1
            own = next(iter(mine.values()))
            groups.append((f"{text(workload, LABEL_CHARS)} · {measure}", count, {
                "title.text": f"Where lut beats int8: {text(workload, 60)}, lut / int8 {measure} "
                              f"per (L, K) (own point L{own['activation_levels']} "
                              f"K{own['weight_clusters']}); cell: the cheapest style "
                              "(l, i, f) and the ratio"}))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=9))
    fig.update_xaxes(tickfont=dict(size=9), tickangle=-45)
    fig.update_layout(base_layout("", lines * MAP_PX + 200, top=130, bottom=70,
                                  coloraxis=_colour_axis("lut / int8")))
    add_dropdown(fig, groups)
    return fig


def verdict_heatmap(rows: list[dict]) -> go.Figure:
    """Workload x device at each network's own (L, K): lut / int8, and the winner."""
    workloads = ordered(r["workload"] for r in rows)
    devices = ordered(r["device"] for r in rows)
    by_pair = {(r["workload"], r["device"]): r for r in rows}
    groups = []
    fig = go.Figure()
    for measure, key, _ in MEASURES:
        z, labels, hover = [], [], []
        for workload in workloads:
            found = [by_pair.get((workload, d)) for d in devices]
            z.append([None if r is None else _log_ratio(r[f"lut_{key}"], r[f"int8_{key}"])
                      for r in found])
            labels.append(["" if r is None else _verdict_label(r, measure) for r in found])
            hover.append(["" if r is None else _verdict_hover(r, measure, key) for r in found])
        fig.add_trace(go.Heatmap(z=z, x=list(range(len(devices))), y=list(range(len(workloads))),
                                 text=labels, texttemplate="%{text}", customdata=hover,
                                 hovertemplate="%{customdata}<extra></extra>",
                                 coloraxis="coloraxis", xgap=2, ygap=2, textfont=dict(size=9)))
        groups.append((f"measure: {measure}", 1, {
            "title.text": f"Which style wins at each network's own (L, K), {measure}: colour "
                          "lut / int8; cell: the cheapest style and its margin over the next"}))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(workloads))),
                     ticktext=[text(w, LABEL_CHARS) for w in workloads], autorange="reversed")
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(devices))),
                     ticktext=[text(d, LABEL_CHARS) for d in devices], tickangle=-45)
    left = 40 + NAME_PX * max(min(len(str(w)), LABEL_CHARS) for w in workloads)
    fig.update_layout(base_layout("", 32 * max(len(workloads), 2) + 330, top=110, bottom=190,
                                  left=min(left, 260), coloraxis=_colour_axis("lut / int8")))
    add_dropdown(fig, groups)
    return fig


def _verdict_label(row: dict, measure: str) -> str:
    best, margin = row[f"winner_{measure}"], row[f"margin_{measure}"]
    if best is None:
        return ""
    return LETTER.get(best, best) + ("" if margin is None else f" {margin:.1f}x")


def _verdict_hover(row: dict, measure: str, key: str) -> str:
    unit = "cycles" if measure == "cycles" else "µJ"
    lines = [f"<b>{text(row['workload'])}</b> on <b>{text(row['device'])}</b> at "
             f"L{row['activation_levels']} K{row['weight_clusters']}"]
    lines += [f"{s}: {number_text(row[f'{s}_{key}'])} {unit}" for s in STYLES
              if row[f"{s}_{key}"] is not None]
    if row[f"winner_{measure}"] is not None:
        margin = row[f"margin_{measure}"]
        lines.append(f"cheapest: {text(row[f'winner_{measure}'])}"
                     + ("" if margin is None else f", {margin:.2f}x under the next"))
    return "<br>".join(lines)


def core_winners(rows: list[dict]) -> dict[tuple[str, str], list[tuple[str, str, float, bool]]]:
    """(workload, SoC) -> per core (in the rows' order): (core, the style with the
    smallest share of the battery, that share, whether it keeps up there)."""
    found: dict[tuple[str, str], list] = {}
    for row in rows:
        shares = {s: row.get(f"{s}_network_share") for s in STYLES}
        shares = {s: v for s, v in shares.items() if v is not None}
        if row.get("soc") is None or not shares:
            continue
        best = min(shares, key=lambda s: (shares[s], STYLES.index(s)))
        found.setdefault((row["workload"], row["soc"]), []).append(
            (row["core"], best, shares[best], bool(row.get(f"{best}_keeps_up"))))
    return found


def winner_per_core(fig: go.Figure, rows: list[dict]) -> tuple[str, int, dict] | None:
    """Add to `fig` one bar trace per workload: per SoC core, the share of the battery
    of the style that costs least there (bar text and outline colour: that style;
    hatched: it does not keep up there, the share is what it would need). Returns the
    dropdown group of the traces, None when no row is a SoC core."""
    winners = core_winners(rows)
    if not winners:
        return None
    cores = ordered(f"{soc}.{core}" for (_, soc), found in winners.items()
                    for core, *_ in found)
    for workload in ordered(w for w, _ in winners):
        by_core = {f"{soc}.{core}": rest for (w, soc), found in winners.items()
                   if w == workload for core, *rest in found}
        found = [by_core.get(c) for c in cores]
        fig.add_trace(go.Bar(
            x=list(range(len(cores))), y=[None if f is None else 100 * f[1] for f in found],
            name=text(workload, LABEL_CHARS), text=["" if f is None else f[0] for f in found],
            textposition="outside", textangle=-90, textfont=dict(size=10),
            marker=dict(line=dict(width=2, color=[STYLE_COLOURS.get(f[0], "#444") if f else "#444"
                                                  for f in found]),
                        pattern=dict(shape=["" if f is None or f[2] else "x" for f in found])),
            customdata=["" if f is None else _winner_hover(workload, c, *f)
                        for c, f in zip(cores, found)],
            hovertemplate="%{customdata}<extra></extra>"))
    return ("winner per core", len(ordered(w for w, _ in winners)), {
        **label_axis(("xaxis",), [text(c, LABEL_CHARS) for c in cores]),
        "title.text": "per SoC core: the share of the battery of the style that costs least "
                      "there (bar label and outline; hatched: it does not keep up; log scale)"})


def _winner_hover(workload: str, core: str, style: str, share: float, keeps_up: bool) -> str:
    return (f"<b>{text(workload)}</b> on {text(core)}: {text(style)} costs the battery least, "
            f"{100 * share:.3g}%<br>(cost model at the network's own L and K; "
            + ("keeps up)" if keeps_up else "does NOT keep up: the share it would need)"))
