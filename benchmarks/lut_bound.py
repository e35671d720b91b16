"""The generated lut dense kernel against the instruction set's bound per connection
(hwsim.machine.lut_bound): index load + table-entry load + add, priced with each
device's cycle table, beside the emulated cycles per connection of a 256 x 128 dense
layer (K = 16, L = 16, 16-bit entries, tables and indices in flash as generated), run by
the lut kernel library with byte weight codes (the codes the bound loads; packed codes
and their bound: benchmarks/lut_packed.py) and by the per-layer loops it emitted before.

    python benchmarks/lut_bound.py [--devices samd21,nrf52840,stm32u575,esp32-c3]

Prints the markdown table of docs/cost-model.md and docs/lut-kernels.md ("How far the lut
kernel is from the bound"); tests/test_lut_bound.py checks the docs hold what this prints.
"""
from __future__ import annotations

import argparse

from hwsim.machine.lut_bound import connection_cycles
from hwsim.specs.catalog import find_device

DEVICES = ("samd21", "nrf52840", "stm32u575", "esp32-c3")


def table(devices=DEVICES) -> list[str]:
    lines = ["| device | target | bound, cycles/connection | lut library (emulated) "
             "| cost model | library / bound | per-layer loops (emulated) | loops / bound |",
             "|---|---|---|---|---|---|---|---|"]
    for name in devices:
        device = find_device(name)
        c = connection_cycles(device, weight_indices="aligned")
        loops = connection_cycles(device, lut_kernels="loops")
        lines.append(f"| {c.device} | {c.target} | {c.bound_cycles:.2f} | "
                     f"{c.generated_cycles:.2f} | {c.estimated_cycles:.2f} | {c.ratio:.2f}x | "
                     f"{loops.generated_cycles:.2f} | {loops.ratio:.2f}x |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(DEVICES))
    a = p.parse_args()
    print("\n".join(table(tuple(a.devices.split(",")))))


if __name__ == "__main__":
    main()
