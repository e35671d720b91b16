"""`hwsim characterize`: fit the int8 kernel library's executed instruction counts on one
target as exact functions of the kernels' trip counts, prove them on held-out shapes,
and write the characterization data (the cost model's hwsim/cost/data/int8_<target>.json).
Every run's output bytes are checked against TFLite's reference integer arithmetic."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hwsim.cli.commands import HELP
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KERNEL_NAMES


def add_parser(subparsers) -> None:
    from hwsim.machine.characterize import CHARACTERIZED_TARGETS
    parser = subparsers.add_parser(
        "characterize", help=HELP["characterize"],
        description="Compile the int8 kernel library for a target with the pinned toolchain "
                    "flags, run each kernel in the emulator on a designed set of shapes, fit "
                    "its executed actions exactly and prove the fit on held-out shapes "
                    "(docs/int8-kernels.md). Exit 0 when every kernel is exact; 2 when one "
                    "is not (the error names the kernel, the action and the shape) or for "
                    "usage errors.")
    from hwsim.machine.soft_float_characterize import TARGETS as SOFT_FLOAT_TARGETS
    parser.add_argument("--target", required=True,
                        choices=sorted(set(CHARACTERIZED_TARGETS) | set(SOFT_FLOAT_TARGETS)))
    parser.add_argument("--kernels", default=",".join(KERNEL_NAMES),
                        help=f"comma-separated subset of {', '.join(KERNEL_NAMES)}")
    parser.add_argument("--soft-float", action="store_true",
                        help="characterize libgcc's soft-float routines instead (the cost "
                             "model's hwsim/cost/data/soft_float_<target>.json)")
    parser.add_argument("--out", metavar="FILE.json",
                        help="write the data here (default: print it)")
    parser.set_defaults(run=run)


def _reference_check(case, output) -> None:
    import numpy as np
    from hwsim.importers.int8_kernel_reference import REFERENCES
    if not np.array_equal(output, REFERENCES[case.op](**case.reference_arguments)):
        raise HwsimError(f"{case.describe()}: output differs from TFLite's reference arithmetic")


def run(args: argparse.Namespace) -> int:
    from hwsim.machine.characterize import CHARACTERIZED_TARGETS, characterize, dumps
    if args.soft_float:
        from hwsim.machine import soft_float_characterize as soft
        with tempfile.TemporaryDirectory() as tmp:
            return _write(soft.dumps(soft.characterize(args.target, tmp)), args.out)
    if args.target not in CHARACTERIZED_TARGETS:
        raise HwsimError(f"--target {args.target}: the int8 kernel library is characterized "
                         f"on {', '.join(CHARACTERIZED_TARGETS)} (--soft-float covers it)")
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    unknown = [k for k in kernels if k not in KERNEL_NAMES]
    if unknown or not kernels:
        raise HwsimError(f"--kernels: unknown {', '.join(unknown) or '(none given)'}; one of "
                         f"{', '.join(KERNEL_NAMES)}")
    with tempfile.TemporaryDirectory() as tmp:
        text = dumps(characterize(args.target, tmp, tuple(kernels), check=_reference_check))
    return _write(text, args.out)


def _write(text: str, out: str | None) -> int:
    if out:
        out = Path(out)
        partial = out.with_name(out.name + ".partial")
        partial.write_text(text)
        partial.replace(out)
        print(f"wrote {out}")
    else:
        print(text, end="")
    return 0
