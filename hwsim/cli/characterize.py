"""`hwsim characterize`: fit the int8 (or, with --style lut / ops, the lut or ops) kernel library's
executed instruction counts on one target as exact functions of the kernels' trip counts,
prove them on held-out shapes, and write the characterization data (the cost model's
hwsim/cost/data/<style>_<target>.json). Every run's output is checked against a reference:
TFLite's integer arithmetic for int8, the lut layer in numpy for lut."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hwsim.cli.commands import HELP
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KERNEL_NAMES


def add_parser(subparsers) -> None:
    from hwsim.machine.characterize import CHARACTERIZED_TARGETS
    from hwsim.machine.lut_characterize import CHARACTERIZED_TARGETS as LUT_TARGETS
    parser = subparsers.add_parser(
        "characterize", help=HELP["characterize"],
        description="Compile the int8 kernel library for a target with the pinned toolchain "
                    "flags, run each kernel in the emulator on a designed set of shapes, fit "
                    "its executed actions exactly and prove the fit on held-out shapes "
                    "(docs/int8-kernels.md). Exit 0 when every kernel is exact; 2 when one "
                    "is not (the error names the kernel, the action and the shape) or for "
                    "usage errors.")
    from hwsim.machine.soft_float_characterize import TARGETS as SOFT_FLOAT_TARGETS
    from hwsim.machine.soft_multiply_characterize import TARGETS as SOFT_MULTIPLY_TARGETS
    parser.add_argument("--target", required=True,
                        choices=sorted(set(CHARACTERIZED_TARGETS) | set(LUT_TARGETS)
                                       | set(SOFT_FLOAT_TARGETS)
                                       | set(SOFT_MULTIPLY_TARGETS)))
    parser.add_argument("--style", default="int8", choices=("int8", "lut", "lut_grouped", "ops"),
                        help="the kernel library: int8 (default), lut, lut_grouped (the "
                             "grouped lut dense and convolution kernels, one record per K, g "
                             "and kernel) or ops (pools, "
                             "argmax and the lut residual add of both styles)")
    parser.add_argument("--kernels", default="",
                        help=f"comma-separated subset of {', '.join(KERNEL_NAMES)} (int8) or "
                             "of conv_s8, ..., depthwise_s16i (lut) or of grouped_k4_g2, ..., "
                             "grouped_k16_g2, grouped_conv_k4_g2, ... (lut_grouped); default all")
    parser.add_argument("--soft-float", action="store_true",
                        help="characterize libgcc's soft-float routines instead (the cost "
                             "model's hwsim/cost/data/soft_float_<target>.json)")
    parser.add_argument("--soft-multiply", action="store_true",
                        help="characterize libgcc's integer multiply routines (__mulsi3, "
                             "__muldi3) on a target without a multiplier instead (the cost "
                             "model's hwsim/cost/data/soft_multiply_<target>.json)")
    parser.add_argument("--code-size", action="store_true",
                        help="measure the machine-code bytes of the libraries' functions, the "
                             "start-up code, libgcc and the generated node functions from "
                             "builds of generated programs instead (the memory planner's "
                             "hwsim/memory/data/code_<target>.json)")
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
    from hwsim.machine.int8_node_call import with_node_call
    from hwsim.machine.lut_characterize import CHARACTERIZED_TARGETS as LUT_TARGETS
    from hwsim.machine.lut_characterize import FUNCTIONS, characterize_lut
    if args.soft_float:
        from hwsim.machine import soft_float_characterize as soft
        with tempfile.TemporaryDirectory() as tmp:
            return _write(soft.dumps(soft.characterize(args.target, tmp)), args.out)
    if args.code_size:
        from hwsim.machine import code_size
        if args.target not in code_size.TARGETS:
            raise HwsimError(f"--target {args.target}: --code-size covers "
                             f"{', '.join(code_size.TARGETS)}")
        return _write(code_size.dumps(code_size.code_size_data(args.target)), args.out)
    if args.soft_multiply:
        from hwsim.machine import soft_multiply_characterize as multiply
        with tempfile.TemporaryDirectory() as tmp:
            return _write(multiply.dumps(multiply.characterize(args.target, tmp)), args.out)
    from hwsim.ir.ops_kernels import FUNCTIONS as OPS_FUNCTIONS
    from hwsim.machine.lut_grouped_characterize import FUNCTIONS as GROUPED
    from hwsim.machine.lut_grouped_characterize import characterize_grouped
    from hwsim.machine.ops_characterize import characterize_ops
    targets = CHARACTERIZED_TARGETS if args.style == "int8" else LUT_TARGETS
    if args.target not in targets:
        raise HwsimError(f"--target {args.target}: the {args.style} kernel library is "
                         f"characterized on {', '.join(targets)} (--soft-float covers it)")
    names = {"lut": FUNCTIONS, "lut_grouped": GROUPED, "ops": OPS_FUNCTIONS}.get(
        args.style, KERNEL_NAMES)
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()] or list(names)
    unknown = [k for k in kernels if k not in names]
    if unknown:
        raise HwsimError(f"--kernels: unknown {', '.join(unknown)}; one of {', '.join(names)}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.style == "ops":
            text = dumps(characterize_ops(args.target, tmp, tuple(kernels)))
        elif args.style == "lut":
            text = dumps(characterize_lut(args.target, tmp, tuple(kernels)))
        elif args.style == "lut_grouped":
            text = dumps(characterize_grouped(args.target, tmp, tuple(kernels)))
        else:
            text = dumps(with_node_call(characterize(args.target, tmp, tuple(kernels),
                                                     check=_reference_check), tmp))
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
