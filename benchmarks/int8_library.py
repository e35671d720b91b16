"""int8 as the cost model prices it with the int8 kernel library (the CMSIS-NN class
kernels characterized from their own machine code: int8_kernels "library", every layer by
the library's preferred kernel, and "optimized", the default, per layer the fewest cycles
among the library's kernels and the plain loops that fits the memory budget) against the
plain C loops (int8_kernels "reference", TFLite Micro's reference kernels), and the lut /
int8 cycle ratio this moves, per bundled device.

    python benchmarks/int8_library.py [--markdown]

Part 1: kws-dscnn int8 cycles per MAC (the whole network, every node, divided by its
2,656,768 MACs, as `hwsim simulate kws-dscnn --device D --style int8 --json` reports
cycles_per_connection) on samd21 (Cortex-M0+), nrf52840 (Cortex-M4), stm32u575
(Cortex-M33), and a published CMSIS-NN measurement for comparison: MLPerf Tiny v1.0,
closed division, OctoML microTVM + CMSIS-NN on NUCLEO-L4R5ZI (Cortex-M4, 120 MHz),
median throughput per benchmark (github.com/mlcommons/tiny_results_v1.0,
closed/OctoML/results/microtvm_cmsis_nn/NUCLEO_L4R5ZI/<kws|vww|ic|ad>/performance/results.txt:
10.019, 3.320, 2.567 and 116.212 inferences/s; the system description gives the core and
clock), against every MLPerf Tiny workload's int8 cycles per MAC on nrf52840 and
stm32u575 (issue 12: within 1.3x of the best published CMSIS-NN figure on M4).

Part 2: where kws-dscnn's int8 cycles go: per layer class and kernel, cycles per MAC of
the whole network (the class's cycles / all MACs), the part of them that is flash wait
states on weight and parameter loads, and the network with the weights in SRAM.

Part 3: lut cycles / int8 cycles per bundled device (single core; SoC products left
out) for digits-mlp, har-cnn and kws-dscnn, with reference and optimized int8.
"""
from __future__ import annotations

import argparse

from hwsim.cost.model import CostOptions, cost_graph
from hwsim.evaluate.simulate import load_subject
from hwsim.specs.bundled import bundled_names
from hwsim.specs.catalog import find_device
from hwsim.specs.device import Device

KWS_DEVICES = ("samd21", "nrf52840", "stm32u575")
WORKLOADS = ("digits-mlp", "har-cnn", "kws-dscnn")
KINDS = ("reference", "optimized")
KWS_KINDS = ("reference", "library", "optimized")

# MLPerf Tiny v1.0 (module docstring): the published median throughputs and the clock.
PUBLISHED_INFERENCES_PER_S = {"kws-dscnn": 10.019, "vww-mobilenet": 3.320,
                              "ic-resnet8": 2.567, "ad-autoencoder": 116.212}
PUBLISHED_CLOCK_HZ = 120_000_000
PUBLISHED_DEVICES = ("nrf52840", "stm32u575")


def _devices() -> list[Device]:
    out = []
    for name in bundled_names("devices"):
        device = find_device(name)
        if isinstance(device, Device):
            out.append(device)
    return out


def kws_rows() -> list[dict]:
    subject = load_subject("kws-dscnn")
    rows = []
    for name in KWS_DEVICES:
        device = find_device(name)
        row = {"device": name, "core": device.core.name}
        for kind in KWS_KINDS:
            report = cost_graph(subject.graph, device, "int8", CostOptions(int8_kernels=kind))
            row[kind] = report.cycles_per_connection
            row["macs"] = report.connections
        rows.append(row)
    return rows


def profile_rows() -> list[dict]:
    """Part 2: kws-dscnn int8 (the default per-layer choice) per layer class and kernel."""
    subject = load_subject("kws-dscnn")
    rows = []
    for name in KWS_DEVICES:
        device = find_device(name)
        wait = device.memory.flash_load_extra_cycles
        report = cost_graph(subject.graph, device, "int8")
        groups: dict[tuple, list[float]] = {}
        for n in report.nodes:
            if n.cycles:
                group = groups.setdefault((n.op, n.kernel or "-"), [0.0, 0.0, 0])
                group[0] += n.cycles
                group[1] += n.actions.get("flash_wait", 0.0) * wait
                group[2] += n.connections
        sram = cost_graph(subject.graph, device, "int8", CostOptions(weights_in="sram"))
        for (op, kernel), (cycles, flash, macs) in sorted(groups.items(), key=lambda g: -g[1][0]):
            rows.append({"device": name, "op": op, "kernel": kernel, "macs": macs,
                         "share": cycles / report.connections,
                         "flash_share": flash / report.connections,
                         "layer": cycles / macs if macs else float("nan"),
                         "total": report.cycles_per_connection,
                         "total_sram": sram.cycles_per_connection})
    return rows


def published_cycles_per_mac(workload: str, macs: int) -> float:
    return PUBLISHED_CLOCK_HZ / PUBLISHED_INFERENCES_PER_S[workload] / macs


def published_rows() -> list[dict]:
    """Every MLPerf Tiny workload: hwsim's int8 (the default per-layer choice) cycles per
    MAC on the M4/M33 devices against the published CMSIS-NN figure."""
    rows = []
    for workload in PUBLISHED_INFERENCES_PER_S:
        graph = load_subject(workload).graph
        reports = {d: cost_graph(graph, find_device(d), "int8") for d in PUBLISHED_DEVICES}
        macs = reports[PUBLISHED_DEVICES[0]].connections
        rows.append({"workload": workload, "macs": macs,
                     "published": published_cycles_per_mac(workload, macs),
                     **{d: r.cycles_per_connection for d, r in reports.items()}})
    return rows


def ratio_rows() -> list[dict]:
    rows = []
    subjects = {w: load_subject(w) for w in WORKLOADS}
    for device in _devices():
        row = {"device": device.name, "isa": device.core.isa}
        for workload, subject in subjects.items():
            lut = cost_graph(subject.graph, device, "lut").total_cycles
            for kind in KINDS:
                int8 = cost_graph(subject.graph, device, "int8",
                                  CostOptions(int8_kernels=kind)).total_cycles
                row[f"{workload}/{kind}"] = lut / int8
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    kws = kws_rows()
    print("kws-dscnn int8 cycles/MAC (whole network)")
    print("| device | core | reference (plain loops) | library (preferred kernels) | "
          "optimized (per layer) | speed-up |")
    print("|---|---|---|---|---|---|")
    for r in kws:
        print(f"| {r['device']} | {r['core']} | {r['reference']:.2f} | {r['library']:.2f} | "
              f"{r['optimized']:.2f} | {r['reference'] / r['optimized']:.2f}x |")
    print("\nagainst published CMSIS-NN (MLPerf Tiny v1.0, NUCLEO-L4R5ZI, Cortex-M4 120 MHz), "
          "cycles/MAC")
    print("| workload | MACs | published | " + " | ".join(
        f"{d} | {d} / published" for d in PUBLISHED_DEVICES) + " |")
    print("|---|---|---|" + "---|---|" * len(PUBLISHED_DEVICES))
    for r in published_rows():
        print(f"| {r['workload']} | {r['macs']:,} | {r['published']:.2f} | " + " | ".join(
            f"{r[d]:.2f} | {r[d] / r['published']:.2f}" for d in PUBLISHED_DEVICES) + " |")
    print("\nwhere kws-dscnn's int8 cycles go (cycles per MAC of the whole network)")
    print("| device | layers | kernel | MACs | share | of it flash waits | the layers' own "
          "cycles/MAC | network | network, weights in SRAM |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in profile_rows():
        print(f"| {r['device']} | {r['op']} | {r['kernel']} | {r['macs']:,} | {r['share']:.3f} | "
              f"{r['flash_share']:.3f} | {r['layer']:.2f} | {r['total']:.2f} | "
              f"{r['total_sram']:.2f} |")
    print("\nlut cycles / int8 cycles (> 1: int8 faster)")
    head = " | ".join(f"{w} ref | {w} opt" for w in WORKLOADS)
    print(f"| device | ISA | {head} |")
    print("|---|---|" + "---|" * (2 * len(WORKLOADS)))
    for r in ratio_rows():
        cells = " | ".join(f"{r[f'{w}/reference']:.2f} | {r[f'{w}/optimized']:.2f}"
                           for w in WORKLOADS)
        print(f"| {r['device']} | {r['isa']} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
