"""The memory planner's code line against the generated programs' ELF code bytes.

    python benchmarks/code_size.py [--targets cortex-m0,...] [--networks digits-mlp,...]
                                   [--styles lut,int8,float32,lut_loops]

For every bundled workload (the code records are made from hwsim.machine.code_size.DESIGNED;
the others and --random workloads drawn as benchmarks/heldout_validation.py draws them are
held out), target and style (lut_loops: the lut style's per-layer loops,
`lut_kernels="loops"`): the ELF's code bytes (flash less constants),
the planner's measured code line and the typed-in estimate it replaced, with their
errors; then the worst error of each per style, designed and held out apart.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.machine.heldout import heldout_workloads
from hwsim.machine.code_size import DESIGNED, PROGRAMS, TARGETS, planner_check
from hwsim.specs.bundled import bundled_names
from hwsim.specs.workload import load_workload


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--networks", default="")
    parser.add_argument("--random", type=int, default=8,
                        help="also this many random held-out workloads "
                             "(hwsim.machine.heldout.heldout_workloads, seed --seed)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--styles", default=",".join(PROGRAMS))
    args = parser.parse_args(argv)
    names = [n for n in args.networks.split(",") if n] or bundled_names("workloads")
    graphs = [graph_from_workload(load_workload(name)) for name in names]
    graphs += [graph_from_workload(w) for w in heldout_workloads(args.seed, args.random)]
    rows = []
    print(f"{'network':16} {'target':10} {'style':9} {'ELF':>7} {'planner':>7} {'error':>7} "
          f"{'estimate':>8} {'error':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for g in graphs:
            name = str(g.graph.get("name"))
            for target in args.targets.split(","):
                for style in args.styles.split(","):
                    try:
                        row = planner_check(g, target, style, Path(tmp) / f"{name}-{target}-{style}")
                    except HwsimError:
                        continue                  # does not fit the target's memory map
                    row["error"] = row["planner_bytes"] / row["elf_bytes"] - 1
                    row["estimate_error"] = row["estimate_bytes"] / row["elf_bytes"] - 1
                    rows.append(row)
                    print(f"{name:16} {target:10} {style:9} {row['elf_bytes']:7d} "
                          f"{row['planner_bytes']:7d} {row['error']:+7.1%} "
                          f"{row['estimate_bytes']:8d} {row['estimate_error']:+7.1%}", flush=True)
    for (label, held_out), style in [(h, s) for h in (("designed", False), ("held out", True))
                                     for s in (*PROGRAMS, "all")]:
        part = [r for r in rows if (r["network"] not in DESIGNED) == held_out
                and style in (r["style"], "all")]
        if part:
            worst = max(part, key=lambda r: abs(r["error"]))
            before = max(part, key=lambda r: abs(r["estimate_error"]))
            print(f"{label}, {style}: {len(part)} programs; planner worst {worst['error']:+.1%} "
                  f"({worst['network']}, {worst['target']}, {worst['style']}); "
                  f"estimate worst {before['estimate_error']:+.1%} ({before['network']}, "
                  f"{before['target']}, {before['style']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
