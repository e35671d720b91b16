"""Code generation: a deployed network (an op graph, hwsim/ir/graph.py) as freestanding
C for a Cortex-M or RV32 core, in the lut style (the paper's method), the int8
multiply-accumulate baseline or float32 (soft-float).

    program = generate(graph, "cortex-m0", "lut")      # pure: returns the sources
    write_program(program, "out/")                     # network.c, model_data.c, ...

One C function per graph node (`node_L1_dense`, ...), `network_run(input,
output)` calling them in order over a planned arena, a start-up harness for
emulation and a linker script with the target's (or device's) memory map.
Layouts and semantics: docs/codegen.md."""
from __future__ import annotations

from pathlib import Path

import networkx as nx

from hwsim.machine.codegen.program import (
    HEADER,
    NodeCode,
    NodeFunction,
    Program,
    network_run,
    plan_tensors,
)
from hwsim.machine.codegen.runtime import harness, linker_script
from hwsim.machine.codegen.targets import (
    TARGETS,
    MemoryMap,
    Target,
    find_target,
    target_for_device,
)
from hwsim.errors import HwsimError
from hwsim.ir.style import Style

__all__ = [
    "STYLES",
    "TARGETS",
    "MemoryMap",
    "Program",
    "Target",
    "find_target",
    "generate",
    "target_for_device",
    "write_program",
]

STYLES = (Style.LUT.value, Style.INT8.value, Style.FLOAT32.value)   # with a code generator
SOURCES = ("network.c", "model_data.c", "start.c")


def _emit(g: nx.DiGraph, style: str, target: Target, kernels: dict, lut_library: str = "",
          lut_grouped=(), ops: bool = True) -> tuple[list[NodeCode], str, tuple]:
    if style == "lut":
        from hwsim.machine.codegen.lut import emit_lut
        return emit_lut(g, lut_library, lut_grouped, ops), "uint8_t", ()
    if style == "float32":
        from hwsim.machine.codegen.float32 import emit_float32
        codes, notes = emit_float32(g)
        return codes, "float", tuple(notes)
    from hwsim.machine.codegen.int8 import emit_int8
    codes, notes = emit_int8(g, target, kernels, ops)
    return codes, "int8_t", notes


def _kernel_prelude(style: str, target: Target, library: bool) -> str:
    if style == "lut" and library:
        from hwsim.machine.codegen.lut_library import include_line
        return include_line()
    if style == "int8":
        from hwsim.machine.codegen.int8 import prelude
        from hwsim.machine.codegen.int8_library import include_line
        return (include_line() if library else "") + prelude(target)
    if style == "float32":
        from hwsim.machine.codegen.float32 import PRELUDE
        return PRELUDE
    return ""


def generate(g: nx.DiGraph, target: str | Target, style: str = "lut",
             memory_map: MemoryMap | None = None, int8_kernels: str = "optimized",
             int8_choice: tuple[tuple[str, str], ...] | None = None,
             lut_kernels: str = "library", lut_grouped=(),
             ops_kernels: str = "library") -> Program:
    """The C sources of graph `g` for `target` in `style` ("lut", "int8" or "float32",
    hwsim.machine.codegen.float32). int8 weighted layers run the kernels of
    `int8_choice`, (node, kernel) pairs as the cost model chose them for a device
    (hwsim.cost.model.CostReport.int8_kernels); without it, by `int8_kernels`: the
    library's preferred kernels where it is characterized ("optimized", "library") or
    the plain loops ("reference"). lut weighted layers call the lut kernel library
    ("library", where it has a build for the target) or are per-layer loops ("loops");
    the layers of `lut_grouped`, (node, kernel) pairs as the cost model chose them
    (hwsim.cost.model.CostReport.lut_chosen), call the grouped dense kernel or the
    library's packed weight-code variant.
    Pools, argmax and lut adds call the ops kernel library where it is characterized for
    the target, with the int8 library (int8_kernels not "reference" and a characterized
    int8 build) or the lut library,
    unless `ops_kernels` is "loops" (hwsim.machine.codegen.ops_library; the per-node
    loops, for comparisons)."""
    target = find_target(target) if isinstance(target, str) else target
    if style not in STYLES:
        raise HwsimError(f"unknown code generation style {style!r}; one of {', '.join(STYLES)}")
    memory = memory_map or target.memory_map()
    kernels, lut_library = {}, ""
    if style == "int8":
        from hwsim.machine.codegen.int8_library import node_kernels
        kernels = node_kernels(g, target, int8_kernels, int8_choice)
    elif style == "lut":
        from hwsim.machine.codegen.lut_library import library_build
        lut_library = library_build(target, lut_kernels)
    if ops_kernels not in ("library", "loops"):
        raise HwsimError(f"ops_kernels must be 'library' or 'loops', got {ops_kernels!r}")
    if style == "int8":
        from hwsim.machine.codegen.int8_library import uses_library
    ops = ops_kernels == "library" and (style != "int8" or uses_library(target, int8_kernels))
    codes, input_type, notes = _emit(g, style, target, kernels, lut_library, lut_grouped or (),
                                     ops)
    library = any(k != "reference" for k in kernels.values()) or (
        style == "int8" and target.has_multiply      # the add calls the library's
        and any(op.kind == "add" for _, op in g.nodes(data="op")))   # (plain loop: int8.py)
    if style == "lut":          # some weighted layer calls the lut library
        library = bool(lut_library) and any(c.library_function for c in codes)
    predecessors = {n: list(g.predecessors(n)) for n in g.nodes}
    functions = [c.function for c in codes if c.function]
    if len(set(functions)) != len(functions):
        raise HwsimError("two graph nodes map to the same C function name: "
                         + ", ".join(sorted({f for f in functions if functions.count(f) > 1})))
    tensors, arena_bytes, steps = plan_tensors(codes, predecessors)
    input_node = next(c.node for c in codes if c.op == "input")
    output_node = codes[-1].node
    arrays = {}
    for code in codes:
        for array in code.arrays:
            arrays.setdefault(array.name, array)
    constant_bytes = sum(a.size_bytes for a in arrays.values())
    _check_fits(g, target, memory, style, constant_bytes, arena_bytes)
    name = str(g.graph.get("name"))
    what = f"{name}, {style} style, {target.name}"
    header = HEADER if style != "float32" else HEADER.replace("no float", "soft-float")
    network = [header.format(what=what), "#include <stdint.h>\n",
               f"\n/* The arena: every tensor between nodes ({arena_bytes} bytes, planned). */\n",
               f"uint8_t hwsim_arena[{max(arena_bytes, 4)}] __attribute__((aligned(4)));\n\n",
               _kernel_prelude(style, target, library)]
    ops = any(c.ops_function for c in codes)
    if ops:
        from hwsim.machine.codegen.ops_library import include_line as ops_include
        network.append(ops_include())
    network += [a.extern for a in arrays.values()]
    network.append("\n")
    network += [c.code.split("\n", 1)[0] + ";\n" for c in codes if c.function]
    network.append("\n")
    for code in codes:
        if code.function:
            network.append(f"/* graph node {code.node!r} ({code.op}) */\n"
                           f"__attribute__((noinline, noclone, used))\n"
                           + no_unrolling(code.code) + "\n")
    network.append(network_run(steps, tensors, input_node, output_node, input_type))
    data = [header.format(what=what + ": constants, in flash"), "#include <stdint.h>\n",
            "\n"]
    data += [a.definition + "\n" for a in arrays.values()]
    input_t, output_t = tensors[input_node], tensors[output_node]
    files = {"network.c": "".join(network), "model_data.c": "".join(data),
             "start.c": harness(target, input_type),
             "link.ld": linker_script(what, memory, input_t.offset_bytes, output_t.offset_bytes)}
    if library and style == "int8":
        from hwsim.machine.codegen.int8_library import library_files
        files.update(library_files(kernels.values()))
    elif library:
        from hwsim.machine.codegen.lut_library import library_files as lut_library_files
        files.update(lut_library_files(target.name, codes))
    if ops:
        from hwsim.machine.codegen.ops_library import library_files as ops_library_files
        files.update(ops_library_files(style, [c.ops_function for c in codes
                                                if c.ops_function]))
    callers = {c.node: c.called_per_unit_by or "network_run" for c in codes}
    nodes = tuple(NodeFunction(c.node, c.op, c.function, callers[c.node] if c.function else "")
                  for c in codes)
    op = g.nodes[output_node]["op"].kind
    kind = "class" if op == "argmax" else "values" if op == "output_table" else "sums"
    return Program(name, target, style, memory, files, nodes, tensors, input_t, output_t,
                   kind, arena_bytes, constant_bytes, tuple(notes))


def no_unrolling(code: str) -> str:
    """Put `#pragma GCC unroll 1` before every loop: gcc -O2 otherwise unrolls loops with
    a small constant trip count (a 4-class argmax, a 3-channel pool), and the code
    would no longer have the loop structure the cost model counts."""
    lines, out = code.split("\n"), []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith("for (") and not (out and out[-1].strip() == "#pragma GCC unroll 1"):
            out.append(line[:len(line) - len(stripped)] + "#pragma GCC unroll 1")
        out.append(line)
    return "\n".join(out)


def _check_fits(g, target: Target, memory: MemoryMap, style: str, constant_bytes: int,
                arena_bytes: int) -> None:
    """A clear error before compiling when the constants or the arena cannot fit."""
    name = g.graph.get("name")
    if constant_bytes > memory.flash_bytes:
        raise HwsimError(f"{name} ({style}) cannot run on {target.name} with {memory.source}: "
                         f"its tables, indices and thresholds need {constant_bytes:,} bytes, "
                         f"flash is {memory.flash_bytes:,} bytes")
    if arena_bytes + memory.stack_bytes > memory.ram_bytes:
        raise HwsimError(f"{name} ({style}) cannot run on {target.name} with {memory.source}: "
                         f"its tensor arena needs {arena_bytes:,} bytes plus a "
                         f"{memory.stack_bytes}-byte stack, RAM is {memory.ram_bytes:,} bytes")


def write_program(program: Program, directory: str | Path) -> list[Path]:
    """Write the program's files into `directory` (created); returns their paths."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HwsimError(f"{directory}: cannot create the output directory ({exc.strerror})") \
            from None
    paths = []
    for name, text in program.files.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths



