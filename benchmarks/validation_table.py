"""The cost model against emulated machine code: per node and per network, the error of
the estimated cycles relative to the emulated ones, for the bundled trained workloads
on one device of each instruction set, lut and int8 (the table of docs/validation.md).

    python benchmarks/validation_table.py [--artifacts DIR] [--samples 5]
                                          [--workloads a,b] [--devices x,y] [--styles lut,int8]

Artifacts are read from DIR/<workload> (default runs/validation), trained there with
the workload's own settings when missing (har-cnn takes about a minute). Errors are
(estimated - emulated) / emulated; the target is |error| <= 10%.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hwsim.artifact.save import save_artifact
from hwsim.machine.operand_statistics import record_int8_input_statistics
from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device
from hwsim.ir.graph import graph_from_artifact
from hwsim.train.pipeline import run_training
from hwsim.machine.validate import TOLERANCE, sample_inputs, validate_graph
from hwsim.specs.workload import load_workload

WORKLOADS = ("digits-mlp", "digits-ae", "har-cnn")
DEVICES = ("samd21", "cm0plus-iterative-mul", "nrf52840", "ch32v003", "esp32-c3")


def artifact_for(name: str, root: Path):
    directory = root / name
    if not (directory / "model.json").exists():
        save_artifact(run_training(load_workload(name)), directory)
    if load_artifact(directory).int8_input_bits is None:    # as hwsim train records them
        record_int8_input_statistics(directory)
    return load_artifact(directory)


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def node_table(workload: str, style: str, reports) -> list[str]:
    devices = [r.device for r in reports]
    lines = [f"#### {workload}, {style}", "",
             "| node | " + " | ".join(devices) + " |",
             "|---|" + "---:|" * len(devices)]
    nodes = [n.node for n in reports[0].nodes]
    for node in nodes:
        cells = []
        for r in reports:
            match = [n for n in r.nodes if n.node == node]
            cells.append(_pct(match[0].error) if match else "")
        lines.append(f"| {node} | " + " | ".join(cells) + " |")
    lines.append("| **network** | " + " | ".join(f"**{_pct(r.error)}**" for r in reports) + " |")
    lines.append("| emulated cycles | " + " | ".join(f"{r.emulated_cycles:,.0f}"
                                                    for r in reports) + " |")
    return lines + [""]


def summary_table(rows) -> list[str]:
    lines = [("| workload | style | device | target | estimated | emulated | network error "
              "| max node error | bit-exact |"), "|---|---|---|---|---:|---:|---:|---:|---|"]
    for workload, style, r in rows:
        lines.append(f"| {workload} | {style} | {r.device} | {r.target} | "
                     f"{r.estimated_cycles:,.0f} | {r.emulated_cycles:,.0f} | {_pct(r.error)} | "
                     f"{100 * r.max_node_error:.1f}% | {'yes' if r.bit_exact else 'NO'} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default="runs/validation", help="artifact directory root")
    parser.add_argument("--samples", type=int, default=5, help="test inputs emulated (5)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--styles", default="lut,int8")
    args = parser.parse_args(argv)
    root = Path(args.artifacts)
    devices = [find_device(d) for d in args.devices.split(",")]
    rows, tables = [], []
    for name in args.workloads.split(","):
        artifact = artifact_for(name, root)
        g = graph_from_artifact(artifact)
        x = sample_inputs(artifact, args.samples)
        for style in args.styles.split(","):
            reports = validate_graph(g, devices, style, x)
            rows += [(name, style, r) for r in reports]
            tables += node_table(name, style, reports)
    print("\n".join(summary_table(rows)))
    print()
    print("\n".join(tables))
    worst = max(max(abs(r.error), r.max_node_error) for _, _, r in rows)
    print(f"worst |error| over every node and network: {100 * worst:.1f}% "
          f"(target {100 * TOLERANCE:.0f}%); all bit-exact: "
          f"{all(r.bit_exact for _, _, r in rows)}")
    return 0 if worst <= TOLERANCE and all(r.bit_exact for _, _, r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
