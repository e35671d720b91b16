"""`hwsim codegen`: an artifact as freestanding C for a Cortex-M or RV32 core, and
optionally its build and machine-code proof."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.commands import HELP
from hwsim.io import check_output_directory
from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device
from hwsim.cli.format import human_bytes, table
from hwsim.machine.codegen import STYLES, TARGETS, find_target, generate, write_program
from hwsim.ir.graph import graph_from_artifact


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "codegen", help=HELP["codegen"],
        description="Generate freestanding C for a trained artifact: one function per graph "
                    "node, network_run, the constant tables, an emulation harness and a linker "
                    "script. With --build, compile and link it with the Debian cross compiler "
                    "and list the multiply instructions and helper calls of every function "
                    "(none for the lut style).")
    parser.add_argument("artifact", metavar="ARTIFACT", help="artifact directory")
    parser.add_argument("--target", required=True, choices=tuple(TARGETS),
                        help="instruction set: cortex-m0, cortex-m4, rv32i, rv32im")
    parser.add_argument("--style", choices=STYLES, default="lut",
                        help="lut (the paper's method) or int8 (multiply-accumulate baseline)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--device", metavar="NAME|PATH",
                        help="size the memory map from this device (default: 1 MiB flash, "
                             "256 KiB RAM); int8: each weighted layer runs the kernel the "
                             "cost model chooses for it (without: the int8 library's "
                             "preferred kernels)")
    parser.add_argument("--build", action="store_true",
                        help="compile, link (DIR/network.elf) and prove the machine code")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output_directory(args.out)
    target = find_target(args.target)
    device = find_device(args.device) if args.device else None
    graph = graph_from_artifact(load_artifact(args.artifact))
    kernels, choice, lut = "optimized", None, "library"
    if device is not None:
        from hwsim.machine.validate import codegen_options, generated_kernels
        kernels, choice, lut, _ = generated_kernels(graph, device, args.style, target,
                                                    codegen_options())
    program = generate(graph, target, args.style, target.memory_map(device),
                       int8_kernels=kernels, int8_choice=choice, lut_kernels=lut,
                       lut_grouped=choice if args.style == "lut" and choice else ())
    proof = None
    if args.build:
        from hwsim.machine.disasm import prove
        from hwsim.machine.toolchain import build_program
        build = build_program(program, args.out)
        proof = prove(build.elf_path, target, args.style, program.node_of_function)
    else:
        write_program(program, args.out)
    if args.json:
        data = {"name": program.name, "target": target.name, "style": program.style,
                "out": args.out, "files": sorted(program.files),
                "memory_map": program.memory_map.source, "arena_bytes": program.arena_bytes,
                "constant_bytes": program.constant_bytes,
                "functions": [{"node": f.node, "op": f.op, "function": f.function,
                               "caller": f.caller} for f in program.functions if f.function],
                "machine_code": proof.to_dict() if proof else None}
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        print(render(program, args.out, proof))
    return 1 if proof is not None and args.style == "lut" and not proof.multiply_free else 0


def render(program, out: str, proof) -> str:
    lines = [f"{program.name}: {program.style} style for {program.target.name} -> {out}/",
             f"  files: {', '.join(sorted(program.files))}",
             (f"  constants (flash) {human_bytes(program.constant_bytes)}, arena (RAM) "
              f"{human_bytes(program.arena_bytes)}; memory map: {program.memory_map.source}")]
    rows = [[f.node, f.op, f.function, f.caller] for f in program.functions if f.function]
    lines.append(table(["node", "op", "function", "called from"], rows))
    if proof is not None:
        lines.append(f"  ELF architecture {proof.architecture} (target {proof.expected_architecture})")
        rows = [[f.function, f.instructions, len(f.multiplies), len(f.helper_calls),
                 "; ".join((*f.multiplies[:2], *f.helper_calls[:2]))]
                for f in proof.functions if f.node or not f.clean]
        lines.append(table(["function", "instructions", "multiplies", "helper calls",
                            "first ones"], rows))
        verdict = ("no multiply, divide, helper call or float instruction anywhere"
                   if proof.multiply_free else
                   f"{proof.multiplies} multiply instruction(s), {proof.helper_calls} helper "
                   "call(s)")
        lines.append(f"  machine code: {verdict}")
    return "\n".join(lines)
