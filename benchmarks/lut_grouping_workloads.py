"""The bundled workloads' lut cycles per inference with the grouped kernels (dense and
convolution) off (every weighted layer the register-blocked library call, as before
grouped lookups were wired in) and chosen per layer (the default `lut_grouping: auto`,
hwsim/cost/lut_choice.py), in-sample (the cost model, the same counts `hwsim simulate`
prints), at the workloads' own K and at K = 4 (`hwsim simulate W --clusters 4`).

    python benchmarks/lut_grouping_workloads.py [--devices samd21,nrf52840,esp32-c3]

Prints the markdown table of docs/lut-kernels.md ("Grouped lookups in the bundled
workloads"); tests/test_lut_choice.py checks the docs hold what this prints.
"""
from __future__ import annotations

import argparse

from hwsim.cost.options import CostOptions
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.specs.bundled import bundled_dir
from hwsim.specs.catalog import find_device

DEVICES = ("samd21", "nrf52840", "esp32-c3")
CLUSTERS = (None, 4)
GROUPABLE = ("dense", "conv1d", "conv2d")     # the layers a grouped kernel can run


def workloads() -> list[str]:
    return sorted(p.stem for p in bundled_dir("workloads").glob("*.yaml"))


def rows(devices=DEVICES) -> list[dict]:
    out = []
    for name in workloads():
        for clusters in CLUSTERS:
            subject = load_subject(name, clusters=clusters)
            k = clusters or max(op.table_shape[1] for _, op in subject.graph.nodes(data="op")
                                if op.kind in GROUPABLE + ("depthwise_conv2d",))
            for device in devices:
                d = find_device(device)
                off = simulate(subject, d, "lut", cost_options=CostOptions(lut_grouping="off"))
                auto = simulate(subject, d, "lut")
                out.append({"workload": name, "clusters": clusters, "k": k, "device": device,
                            "off": off.cost.total_cycles, "auto": auto.cost.total_cycles,
                            "grouped": len(auto.cost.lut_grouped),
                            "dense": sum(1 for n in auto.cost.nodes if n.op in GROUPABLE)})
    return out


def table(devices=DEVICES, found=None) -> list[str]:
    """The K = 4 rows, and the rows at a workload's own K (16 to 256 clusters, 16-bit
    entries) where the choice groups a layer (elsewhere nothing changes there:
    `own_k_grouped`)."""
    lines = ["| workload | K | device | lut cycles, grouping off | lut cycles, chosen per "
             "layer | off / chosen | dense and conv layers grouped |",
             "|---|---|---|---|---|---|---|"]
    found = found if found is not None else rows(devices)
    for r in sorted(found, key=lambda r: r["clusters"] is not None):
        if r["clusters"] is None and not r["grouped"]:
            continue
        k = str(r["k"]) + (" (own)" if r["clusters"] is None else "")
        lines.append(f"| {r['workload']} | {k} | {r['device']} | {r['off']:,.0f} | "
                     f"{r['auto']:,.0f} | {r['off'] / r['auto']:.2f}x | "
                     f"{r['grouped']} of {r['dense']} |")
    return lines


def own_k_grouped(found) -> list[str]:
    """The workloads whose own K has a layer grouped on some device (else the chosen
    kernels are the ungrouped ones)."""
    return sorted({r["workload"] for r in found if r["clusters"] is None
                   and (r["off"] != r["auto"] or r["grouped"])})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    found = rows(tuple(parser.parse_args().devices.split(",")))
    print("\n".join(table(found=found)))
    print(f"\nat the workloads' own K, a layer grouped in: {', '.join(own_k_grouped(found))}")
