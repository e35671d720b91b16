"""Cycles per inference and per connection (MAC) of the bundled workloads on the
bundled devices, in the three arithmetic styles: where the lut style (the paper's
method) beats int8 multiply-accumulate and float32, and where it does not.

    python benchmarks/cost_table.py [--workloads a,b] [--devices x,y]
                                    [--tables-in sram] [--weights-in sram] [--unroll 4]
                                    [--lut-kernels loops] [--weight-indices packed]

First table: the paper's calibration layer (dense 256 -> 128, L=32, K=256), with
the measured figures of paper.md section 7 as targets. Second table: every
workload (random weights of its kind; costing needs only shapes) x device.
`int8/lut` and `f32/lut` > 1 mean the lut style is faster by that factor. int8 runs as
plain C loops unless --int8-kernels optimized (benchmarks/int8_library.py compares both).
"""
from __future__ import annotations

import argparse

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
    args = parser.parse_args(argv)
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
    header = (f"{'device':22} {'lut':>7} {'int8':>7} {'float32':>8} {'int8/lut':>8} "
              f"{'f32/lut':>8}  paper")
    print(header)
    print("-" * len(header))
    for device, per in calibration_rows(devices, options):
        print(f"{device.name:22} {per['lut']:7.2f} {per['int8']:7.2f} {per['float32']:8.2f} "
              f"{per['int8'] / per['lut']:8.2f} {per['float32'] / per['lut']:8.2f}  "
              f"{TARGETS.get(device.name, '')}")
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
