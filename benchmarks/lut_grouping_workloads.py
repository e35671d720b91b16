"""The bundled workloads' lut cycles per inference with the grouped dense kernel off
(every weighted layer the register-blocked library call, as before grouped lookups were
wired in) and chosen per layer (the default `lut_grouping: auto`,
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


def workloads() -> list[str]:
    return sorted(p.stem for p in bundled_dir("workloads").glob("*.yaml"))


def rows(devices=DEVICES) -> list[dict]:
    out = []
    for name in workloads():
        for clusters in CLUSTERS:
            subject = load_subject(name, clusters=clusters)
            for device in devices:
                d = find_device(device)
                off = simulate(subject, d, "lut", cost_options=CostOptions(lut_grouping="off"))
                auto = simulate(subject, d, "lut")
                out.append({"workload": name, "clusters": clusters, "device": device,
                            "off": off.cost.total_cycles, "auto": auto.cost.total_cycles,
                            "grouped": len(auto.cost.lut_grouped),
                            "dense": sum(1 for n in auto.cost.nodes if n.op == "dense")})
    return out


def table(devices=DEVICES, found=None) -> list[str]:
    """The K = 4 rows (at their own K, 16 to 256 clusters with 16-bit entries, no layer
    is grouped: `own_k_unchanged`)."""
    lines = ["| workload | K | device | lut cycles, grouping off | lut cycles, chosen per "
             "layer | off / chosen | dense layers grouped |",
             "|---|---|---|---|---|---|---|"]
    for r in found if found is not None else rows(devices):
        if r["clusters"] is None:
            continue
        k = str(r["clusters"])
        lines.append(f"| {r['workload']} | {k} | {r['device']} | {r['off']:,.0f} | "
                     f"{r['auto']:,.0f} | {r['off'] / r['auto']:.2f}x | "
                     f"{r['grouped']} of {r['dense']} |")
    return lines


def own_k_unchanged(found) -> bool:
    """Whether at the workloads' own K the chosen kernels are the ungrouped ones."""
    return all(r["off"] == r["auto"] and not r["grouped"] for r in found
               if r["clusters"] is None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    found = rows(tuple(parser.parse_args().devices.split(",")))
    print("\n".join(table(found=found)))
    print(f"\nat the workloads' own K, no layer grouped: {own_k_unchanged(found)}")
