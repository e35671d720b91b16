"""float32 cost model against emulated soft-float machine code: per node and per
network, the error of the estimated cycles relative to the emulated ones on devices
without an FPU, and what the libgcc routines really take per call beside the device
files' `soft_float` figures (the tables of docs/codegen.md, "float32").

    python benchmarks/float32_validation.py [--artifacts DIR] [--samples 2]
        [--workloads digits-mlp,har-cnn] [--devices samd21,rp2040,cm0plus-iterative-mul,esp32-c3,ch32v003]

Artifacts are read from DIR/<workload> (default runs/validation), trained there with the
workload's own settings when missing (benchmarks/validation_table.py). Two estimates per
node: the cost model given the emulated inputs' share of zeros (CostOptions.
float_zero_inputs, the operand statistic it takes), and shape-only (no zeros: the worst
case). Errors are (estimated - emulated) / emulated.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import tempfile
from pathlib import Path

from validation_table import artifact_for

from hwsim.cost.model import cost_graph
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_artifact
from hwsim.machine.codegen import generate
from hwsim.machine.disasm import prove
from hwsim.machine.emulate import emulate, price
from hwsim.cost.prices import action_prices
from hwsim.machine.soft_float import measured_figures, routine_costs
from hwsim.machine.toolchain import build_program
from hwsim.machine.validate import (codegen_options, input_zero_share, compare_node_costs, compare_outputs,
                                    program_inputs, resolve_target, sample_inputs)
from hwsim.specs.catalog import find_device

WORKLOADS = ("digits-mlp", "har-cnn")
DEVICES = ("samd21", "rp2040", "cm0plus-iterative-mul", "esp32-c3", "ch32v003")
OPERATIONS = ("add", "mul", "div", "compare")


def run_device(g, device, x_levels, directory: Path):
    """(ValidationReport, shape-only CostReport, measured figures). A network
    too big for the part's memory runs in the target's generic memory map (the same
    code; the device's cycle table prices it)."""
    target = resolve_target(device)
    try:
        program = generate(g, target, "float32", target.memory_map(device))
    except HwsimError:                  # too big for the part: the generic map, same code
        program = generate(g, target, "float32", target.memory_map())
    build = build_program(program, directory)
    proof = prove(build.elf_path, program.target, "float32", program.node_of_function)
    run = emulate(build, program_inputs(g, "float32", x_levels))
    mismatch = compare_outputs(g, run.node_outputs, x_levels, "float32")
    options = replace(codegen_options(), float_zero_inputs=input_zero_share(x_levels))
    report = compare_node_costs(g, device, "float32", price(run.profile, device), run, proof,
                                mismatch, options)
    figures = measured_figures(routine_costs(run, device), OPERATIONS)
    worst = cost_graph(g, device, "float32", codegen_options())
    return report, worst, figures


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def workload_lines(name: str, results: dict) -> list[str]:
    done = results
    lines = [f"#### {name}, float32: model error with the inputs' zeros / shape-only", "",
             "| node | " + " | ".join(done) + " |", "|---|" + "---:|" * len(done)]
    first = next(iter(done.values()))[0]
    for node in [n.node for n in first.nodes]:
        cells = []
        for report, whatif, _ in done.values():
            n = next(v for v in report.nodes if v.node == node)
            alt = next(c.cycles for c in whatif.nodes if c.node == node)
            cells.append(f"{_pct(n.error)} / {_pct((alt - n.emulated_cycles) / n.emulated_cycles)}")
        lines.append(f"| {node} | " + " | ".join(cells) + " |")
    cells = [f"**{_pct(r.error)}** / **{_pct((w.total_cycles - r.emulated_cycles) / r.emulated_cycles)}**"
             for r, w, _ in done.values()]
    lines.append("| **network** | " + " | ".join(cells) + " |")
    lines.append("| emulated cycles | " + " | ".join(f"{r.emulated_cycles:,.0f}"
                                                    for r, _, _ in done.values()) + " |")
    lines.append("| outputs within tolerance | " + " | ".join(
        "yes" if r.bit_exact else f"NO: {r.mismatch}" for r, _, _ in done.values()) + " |")
    return lines + [""]


def routine_lines(name: str, results: dict) -> list[str]:
    lines = [f"#### {name}: soft-float cycles per call, device file / characterized / "
             "libgcc in this run", "",
             "| device | " + " | ".join(OPERATIONS) + " |", "|---|" + "---:|" * len(OPERATIONS)]
    for device, result in results.items():
        listed = find_device(device).soft_float_cycles or {}
        prices = action_prices(find_device(device))
        figures = result[2]
        cells = [f"{listed[op]:g}" if op in listed else "(estimate)" for op in OPERATIONS]
        cells = [f"{c} / {prices['soft_float_' + op].cycles:.0f} / {figures[op]:.0f}"
                 if op in figures else "" for c, op in zip(cells, OPERATIONS)]
        lines.append(f"| {device} | " + " | ".join(cells) + " |")
    return lines + [""]


def bounds_lines() -> list[str]:
    """Per characterized target, each operation's executed instructions per call: the
    mean (min..max) of hwsim/cost/data/soft_float_<target>.json."""
    from hwsim.cost.soft_float_library import soft_float_data
    from hwsim.machine.fetch_waits import FETCH_ACTIONS       # no instructions
    from hwsim.machine.soft_float_characterize import CLASSES, TARGETS
    columns = [(op, kind) for op, kinds in CLASSES.items() for kind in kinds]
    lines = ["| target | " + " | ".join(op if k == "general" else f"{op} ({k})"
                                       for op, k in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for target in TARGETS:
        ops = soft_float_data(target)["operations"]
        cells = [f"{sum(n for a, n in r['actions'].items() if a not in FETCH_ACTIONS):.0f}"
                 f" ({r['min']:.0f}..{r['max']:.0f})"
                 for r in (ops[op][k] for op, k in columns)]
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default="runs/validation", help="artifact directory root")
    parser.add_argument("--samples", type=int, default=2, help="test inputs emulated (2)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--devices", default=",".join(DEVICES))
    args = parser.parse_args(argv)
    print("\n".join(bounds_lines()))
    root = Path(args.artifacts)
    devices = [find_device(d) for d in args.devices.split(",")]
    with tempfile.TemporaryDirectory(prefix="hwsim-float32-") as tmp:
        for name in args.workloads.split(","):
            artifact = artifact_for(name, root)
            g = graph_from_artifact(artifact)
            x = sample_inputs(artifact, args.samples)
            results = {d.name: run_device(g, d, x, Path(tmp) / f"{name}-{d.name}")
                       for d in devices}
            print("\n".join(workload_lines(name, results) + routine_lines(name, results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
