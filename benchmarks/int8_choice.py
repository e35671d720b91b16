"""The per-layer int8 kernel choice (int8_kernels "optimized", hwsim.cost.int8_choice)
against the library's preferred kernel everywhere ("library") and the plain generated C
loops everywhere ("reference"), on the held-out networks (hwsim.machine.heldout, seed
0): per network the emulated cycles of the generated code and the cost model's error in
each mode, and the totals.

    python benchmarks/int8_choice.py [--device nrf52840] [--count 20] [--seed 0]

"optimized" picks per layer the fastest characterized library kernel (CMSIS-NN class or
the direct scalar conv_scalar); the emulation shows whether the code really is faster
than the fixed library rule and than the plain loops (priced by formulas), and what
each costs the estimate (docs/validation.md, "Held-out checks").
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from hwsim.ir.graph import graph_from_workload
from hwsim.machine.heldout import heldout_workloads
from hwsim.machine.validate import codegen_options, validate_graph
from hwsim.specs.catalog import find_device

MODES = ("optimized", "library", "reference")


def rows(device_name: str, count: int, seed: int) -> list[dict]:
    device = find_device(device_name)
    out = []
    for i, workload in enumerate(heldout_workloads(seed, count)):
        g = graph_from_workload(workload, seed=seed + i)
        rng = np.random.default_rng(seed + i)
        x = rng.integers(0, workload.input_levels, size=(2, *workload.input_shape))
        row = {"network": workload.name}
        for mode in MODES:
            options = replace(codegen_options(), int8_kernels=mode)
            [report] = validate_graph(g, [device], "int8", x, options=options,
                                      check_instructions=False)
            assert report.bit_exact, report.mismatch
            row[mode] = (report.emulated_cycles, report.error)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="nrf52840")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = rows(args.device, args.count, args.seed)
    print(f"int8 on {args.device}, {args.count} held-out networks (seed {args.seed})")
    print("| network | " + " | ".join(f"{m}: emulated cycles | error" for m in MODES) + " |")
    print("|---" * (1 + 2 * len(MODES)) + "|")
    for r in table:
        cells = " | ".join(f"{r[m][0]:,.0f} | {100 * r[m][1]:+.1f}%" for m in MODES)
        print(f"| {r['network']} | {cells} |")
    total = {m: sum(r[m][0] for r in table) for m in MODES}
    within = {m: sum(abs(r[m][1]) <= 0.02 for r in table) for m in MODES}
    print("\ntotal emulated cycles: " + ", ".join(
        f"{m} {total[m]:,.0f} ({total[m] / total['library']:.2f}x library)" for m in MODES))
    for other in MODES[1:]:
        faster = sum(r["optimized"][0] <= r[other][0] for r in table)
        print(f"optimized no slower than {other} on {faster} of {len(table)} networks")
    print("estimate within 2%: " + ", ".join(f"{m} {within[m]}" for m in MODES)
          + f" of {len(table)} networks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
