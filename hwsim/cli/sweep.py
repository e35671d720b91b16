"""`hwsim sweep`: a grid of bit-widths x devices x arithmetic styles, cached and
run in parallel; rows written to sweep.csv and sweep.json. Exit status 0: every
point trained, verified bit-exact and simulated; 1: some did not (see the notes);
2: a usage or input error."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from hwsim.cli.commands import HELP
from hwsim.sweep.cache import DEFAULT_DIR, ENV_VAR, open_cache
from hwsim.cli.arguments import int_list as _int_list, name_list as _name_list
from hwsim.cli.arguments import positive as _positive, seed as _seed
from hwsim.cli.format import human_bytes, table
from hwsim.errors import HwsimError
from hwsim.ir.style import STYLES
from hwsim.sweep.run import POINT_FIELDS, SweepSpec, plan_sweep, run_sweep
from hwsim.results.document import results_document
from hwsim.sweep.output import (default_out_dir, prepare_output_dir,
                                write_results)

BAR_WIDTH = 30


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep", help=HELP["sweep"],
        description="Train the workload's continuous baseline once, fine-tune every "
                    "(levels, clusters, accumulator bits) point from it, verify each "
                    "point's integer network bit for bit with the executor, and simulate "
                    "it on every device in every style. Every unit is cached by content "
                    "hash: an interrupted sweep resumes, a finished one reruns for free. "
                    "Writes sweep.csv and sweep.json (one row per point x device x style).")
    parser.add_argument("workload", metavar="WORKLOAD", help="bundled name or YAML path")
    parser.add_argument("--levels", type=_int_list("--levels"), metavar="L,...",
                        help="activation levels (2..256); default: the workload's")
    parser.add_argument("--clusters", type=_int_list("--clusters"), metavar="K,...",
                        help="unique weights (2..4096); default: the workload's")
    parser.add_argument("--acc-bits", type=_int_list("--acc-bits"), metavar="BITS,...",
                        help="accumulator widths (16, 32); default: the workload's")
    parser.add_argument("--styles", type=_name_list, default=STYLES, metavar="STYLE,...",
                        help=f"arithmetic styles ({','.join(STYLES)}; default: all)")
    parser.add_argument("--devices", type=_name_list, default=("all",), metavar="all|NAME,...",
                        help="bundled device names or YAML paths (default: all bundled)")
    parser.add_argument("--seed", type=_seed, metavar="S", help="training seed")
    parser.add_argument("--out", metavar="DIR",
                        help="output directory (default: runs/sweep-WORKLOAD)")
    parser.add_argument("--jobs", type=_positive, metavar="N",
                        help="local worker processes (default: one per CPU)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on the Dask cluster whose scheduler is at ADDRESS "
                             "(e.g. tcp://10.0.0.5:8786) instead of local processes")
    parser.add_argument("--cache", metavar="DIR",
                        help=f"cache directory (default: ${ENV_VAR} or ./{DEFAULT_DIR})")
    parser.add_argument("--json", action="store_true",
                        help="print the results document (as sweep.json) on stdout")
    parser.set_defaults(run=run)


class UnitBar:
    """`sweep [#####.....] done/total label`, redrawn on a terminal at every percent;
    in a log, a line every 25 percent."""

    def __init__(self, stream: TextIO):
        self.stream, self.interactive = stream, stream.isatty()
        self.last: int | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> "UnitBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.last is not None and self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def update(self, done: int, total: int, label: str) -> None:
        percent = 100 * done // max(1, total)
        key = percent if self.interactive else percent // 25
        if key == self.last:
            return
        self.last = key
        filled = BAR_WIDTH * done // max(1, total)
        line = (f"sweep [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} "
                f"{time.perf_counter() - self.started:.1f}s {label}")
        try:
            self.stream.write(f"\r{line[:110]:<110}" if self.interactive else line + "\n")
            self.stream.flush()
        except OSError:            # stderr closed (a pipe): the sweep goes on without a bar
            self.last, self.update = None, lambda *a: None


def run(args: argparse.Namespace) -> int:
    if args.dask and args.jobs:
        raise HwsimError("--jobs and --dask exclude each other (the cluster has its workers)")
    from hwsim.importers.network import load_network
    base = None
    if args.levels is None or args.clusters is None or args.acc_bits is None:
        base = load_network(args.workload)
    d = base.discretization if base else None

    def own(value, name):
        if value is None:
            raise HwsimError(f"workload {base.name!r} is continuous in {name}: give --{name} "
                             "values to sweep")
        return (value,)
    spec = SweepSpec(
        args.workload,
        levels=args.levels or own(d.activation_levels, "levels"),
        clusters=args.clusters or own(d.weight_clusters, "clusters"),
        accumulator_bits=args.acc_bits, styles=args.styles,
        devices=None if args.devices == ("all",) else args.devices, seed=args.seed)
    plan = plan_sweep(spec)
    out = Path(args.out) if args.out else default_out_dir(plan.workload.name)
    cache = open_cache(args.cache)
    created = prepare_output_dir(out)
    try:
        started = time.perf_counter()
        with UnitBar(sys.stderr) as bar:
            result = run_sweep(plan, cache=cache, executor="dask" if args.dask else "local",
                               jobs=args.jobs, dask_address=args.dask, progress=bar.update)
        seconds = time.perf_counter() - started
        csv_path, json_path = write_results(result.rows, out,
                                            ("workload", "device", "style") + POINT_FIELDS)
    except BaseException:
        if created:            # leave no empty output directory behind
            try:
                out.rmdir()
            except OSError:
                pass
        raise
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(results_document(sweep=list(result.rows)), indent=1, allow_nan=False))
    else:
        print(render(plan, result, seconds, csv_path, json_path))
    bad = result.failed_units or any(r["bit_exact"] is False for r in result.rows)
    return 1 if bad else 0


def _metric(name: str, value) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if name == "accuracy" else f"{value:.5f}"


def render(plan, result, seconds: float, csv_path: Path, json_path: Path) -> str:
    points = {}
    for row in result.rows:
        key = (row["activation_levels"], row["weight_clusters"], row["accumulator_bits"])
        points.setdefault(key, []).append(row)
    metric = next((r["metric"] for r in result.rows if r["metric"]), "accuracy")
    lines = [f"{plan.workload.name}: {len(plan.points)} points x {len(plan.devices)} devices x "
             f"{len(plan.styles)} styles = {len(result.rows)} rows in {seconds:.1f} s "
             f"(units: {result.computed_units} computed, {result.cached_units} cached"
             + (f", {result.failed_units} failed" if result.failed_units else "") + ")", ""]
    body = []
    for (levels, clusters, acc), rows in points.items():
        first = rows[0]
        fits = "  ".join(f"{style} {sum(r['fits'] for r in rows if r['style'] == style)}/"
                         f"{sum(r['style'] == style for r in rows)}" for style in plan.styles)
        body.append([levels, clusters, acc, _metric(metric, first["integer"]),
                     _metric("accuracy", first["agreement"]),
                     {True: "yes", False: "NO", None: "-"}[first["bit_exact"]],
                     human_bytes(first["weight_bytes"]), fits])
    lines.append(table(["L", "K", "acc", f"integer {metric}", "agreement", "bit-exact",
                        "weights", "devices where it fits"], body))
    lines += ["", f"wrote {csv_path} and {json_path.name} ({len(result.rows)} rows)"]
    return "\n".join(lines)
