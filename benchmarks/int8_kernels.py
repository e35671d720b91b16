"""Executed instructions (and cycles with bundled device tables) per MAC of the int8
kernels (hwsim.machine.kernels.int8) on kws-dscnn layer shapes, each run checked
bit-exact against TFLite's int8 reference arithmetic
(hwsim.importers.int8_kernel_reference).

    python benchmarks/int8_kernels.py [--markdown]

Targets and the devices that price them: cortex-m0 (samd21, Cortex-M0+), cortex-m4
(nrf52840, Cortex-M4; stm32u575, Cortex-M33, runs the same Armv7E-M code), rv32im
(esp32-c3). Shapes: docs/mlperf-workloads.md / the MLPerf Tiny KWS DS-CNN reference
model (input 49x10x1, conv 10x4 stride 2 to 25x5x64, four depthwise 3x3 + pointwise
64->64 blocks, dense 64->12).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.machine.kernels.cases import conv_case, dense_case
from hwsim.machine.kernels.harness import (
    build_firmware,
    kernel_cycles,
    run_case,
)
from hwsim.specs.catalog import find_device

DEVICES = {"cortex-m0": ("samd21",), "cortex-m4": ("nrf52840", "stm32u575"),
           "rv32im": ("esp32-c3",)}

# (label, kernel, builder arguments); each layer in both its specialised and generic kernel.
LAYERS = (
    ("conv0 49x10x1 k10x4 s2 -> 25x5x64", "conv",
     dict(input_shape=(49, 10, 1), out_c=64, kernel_hw=(10, 4), stride=(2, 2), relu=True)),
    ("dw 25x5x64 k3x3 s1", "depthwise_3x3",
     dict(input_shape=(25, 5, 64), out_c=0, kernel_hw=(3, 3), relu=True)),
    ("dw 25x5x64 k3x3 s1 (generic)", "depthwise",
     dict(input_shape=(25, 5, 64), out_c=0, kernel_hw=(3, 3), relu=True)),
    ("pw 25x5x64 -> 64", "conv_1x1",
     dict(input_shape=(25, 5, 64), out_c=64, kernel_hw=(1, 1), padding="valid", relu=True)),
    ("pw 25x5x64 -> 64 (im2col)", "conv",
     dict(input_shape=(25, 5, 64), out_c=64, kernel_hw=(1, 1), padding="valid", relu=True)),
    ("fc 64 -> 12", "fully_connected", dict(batches=1, in_features=64, out_features=12)),
)
# MACs per layer kind in kws-dscnn (docs/mlperf-workloads.md): conv0, 4 dw, 4 pw, fc.
NETWORK = {"conv0 49x10x1 k10x4 s2 -> 25x5x64": 1, "dw 25x5x64 k3x3 s1": 4,
           "pw 25x5x64 -> 64": 4, "fc 64 -> 12": 1}


def measure(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for target, devices in DEVICES.items():
            firmware = build_firmware(target, f"{tmp}/{target}")
            priced = {name: find_device(name) for name in devices}
            for label, kernel, args in LAYERS:
                case = (dense_case(rng, **args) if kernel == "fully_connected"
                        else conv_case(kernel, rng, **args))
                started = time.perf_counter()
                run = run_case(firmware, case)
                reference = REFERENCES[case.op](**case.reference_arguments)
                if not np.array_equal(run.output, reference):
                    raise SystemExit(f"{target} {label}: output differs from the reference")
                row = {"target": target, "layer": label, "kernel": kernel, "macs": case.macs,
                       "instructions": run.instructions,
                       "instructions_per_mac": run.instructions / case.macs,
                       "classes": run.classes, "seconds": time.perf_counter() - started,
                       "compiler": firmware.compiler_version}
                for name, device in priced.items():
                    row[f"cycles_per_mac[{name}]"] = kernel_cycles(run, device) / case.macs
                rows.append(row)
    return rows


def network_rows(rows: list[dict]) -> list[dict]:
    """kws-dscnn's conv/dw/pw/fc layers together (pooling and softmax left out)."""
    out = []
    for target in DEVICES:
        mine = {r["layer"]: r for r in rows if r["target"] == target}
        macs = sum(mine[k]["macs"] * n for k, n in NETWORK.items())
        row = {"target": target, "layer": "kws-dscnn conv+dw+pw+fc", "kernel": "best",
               "macs": macs,
               "instructions_per_mac": sum(mine[k]["instructions"] * n
                                           for k, n in NETWORK.items()) / macs}
        for key in mine[next(iter(NETWORK))]:
            if key.startswith("cycles_per_mac["):
                row[key] = sum(mine[k][key] * mine[k]["macs"] * n for k, n in NETWORK.items()) / macs
        out.append(row)
    return out


def table(rows: list[dict]) -> str:
    devices = [f"cycles_per_mac[{d}]" for ds in DEVICES.values() for d in ds]
    lines = ["| target | layer | kernel | MACs | instructions/MAC | " +
             " | ".join(d[len("cycles_per_mac["):-1] + " cycles/MAC" for d in devices) + " |",
             "|---" * (5 + len(devices)) + "|"]
    for r in rows:
        cells = [f"{r[d]:.2f}" if d in r else "" for d in devices]
        lines.append(f"| {r['target']} | {r['layer']} | {r['kernel']} | {r['macs']:,} | "
                     f"{r['instructions_per_mac']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", action="store_true",
                        help="also print executed instructions by class per MAC")
    args = parser.parse_args(argv)
    rows = measure(args.seed)
    print(table(rows + network_rows(rows)))
    if args.classes:
        print()
        for r in rows:
            per_mac = ", ".join(f"{k} {v / r['macs']:.3f}" for k, v in
                                sorted(r["classes"].items(), key=lambda kv: -kv[1]))
            print(f"{r['target']} {r['layer']}: {per_mac}")
    print(f"\nall outputs bit-exact with the TFLite int8 reference; gcc "
          f"{rows[0]['compiler']}; emulation {sum(r['seconds'] for r in rows):.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
