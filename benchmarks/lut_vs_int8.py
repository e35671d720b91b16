"""lut / int8 cycles per inference of digits-mlp, har-cnn and kws-dscnn on every bundled
device, before and after the kernel libraries (issue 12), from the cost model:

- before: lut as the per-layer loops with packed weight indices (the cost model's old
  defaults), int8 as TensorFlow Lite Micro's reference loops;
- after: the default options, the ones `hwsim validate` checks: lut by the
  register-blocked lut kernel library where its characterization covers the core (the
  per-layer loops with byte indices elsewhere), int8 by the per-layer choice among the
  CMSIS-NN class library's kernels and the plain loops.

    python benchmarks/lut_vs_int8.py                         # print the table
    python benchmarks/lut_vs_int8.py --check docs/results.md # exit 1 if the docs block is stale
    python benchmarks/lut_vs_int8.py --write docs/results.md # regenerate the docs block

tests/test_crossover_docs.py runs --check.
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.ir.graph import graph_from_workload
from hwsim.importers.network import load_network
from hwsim.specs.catalog import load_bundled_devices

WORKLOADS = ("digits-mlp", "har-cnn", "kws-dscnn")
BEGIN = "<!-- lut-vs-int8: begin (python benchmarks/lut_vs_int8.py --write docs/results.md) -->"
END = "<!-- lut-vs-int8: end -->"
BEFORE = {"lut": CostOptions(lut_kernels="loops", weight_indices="packed"),
          "int8": CostOptions(int8_kernels="reference")}
AFTER = {"lut": CostOptions(), "int8": CostOptions()}


def _crossover():
    """benchmarks/crossover.py (its block replacement), loaded by path."""
    path = Path(__file__).resolve().parent / "crossover.py"
    spec = importlib.util.spec_from_file_location("crossover_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ratios() -> list[tuple[str, list[tuple[float, float]]]]:
    """Per bundled device, per workload: (lut / int8 before, after)."""
    graphs = [graph_from_workload(load_network(name)) for name in WORKLOADS]
    rows = []
    for device in load_bundled_devices():
        found = []
        for g in graphs:
            pair = []
            for options in (BEFORE, AFTER):
                cycles = {style: cost_graph(g, device, style, options[style]).total_cycles
                          for style in ("lut", "int8")}
                pair.append(cycles["lut"] / cycles["int8"])
            found.append(tuple(pair))
        rows.append((device.name, found))
    return rows


def _cell(before: float, after: float) -> str:
    bold = (lambda r: f"**{r:.2f}**" if r < 1 else f"{r:.2f}")
    return f"{bold(before)} → {bold(after)}"


def block(rows) -> str:
    """The markdown between the markers."""
    lines = [BEGIN, "",
             "lut / int8 cycles per inference, before → after the kernel libraries (before: "
             "lut per-layer loops with packed weight indices, int8 reference loops; after: "
             "the default options, lut kernel library and int8 per-layer kernel choice). "
             "Below 1 (bold) the paper's method takes fewer cycles.", "",
             "| device | " + " | ".join(WORKLOADS) + " |", "|---|" + "---|" * len(WORKLOADS)]
    for device, found in rows:
        lines.append(f"| {device} | " + " | ".join(_cell(*pair) for pair in found) + " |")
    wins = [(d, [w for w, (_, after) in zip(WORKLOADS, found) if after < 1])
            for d, found in rows]
    every = [d for d, w in wins if len(w) == len(WORKLOADS)]
    some = [f"{d} ({', '.join(w)})" for d, w in wins if 0 < len(w) < len(WORKLOADS)]
    gained = sum(1 for _, found in rows for before, after in found if before >= 1 > after)
    lost = sum(1 for _, found in rows for before, after in found if before < 1 <= after)
    lines += ["", f"After: lut wins on all three networks on {', '.join(every) or 'no device'}; "
              f"on some of them on {', '.join(some) or 'no other device'}. "
              f"{gained} (device, network) verdicts turned to lut, {lost} to int8.", "", END]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _crossover().block_arguments(parser)
    args = parser.parse_args(argv)
    new = block(ratios())
    path = args.check or args.write
    if path is None:
        print(new)
        return 0
    return _crossover().update_block(path, new, args.write is not None, "lut-vs-int8",
                                     "lut_vs_int8.py", BEGIN, END)


if __name__ == "__main__":
    raise SystemExit(main())
