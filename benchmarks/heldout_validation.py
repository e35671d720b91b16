"""Held-out validation: the cost model against emulated machine code and RTL clocks on
random networks it was never fitted to (hwsim.machine.heldout).

    python benchmarks/heldout_validation.py [--seed 0] [--count 20]
        [--devices samd21,cm0plus-iterative-mul,nrf52840,stm32u575,esp32-c3,ch32v003]
        [--styles lut,int8] [--rtl ibex-rv32m-fast,...] [--samples 2] [--calibrated [run]]
        [--weight-indices auto|aligned|packed] [--left-shifts none|some|all]
        [--int8-kernels optimized|library|reference] [--json FILE]

Prints, per reference (emulation or RTL), style and device, the distribution of the
per-node and per-network errors (estimated - measured) / measured: the share within
1%, 2%, 5% and 10% and the worst; the networks the code generator refused; and the
worst nodes. The workloads are drawn with the seed, so a run is reproducible.
`--calibrated`: every network carries int8 input statistics measured on calibration
inputs drawn apart from the ones it runs on (as a trained artifact carries them from its
training split; hwsim.machine.heldout.with_input_statistics), else it is shape-only.
`--calibrated run`: the statistics of the very inputs it runs on (an oracle: the error
left is the model's own, not the spread between calibration and run inputs).
`--left-shifts some|all`: every other (or every) weighted layer's weights scaled so that
its int8 requantization shifts left (hwsim.machine.heldout.with_left_shifts), the path
an imported model with a small output scale takes. `--int8-kernels reference`: the int8
plain loops instead of the kernel library (CostOptions.int8_kernels).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from hwsim.cost.int8_library import left_shifted
from hwsim.cost.options import INT8_KERNELS
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.heldout import (LEFT_SHIFTS, STATISTICS, distribution, heldout_workloads,
                                   run_heldout, with_left_shifts)
from hwsim.machine.rtl import rtl_core
from hwsim.specs.catalog import find_device

DEVICES = "samd21,cm0plus-iterative-mul,nrf52840,stm32u575,esp32-c3,ch32v003"
REPO = Path(__file__).resolve().parent.parent
STATISTICS_NOTE = {"none": "", "calibration": ", calibrated int8 input statistics",
                   "run": ", int8 input statistics of the inputs run (oracle)"}
OP_GROUPS = {"weighted": WEIGHTED, "pools": ("max_pool1d", "max_pool2d", "avg_pool1d",
                                            "avg_pool2d"),
             "add": ("add",), "argmax": ("argmax",)}


def _dist(d) -> str:
    within = "  ".join(f"{share:6.1%}" for _, share in d.within)
    return f"{d.count:5d}  {within}  {d.worst:+8.1%}"


def summary_lines(runs) -> list[str]:
    header = ("reference  style  device                         nodes   <=1%    <=2%    <=5%   "
              "<=10%     worst | nets   <=1%    <=2%    <=5%   <=10%     worst  refused")
    lines = [header]
    keys = sorted({(r.reference, r.style, r.platform) for r in runs})
    for reference, style, platform in keys:
        group = [r for r in runs if (r.reference, r.style, r.platform)
                 == (reference, style, platform)]
        done = [r for r in group if not r.refused]
        nodes = distribution(e for r in done for _, _, e, _ in r.node_errors)
        nets = distribution(r.network_error for r in done)
        lines.append(f"{reference:9}  {style:5}  {platform:28} {_dist(nodes)} | "
                     f"{_dist(nets)}  {len(group) - len(done)}")
    lines.append("")
    lines.append("by where the estimate's counts come from (every device, node errors):")
    for reference in sorted({r.reference for r in runs}):
        for basis in sorted({b for r in runs for *_, b in r.node_errors}):
            errors = [e for r in runs if r.reference == reference and not r.refused
                      for _, _, e, b in r.node_errors if b == basis]
            if errors:
                lines.append(f"{reference:9}  {basis:13} {_dist(distribution(errors))}")
    lines.append("")
    lines.append("formula nodes by op (every device, node errors):")
    for reference in sorted({r.reference for r in runs}):
        for group, kinds in OP_GROUPS.items():
            errors = [e for r in runs if r.reference == reference and not r.refused
                      for _, op, e, b in r.node_errors if b == "formula" and op in kinds]
            if errors:
                lines.append(f"{reference:9}  {group:13} {_dist(distribution(errors))}")
    return lines


def _left_shifted_line(runs, workloads, seed: int, which: str) -> str:
    """The node errors of the weighted layers that shift left (every device)."""
    left = {}
    for i, w in enumerate(workloads):       # run_heldout's graphs: seed + i
        g = with_left_shifts(graph_from_workload(w, seed=seed + i), which)
        left[w.name] = set(left_shifted(g))
    errors = [e for r in runs if not r.refused for node, _, e, _ in r.node_errors
              if node in left[r.workload]]
    return f"left-shifted weighted nodes (every device): {_dist(distribution(errors))}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--devices", default=DEVICES)
    p.add_argument("--styles", default="lut,int8")
    p.add_argument("--rtl", default="", help="RTL core names (docs/rtl.md)")
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--worst", type=int, default=12, help="worst nodes to list")
    p.add_argument("--calibrated", nargs="?", const="calibration", default="none",
                   choices=STATISTICS[1:],
                   help="int8 input statistics from calibration inputs (as a trained "
                        "artifact), or with 'run' from the inputs run (the oracle)")
    p.add_argument("--weight-indices", default="auto", choices=("auto", "aligned", "packed"),
                   help="lut weight codes in emulation (packed: wherever K <= 16)")
    p.add_argument("--left-shifts", default="none", choices=LEFT_SHIFTS,
                   help="weighted layers whose int8 requantization shifts left")
    p.add_argument("--int8-kernels", default="optimized",
                   choices=INT8_KERNELS,
                   help="int8 weighted layers: the library (chosen per layer) or plain loops")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    workloads = heldout_workloads(a.seed, a.count)
    devices = [find_device(n) for n in a.devices.split(",") if n]
    cores = tuple(rtl_core(n) for n in a.rtl.split(",") if n)
    cache = Path(os.environ.get("HWSIM_CACHE", REPO / ".hwsim-cache")) / "rtl"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hwsim-heldout-") as tmp:
        runs = run_heldout(workloads, devices, tuple(a.styles.split(",")), rtl_cores=cores,
                           cache_dir=cache, samples=a.samples, seed=a.seed, workdir=tmp,
                           statistics=a.calibrated, weight_indices=a.weight_indices,
                           left_shifts=a.left_shifts, int8_kernels=a.int8_kernels)
    seconds = time.perf_counter() - started
    print(f"{len(workloads)} held-out networks (seed {a.seed}), {len(devices)} devices, "
          f"{len(cores)} RTL cores, styles {a.styles}"
          f"{STATISTICS_NOTE[a.calibrated]}"
          f"{'' if a.left_shifts == 'none' else f', left shifts: {a.left_shifts}'}"
          f"{'' if a.int8_kernels == 'optimized' else f', int8 kernels: {a.int8_kernels}'}: "
          f"{seconds:.1f} s")
    print("\n".join(summary_lines(runs)))
    if a.left_shifts != "none":
        print(_left_shifted_line(runs, workloads, a.seed, a.left_shifts))
    not_exact = [r for r in runs if not r.refused and not r.bit_exact]
    print(f"outputs not bit-exact: {len(not_exact)}")
    refused = sorted({(r.workload, r.style, r.refused.split(':')[-1].strip()[:70])
                      for r in runs if r.refused})
    for workload, style, why in refused:
        print(f"refused: {workload} {style}: {why}")
    worst = sorted(((abs(e), e, r.workload, node, op, r.platform, r.style, b) for r in runs
                    for node, op, e, b in r.node_errors), reverse=True)[:a.worst]
    for _, e, workload, node, op, platform, style, basis in worst:
        print(f"worst node: {e:+7.1%}  {workload} {node} ({op}, {basis}) {platform} {style}")
    if a.json:
        a.json.write_text(json.dumps([r.to_dict() for r in runs], indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
