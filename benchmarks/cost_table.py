"""Cycles per inference and per connection (MAC) of the bundled workloads on the
bundled devices, in the three arithmetic styles: where the lut style (the paper's
method) beats int8 multiply-accumulate and float32, and where it does not.

    python benchmarks/cost_table.py [--workloads a,b] [--devices x,y]
                                    [--tables-in sram] [--weights-in sram] [--unroll 4]
                                    [--lut-kernels loops] [--weight-indices packed]
    python benchmarks/cost_table.py --write docs/cost-model.md   (or --check FILE)

First table: the paper's calibration layer (dense 256 -> 128, L=32, K=256), with
the measured figures of paper.md section 7 as targets. Second table: every
workload (random weights of its kind; costing needs only shapes) x device.
`int8/lut` and `f32/lut` > 1 mean the lut style is faster by that factor. int8 runs as
plain C loops unless --int8-kernels optimized (benchmarks/int8_library.py compares both).
--write/--check: the three calibration blocks of docs/cost-model.md (the paper's
figures beside hwsim's in the paper's setting, the first table on the defaults, the
layer under other options) are written or checked (exit 1 when stale).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from hwsim.specs.bundled import bundled_names
from hwsim.specs.catalog import find_device
from hwsim.ir.style import STYLES
from hwsim.cost.model import CostOptions, cost_graph, dense_layer_workload
from hwsim.ir.graph import graph_from_workload
from hwsim.specs.workload import load_workload

# paper.md section 7 (Cortex-M0 class, gcc -O2): cycles per connection.
TARGETS = {"samd21": "M0 1-cycle mul: lut 16.3, int8 14.2",
           "cm0plus-iterative-mul": "M0+ 32-cycle mul: lut ~16, int8 ~45",
           "ch32v003": "RV32 no M: lut wins 4-10x",
           "cc2340r5": "no FPU: soft-float MAC 140-270"}


def _cycles(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"


def calibration_rows(devices, options: CostOptions):
    graph = graph_from_workload(dense_layer_workload())
    for device in devices:
        per = {s: cost_graph(graph, device, s, options).cycles_per_connection for s in STYLES}
        yield device, per


def workload_rows(workloads, devices, options: CostOptions):
    for name in workloads:
        graph = graph_from_workload(load_workload(name))
        for device in devices:
            yield name, device, {s: cost_graph(graph, device, s, options) for s in STYLES}


def calibration_table(devices, options: CostOptions) -> str:
    """The first table: cycles per connection of the calibration layer per device."""
    header = (f"{'device':22} {'lut':>7} {'int8':>7} {'float32':>8} {'int8/lut':>8} "
              f"{'f32/lut':>8}  paper")
    lines = [header, "-" * len(header)]
    for device, per in calibration_rows(devices, options):
        lines.append(f"{device.name:22} {per['lut']:7.2f} {per['int8']:7.2f} "
                     f"{per['float32']:8.2f} {per['int8'] / per['lut']:8.2f} "
                     f"{per['float32'] / per['lut']:8.2f}  {TARGETS.get(device.name, '')}")
    return "\n".join(lines)


# The paper's setting: plain int8 loops, lut as per-layer loops over packed indices.
PAPER_SETTING = CostOptions(int8_kernels="reference", lut_kernels="loops",
                            weight_indices="packed")


def paper_table() -> str:
    """The paper's measured figures (paper.md section 7) beside hwsim's in its setting."""
    def per(name):
        [(_, found)] = calibration_rows([find_device(name)], PAPER_SETTING)
        return found
    m0, slow, rv = per("samd21"), per("cm0plus-iterative-mul"), per("ch32v003")
    rows = [
        ("LUT, 1-cycle multiplier", "16.3", f"{m0['lut']:.1f} (samd21, M0+)"),
        ("int8, 1-cycle multiplier", "14.2",
         f"{m0['int8']:.1f} (samd21) — LUT {m0['lut'] / m0['int8']:.2f}x slower (paper 1.15x)"),
        ("int8, 32-cycle multiplier", "≈ 45", f"{slow['int8']:.1f} (cm0plus-iterative-mul)"),
        ("LUT, 32-cycle multiplier", "≈ 16",
         f"{slow['lut']:.1f} — LUT wins {slow['int8'] / slow['lut']:.2f}x (paper ~2.8x)"),
        ("RV32 without M", "LUT 4-10x faster",
         f"{rv['int8'] / rv['lut']:.2f}x (ch32v003: int8 {rv['int8']:.1f}, lut {rv['lut']:.1f})"),
        ("soft-float MAC, M0", "140-270",
         f"{m0['float32']:.1f} (samd21, libgcc routines characterized, docs/codegen.md)"),
    ]
    return "\n".join(["| target | paper | hwsim (device) |", "|---|---|---|"]
                     + [f"| {a} | {b} | {c} |" for a, b, c in rows])


OTHER_OPTIONS = (("all in SRAM", dict(tables_in="sram", weights_in="sram", thresholds_in="sram")),
                 ("unroll 4", dict(unroll=4)),
                 ("K = 32 (5-bit packed)", dict(clusters=32)),
                 ("K = 1000 (10-bit packed, precomputed rows)", dict(clusters=1000)))


def options_table(devices) -> str:
    """The calibration layer under other options (lut as per-layer loops, packed indices):
    lut / int8 / float32 cycles per connection."""
    lines = ["| device | " + " | ".join(t for t, _ in OTHER_OPTIONS) + " |",
             "|---" * (len(OTHER_OPTIONS) + 1) + "|"]
    cells = {d.name: [] for d in devices}
    for _, change in OTHER_OPTIONS:
        clusters = change.get("clusters", 256)
        options = replace(PAPER_SETTING, **{k: v for k, v in change.items() if k != "clusters"})
        graph = graph_from_workload(dense_layer_workload(clusters=clusters))
        for device in devices:
            per = [cost_graph(graph, device, s, options).cycles_per_connection for s in STYLES]
            cells[device.name].append(" / ".join(f"{v:.1f}" for v in per))
    lines += [f"| {name} | " + " | ".join(row) + " |" for name, row in cells.items()]
    return "\n".join(lines)


def docs_blocks(devices) -> dict[str, str]:
    """The docs/cost-model.md blocks, by name."""
    return {"calibration-paper": paper_table(),
            "calibration-table": "```\n" + calibration_table(devices, CostOptions(
                int8_kernels="reference")) + "\n```",
            "calibration-options": options_table(devices)}


def write_or_check(path: Path, write: bool, devices) -> int:
    from crossover import update_block
    stale = 0
    for name, new in docs_blocks(devices).items():
        begin = f"<!-- {name}: begin (python benchmarks/cost_table.py --write docs/cost-model.md) -->"
        end = f"<!-- {name}: end -->"
        stale |= update_block(path, f"{begin}\n{new}\n{end}", write, name, "cost_table.py",
                              begin=begin, end=end)
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", help="comma-separated names (default: all bundled)")
    parser.add_argument("--devices", help="comma-separated names (default: all bundled)")
    parser.add_argument("--tables-in", default="flash", choices=("flash", "sram"))
    parser.add_argument("--weights-in", default="flash", choices=("flash", "sram"))
    parser.add_argument("--activations", default="bytes", choices=("bytes", "packed"))
    parser.add_argument("--unroll", type=int, default=1)
    parser.add_argument("--int8-kernels", default="reference", choices=("reference", "optimized"),
                        help="int8 as plain loops (reference, default: what the paper measured) "
                             "or as the characterized kernel library (optimized)")
    parser.add_argument("--lut-kernels", default="library", choices=("library", "loops"),
                        help="lut as the lut kernel library (default, where characterized) "
                             "or as the per-layer loops")
    parser.add_argument("--weight-indices", default="aligned", choices=("aligned", "packed"),
                        help="lut weight indices as generated (bytes) or packed (a what-if)")
    sys.path.insert(0, str(Path(__file__).parent))
    from crossover import block_arguments
    block_arguments(parser, "calibration blocks")
    args = parser.parse_args(argv)
    if args.check or args.write:
        return write_or_check(args.check or args.write, args.write is not None,
                              [find_device(n) for n in bundled_names("devices")])
    workloads = args.workloads.split(",") if args.workloads else bundled_names("workloads")
    names = args.devices.split(",") if args.devices else bundled_names("devices")
    devices = [find_device(n) for n in names]
    options = CostOptions(tables_in=args.tables_in, weights_in=args.weights_in,
                          thresholds_in=args.weights_in, activations=args.activations,
                          unroll=args.unroll, int8_kernels=args.int8_kernels,
                          lut_kernels=args.lut_kernels, weight_indices=args.weight_indices)
    print(f"options: {options.to_dict()}")
    print()
    print("Dense 256x128 (L=32, K=256): cycles per connection")
    print(calibration_table(devices, options))
    print()
    print("Bundled workloads: cycles per inference (lut) and cycles per MAC per style")
    header = (f"{'workload':15} {'device':22} {'MACs':>7} {'lut cyc':>8} {'lut/MAC':>8} "
              f"{'int8/MAC':>8} {'f32/MAC':>8} {'int8/lut':>8} {'f32/lut':>8}  fastest")
    print(header)
    print("-" * len(header))
    for name, device, reports in workload_rows(workloads, devices, options):
        lut, int8, f32 = (reports[s] for s in STYLES)
        fastest = min(STYLES, key=lambda s: reports[s].total_cycles)
        print(f"{name:15} {device.name:22} {_cycles(lut.connections):>7} "
              f"{_cycles(lut.total_cycles):>8} {lut.cycles_per_connection:8.2f} "
              f"{int8.cycles_per_connection:8.2f} {f32.cycles_per_connection:8.2f} "
              f"{int8.total_cycles / lut.total_cycles:8.2f} "
              f"{f32.total_cycles / lut.total_cycles:8.2f}  {fastest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
