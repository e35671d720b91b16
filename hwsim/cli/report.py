"""`hwsim report`: the main job, with no arguments needed."""
from __future__ import annotations

import argparse
import sys
import time

from hwsim.cli.commands import HELP
from hwsim.specs.bundled import bundled_names
from hwsim.sweep.cache import open_cache
from hwsim.cli.arguments import int_list, name_list, positive
from hwsim.cli.compare import number
from hwsim.cli.format import table
from hwsim.report.main_job import (SWEEP_CLUSTERS, SWEEP_LEVELS, SWEEP_WORKLOAD, ReportPlan, headline,
                          run_report)
from hwsim.ir.style import STYLES


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help=HELP["report"],
        description="Train the bundled workloads (cached), verify each integer network bit for "
                    "bit, simulate every bundled network on every bundled device in every "
                    "arithmetic style, sweep digits-mlp's bit-widths, and write summary.json "
                    "and a dashboard (index.html).")
    parser.add_argument("--out", default="runs/report", metavar="DIR",
                        help="output directory (runs/report)")
    parser.add_argument("--cache", metavar="DIR",
                        help="cache directory (default: $HWSIM_CACHE or .hwsim-cache)")
    parser.add_argument("--jobs", type=positive, metavar="N", help="worker processes for training and the sweep")
    parser.add_argument("--workloads", type=name_list, metavar="NAME,...",
                        help="networks to cover (default: every bundled workload)")
    parser.add_argument("--models", type=name_list, metavar="FILE,...",
                        help="users' .tflite/.onnx models to cover as well (costed shape-only "
                             "with the MLPerf workloads' L and K)")
    parser.add_argument("--devices", type=name_list, metavar="NAME,...",
                        help="devices to cover (default: every bundled device)")
    parser.add_argument("--sweep", metavar="WORKLOAD", default=SWEEP_WORKLOAD,
                        help=f"workload whose bit-widths are swept ({SWEEP_WORKLOAD})")
    parser.add_argument("--sweep-levels", type=int_list("--sweep-levels"), default=SWEEP_LEVELS, metavar="L,...",
                        help="activation levels of the sweep (2,4,8,16,32)")
    parser.add_argument("--sweep-clusters", type=int_list("--sweep-clusters"), default=SWEEP_CLUSTERS,
                        metavar="K,...", help="weight clusters of the sweep (4,16,64,256)")
    parser.set_defaults(run=run)


class _Stages:
    """One line per stage on stderr, redrawn in place on a terminal."""

    def __init__(self, stream):
        self.stream, self.stage = stream, None
        self.tty = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            self.stream.write(f"\r{stage}: {done}/{total}" + ("\n" if done == total else ""))
        elif done == total:
            self.stream.write(f"{stage}: {done}/{total}\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    workloads = args.workloads
    if args.models:
        workloads = tuple(workloads or bundled_names("workloads")) + tuple(args.models)
    plan = ReportPlan(workloads, args.devices, args.sweep, args.sweep_levels,
                      args.sweep_clusters)
    report = run_report(args.out, open_cache(args.cache), plan, jobs=args.jobs,
                        progress=_Stages(sys.stderr))
    seconds = time.perf_counter() - started
    print(render(report, seconds))
    return 0


def _metric(record: dict, key: str) -> str:
    value = record["metrics"].get(key)
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if record["metrics"]["metric"] == "accuracy" else f"{value:.5f}"


def render(report, seconds: float) -> str:
    doc = report.document
    lines = [f"hwsim report ({seconds:.1f} s)", ""]
    rows = [[r["workload"], r["activation_levels"], r["weight_clusters"], r["metrics"]["metric"],
             _metric(r, "continuous"), _metric(r, "integer"),
             "yes" if r["bit_exact"] else "NO"] for r in doc["training"]]
    lines.append(table(["trained", "L", "K", "metric", "continuous", "integer", "bit-exact"],
                       rows))
    lines.append("")
    summary = headline(doc)
    counts = ", ".join(f"{s} {summary['fits'][s][0]}/{summary['fits'][s][1]}" for s in STYLES)
    lines.append(f"(network, device) pairs that fit RAM, flash and deadline: {counts}")
    best = summary["best"]
    rows = []
    for workload in sorted({w for w, _ in best} | {r["workload"] for r in doc["compare"]}):
        cells = []
        for style in STYLES:
            row = best.get((workload, style))
            cells.append(f"{row['device']} {number(row['energy_per_inference_uj'])} uJ"
                         if row else "fits nowhere")
        rows.append([workload, *cells])
    lines.append(table(["least energy per inference", *STYLES], rows))
    lines.append("")
    sweep = {row["workload"] for row in doc["sweep"]}
    lines.append(f"sweep: {len(doc['sweep'])} rows over the (L, K) grid of {', '.join(sorted(sweep))}")
    lines.append(f"summary:   {report.summary_path}")
    lines.append(f"dashboard: {report.dashboard_path}")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)
