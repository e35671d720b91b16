"""Figures of the fit matrix and the training runs: pure functions from result
rows (hwsim.evaluate.rows.simulation_row and friends) to plotly Figures.

- `fit_heatmap`: workload x device, one heatmap per arithmetic style; colour =
  the worst of the RAM, flash and deadline margins as a share of its budget
  (green: fits with that much to spare; red: short by that much).
- `style_bars`: lut vs int8 vs float32 per device (cycles, energy, RAM, flash),
  one workload at a time.
- `training_bars`: the test metric of the continuous, discretized and integer
  networks of each training run.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hwsim.dashboard.crossover import winner_per_core
from hwsim.dashboard.common import (LABEL_CHARS, NAME_PX, STYLE_TITLES, add_dropdown,
                                    base_layout, bytes_text, label_axis, metric_text,
                                    number_text, ordered, style_colour, styles_of, text)

# Red (short) below 0, green (spare) above; a hard step at 0 so fit / no fit is
# never a matter of shade.
FIT_COLOURSCALE = [[0.0, "#67000d"], [0.25, "#cb181d"], [0.5, "#fcbba1"],
                   [0.5, "#c7e9c0"], [0.75, "#41ab5d"], [1.0, "#00441b"]]
CELL_PX, GAP_PX = 32, 44   # height of a matrix row; space for the next style's title
CHECK_SHORT = (("ram", "RAM"), ("flash", "flash"), ("deadline", "time"))


def _share(margin: float, used: float) -> float:
    """A byte margin as a share of the budget (used + margin)."""
    budget = used + margin
    if budget <= 0:
        return -1.0
    return margin / budget


def fit_shares(row: dict) -> dict[str, float]:
    """Each check's margin as a share of its budget: > 0 spare, < 0 short."""
    deadline = row["deadline_margin_ms"]
    if deadline is None or row["deadline_ms"] <= 0:
        deadline_share = 1.0 if row["fits_deadline"] else -1.0
    else:
        deadline_share = deadline / row["deadline_ms"]
    return {"ram": _share(row["ram_margin_bytes"], row["ram_bytes"]),
            "flash": _share(row["flash_margin_bytes"], row["flash_bytes"]),
            "deadline": deadline_share}


def fit_score(row: dict) -> float:
    """The colour of a fit-matrix cell: the worst share, clipped to [-1, 1], and
    on the side of zero the row's own fits flag says."""
    worst = max(-1.0, min(1.0, min(fit_shares(row).values())))
    return max(worst, 0.0) if row["fits"] else min(worst, -0.001)


def _fit_label(row: dict) -> str:
    if row["fits"]:
        return "✓"
    failed = [short for check, short in CHECK_SHORT if not row[f"fits_{check}"]]
    return "✗ " + ("all" if len(failed) == len(CHECK_SHORT) else ",".join(failed))


def _margin_line(name: str, fits: bool, used: str, margin: str) -> str:
    return f"{name}: {used} used, {margin} {'spare' if fits else 'SHORT'}"


def fit_hover(row: dict) -> str:
    latency = row["latency_ms_max"]
    deadline = row["deadline_margin_ms"]
    deadline_line = (f"deadline {number_text(row['deadline_ms'])} ms: worst latency "
                     f"{number_text(latency)} ms, "
                     + ("never finished" if deadline is None else
                        f"{number_text(abs(deadline))} ms "
                        f"{'spare' if row['fits_deadline'] else 'SHORT'}"))
    lines = [f"<b>{text(row['workload'])}</b> on <b>{text(row['device'])}</b>, "
             f"{text(row['style'])}: {'fits' if row['fits'] else 'DOES NOT FIT'}",
             _margin_line("RAM", row["fits_ram"], bytes_text(row["ram_bytes"]),
                          bytes_text(abs(row["ram_margin_bytes"]))),
             _margin_line("flash", row["fits_flash"], bytes_text(row["flash_bytes"]),
                          bytes_text(abs(row["flash_margin_bytes"]))),
             deadline_line,
             f"{number_text(row['cycles_per_inference'])} cycles, "
             f"{number_text(row['energy_per_inference_uj'])} µJ per inference"]
    return "<br>".join(lines)


def fit_heatmap(rows: list[dict]) -> go.Figure:
    """Workload x device fit matrix, one heatmap per style (stacked)."""
    styles = styles_of(rows)
    workloads = ordered(r["workload"] for r in rows)
    devices = ordered(r["device"] for r in rows)
    cells: dict[tuple, dict] = {}
    for row in rows:
        cells.setdefault((row["workload"], row["device"], row["style"]), row)
    matrix_px = max(len(workloads), 2) * CELL_PX
    plot_px = len(styles) * matrix_px + (len(styles) - 1) * GAP_PX
    fig = make_subplots(rows=len(styles), cols=1, shared_xaxes=True,
                        vertical_spacing=GAP_PX / plot_px if len(styles) > 1 else 0,
                        subplot_titles=[STYLE_TITLES.get(s, text(s)) for s in styles])
    x, y = list(range(len(devices))), list(range(len(workloads)))
    for i, style in enumerate(styles, start=1):
        z, labels, hover = [], [], []
        for workload in workloads:
            found = [cells.get((workload, device, style)) for device in devices]
            z.append([None if r is None else round(fit_score(r), 4) for r in found])
            labels.append(["" if r is None else _fit_label(r) for r in found])
            hover.append(["not simulated" if r is None else fit_hover(r) for r in found])
        fig.add_trace(go.Heatmap(z=z, x=x, y=y, text=labels, texttemplate="%{text}",
                                 customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                                 coloraxis="coloraxis", xgap=2, ygap=2, name=text(style),
                                 textfont=dict(size=10)),
                      row=i, col=1)
    y_labels = [text(w, LABEL_CHARS) for w in workloads]
    fig.update_yaxes(tickmode="array", tickvals=y, ticktext=y_labels, autorange="reversed")
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=[text(d, LABEL_CHARS) for d in devices],
                     tickangle=-40)
    left = 40 + NAME_PX * max(min(len(str(w)), LABEL_CHARS) for w in workloads)
    fig.update_layout(base_layout(
        "Does it fit? Worst of RAM, flash and deadline margin, per workload and device",
        plot_px + 80 + 150, top=80, bottom=150, left=min(left, 260),
        coloraxis=dict(colorscale=FIT_COLOURSCALE, cmin=-1, cmax=1,
                       colorbar=dict(title=dict(text="worst margin<br>(share of budget)"),
                                     tickvals=[-1, -0.5, 0, 0.5, 1],
                                     ticktext=["100% short", "50% short", "0", "50% spare",
                                               "100% spare"], len=0.8))))
    return fig


STYLE_PANELS = (("cycles_per_inference", "cycles per inference", "fits_deadline"),
                ("energy_per_inference_uj", "energy per inference (µJ)", "fits_deadline"),
                ("ram_bytes", "RAM (bytes)", "fits_ram"),
                ("flash_bytes", "flash (bytes)", "fits_flash"))


def _style_hover(row: dict, key: str, title: str) -> str:
    value = row[key]
    shown = bytes_text(value) if key.endswith("_bytes") else number_text(value)
    marks = ", ".join(f"{name} {'✓' if row[f'fits_{check}'] else '✗'}"
                      for check, name in (("ram", "RAM"), ("flash", "flash"),
                                          ("deadline", "deadline")))
    return (f"<b>{text(row['device'])}</b>, {text(row['style'])}<br>{title}: {shown}<br>"
            f"{'fits' if row['fits'] else 'does not fit'} ({marks})")


def style_bars(rows: list[dict]) -> go.Figure:
    """Grouped bars per device, one bar per style, for one workload at a time
    (dropdown). Hatched: the check that panel stands for fails (deadline for
    cycles and energy)."""
    styles = styles_of(rows)
    fig = make_subplots(rows=2, cols=2, vertical_spacing=0.2, horizontal_spacing=0.08,
                        subplot_titles=[title for _, title, _ in STYLE_PANELS])
    groups = []
    for workload in ordered(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == workload]
        devices = ordered(r["device"] for r in mine)
        count = 0
        for style in styles:
            by_device = {}
            for r in mine:
                if r["style"] == style:
                    by_device.setdefault(r["device"], r)
            found = [by_device.get(d) for d in devices]
            for panel, (key, title, check) in enumerate(STYLE_PANELS):
                fig.add_trace(go.Bar(
                    x=list(range(len(devices))),
                    y=[None if r is None else r[key] for r in found],
                    name=text(style), legendgroup=text(style), showlegend=panel == 0,
                    marker=dict(color=style_colour(style, styles),
                                pattern=dict(shape=["" if r is None or r[check] else "x"
                                                    for r in found])),
                    customdata=["" if r is None else _style_hover(r, key, title) for r in found],
                    hovertemplate="%{customdata}<extra></extra>"),
                    row=panel // 2 + 1, col=panel % 2 + 1)
                count += 1
        groups.append((f"workload: {text(workload, LABEL_CHARS)}", count,
                       {**label_axis(("xaxis", "xaxis2", "xaxis3", "xaxis4"),
                                     [text(d, LABEL_CHARS) for d in devices]),
                        "title.text": f"lut vs int8 vs float32 per device: {text(workload, 60)} "
                                      "(log scales; hatched: does not fit)"}))
    fig.update_yaxes(type="log", dtick=1, exponentformat="SI")
    fig.update_xaxes(tickangle=-40)
    fig.update_layout(base_layout("", 800, top=120, bottom=110, barmode="group"))
    add_dropdown(fig, groups)
    return fig


TRAINING_SERIES = (("continuous", "continuous (float)", "#9e9e9e"),
                   ("discretized", "discretized (float simulation)", "#6baed6"),
                   ("integer", "integer (deployed)", "#08519c"))


def _run_label(summary: dict, limit: int | None = None) -> str:
    def width(value):
        return "cont" if value in (None, "continuous") else value
    return (f"{text(summary['workload'], limit)} L{width(summary['activation_levels'])} "
            f"K{width(summary['weight_clusters'])}")


def training_bars(summaries: list[dict]) -> go.Figure:
    """Test metric of the three networks of each run, one subplot per metric."""
    metrics = ordered(s["metrics"]["metric"] for s in summaries)
    titles = {"accuracy": "test accuracy (higher is better)",
              "mse": "test mean squared error (lower is better)"}
    fig = make_subplots(rows=len(metrics), cols=1, vertical_spacing=0.25,
                        subplot_titles=[titles[m] for m in metrics])
    for i, metric in enumerate(metrics, start=1):
        runs = [s for s in summaries if s["metrics"]["metric"] == metric]
        for key, name, colour in TRAINING_SERIES:
            values = [s["metrics"].get(key) for s in runs]
            fig.add_trace(go.Bar(x=list(range(len(runs))), y=values, name=name, legendgroup=name,
                                 showlegend=i == 1, marker_color=colour,
                                 customdata=[[_run_label(s), metric_text(metric, v)]
                                             for s, v in zip(runs, values)],
                                 hovertemplate=f"%{{customdata[0]}}<br>{name}: "
                                               "%{customdata[1]}<extra></extra>"), row=i, col=1)
        fig.update_xaxes(tickmode="array", tickvals=list(range(len(runs))),
                         ticktext=[_run_label(s, LABEL_CHARS) for s in runs], row=i, col=1)
        if metric == "accuracy":
            fig.update_yaxes(tickformat=".0%", row=i, col=1)
    fig.update_xaxes(tickangle=-40)
    fig.update_layout(base_layout("Training runs: test metric of the continuous, discretized "
                                  "and integer networks", 380 * len(metrics) + 160,
                                  top=110, bottom=110, barmode="group"))
    return fig


def battery_share_bars(rows: list[dict], crossover: list[dict] | None = None) -> go.Figure:
    """The network's share of the product's battery, per SoC (one bar per workload),
    one arithmetic style at a time (dropdown). Hatched: the network does not fit the
    chosen core (RAM, flash, deadline or memory tiers). Hover: the core, the baseline
    load and the battery life without and with the network. `crossover` rows add a
    group: per SoC core, the style that costs the battery least (winner_per_core)."""
    styles = styles_of(rows)
    fig = go.Figure()
    groups = []
    for style in styles:
        mine = [r for r in rows if r["style"] == style]
        socs = ordered(r["soc"] for r in mine)
        count = 0
        for workload in ordered(r["workload"] for r in mine):
            by_soc = {r["soc"]: r for r in mine if r["workload"] == workload}
            found = [by_soc.get(s) for s in socs]
            fig.add_trace(go.Bar(
                x=list(range(len(socs))),
                y=[None if r is None else 100 * r["network_share"] for r in found],
                name=text(workload, LABEL_CHARS),
                marker=dict(pattern=dict(shape=["" if r is None or r["fits_soc"] else "x"
                                                for r in found])),
                customdata=["" if r is None else _share_hover(r) for r in found],
                hovertemplate="%{customdata}<extra></extra>"))
            count += 1
        groups.append((f"style: {text(style)}", count,
                       {**label_axis(("xaxis",), [text(s, LABEL_CHARS) for s in socs]),
                        "title.text": f"network's share of the product's battery, style "
                                      f"{text(style)} (log scale; hatched: does not fit)"}))
    group = winner_per_core(fig, crossover) if crossover else None
    if group is not None:
        groups.append(group)
    fig.update_yaxes(type="log", title_text="share of the battery (%)", exponentformat="none")
    fig.update_xaxes(tickangle=-40)
    fig.update_layout(base_layout("", 560, top=120, bottom=130, barmode="group"))
    add_dropdown(fig, groups)
    return fig


def _share_hover(row: dict) -> str:
    return "<br>".join([
        f"<b>{text(row['workload'])} on {text(row['soc'])}</b> ({text(row['product_class'])})",
        f"core {text(row['core'])} ({text(row['core_class'])}), "
        f"{'fits' if row['fits_soc'] else 'does NOT fit'}",
        f"share {100 * row['network_share']:.3g}% of the battery",
        f"network {number_text(row['network_power_battery_mw'])} mW at the battery; "
        f"baseline {text(row['load'])} {number_text(row['baseline_power_mw'])} mW",
        f"battery life {number_text(row['battery_life_without_network_hours'])} h without, "
        f"{number_text(row['battery_life_with_network_hours'])} h with the network"])
