"""`hwsim validate`: the cost model's cycles per node against emulated machine code."""
from __future__ import annotations

import argparse
import math
import json
from pathlib import Path

from hwsim.cli.arguments import add_weight_indices
from hwsim.cli.commands import HELP
from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device
from hwsim.cli.format import table
from hwsim.machine.codegen import STYLES, TARGETS
from hwsim.errors import HwsimError
from hwsim.machine.validate import DEFAULT_SAMPLES, ValidationReport, validate
from hwsim.machine.validate_rtl import SOURCES, RtlValidationReport, validate_rtl
from hwsim.sweep.cache import default_cache_dir

MAX_SAMPLES = 100_000
REFERENCES = {"lut": "integer executor", "int8": "int8 reference",
              "float32": "float32 reference (hwsim.machine.codegen.float32_reference)"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate", help=HELP["validate"],
        description="Generate C for an artifact, build it for the device's instruction set, "
                    "run test inputs in an ISA emulator (unicorn), check the outputs bit for "
                    "bit, price the executed instructions with the device's cycle table and "
                    "compare them, node by node, with the cost model. With --rtl CORE, also run "
                    "the network on the Verilator model of an open RISC-V core and compare "
                    "both with its clocks (docs/rtl.md). Exit status 0: "
                    "bit-exact (and within --max-error when given); 1: a mismatch, a multiply "
                    "in lut machine code, or an error above --max-error; 2: a usage error.")
    parser.add_argument("artifact", metavar="ARTIFACT", help="artifact directory")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--device", metavar="NAME|PATH")
    where.add_argument("--rtl", metavar="CORE",
                       help="an RTL core configuration (e.g. ibex-rv32m-fast, picorv32; "
                            "docs/rtl.md), priced with its device file in devices/rtl/")
    parser.add_argument("--cache", metavar="DIR",
                        help="with --rtl: cache directory of the built simulators "
                             "(default: $HWSIM_CACHE or .hwsim-cache; they go in DIR/rtl)")
    parser.add_argument("--style", choices=STYLES, default="lut",
                        help="lut (the paper's method), int8 (multiply-accumulate baseline) or "
                             "float32 (soft-float; devices without an FPU)")
    parser.add_argument("--target", choices=("auto", *TARGETS), default="auto",
                        help="instruction set (default: the device's)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                        help=f"test inputs to emulate ({DEFAULT_SAMPLES})")
    parser.add_argument("--max-error", type=float, metavar="PCT",
                        help="fail (exit 1) when a node or the network is off by more than PCT %%")
    add_weight_indices(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.samples <= MAX_SAMPLES:
        raise HwsimError(f"--samples must be from 1 to {MAX_SAMPLES}, got {args.samples}")
    if args.max_error is not None and not (math.isfinite(args.max_error)
                                           and 0 <= args.max_error <= 100):
        raise HwsimError(f"--max-error must be a percentage from 0 to 100, got "
                         f"{args.max_error}")
    if args.rtl is not None:
        return run_rtl(args)
    if args.cache is not None:
        raise HwsimError("--cache is used with --rtl only")
    report = validate(load_artifact(args.artifact), find_device(args.device), args.style,
                      target=args.target, samples=args.samples,
                      weight_indices=args.weight_indices)
    print(json.dumps(report.to_dict(), indent=2, allow_nan=False) if args.json else render(report))
    failed = not report.bit_exact or (args.style == "lut" and not
                                      report.machine_code.multiply_free)
    if args.max_error is not None and not report.within(args.max_error / 100):
        failed = True
    return 1 if failed else 0


def run_rtl(args: argparse.Namespace) -> int:
    if args.target != "auto":
        raise HwsimError("--target cannot be combined with --rtl: the core's device file "
                         "decides the target")
    cache = Path(args.cache) if args.cache else default_cache_dir()
    report = validate_rtl(load_artifact(args.artifact), args.rtl, args.style,
                          cache_dir=cache / "rtl", samples=args.samples)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_rtl(report))
    failed = not report.outputs_equal or not report.emulation.bit_exact
    if args.max_error is not None:
        limit = args.max_error / 100
        failed |= (abs(report.estimate_error) > limit or report.max_row_estimate_error > limit)
    return 1 if failed else 0


def render_rtl(report: RtlValidationReport) -> str:
    lines = [(f"{report.workload}: {report.style} on RTL core {report.core} "
              f"({report.target} code, cycle table of device {report.device}), "
              f"{report.samples} test inputs, RTL simulated in {report.rtl_seconds:.2f} s")]
    rows = [[r.node, r.op, f"{r.estimated_cycles:,.0f}", f"{r.emulated_cycles:,.0f}",
             f"{r.rtl_clocks:,.0f}", _pct(r.estimate_error), _pct(r.emulation_error)]
            for r in report.rows]
    rows.append(["network", "", f"{report.estimated_cycles:,.0f}",
                 f"{report.emulated_cycles:,.0f}", f"{report.rtl_clocks:,.0f}",
                 _pct(report.estimate_error), _pct(report.emulation_error)])
    lines.append(table(["node", "op", "estimated", "emulated x table", "RTL clocks",
                        "estimate vs RTL", "emulation vs RTL"], rows))
    lines.append(f"  max |node error| vs RTL: estimate {100 * report.max_row_estimate_error:.2f}%, "
                 f"emulation x table {100 * report.max_row_emulation_error:.2f}%")
    exact = "yes" if report.outputs_equal else f"NO: {report.output_mismatch}"
    reference = REFERENCES[report.style]
    equal, exact_against = ((" outputs within tolerance of", "within tolerance of")
                            if report.style == "float32" else (" output bytes equal to",
                                                               "bit-exact against"))
    lines.append(f"  RTL{equal} the {reference}: {exact}")
    emulated = "yes" if report.emulation.bit_exact else f"NO: {report.emulation.mismatch}"
    lines.append(f"  emulation {exact_against} the {reference}: {emulated}")
    lines.append(f"  network_run on the RTL, node marks included: "
                 f"{report.network_run_clocks:,.0f} clocks")
    lines += [f"  {label}: {SOURCES[key]}" for label, key in
              (("estimated", "estimated_cycles"), ("emulated x table", "emulated_cycles"),
               ("RTL clocks", "rtl_clocks"))]
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def render(report: ValidationReport) -> str:
    lines = [(f"{report.workload}: {report.style} on {report.device} ({report.target}), "
              f"{report.samples} test inputs emulated in {report.emulation_seconds:.2f} s")]
    rows = [[n.node, n.op, f"{n.estimated_cycles:,.0f}", f"{n.emulated_cycles:,.0f}",
             _pct(n.error), n.basis + (f" ({n.kernel})" if n.kernel else "")]
            for n in report.nodes]
    if report.runtime_cycles:
        rows.append(["network_run", "schedule", "0", f"{report.runtime_cycles:,.0f}", "", ""])
    rows.append(["network", "", f"{report.estimated_cycles:,.0f}",
                 f"{report.emulated_cycles:,.0f}", _pct(report.error), ""])
    lines.append(table(["node", "op", "estimated", "emulated", "error", "estimate from"], rows))
    lines.append("  estimate from: 'characterized' = counts fitted exactly from the kernel "
                 "library's own machine code (hwsim characterize); 'formula' = counts written "
                 "from the generated code's shape")
    lines.append(f"  max |node error| {100 * report.max_node_error:.1f}%")
    exact = "yes" if report.bit_exact else f"NO: {report.mismatch}"
    lines.append(f"  {'outputs within tolerance of' if report.style == 'float32' else 'bit-exact against'}"
                 f" the {REFERENCES[report.style]}: {exact}")
    check = report.instruction_check
    if check is not None:
        it = f" (+{check.it_skipped} IT-skipped)" if check.it_skipped else ""
        lines.append(f"  block-hook vs per-instruction counts on sample 0: "
                     f"{'equal' if check.agrees else 'DIFFERENT'} ({check.block_total:,}"
                     f" vs {check.instruction_total:,}{it})")
    proof = report.machine_code
    verdict = ("no multiply, helper call or float instruction" if proof.multiply_free else
               f"{proof.multiplies} multiply instruction(s), {proof.helper_calls} helper call(s)")
    lines.append(f"  machine code ({proof.architecture}): {verdict}")
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)
