"""The ops kernel library (pools, argmax, the lut residual add; docs/ops-kernels.md)
against the per-node loops it replaced, on the held-out networks (hwsim.machine.heldout):
the emulated cycles of the nodes it runs (an add's fused threshold included) and of the
whole networks, both codes generated, built and emulated, priced with each device.

    python benchmarks/ops_library.py [--devices samd21,nrf52840,esp32-c3] [--count 20]

The library takes its shapes at run time and selects without branches, so its counts are
exact functions of the shape (the cost model prices it exactly); the per-node loops are
constant-shaped and unroll small windows.
"""
from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from hwsim.ir.graph import graph_from_workload
from hwsim.ir.ops_kernels import node_ops_call
from hwsim.machine.codegen import generate
from hwsim.machine.emulate import emulate
from hwsim.machine.emulate_price import price
from hwsim.machine.heldout import heldout_workloads
from hwsim.machine.validate import generated_kernels, program_inputs, resolve_target
from hwsim.machine.toolchain import build_program
from hwsim.errors import HwsimError
from hwsim.machine.validate import codegen_options
from hwsim.specs.catalog import find_device


def _node_of(g, node: str) -> str:
    """An add's fused threshold counts for the add."""
    preds = list(g.predecessors(node))
    if g.nodes[node]["op"].kind == "threshold" and preds and \
            g.nodes[preds[0]]["op"].kind == "add":
        return preds[0]
    return node


def cycles(g, device, style: str, x, ops: str, directory: Path) -> dict[str, float]:
    """Emulated cycles per graph node and "network" of the code generated with `ops`."""
    target = resolve_target(device)
    kernels, choice, lut, _ = generated_kernels(g, device, style, target, codegen_options())
    program = generate(g, target, style, target.memory_map(device), int8_kernels=kernels,
                       int8_choice=choice, lut_kernels=lut, ops_kernels=ops)
    run = emulate(build_program(program, directory), program_inputs(g, style, x))
    cost = price(run.profile, device)
    out = {"network": cost.total_cycles}
    for node, c in cost.nodes.items():
        if node in g.nodes:
            key = _node_of(g, node)
            out[key] = out.get(key, 0.0) + c.cycles
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default="samd21,nrf52840,esp32-c3")
    p.add_argument("--styles", default="lut,int8")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    workloads = heldout_workloads(a.seed, a.count)
    with tempfile.TemporaryDirectory(prefix="hwsim-ops-") as tmp:
        for i, w in enumerate(workloads):
            g = graph_from_workload(w, seed=a.seed + i)
            x = np.random.default_rng(a.seed + i).integers(0, w.input_levels,
                                                           size=(2, *w.input_shape))
            for style in a.styles.split(","):
                for name in a.devices.split(","):
                    device = find_device(name)
                    try:
                        runs = [cycles(g, device, style, x, ops, Path(tmp) / f"{i}-{style}-"
                                       f"{name}-{ops}") for ops in ("library", "loops")]
                    except HwsimError:
                        continue                      # does not fit the device
                    for node in runs[0]:
                        if node == "network" or node_ops_call(g, node, style) is not None:
                            kind = ("network" if node == "network" else
                                    g.nodes[node]["op"].kind.replace("1d", "").replace("2d", ""))
                            for k, run in enumerate(runs):
                                totals[(style, name, kind)][k] += run.get(node, 0.0)
    print(f"{a.count} held-out networks (seed {a.seed}): emulated cycles, ops library vs "
          "per-node loops")
    print(f"{'style':5}  {'device':10} {'nodes':9} {'library':>11} {'loops':>11}  ratio")
    for (style, name, kind), (library, loops) in sorted(totals.items()):
        print(f"{style:5}  {name:10} {kind:9} {library:11,.0f} {loops:11,.0f}  "
              f"{library / loops:5.2f}")


if __name__ == "__main__":
    main()
