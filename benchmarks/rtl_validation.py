"""The cost model and emulation x the cycle table against cycle-exact RTL clocks: per
network and per node, the bundled trained workloads on the RTL core configurations
(Ibex with each multiplier, CV32E40P, PicoRV32 with and without MUL), lut and int8 (the
tables of docs/rtl.md and docs/validation.md).

    python benchmarks/rtl_validation.py [--artifacts DIR] [--samples 5] [--cache DIR]
                                        [--workloads a,b] [--cores x,y] [--styles lut,int8]
                                        [--nodes] [--json FILE]

Artifacts are read from DIR/<workload> (default runs/validation), trained there with the
workload's own settings when missing. Simulators are built once into CACHE/rtl (default
$HWSIM_CACHE or .hwsim-cache). Errors are (x - RTL) / RTL. "estimate" is the cost model
(hwsim.cost) priced with the core's device file (devices/rtl/); "emulation" is the
instructions executed in unicorn priced with the same table; "RTL" is the Verilator
simulation of the core's RTL (hwsim.machine.validate_rtl for how nodes are delimited).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validation_table import artifact_for  # noqa: E402  (the same artifacts)

from hwsim.ir.graph import graph_from_artifact  # noqa: E402
from hwsim.machine.rtl import rtl_core  # noqa: E402
from hwsim.machine.validate import sample_inputs  # noqa: E402
from hwsim.machine.validate_rtl import validate_rtl_graph  # noqa: E402
from hwsim.sweep.cache import default_cache_dir  # noqa: E402

WORKLOADS = ("digits-mlp", "digits-ae", "har-cnn")
CORES = ("ibex-rv32m-fast", "ibex-rv32m-single-cycle", "ibex-rv32m-slow", "ibex-rv32m-none",
         "cv32e40p", "picorv32", "picorv32-mul")


def _pct(x: float) -> str:
    return f"{100 * x:+.2f}%"


def summary_table(rows) -> list[str]:
    lines = [("| workload | style | core | code | estimated | emulation x table | RTL clocks "
              "| estimate vs RTL | max node | emulation vs RTL | max node | outputs equal |"),
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.workload} | {r.style} | {r.core} | {r.target} | "
                     f"{r.estimated_cycles:,.0f} | {r.emulated_cycles:,.0f} | "
                     f"{r.rtl_clocks:,.0f} | {_pct(r.estimate_error)} | "
                     f"{100 * r.max_row_estimate_error:.2f}% | {_pct(r.emulation_error)} | "
                     f"{100 * r.max_row_emulation_error:.2f}% | "
                     f"{'yes' if r.outputs_equal and r.emulation.bit_exact else 'NO'} |")
    return lines


def network_matrix(rows) -> list[str]:
    """Per network and style, per core: estimate vs RTL / emulation x table vs RTL."""
    cores = list(dict.fromkeys(r.core for r in rows))
    lines = ["| workload | style | " + " | ".join(cores) + " |",
             "|---|---|" + "---:|" * len(cores)]
    keys = list(dict.fromkeys((r.workload, r.style) for r in rows))
    for workload, style in keys:
        cells = []
        for core in cores:
            match = [r for r in rows if (r.workload, r.style, r.core) == (workload, style, core)]
            cells.append(f"{_pct(match[0].estimate_error)} / {_pct(match[0].emulation_error)}"
                         if match else "")
        lines.append(f"| {workload} | {style} | " + " | ".join(cells) + " |")
    return lines


def node_table(workload: str, style: str, reports) -> list[str]:
    lines = [f"#### {workload}, {style}: estimate / emulation x table vs RTL", "",
             "| node | " + " | ".join(r.core for r in reports) + " |",
             "|---|" + "---:|" * len(reports)]
    for k, row in enumerate(reports[0].rows):
        cells = [f"{_pct(r.rows[k].estimate_error)} / {_pct(r.rows[k].emulation_error)}"
                 for r in reports]
        lines.append(f"| {row.node} | " + " | ".join(cells) + " |")
    lines.append("| **network** | " + " | ".join(
        f"**{_pct(r.estimate_error)} / {_pct(r.emulation_error)}**" for r in reports) + " |")
    lines.append("| RTL clocks | " + " | ".join(f"{r.rtl_clocks:,.0f}" for r in reports) + " |")
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default="runs/validation", help="artifact directory root")
    parser.add_argument("--samples", type=int, default=5, help="test inputs run (5)")
    parser.add_argument("--cache", help="cache directory ($HWSIM_CACHE or .hwsim-cache)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--cores", default=",".join(CORES))
    parser.add_argument("--styles", default="lut,int8")
    parser.add_argument("--nodes", action="store_true", help="also the per-node tables")
    parser.add_argument("--json", metavar="FILE", help="write every report as JSON")
    args = parser.parse_args(argv)
    cache = (Path(args.cache) if args.cache else default_cache_dir()) / "rtl"
    cores = [rtl_core(c) for c in args.cores.split(",")]
    rows, tables = [], []
    started = time.perf_counter()
    for name in args.workloads.split(","):
        artifact = artifact_for(name, Path(args.artifacts))
        g = graph_from_artifact(artifact)
        x = sample_inputs(artifact, args.samples)
        for style in args.styles.split(","):
            reports = [validate_rtl_graph(g, core, style, x, cache_dir=cache) for core in cores]
            rows += reports
            tables += node_table(name, style, reports)
    print("\n".join(summary_table(rows)))
    print("\nNetwork error vs RTL clocks, estimate / emulation x table:\n")
    print("\n".join(network_matrix(rows)))
    worst_estimate = max(abs(r.estimate_error) for r in rows)
    worst_emulation = max(abs(r.emulation_error) for r in rows)
    print(f"\nworst |network error| vs RTL: estimate {100 * worst_estimate:.2f}%, "
          f"emulation x table {100 * worst_emulation:.2f}%; worst |node error|: estimate "
          f"{100 * max(r.max_row_estimate_error for r in rows):.2f}%, emulation x table "
          f"{100 * max(r.max_row_emulation_error for r in rows):.2f}%; every output equal: "
          f"{all(r.outputs_equal and r.emulation.bit_exact for r in rows)}; "
          f"{args.samples} test inputs; {time.perf_counter() - started:.0f} s")
    if args.nodes:
        print()
        print("\n".join(tables))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
