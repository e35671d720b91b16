"""Behaviour check: `hwsim report` on the bundled defaults, in a scratch directory with
an empty cache, through the installed console script, must write a summary.json whose
sha256 equals the stored fingerprint (benchmarks/summary_fingerprint.json). A change
that moves any number, name or field of the main job's output fails it; a deliberate
change updates the fingerprint with --update and says why in its commit.

    python benchmarks/summary_fingerprint.py [--update]

Training is float arithmetic: another numpy/BLAS build may move the last bits, so this
is a script for one machine kind, not a unit test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FINGERPRINT = Path(__file__).with_name("summary_fingerprint.json")


def summary_sha256() -> str:
    script = Path(sys.executable).parent / "hwsim"
    env = {k: v for k, v in os.environ.items() if k != "HWSIM_CACHE"}
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([str(script), "report", "--out", "out", "--cache", "cache"], cwd=scratch,
                       check=True, env=env, stdout=subprocess.DEVNULL)
        return hashlib.sha256((Path(scratch) / "out" / "summary.json").read_bytes()).hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="store the new fingerprint")
    args = parser.parse_args(argv)
    stored = json.loads(FINGERPRINT.read_text())
    got = summary_sha256()
    print(f"summary.json sha256 {got}")
    print(f"stored fingerprint  {stored['sha256']}")
    if args.update:
        FINGERPRINT.write_text(json.dumps({**stored, "sha256": got}, indent=1) + "\n")
        print("fingerprint updated")
        return 0
    same = got == stored["sha256"]
    print("byte-identical: " + ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
