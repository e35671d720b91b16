"""Figures of simulation details (hwsim.evaluate.rows.simulation_detail), one detail
at a time through a dropdown:

- `node_figure`: cycles per node stacked by action class, and energy per node
  (stacked by class when the detail gives `energy_pj_by_class`, else the total);
- `timeline_figure`: the simpy schedule as a Gantt chart: a lane per core and
  one for the DMA engine, a colour per frame, frame arrivals and deadlines as
  vertical lines;
- `memory_figure`: bytes in use over time (static RAM + live buffers) as a step
  line against the device's SRAM.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hwsim.dashboard.common import (CONTROLS_PX, LABEL_CHARS, add_dropdown, base_layout, bytes_text,
                                    label_axis, ordered, paper_y, text)

CLASS_COLOURS = {"load": "#1f77b4", "store": "#aec7e8", "alu": "#2ca02c", "branch": "#98df8a",
                 "multiply": "#d62728", "float": "#ff7f0e", "call": "#9467bd"}
EXTRA_CLASS_COLOURS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf")
FRAME_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def detail_label(detail: dict) -> str:
    return " · ".join(text(detail[key], LABEL_CHARS) for key in ("workload", "device", "style"))


def _class_colour(name: str, classes: list[str]) -> str:
    if name in CLASS_COLOURS:
        return CLASS_COLOURS[name]
    extra = [c for c in classes if c not in CLASS_COLOURS]
    return EXTRA_CLASS_COLOURS[extra.index(name) % len(EXTRA_CLASS_COLOURS)]


def _classes(nodes: list[dict], key: str) -> list[str]:
    """Action classes with a non-zero amount in some node, standard ones first."""
    names = ordered((c for n in nodes for c in (n.get(key) or {})), tuple(CLASS_COLOURS))
    return [c for c in names if any((n.get(key) or {}).get(c, 0) for n in nodes)]


def _node_traces(detail: dict) -> list[go.Bar]:
    nodes = detail["nodes"]
    x = list(range(len(nodes)))
    names = [[text(n["node"]), text(n["op"])] for n in nodes]
    traces = []
    cycle_classes = _classes(nodes, "cycles_by_class")
    for name in cycle_classes:
        values = [n["cycles_by_class"].get(name, 0) for n in nodes]
        traces.append(go.Bar(
            x=x, y=values, name=name, legendgroup=name, xaxis="x", yaxis="y",
            marker_color=_class_colour(name, cycle_classes), customdata=names,
            hovertemplate=f"%{{customdata[0]}} (%{{customdata[1]}})<br>{name}: %{{y:,.0f}} "
                          "cycles<extra></extra>"))
    energy_classes = _classes(nodes, "energy_pj_by_class")
    if energy_classes:
        for name in energy_classes:
            values = [(n.get("energy_pj_by_class") or {}).get(name, 0) / 1e6 for n in nodes]
            traces.append(go.Bar(
                x=x, y=values, name=name, legendgroup=name, showlegend=name not in cycle_classes,
                xaxis="x2", yaxis="y2", marker_color=_class_colour(name, energy_classes),
                customdata=names, hovertemplate=f"%{{customdata[0]}} (%{{customdata[1]}})<br>"
                                                f"{name}: %{{y:.4g}} µJ<extra></extra>"))
    else:
        traces.append(go.Bar(
            x=x, y=[n["energy_pj"] / 1e6 for n in nodes], name="energy (all classes)",
            xaxis="x2", yaxis="y2", marker_color="#525252", customdata=names,
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>energy: %{y:.4g} µJ"
                          "<extra></extra>"))
    return traces


def node_figure(details: list[dict]) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=["cycles per inference by action class",
                                        "dynamic energy per inference (µJ)"])
    groups = []
    for detail in details:
        traces = _node_traces(detail)
        fig.add_traces(traces)
        split = any(n.get("energy_pj_by_class") for n in detail["nodes"])
        groups.append((detail_label(detail), len(traces), {
            **label_axis(("xaxis", "xaxis2"),
                         [text(n["node"], LABEL_CHARS) for n in detail["nodes"]]),
            "title.text": f"Per node: {detail_label(detail)}",
            "annotations[1].text": "dynamic energy per inference (µJ)" + (
                " by action class" if split else
                ": total per node (the document gives no split by class)")}))
    fig.update_xaxes(tickangle=-40, row=2, col=1)
    fig.update_yaxes(title_text="cycles", row=1, col=1)
    fig.update_yaxes(title_text="µJ", row=2, col=1)
    fig.update_layout(base_layout("", 740, top=120, bottom=150, barmode="stack"))
    add_dropdown(fig, groups)
    return fig


def _ms(cycles: float, clock_hz: float) -> float:
    return round(1000.0 * cycles / clock_hz, 9)


def lanes(detail: dict) -> list[str]:
    """Core lanes in core order, then the DMA lane when the timeline has DMA events."""
    cores = sorted({e["core"] for e in detail["timeline"] if e["core"] is not None})
    names = [f"core {c}" for c in cores]
    if any(e["core"] is None for e in detail["timeline"]):
        names.append("DMA")
    return names


def _lane(event: dict) -> str:
    return "DMA" if event["core"] is None else f"core {event['core']}"


def _vertical_lines(xs: list[float], name: str, colour: str, dash: str, hover: list[str]
                    ) -> go.Scatter:
    x, y, data = [], [], []
    for value, label in zip(xs, hover):
        x += [value, value, None]
        y += [0, 1, None]
        data += [label, label, None]
    return go.Scatter(x=x, y=y, mode="lines", name=name, yaxis="y2",
                      line=dict(color=colour, width=1.5, dash=dash), customdata=data,
                      hovertemplate="%{customdata}<extra></extra>")


def _timeline_traces(detail: dict) -> list[go.BaseTraceType]:
    clock = detail["clock_hz"]
    position = {name: i for i, name in enumerate(reversed(lanes(detail)))}
    events = [e for e in detail["timeline"] if e["end_cycle"] > e["start_cycle"]]
    traces = []
    for frame in sorted({e["frame"] for e in events}):
        mine = [e for e in events if e["frame"] == frame]
        colour = FRAME_COLOURS[frame % len(FRAME_COLOURS)]
        traces.append(go.Bar(
            orientation="h", y=[position[_lane(e)] for e in mine],
            base=[_ms(e["start_cycle"], clock) for e in mine],
            x=[_ms(e["end_cycle"] - e["start_cycle"], clock) for e in mine],
            name=f"frame {frame}", marker=dict(
                color=colour,
                # White edges part a core's back-to-back nodes; DMA transfers are
                # short, so they get an edge of their own colour to stay visible.
                line=dict(width=[1.5 if e["core"] is None else 0.5 for e in mine],
                          color=[colour if e["core"] is None else "white" for e in mine]),
                pattern=dict(shape=["/" if e["kind"] == "copy" else "" for e in mine])),
            customdata=[[text(e["node"]), text(e["kind"]), _lane(e),
                         _ms(e["start_cycle"], clock), _ms(e["end_cycle"], clock),
                         f"{e['end_cycle'] - e['start_cycle']:,}"] for e in mine],
            hovertemplate=(f"frame {frame}: %{{customdata[0]}} (%{{customdata[1]}}) on "
                           "%{customdata[2]}<br>%{customdata[3]:.4f} → %{customdata[4]:.4f} ms "
                           "(%{customdata[5]} cycles)<extra></extra>")))
    frames = detail["frames"]
    traces.append(_vertical_lines([_ms(f["arrival_cycle"], clock) for f in frames],
                                  "frame arrives", "#525252", "dot",
                                  [f"frame {f['frame']} arrives" for f in frames]))
    traces.append(_vertical_lines([_ms(f["deadline_cycle"], clock) for f in frames],
                                  "deadline", "#d62728", "dash",
                                  [f"frame {f['frame']} deadline" + (
                                      "" if f["end_cycle"] is None else
                                      (" met" if f["end_cycle"] <= f["deadline_cycle"]
                                       else " MISSED")) for f in frames]))
    return traces


def timeline_figure(details: list[dict]) -> go.Figure:
    fig = go.Figure()
    groups = []
    for detail in details:
        traces = _timeline_traces(detail)
        fig.add_traces(traces)
        names = lanes(detail)
        missed = sum(1 for f in detail["frames"]
                     if f["end_cycle"] is None or f["end_cycle"] > f["deadline_cycle"])
        groups.append((detail_label(detail), len(traces), {
            "title.text": f"Schedule: {detail_label(detail)}: {len(detail['frames'])} frames, "
                          f"{missed} past the deadline",
            **label_axis(("yaxis",), list(reversed(names)))}))
    most_lanes = max((len(lanes(d)) for d in details), default=1)
    fig.update_layout(base_layout(
        "", 260 + 45 * most_lanes, top=100, bottom=120, legend="bottom", barmode="overlay",
        xaxis=dict(title="time (ms)", rangemode="tozero"),
        yaxis=dict(type="linear", showgrid=False, zeroline=False),
        yaxis2=dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True)))
    add_dropdown(fig, groups)
    return fig


def memory_points(detail: dict) -> tuple[list[float], list[float]]:
    """(ms, bytes in use) of the step line: static RAM plus the live buffers,
    held to the end of the last event."""
    clock, static = detail["clock_hz"], detail["static_ram_bytes"]
    points = [(cycle, size) for cycle, size in detail["memory_over_time"]]
    horizon = max([e["end_cycle"] for e in detail["timeline"]]
                  + [f["end_cycle"] for f in detail["frames"] if f["end_cycle"] is not None]
                  + [c for c, _ in points], default=0)
    if points and points[-1][0] < horizon:
        points.append((horizon, points[-1][1]))
    return [_ms(c, clock) for c, _ in points], [static + s for _, s in points]


def _memory_traces(detail: dict) -> list[go.Scatter]:
    x, y = memory_points(detail)
    end = max(x, default=0.0)
    traces = [go.Scatter(x=x, y=y, mode="lines", line=dict(shape="hv", color="#1f77b4", width=2),
                         fill="tozeroy", fillcolor="rgba(31,119,180,0.15)",
                         name="in use: static RAM + live buffers",
                         hovertemplate="%{x:.4f} ms: %{y:,} bytes in use<extra></extra>"),
              go.Scatter(x=x, y=[v - detail["static_ram_bytes"] for v in y], mode="lines",
                         line=dict(shape="hv", color="#2ca02c", width=1.5),
                         name="live activation buffers",
                         hovertemplate="%{x:.4f} ms: %{y:,} bytes of buffers<extra></extra>"),
              go.Scatter(x=[0, end], y=[detail["sram_bytes"]] * 2, mode="lines",
                         line=dict(color="#d62728", dash="dash", width=2),
                         name=f"device SRAM ({bytes_text(detail['sram_bytes'])})",
                         hovertemplate="SRAM: %{y:,} bytes<extra></extra>")]
    planned = sum(line["bytes"] for line in detail.get("ram_lines") or [])
    if planned:
        traces.append(go.Scatter(x=[0, end], y=[planned] * 2, mode="lines",
                                 line=dict(color="#525252", dash="dot", width=1.5),
                                 name=f"planned RAM (arena + static, {bytes_text(planned)})",
                                 hovertemplate="planned RAM: %{y:,} bytes<extra></extra>"))
    return traces


def memory_figure(details: list[dict]) -> go.Figure:
    fig = go.Figure()
    groups = []
    for detail in details:
        traces = _memory_traces(detail)
        fig.add_traces(traces)
        _, y = memory_points(detail)
        groups.append((detail_label(detail), len(traces), {
            "title.text": f"Memory in use: {detail_label(detail)}, peak "
                          f"{bytes_text(max(y, default=0))} of {bytes_text(detail['sram_bytes'])} "
                          f"SRAM"}))
    fig.update_layout(base_layout(
        "", 480, top=100, bottom=120, left=90, legend="bottom",
        xaxis=dict(title="time (ms)", rangemode="tozero"),
        yaxis=dict(title="bytes (log scale)", type="log")))
    add_dropdown(fig, groups)
    scale = dict(buttons=[dict(label="log", method="relayout",
                               args=[{"yaxis.type": "log",
                                      "yaxis.title.text": "bytes (log scale)"}]),
                          dict(label="linear", method="relayout",
                               args=[{"yaxis.type": "linear", "yaxis.title.text": "bytes"}])],
                 type="buttons", direction="right", active=0, x=1, xanchor="right",
                 y=paper_y(fig.layout, CONTROLS_PX), yanchor="top", bgcolor="#f7f7f7")
    fig.update_layout(updatemenus=list(fig.layout.updatemenus) + [scale])
    return fig

