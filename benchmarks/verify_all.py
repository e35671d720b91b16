"""Verify every bundled workload that has a dataset: train it with its defaults,
save and reload the artifact, and run `verify` on the test and train splits.
Target: 100% bit-exact.

    python benchmarks/verify_all.py [--workloads digits-mlp,...] [--keep DIR]

One row per workload and split: samples, nodes and values compared against the
trainer's integer pass, the task metric of the integer and the float-simulated
networks, their agreement, and the executor's actions per inference.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.specs.bundled import bundled_dir
from hwsim.specs.yaml_reader import read_yaml
from hwsim.train.pipeline import run_training
from hwsim.execute.verify import verify_artifact
from hwsim.specs.workload import load_workload


def bundled_with_data() -> list[str]:
    names = []
    for path in sorted(Path(bundled_dir("workloads")).glob("*.yaml")):
        if read_yaml(path).get("dataset") not in (None, "none"):
            names.append(path.stem)
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", help="comma-separated names (default: every bundled "
                                            "workload with a dataset)")
    parser.add_argument("--keep", metavar="DIR", help="keep the artifacts in DIR")
    args = parser.parse_args(argv)
    names = args.workloads.split(",") if args.workloads else bundled_with_data()
    header = (f"{'workload':<11} {'split':<5} {'samples':>7} {'nodes':>5} {'values':>10} "
              f"{'bit-exact':>9} {'metric':<8} {'integer':>9} {'float-sim':>9} {'agree':>7} "
              f"{'loads':>7} {'adds':>7} {'cmp':>5} {'max':>5} {'mul':>3} {'flop':>4} "
              f"{'train s':>7} {'verify s':>8}")
    print(header)
    print("-" * len(header))
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.keep or scratch)
        for name in names:
            workload = load_workload(name)
            started = time.perf_counter()
            result = run_training(workload)
            trained = time.perf_counter() - started
            artifact = load_artifact(save_artifact(result, root / name))
            for split in ("test", "train"):
                started = time.perf_counter()
                r = verify_artifact(artifact, split=split)
                seconds = time.perf_counter() - started
                failures += not r.bit_exact
                c, p = r.comparison, r.per_inference
                fmt = (lambda v: f"{100 * v:.2f}%") if c.metric == "accuracy" else (
                    lambda v: f"{v:.5f}")
                print(f"{name:<11} {split:<5} {r.samples:>7} {r.nodes_compared:>5} "
                      f"{r.values_compared:>10,} {'yes' if r.bit_exact else 'NO':>9} "
                      f"{c.metric:<8} {fmt(c.integer):>9} {fmt(c.float_simulated):>9} "
                      f"{100 * c.agreement:>6.2f}% {p.loads:>7,} {p.adds:>7,} {p.compares:>5,} "
                      f"{p.max_ops:>5,} {p.multiplies:>3} {p.float_ops:>4} {trained:>7.1f} "
                      f"{seconds:>8.2f}", flush=True)
                if r.mismatch is not None:
                    print(f"  first mismatch: {r.mismatch}")
    print(f"{'all bit-exact' if not failures else f'{failures} split(s) NOT bit-exact'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
