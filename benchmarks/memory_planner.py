"""Memory planner figures for every bundled workload that loads.

    python benchmarks/memory_planner.py [--device nrf52840]

Table 1: per workload and style, the activation arena (no scratch) by greedy-by-size
and by the planner `auto` picks (chain_exact on chains), against the lower bound (the
largest live set); then the arena with scratch, peak RAM and flash on the device.
Table 2: the MLPerf Tiny int8 comparison with the MLPerf Tiny reference notes (shapes and counts read from github.com/mlcommons/tiny).
Table 3: parameter, flash and RAM ratios of lut and int8 to float32.
"""
from __future__ import annotations

import argparse
import sys
import time

from hwsim.memory.arena import Buffer, plan_arena
from hwsim.specs.bundled import bundled_names
from hwsim.specs.catalog import find_device
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.style import STYLES
from hwsim.memory.planner import MemoryOptions, compare_styles, tensor_buffers
from hwsim.specs.workload import load_workload

MLPERF_INT8 = {   # reference: (largest live activation set, greedy-by-size arena), bytes
    "kws-dscnn": (16_000, 16_000),
    "vww-mobilenet": (55_296, 64_512),
    "ic-resnet8": (49_152, 49_152),
    "ad-autoencoder": (768, 768),
    "sww-dscnn": (6_656, 6_656),
}


def activation_plans(g, style: str, options: MemoryOptions):
    buffers = [Buffer(b.name, b.size_bytes, b.first_step, b.last_step)
               for b in tensor_buffers(g, style, options, with_scratch=False)]
    return plan_arena(buffers, "greedy_by_size"), plan_arena(buffers, "auto")


def graphs():
    for name in bundled_names("workloads"):
        try:
            yield name, graph_from_workload(load_workload(name))
        except HwsimError as error:
            print(f"# {name}: skipped ({error})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="nrf52840")
    args = parser.parse_args(argv)
    device = find_device(args.device)
    options = MemoryOptions()
    started = time.perf_counter()
    loaded = list(graphs())

    print(f"## Arena and peak memory on {device.name} (SRAM {device.memory.sram_bytes} B, "
          f"flash {device.memory.flash_bytes} B; lut: activations bytes, tables in flash, "
          "fused thresholds and adds)")
    print(f"{'workload':15} {'style':7} {'lower':>7} {'greedy':>7} {'auto':>7} {'planner':13} "
          f"{'+scratch':>8} {'RAM':>8} {'flash':>9} fits")
    comparisons = {}
    for name, g in loaded:
        comparison = compare_styles(g, device, options)
        comparisons[name] = comparison
        for style in STYLES:
            greedy, auto = activation_plans(g, style, options)
            r = comparison.report(style)
            fits = "yes" if r.fits else (f"no (RAM {r.ram_margin_bytes:+d}, "
                                         f"flash {r.flash_margin_bytes:+d})")
            print(f"{name:15} {style:7} {greedy.lower_bound_bytes:7d} {greedy.arena_bytes:7d} "
                  f"{auto.arena_bytes:7d} {auto.method:13} {r.arena_bytes:8d} {r.ram_bytes:8d} "
                  f"{r.flash_bytes:9d} {fits}")

    print("\n## lut activation arena by option (auto planner, no scratch in lut)")
    print(f"{'workload':15} {'bytes':>7} {'packed':>7} {'sums stored':>11} {'adds apart':>10}")
    for name, g in loaded:
        row = [plan_arena([Buffer(b.name, b.size_bytes, b.first_step, b.last_step)
                           for b in tensor_buffers(g, "lut", o)], "auto").arena_bytes
               for o in (options, MemoryOptions(activations="packed"),
                         MemoryOptions(materialise_sums=True), MemoryOptions(fuse_adds=False))]
        print(f"{name:15} {row[0]:7d} {row[1]:7d} {row[2]:11d} {row[3]:10d}")

    print("\n## MLPerf Tiny, int8 activations, no scratch: ours vs reference")
    print(f"{'workload':15} {'live set ours':>13} {'reference':>9} {'greedy ours':>11} "
          f"{'reference':>9} {'chain_exact/auto':>16} match")
    for name, (live_ref, greedy_ref) in MLPERF_INT8.items():
        g = dict(loaded).get(name)
        if g is None:
            print(f"{name:15} (workload missing)")
            continue
        greedy, auto = activation_plans(g, "int8", options)
        match = "yes" if (greedy.lower_bound_bytes, greedy.arena_bytes) == (live_ref, greedy_ref) \
            else "NO"
        print(f"{name:15} {greedy.lower_bound_bytes:13d} {live_ref:9d} {greedy.arena_bytes:11d} "
              f"{greedy_ref:9d} {auto.arena_bytes:16d} {match}")

    print("\n## Ratios to float32 (network's own memory: reserved memory excluded; "
          "flash includes the code estimate)")
    print(f"{'workload':15} {'lut params':>10} {'lut flash':>9} {'lut RAM':>7} "
          f"{'int8 params':>11} {'int8 flash':>10} {'int8 RAM':>8}  lut params < 1/3")
    for name, c in comparisons.items():
        cells = [c.ratio_to_float32(s, w) for s in ("lut", "int8")
                 for w in ("parameters", "flash", "ram")]
        print(f"{name:15} {cells[0]:10.3f} {cells[1]:9.3f} {cells[2]:7.3f} {cells[3]:11.3f} "
              f"{cells[4]:10.3f} {cells[5]:8.3f}  {c.lut_parameters_below_third_of_float32}")
    print(f"\n# {len(loaded)} workloads, {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
