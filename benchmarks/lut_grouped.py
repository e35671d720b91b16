"""Grouped lookups (issue 12) against the ungrouped lut kernel library and the int8
kernels: cycles per connection (per MAC for int8) of a 256 x 128 dense layer, emulated
in each kernel's test firmware and priced with each device's cycle table, the parameter
reads (tables, weight codes, bias, thresholds: flash in a deployment) charged the
device's flash wait. lut: L = 16 levels, K = 4 clusters, 16-bit entries, fused threshold;
grouped g = 4 with every group table live (32 KiB of scratch) and in chunks of 4 tables
(2 KiB); int8: the library's fully_connected kernel. Every output is checked against its
reference (the lut numpy reference; TFLite's int8 arithmetic). Last, the same layer as a
generated network (8-bit entries, random weights) with the kernel the cost model chooses
for the device (hwsim/cost/lut_choice.py: g and chunk within the device's SRAM), emulated
and bit-exact as `hwsim validate` checks it, beside the cost model's figure. Then the same
at L = 2 levels, where g = 4's group tables can be precomputed (8 KiB of flash,
hwsim/ir/lut_grouped_flash.py): built per inference against precomputed.

    python benchmarks/lut_grouped.py [--devices samd21,nrf52840,stm32u575,esp32-c3] [--conv]

Last, a conv2d 16x16x16 -> 32, 3x3, 'same' (`conv_table`): the ungrouped library, the
grouped convolution (hwsim/machine/kernels/lut/lut_grouped_conv.c) for g = 2, 3, 4, the
int8 conv kernel and the generated layer as chosen, per connection.

Prints the three markdown tables of docs/lut-kernels.md ("Grouped lookups");
tests/test_lut_grouped.py checks the docs hold what this prints.
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from hwsim.cost.prices import action_prices
from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.ir.int8_kernels import KernelCall
from hwsim.ir.lut_kernels import lut_call_of_shape
from hwsim.machine.codegen.targets import target_for_device
from hwsim.machine.kernels.cases import dense_case
from hwsim.machine.kernels.harness import build_firmware, kernel_cycles, run_case
from hwsim.machine.lut_bound import connection_cycles
from hwsim.machine.kernels.lut_grouped_harness import (build_grouped_firmware, grouped_case,
                                                       run_grouped_case)
from hwsim.machine.kernels.lut_harness import (build_lut_firmware, random_case,
                                               reference_output, run_lut_case)
from hwsim.specs.catalog import find_device

DEVICES = ("samd21", "nrf52840", "stm32u575", "esp32-c3")
INPUTS, UNITS, LEVELS, CLUSTERS, G = 256, 128, 16, 4, 4
FEW_LEVELS = 2                     # the precomputed tables' case
CHUNKS = (INPUTS // G, 4)          # every table live; 4 tables (2 KiB) live


def _cycles(run, device, connections: int) -> float:
    wait = action_prices(device)["flash_wait"].cycles
    return (kernel_cycles(run, device) + wait * run.parameter_reads) / connections


def _ungrouped(firmwares: dict, tmp: str, name: str, shape: KernelCall, seed: int,
               levels: int):
    """(device, its three test firmwares (built once per target), the lut case of
    `shape` (K = CLUSTERS, fused threshold), its reference output, the row with the
    ungrouped library's cycles per connection, the connections, the case's rng)."""
    from hwsim.ir.lut_kernels import connections
    device = find_device(name)
    target = target_for_device(device)
    if target.name not in firmwares:
        firmwares[target.name] = (build_lut_firmware(target, f"{tmp}/lut-{target.name}"),
                                  build_grouped_firmware(target, f"{tmp}/g-{target.name}"),
                                  build_firmware(target, f"{tmp}/int8-{target.name}"))
    rng = np.random.default_rng(seed)
    call = lut_call_of_shape("conv", shape, 16, CLUSTERS, target.name, 4, True)
    case = random_case(call, rng, levels, CLUSTERS)
    expected = reference_output(case)
    run = run_lut_case(firmwares[target.name][0], case)
    if not np.array_equal(run.output, expected):
        raise SystemExit(f"{name}: the lut library differs from the reference")
    n = connections(call)
    row = {"device": name, "target": target.name, "ungrouped": _cycles(run, device, n)}
    return device, firmwares[target.name], case, expected, row, n, rng


def measure(devices=DEVICES, seed: int = 0, levels: int = LEVELS) -> list[dict]:
    """Per device: the ungrouped library, the grouped kernel (each chunk of CHUNKS; at
    FEW_LEVELS also precomputed), int8 and the generated layer as chosen."""
    rows, firmwares = [], {}
    shape = KernelCall("fully_connected", 1, 1, INPUTS, 1, 1, UNITS)
    with tempfile.TemporaryDirectory(prefix="hwsim-lut-grouped-") as tmp:
        for name in devices:
            device, (_, grouped_fw, int8_fw), case, expected, row, connections, rng = (
                _ungrouped(firmwares, tmp, name, shape, seed, levels))
            for chunk in CHUNKS:
                gc = grouped_case(case, CLUSTERS, G, chunk)
                run = run_grouped_case(grouped_fw, gc)
                if not np.array_equal(run.output, expected):
                    raise SystemExit(f"{name}: the grouped kernel differs from the reference")
                row[f"grouped[{chunk}]"] = _cycles(run, device, connections)
                row[f"scratch[{chunk}]"] = gc.layout.scratch_bytes
            if levels == FEW_LEVELS:
                run = run_grouped_case(grouped_fw, grouped_case(case, CLUSTERS, G, CHUNKS[0],
                                                                precomputed=True))
                if not np.array_equal(run.output, expected):
                    raise SystemExit(f"{name}: the precomputed kernel differs from the reference")
                row["precomputed"] = _cycles(run, device, connections)
            int8 = dense_case(rng, batches=1, in_features=INPUTS, out_features=UNITS)
            run = run_case(int8_fw, int8)
            if not np.array_equal(run.output, REFERENCES[int8.op](**int8.reference_arguments)):
                raise SystemExit(f"{name}: the int8 kernel differs from the reference")
            row["int8"] = _cycles(run, device, int8.macs)
            chosen = connection_cycles(device, INPUTS, UNITS, levels, CLUSTERS, 8,
                                       f"{tmp}/net-{name}", lut_grouping="auto")
            row["chosen"] = (chosen.kernel, chosen.generated_cycles, chosen.estimated_cycles)
            rows.append(row)
    return rows


def table(devices=DEVICES) -> list[str]:
    all_live, chunked = CHUNKS
    lines = ["| device | target | ungrouped lut | grouped g=4, all tables live | "
             "grouped g=4, 2 KiB of tables live | ungrouped / grouped | int8 (cycles/MAC) "
             "| int8 / grouped | generated, chosen per layer: kernel, emulated, cost model |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in measure(devices):
        best = r[f"grouped[{all_live}]"]
        lines.append(f"| {r['device']} | {r['target']} | {r['ungrouped']:.2f} | {best:.2f} | "
                     f"{r[f'grouped[{chunked}]']:.2f} | {r['ungrouped'] / best:.2f}x | "
                     f"{r['int8']:.2f} | {r['int8'] / best:.2f}x | {r['chosen'][0]}: "
                     f"{r['chosen'][1]:.2f}, {r['chosen'][2]:.2f} |")
    return lines


def precomputed_table(devices=DEVICES) -> list[str]:
    """At FEW_LEVELS: the grouped kernel's tables built against precomputed."""
    lines = [f"| device | target | ungrouped lut | grouped g=4, built | grouped g=4, "
             "precomputed | ungrouped / precomputed | int8 (cycles/MAC) | int8 / precomputed "
             "| generated, chosen per layer: kernel, emulated, cost model |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in measure(devices, levels=FEW_LEVELS):
        best = r["precomputed"]
        lines.append(f"| {r['device']} | {r['target']} | {r['ungrouped']:.2f} | "
                     f"{r[f'grouped[{CHUNKS[0]}]']:.2f} | {best:.2f} | "
                     f"{r['ungrouped'] / best:.2f}x | {r['int8']:.2f} | {r['int8'] / best:.2f}x"
                     f" | {r['chosen'][0]}: {r['chosen'][1]:.2f}, {r['chosen'][2]:.2f} |")
    return lines


CONV_SHAPE, CONV_FILTERS, CONV_KERNEL = (16, 16, 16), 32, 3     # 'same', stride 1
CONV_GROUPS = (2, 3, 4)


def conv_measure(devices=DEVICES, seed: int = 0) -> list[dict]:
    """Per device, a conv2d 16x16x16 -> 32, 3x3, 'same' (L = 16, K = 4, 16-bit entries,
    fused threshold): the ungrouped library, the grouped convolution for each g (its
    scratch), the int8 conv kernel, all per connection (unpadded taps x units, for int8
    too), and the generated layer as the cost model chooses it (8-bit entries)."""
    from hwsim.ir.int8_kernels import select_kernel
    from hwsim.ir.layers import Conv2D
    from hwsim.machine.kernels.cases import conv_case
    from hwsim.machine.kernels.lut_grouped_harness import grouped_conv_case
    from hwsim.machine.lut_bound import conv_workload, workload_connection_cycles
    rows, firmwares = [], {}
    c = CONV_SHAPE[2]
    shape = select_kernel("conv2d", CONV_SHAPE, Conv2D(c, CONV_FILTERS, CONV_KERNEL,
                                                       CONV_KERNEL, 1, 1, "same"))
    with tempfile.TemporaryDirectory(prefix="hwsim-lut-grouped-conv-") as tmp:
        for name in devices:
            device, (_, grouped_fw, int8_fw), case, expected, row, n, rng = _ungrouped(
                firmwares, tmp, name, shape, seed, LEVELS)
            for g in CONV_GROUPS:
                gc = grouped_conv_case(case, CLUSTERS, g)
                run = run_grouped_case(grouped_fw, gc)
                if not np.array_equal(run.output, expected):
                    raise SystemExit(f"{name}: the grouped convolution differs from the "
                                     "reference")
                row[f"g{g}"] = _cycles(run, device, n)
                row[f"scratch{g}"] = gc.call.scratch_bytes
            int8 = conv_case("conv", rng, CONV_SHAPE, CONV_FILTERS, (CONV_KERNEL,) * 2)
            run = run_case(int8_fw, int8)
            if not np.array_equal(run.output, REFERENCES[int8.op](**int8.reference_arguments)):
                raise SystemExit(f"{name}: the int8 kernel differs from the reference")
            row["int8"] = _cycles(run, device, n)
            workload = conv_workload(CONV_SHAPE, CONV_FILTERS, CONV_KERNEL, "same", LEVELS,
                                     CLUSTERS, 8)
            chosen = workload_connection_cycles(device, workload, n, 8, f"{tmp}/net-{name}",
                                                lut_grouping="auto")
            row["chosen"] = (chosen.kernel, chosen.generated_cycles, chosen.estimated_cycles)
            rows.append(row)
    return rows


def conv_table(devices=DEVICES) -> list[str]:
    """The convolution's table (docs/lut-kernels.md, "Grouped convolutions")."""
    lines = ["| device | target | ungrouped lut | grouped g=2 | grouped g=3 | grouped g=4 | "
             "ungrouped / g=4 | int8 | int8 / g=4 | generated, chosen per layer: kernel, "
             "emulated, cost model |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in conv_measure(devices):
        lines.append(f"| {r['device']} | {r['target']} | {r['ungrouped']:.2f} | "
                     + " | ".join(f"{r[f'g{g}']:.2f}" for g in CONV_GROUPS)
                     + f" | {r['ungrouped'] / r['g4']:.2f}x | {r['int8']:.2f} | "
                     f"{r['int8'] / r['g4']:.2f}x | {r['chosen'][0]}: {r['chosen'][1]:.2f}, "
                     f"{r['chosen'][2]:.2f} |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--conv", action="store_true", help="the convolution's table only")
    args = parser.parse_args()
    devices = tuple(args.devices.split(","))
    if not args.conv:
        print("\n".join(table(devices)))
        print()
        print("\n".join(precomputed_table(devices)))
        print()
    print("\n".join(conv_table(devices)))
