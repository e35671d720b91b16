"""What the dashboard figure builders share: escaping of user-supplied names,
number formats, the base layout, and a dropdown that shows one group of traces."""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

from hwsim.results.document import STYLES

STYLE_COLOURS = {"lut": "#1f77b4", "int8": "#ff7f0e", "float32": "#7f7f7f"}
STYLE_TITLES = {"lut": "lut (the paper: table lookups, no multiply)",
                "int8": "int8 (multiply-accumulate)", "float32": "float32 (FPU or soft-float)"}
OTHER_COLOURS = ("#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
FONT = "Helvetica, Arial, sans-serif"


NAME_PX = 7          # about one character of a 12 px label
LABEL_CHARS = 28     # axis and menu labels longer than this are cut (hover has them whole)


def text(value, limit: int | None = None) -> str:
    """A user-supplied name made safe and literal for plotly text (titles, labels,
    hover, legends): plotly renders a small HTML subset, so `<`, `>` and `&` are
    written as entities, which it shows as the characters themselves. `limit`:
    cut to that many characters, ending with an ellipsis."""
    value = str(value)
    if limit is not None and len(value) > limit:
        value = value[:limit - 1] + "…"
    return html.escape(value, quote=False)


def ordered(values: Iterable, first: Sequence = ()) -> list:
    """Distinct values: those of `first` that occur, then the rest in order of
    appearance."""
    seen = list(dict.fromkeys(values))
    return [v for v in first if v in seen] + [v for v in seen if v not in first]


def styles_of(rows: Iterable[dict]) -> list[str]:
    return ordered((r["style"] for r in rows), STYLES)


def style_colour(style: str, styles: Sequence[str]) -> str:
    if style in STYLE_COLOURS:
        return STYLE_COLOURS[style]
    others = [s for s in styles if s not in STYLE_COLOURS]
    return OTHER_COLOURS[others.index(style) % len(OTHER_COLOURS)]


def bytes_text(n: float) -> str:
    sign, n = ("-" if n < 0 else ""), abs(n)
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{sign}{n / size:.1f} {unit}"
    return f"{sign}{n:.0f} B"


def number_text(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:.{digits}g}"
    return f"{x:,.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def metric_text(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.2f}%" if metric == "accuracy" else f"{value:.5f}"


CONTROLS_PX = 40   # from the top of a figure to its dropdown / buttons / top legend


def paper_y(layout, px_from_top: float) -> float:
    """A height `px_from_top` pixels below the top of the figure, in the paper
    coordinates of its plot area (1 = top of the plot area, 0 = bottom)."""
    height, top, bottom = layout.height, layout.margin.t, layout.margin.b
    return round((height - bottom - px_from_top) / (height - top - bottom), 6)


def base_layout(title: str, height: int, *, top: int = 120, bottom: int = 80, left: int = 80,
                legend: str = "top", **extra) -> dict:
    """The look every dashboard figure shares: the title at the very top, a row
    for controls (and the legend, `legend="top"`) under it, then the plot area;
    `legend="bottom"` puts the legend under the x axis title."""
    plot_px = height - top - bottom
    if legend == "top":
        legend_box = dict(orientation="h", x=1, xanchor="right", yanchor="top",
                          y=round((plot_px + top - CONTROLS_PX) / plot_px, 6))
    else:
        legend_box = dict(orientation="h", x=0, xanchor="left", yanchor="top",
                          y=round(-(bottom - 36) / plot_px, 6))
    layout = dict(template="plotly_white", height=height, font=dict(family=FONT, size=12),
                  title=dict(text=title, x=0.01, xanchor="left", y=round(1 - 8 / height, 6),
                             yanchor="top", font=dict(size=16)),
                  margin=dict(l=left, r=30, t=top, b=bottom), hoverlabel=dict(align="left"),
                  legend=legend_box)
    layout.update(extra)
    return layout


def label_axis(axes: Sequence[str], labels: Sequence[str]) -> dict:
    """Layout changes naming positions 0, 1, ... of numeric axes `labels`. Figures
    whose dropdown groups have different categories plot them at positions, not
    on category axes: plotly keeps the categories of hidden traces on a shared
    category axis, and does not reorder them on a dropdown update."""
    changes = {}
    for axis in axes:
        changes[f"{axis}.tickmode"] = "array"
        changes[f"{axis}.tickvals"] = list(range(len(labels)))
        changes[f"{axis}.ticktext"] = list(labels)
        changes[f"{axis}.range"] = [-0.5, len(labels) - 0.5]
        changes[f"{axis}.autorange"] = False
    return changes


def add_dropdown(fig: go.Figure, groups: Sequence[tuple[str, int, dict]]) -> None:
    """Show one group of traces at a time. `groups`: (label, number of traces, layout
    changes) in the order the traces were added; the first group is shown. With a
    single group no menu is drawn."""
    total = sum(count for _, count, _ in groups)
    if total != len(fig.data):
        raise ValueError(f"add_dropdown: groups hold {total} traces, the figure {len(fig.data)}")
    masks, start = [], 0
    for _, count, _ in groups:
        masks.append([start <= i < start + count for i in range(total)])
        start += count
    for trace, visible in zip(fig.data, masks[0]):
        trace.visible = visible
    if groups:
        fig.update_layout(groups[0][2])
    if len(groups) < 2:
        return
    buttons = [dict(label=label, method="update", args=[{"visible": mask}, changes])
               for (label, _, changes), mask in zip(groups, masks)]
    fig.update_layout(updatemenus=[dict(buttons=buttons, direction="down", active=0,
                                        showactive=True, x=0, y=paper_y(fig.layout, CONTROLS_PX),
                                        xanchor="left", pad=dict(t=0, b=0, l=0, r=0),
                                        yanchor="top", bgcolor="#f7f7f7")])
