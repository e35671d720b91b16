"""Dashboards: one self-contained HTML page (plotly.js inline, opens offline from
a file) with a panel per view of a results document; panels whose data the
document lacks are listed, with the reason, instead of drawn.

    document = read_results("runs/report/summary.json")
    result = write_dashboard(document, "runs/dashboard", source="summary.json")

The figure builders (hwsim.dashboard.figures, hwsim.dashboard.whatif,
hwsim.dashboard.detail) are pure functions from rows to plotly Figures; this
module picks the rows for each panel, lays out the page and writes it. Same
document, same bytes: every plot has a fixed div id and nothing depends on the
clock or the machine. docs/dashboards.md describes the panels.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from hwsim.version import __version__
from hwsim.io import write_files_atomically
from hwsim.dashboard.crossover import crossover_heatmaps, verdict_heatmap
from hwsim.dashboard.detail import memory_figure, node_figure, timeline_figure
from hwsim.results.document import SECTIONS, check_results
from hwsim.dashboard.figures import battery_share_bars, fit_heatmap, style_bars, training_bars
from hwsim.dashboard.whatif import metric_value, whatif_figure
from hwsim.errors import HwsimError

INDEX = "index.html"
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "toImageButtonOptions": {"format": "png", "scale": 2}}


@dataclass(frozen=True)
class PanelSpec:
    key: str                 # HTML id of the panel (fixed: the page is deterministic)
    title: str
    section: str             # the document section it draws
    description: str
    select: Callable[[list], list]   # the items of the section it can draw
    nothing: str             # why it is skipped when select() finds nothing
    build: Callable[..., go.Figure]
    also: str | None = None  # a second section build() takes when the document has it


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    description: str
    figure: go.Figure | None
    skipped: str | None      # why the panel is not drawn (None when drawn)


@dataclass(frozen=True)
class DashboardResult:
    index: Path
    drawn: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]   # (panel title, reason)


def _all(items: list) -> list:
    return list(items)


def _with_metric(rows: list) -> list:
    return [r for r in rows if metric_value(r) is not None]


def _with_nodes(details: list) -> list:
    return [d for d in details if d["nodes"]]


def _with_events(details: list) -> list:
    return [d for d in details if any(e["end_cycle"] > e["start_cycle"] for e in d["timeline"])]


def _with_memory(details: list) -> list:
    return [d for d in details if d["memory_over_time"]]


def _with_grid(rows: list) -> list:
    return [r for r in rows if r["levels"] and r["clusters"]]


def _with_winner(rows: list) -> list:
    return [r for r in rows if r["winner_cycles"] is not None]


PANELS = (
    PanelSpec("fit", "Device fit", "compare",
              "Workload x device, one matrix per arithmetic style. Green: fits RAM, flash and "
              "the deadline, darker with more to spare; red: does not fit, darker the further "
              "short. The colour is the worst of the three margins as a share of its budget; "
              "the cell names the checks that fail. Hover for RAM, flash and deadline margins.",
              _all, "the section is empty", fit_heatmap),
    PanelSpec("whatif", "Bit-width what-if", "sweep",
              "Each point is one (activation levels L, weight clusters K) configuration of a "
              "sweep on one device: its test metric (the deployed integer network's) against "
              "RAM, flash, cycles and energy per inference. The red line is the Pareto front: "
              "the best metric for at most that much of the resource. Grey crosses do not fit "
              "the device. Pick the workload and device in the menu.",
              _with_metric, "no row has a metric value", whatif_figure),
    PanelSpec("styles", "lut vs int8 vs float32", "compare",
              "The paper's table-lookup network (lut) against a multiply-accumulate int8 "
              "network and float32, per device: cycles and energy per inference (log scale), "
              "RAM and flash. Hatched bars fail the check of their panel (deadline for cycles "
              "and energy). Pick the workload in the menu.",
              _all, "the section is empty", style_bars),
    PanelSpec("crossover", "Crossover map: where lut beats int8", "crossover",
              "For each device (a SoC's cores each on their own), lut / int8 over a grid of "
              "activation levels L and weight clusters K: blue where the paper's table "
              "lookups take fewer cycles (or less energy) than multiply-accumulate int8, "
              "orange where int8 does. Each cell names the cheapest of the three styles "
              "(l lut, i int8, f float32) and the ratio. int8 and float32 do not depend on L "
              "and K; lut's tables and indices grow with them. Cost model only (one inference). "
              "Pick the workload and the measure in the menu.",
              _with_grid, "no row has an (L, K) grid", crossover_heatmaps),
    PanelSpec("verdict", "Which style wins where", "crossover",
              "Every workload on every device and SoC core at its own L and K: the colour is "
              "lut / int8 (blue: lut cheaper), the cell the cheapest style and how many times "
              "cheaper it is than the next. Cycles or energy in the menu.",
              _with_winner, "no row has a winner", verdict_heatmap),
    PanelSpec("nodes", "Per-node breakdown", "details",
              "Cycles of each node of the graph by action class (loads, stores, ALU, "
              "branches, multiplies, floating point, calls), and each node's dynamic energy. "
              "Pick the workload, device and style in the menu.",
              _with_nodes, "no detail has nodes", node_figure),
    PanelSpec("timeline", "Schedule timeline", "details",
              "What ran where and when over the first frames of the simpy schedule: a lane "
              "per core and one for the DMA engine, a colour per frame (hatched: the core "
              "copying data itself). Dotted lines: frame arrivals; red dashed lines: their "
              "deadlines.",
              _with_events, "no detail has timeline events", timeline_figure),
    PanelSpec("memory", "Memory over time", "details",
              "RAM in use over the same frames: static RAM plus the activation buffers live "
              "at each moment (blue, filled) and those buffers alone (green), as step lines, "
              "against the device's SRAM (red dashed) and the memory planner's total "
              "(dotted). Log y axis (static RAM dominates); the buttons switch to linear.",
              _with_memory, "no detail has memory_over_time points", memory_figure),
    PanelSpec("products", "Share of battery per product", "products",
              "What the always-on network costs the product: for each SoC (earbud, hearing-aid "
              "or watch chip, devices/soc/) the network runs on the cheapest core that fits "
              "beside the audio pipeline, and its power at the battery is set against the "
              "product's sourced baseline load (e.g. A2DP streaming): share = network / "
              "(baseline + network). One bar per workload, log scale; hatched: no core fits. "
              "Hover for the core and the battery life without and with the network. The "
              "baselines and most SoC currents are estimates (docs/devices.md). With a "
              "crossover section, 'winner per core' in the menu shows every core with the "
              "style that costs the battery least there (cost model, the network's own L, K).",
              _all, "the section is empty", battery_share_bars, also="crossover"),
    PanelSpec("training", "Training runs", "training",
              "The test metric of the continuous baseline, the discretized network (float "
              "simulation) and the deployed integer network of each training run.",
              _all, "the section is empty", training_bars),
)


def build_panels(document: dict) -> list[Panel]:
    """Every panel of PANELS: its figure, or why it is skipped."""
    panels = []
    for spec in PANELS:
        if spec.section not in document:
            reason = f"the document has no \"{spec.section}\" section"
        else:
            items = spec.select(document[spec.section])
            reason = None if items else f"\"{spec.section}\": {spec.nothing}"
        if reason is not None:
            figure = None
        elif spec.also is not None and spec.also in document:
            figure = spec.build(items, document[spec.also])
        else:
            figure = spec.build(items)
        panels.append(Panel(spec.key, spec.title, spec.description, figure, reason))
    return panels


STYLE_SHEET = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 16px 28px 8px; background: #fff; border-bottom: 1px solid #ddd; }
h1 { margin: 0 0 4px; font-size: 22px; }
.meta { margin: 0 0 8px; color: #555; font-size: 13px; }
nav a { margin-right: 14px; font-size: 14px; }
main { padding: 8px 20px 40px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; margin: 16px 0;
          padding: 12px 16px; }
h2 { margin: 4px 0 6px; font-size: 18px; }
p.description { margin: 0 0 8px; color: #444; font-size: 13px; max-width: 1100px; }
.skipped li { font-size: 14px; margin: 3px 0; }
"""


def _counts(document: dict) -> str:
    parts = [f"{len(document[s])} {s}" + ("" if s in ("training", "details") else " rows")
             for s in SECTIONS if s in document]
    return ", ".join(parts) if parts else "no sections"


def _plot_html(panel: Panel, include_plotlyjs: bool) -> str:
    height = int(panel.figure.layout.height or 500)
    return pio.to_html(panel.figure, include_plotlyjs=include_plotlyjs, full_html=False,
                       div_id=f"plot-{panel.key}", default_width="100%",
                       default_height=f"{height}px", config=PLOT_CONFIG, validate=True)


def render_page(document: dict, source: str, panels: list[Panel] | None = None) -> str:
    """The dashboard page as a string (self-contained, deterministic). `panels`:
    build_panels(document), when already built."""
    panels = build_panels(document) if panels is None else panels
    drawn = [p for p in panels if p.figure is not None]
    skipped = [p for p in panels if p.figure is None]
    esc = html.escape
    out = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>hwsim dashboard: {esc(source)}</title>",
           f"<style>{STYLE_SHEET}</style>", "</head>", "<body>", "<header>",
           "<h1>hwsim dashboard</h1>",
           f'<p class="meta">Results: <code>{esc(source)}</code> ({esc(_counts(document))}); '
           f"hwsim {esc(__version__)}</p>",
           "<nav>" + "".join(f'<a href="#panel-{p.key}">{esc(p.title)}</a>' for p in drawn)
           + ("<a href=\"#skipped\">not drawn</a>" if skipped else "") + "</nav>",
           "</header>", "<main>"]
    if skipped:
        out.append('<section id="skipped" class="skipped"><h2>Panels not drawn</h2><ul>')
        out.extend(f"<li><b>{esc(p.title)}</b>: {esc(p.skipped)}</li>" for p in skipped)
        out.append("</ul></section>")
    for i, panel in enumerate(drawn):
        out.append(f'<section id="panel-{panel.key}" class="panel">'
                   f"<h2>{esc(panel.title)}</h2>"
                   f'<p class="description">{esc(panel.description)}</p>')
        out.append(_plot_html(panel, include_plotlyjs=i == 0))
        out.append("</section>")
    out.extend(["</main>", "</body>", "</html>", ""])
    return "\n".join(out)


def write_dashboard(document: dict, out_dir: str | Path, *, source: str = "results"
                    ) -> DashboardResult:
    """Check `document`, render the page and write DIR/index.html atomically (a
    temporary file renamed into place: never a half-written page)."""
    check_results(document, source)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise HwsimError(f"{out_dir}: cannot write the dashboard there: exists and is not a "
                         "directory")
    panels = build_panels(document)
    page = render_page(document, source, panels)
    write_files_atomically(out_dir, {INDEX: page.encode("utf-8")})
    return DashboardResult(out_dir / INDEX,
                           tuple(p.title for p in panels if p.figure is not None),
                           tuple((p.title, p.skipped) for p in panels if p.figure is None))
