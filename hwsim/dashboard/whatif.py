"""The bit-width what-if figure: the task metric of each (L, K) point of a sweep
against RAM, flash, cycles and energy on one device, with the Pareto front (the
best metric for the resource) drawn over the points."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hwsim.dashboard.common import (LABEL_CHARS, add_dropdown, base_layout, bytes_text,
                                    metric_text, number_text, ordered, text)

RESOURCES = (("ram_bytes", "RAM (bytes)"), ("flash_bytes", "flash (bytes)"),
             ("cycles_per_inference", "cycles per inference"),
             ("energy_per_inference_uj", "energy per inference (µJ)"))
METRIC_TITLES = {"accuracy": "test accuracy (higher is better)",
                 "mse": "test MSE (lower is better)"}
POINT_COLOUR, FRONT_COLOUR, MISS_COLOUR = "#6baed6", "#d62728", "#7f7f7f"


def metric_value(row: dict) -> float | None:
    """The metric a point is judged by: the deployed integer network's, else the
    discretized, else the continuous one."""
    for key in ("integer", "discretized", "continuous"):
        if row.get(key) is not None:
            return row[key]
    return None


def pareto_front(points: Sequence[tuple[float, float]], maximise: bool) -> list[int]:
    """Indices of the points no other point beats: no other uses at most the same
    resource (x) for a strictly better metric (y), or strictly less for the same.
    Ordered by x; ties keep the first of equal points."""
    sign = -1.0 if maximise else 1.0
    order = sorted(range(len(points)), key=lambda i: (points[i][0], sign * points[i][1], i))
    front, best = [], None
    for i in order:
        score = sign * points[i][1]
        if best is None or score < best:
            front.append(i)
            best = score
    return front


def _width(value) -> str:
    return "cont" if value in (None, "continuous") else str(value)


def point_label(row: dict) -> str:
    return f"L{_width(row['activation_levels'])} K{_width(row['weight_clusters'])}"


def _hover(row: dict) -> str:
    metric = row["metric"]
    lines = [f"<b>{point_label(row)}</b> on {text(row['device'])} ({text(row['style'])})",
             f"{metric}: integer {metric_text(metric, row.get('integer'))}, discretized "
             f"{metric_text(metric, row.get('discretized'))}, continuous "
             f"{metric_text(metric, row.get('continuous'))}"]
    if row.get("agreement") is not None:
        exact = row.get("bit_exact")
        lines.append(f"agreement {100 * row['agreement']:.2f}%"
                     + ("" if exact is None else f", bit-exact {'yes' if exact else 'NO'}"))
    widths = [f"{name} {row[key]}" for key, name in
              (("accumulator_bits", "accumulator bits"), ("table_entry_bits", "table bits"),
               ("scale_bits", "scale bits")) if row.get(key) is not None]
    if widths:
        lines.append(", ".join(widths))
    lines.append(f"RAM {bytes_text(row['ram_bytes'])}, flash {bytes_text(row['flash_bytes'])}"
                 + (f", weights {bytes_text(row['weight_bytes'])}"
                    if row.get("weight_bytes") is not None else ""))
    lines.append(f"{number_text(row['cycles_per_inference'])} cycles, "
                 f"{number_text(row['energy_per_inference_uj'])} µJ per inference")
    lines.append("fits the device" if row["fits"] else "DOES NOT FIT the device")
    return "<br>".join(lines)


def _group_traces(rows: list[dict], col: int, key: str, maximise: bool) -> list[dict]:
    """The traces of one group in one panel, as plain specs (plotly checks them once,
    when the figure takes them)."""
    points = [(r[key], metric_value(r)) for r in rows]
    front = pareto_front(points, maximise)
    first = col == 1
    traces = []
    for fits, name, colour, symbol in ((True, "(L, K) point", POINT_COLOUR, "circle"),
                                       (False, "does not fit the device", MISS_COLOUR, "x")):
        mine = [r for r in rows if r["fits"] == fits]
        traces.append(dict(
            type="scatter", x=[r[key] for r in mine], y=[metric_value(r) for r in mine], mode="markers",
            name=name, legendgroup=name, showlegend=first,
            marker=dict(color=colour, symbol=symbol, size=9, line=dict(width=1, color="white")),
            customdata=[_hover(r) for r in mine], hovertemplate="%{customdata}<extra></extra>"))
    traces.append(dict(
        type="scatter", x=[points[i][0] for i in front], y=[points[i][1] for i in front],
        mode="lines+markers+text", name="Pareto front", legendgroup="Pareto front",
        showlegend=first, line=dict(color=FRONT_COLOUR, width=2, shape="hv"),
        marker=dict(color=FRONT_COLOUR, size=11, symbol="diamond"),
        text=[point_label(rows[i]) for i in front], textposition="top center",
        textfont=dict(size=10, color=FRONT_COLOUR),
        customdata=[_hover(rows[i]) for i in front], hovertemplate="%{customdata}<extra></extra>"))
    return traces


def _x_range(axis: str, values: list[float]) -> dict:
    """Autorange, except around a single value (plotly would zoom into rounding
    noise): +-10% of it."""
    low, high = min(values), max(values)
    if low != high:
        return {f"{axis}.autorange": True, f"{axis}.range": None}
    pad = abs(low) * 0.1 or 1.0
    return {f"{axis}.autorange": False, f"{axis}.range": [low - pad, high + pad]}


def whatif_figure(rows: list[dict]) -> go.Figure:
    """One (workload, device, style) group of sweep rows at a time (dropdown);
    four panels sharing the metric axis."""
    fig = make_subplots(rows=1, cols=len(RESOURCES), shared_yaxes=True,
                        horizontal_spacing=0.03, subplot_titles=[t for _, t in RESOURCES])
    keys = ordered((r["workload"], r["device"], r["style"]) for r in rows)
    groups, traces, columns = [], [], []
    for workload, device, style in keys:
        mine = [r for r in rows if (r["workload"], r["device"], r["style"]) == (workload, device,
                                                                              style)
                and metric_value(r) is not None]
        metric = mine[0]["metric"]
        count = 0
        for col, (key, _) in enumerate(RESOURCES, start=1):
            for trace in _group_traces(mine, col, key, maximise=metric == "accuracy"):
                traces.append(trace)
                columns.append(col)
                count += 1
        title = (f"Bit-width what-if: {text(workload, 60)} on {text(device, 60)} "
                 f"({text(style, LABEL_CHARS)}), "
                 f"{len(mine)} (L, K) points")
        parts = (workload, device, style) if len({k[2] for k in keys}) > 1 else (workload, device)
        label = " · ".join(text(part, LABEL_CHARS) for part in parts)
        changes = {"title.text": title, "yaxis.title.text": METRIC_TITLES[metric],
                   "yaxis.tickformat": ".1%" if metric == "accuracy" else ""}
        for col, (key, _) in enumerate(RESOURCES, start=1):
            changes.update(_x_range(f"xaxis{col if col > 1 else ''}", [r[key] for r in mine]))
        groups.append((label, count, changes))
    fig.add_traces(traces, rows=[1] * len(traces), cols=columns)   # at once: far faster
    fig.update_xaxes(tickangle=-30, exponentformat="SI")
    fig.update_layout(base_layout("", 540, top=120, bottom=80))
    add_dropdown(fig, groups)
    return fig
