"""Packed weight codes in the lut kernel library (hwsim/machine/kernels/lut, `_p4`: 4 bits
a code at K <= 16, `_p2`: 2 bits at K <= 4) against byte codes and the bound.

First table: a generated 256 x 128 dense layer with a fused threshold (L = 16, 16-bit
entries, constants in flash), emulated as `hwsim validate` runs it, per device and K:
cycles per connection with byte codes (`weight_indices: aligned`) and with packed codes
(`packed`), the cost model's figure for the packed layer, and the bounds
(hwsim.machine.lut_bound: byte codes: code load + entry load + add, with their flash
waits; packed: entry load + add with its wait, and the code's share of a word load).
Second table: the flash bytes of the lut parameters of the bundled workloads
(the memory planner, equal to the generated program's constants), byte codes against
packed codes where K allows, at their own K and at K = 16 and K = 4.

    python benchmarks/lut_packed.py [--devices samd21,nrf52840,stm32u575,esp32-c3]

docs/lut-kernels.md ("Packed weight codes") holds what this prints;
tests/test_lut_packed.py checks it.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from hwsim.machine.lut_bound import (connection_bound_cycles, connection_cycles,
                                     packed_connection_bound_cycles)
from hwsim.specs.catalog import find_device

DEVICES = ("samd21", "nrf52840", "stm32u575", "esp32-c3")
CLUSTERS = (16, 4)
WORKLOADS = ("ad-autoencoder", "digits-ae", "digits-mlp", "har-cnn", "ic-resnet8",
             "kws-dscnn", "sww-dscnn", "vww-mobilenet")


def cycles_table(devices=DEVICES) -> list[str]:
    lines = ["| device | target | K | bound, byte codes | byte codes (emulated) | packed kernel "
             "| bound, packed | packed (emulated) | cost model | packed / byte |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in devices:
        device = find_device(name)
        for k in CLUSTERS:
            byte = connection_cycles(device, clusters=k, weight_indices="aligned")
            packed = connection_cycles(device, clusters=k, weight_indices="packed")
            bits = int(packed.kernel[-1])
            lines.append(
                f"| {name} | {byte.target} | {k} | {connection_bound_cycles(device):.2f} | "
                f"{byte.generated_cycles:.2f} | {packed.kernel} | "
                f"{packed_connection_bound_cycles(device, 16, bits):.2f} | "
                f"{packed.generated_cycles:.2f} | {packed.estimated_cycles:.2f} | "
                f"{packed.generated_cycles / byte.generated_cycles:.2f}x |")
    return lines


def flash_rows(device: str = "nrf52840") -> list[tuple]:
    """(workload, K, byte-code parameter bytes, packed parameter bytes, layers packed)."""
    from hwsim.cost.model import cost_graph
    from hwsim.cost.options import CostOptions
    from hwsim.ir.graph import graph_from_workload
    from hwsim.memory.planner import MemoryOptions, plan_memory
    from hwsim.specs.bundled import bundled_dir
    from hwsim.specs.workload import load_workload
    d = find_device(device)
    rows = []
    for name in WORKLOADS:
        w = load_workload(bundled_dir("workloads") / f"{name}.yaml")
        own = w.discretization.weight_clusters
        for k in sorted({own, 16, 4}, reverse=True):
            wk = replace(w, discretization=replace(w.discretization, weight_clusters=k))
            g = graph_from_workload(wk)
            sizes = []
            for mode in ("aligned", "packed"):
                chosen = cost_graph(g, d, "lut", CostOptions(weight_indices=mode,
                                                             lut_grouping="off")).lut_chosen
                sizes.append(plan_memory(g, d, "lut", MemoryOptions(
                    lut_grouped=chosen, weight_indices=mode)).parameter_bytes)
            packed = sum(1 for _, kernel in chosen if kernel[-2] == "p")
            weighted = sum(1 for _, a in g.nodes(data="op") if a.kind in (
                "dense", "conv1d", "conv2d", "depthwise_conv2d"))
            rows.append((name, k, sizes[0], sizes[1], f"{packed} of {weighted}"))
    return rows


def flash_table(rows=None) -> list[str]:
    rows = flash_rows() if rows is None else rows
    lines = ["| workload | K | lut parameters, byte codes (bytes) | packed codes (bytes) "
             "| byte / packed | weighted layers packed |", "|---|---|---|---|---|---|"]
    for name, k, byte, packed, layers in rows:
        lines.append(f"| {name} | {k} | {byte:,} | {packed:,} | {byte / packed:.2f}x | "
                     f"{layers} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(DEVICES))
    p.add_argument("--flash-only", action="store_true", help="only the second table")
    a = p.parse_args()
    if not a.flash_only:
        print("\n".join(cycles_table(tuple(a.devices.split(",")))))
        print()
    print("\n".join(flash_table()))


if __name__ == "__main__":
    main()
