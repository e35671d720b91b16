"""The machine-code bytes of generated programs, measured from their builds: the data the
memory planner's `code` line reads (hwsim/memory/data/code_<target>.json,
hwsim.memory.code_bytes).

    build = build_program(generate(g, "cortex-m0", "int8"), "out/")
    program_code_bytes(build)           # the ELF's flash bytes that are not constants
    data = code_size_data("cortex-m0")  # the record: designed programs built and measured

A program's code is its ELF's loadable flash section (.text, which holds .rodata too, the
linker script of hwsim.machine.codegen.runtime) less its constants (model_data.o). Each
object file of the build is measured from its own symbol table and sections:
- a library source: its entry functions (global function symbols) each by symbol size,
  the rest of the object (static helpers, read-only data, alignment) as its `fixed` bytes;
- network.o: each node function by symbol size, per graph op kind and style, and
  network_run;
- start.o: the start-up code;
and what the link adds beyond the objects is libgcc's archive members as the link map
lists them (each member whole: its code, read-only data and code without a symbol of its
own) and link alignment; libgcc's members and network.c's helpers (float32's hw_expf,
hw_tanhf) count as shared routines. The node functions and network_run are fitted (a
constant per style and op kind; network_run affine in the number of calls) on the designed
programs, each style's and the lut style's per-layer loops' (`lut_kernels="loops"`,
"lut_loops"); the per-layer loops (float32's, the lut style's) are measured per loop
signature on designed networks (hwsim.machine.loop_code_size); all are checked on held-out programs
(benchmarks/code_size.py, tests/test_code_size.py).

Longer than 300 lines: measuring objects and ELFs, compiling the configured library
sources one function at a time, fitting and the check the test and the benchmark share are
one concern (the code record) with one provenance.
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.machine.object_code import compile_measured, designed_workload_from, object_code
from hwsim.machine.toolchain import CFLAGS, Build, build_program, read_elf

SCHEMA_VERSION = 1
CODE_SECTIONS = (".text",)              # the flash image (hwsim.machine.codegen.runtime)
CONSTANTS_OBJECT = "model_data.o"
MAP_NAME = "network.map"                # the link map build_program writes
NETWORK_OBJECT = "network.o"
START_OBJECT = "start.o"
# The designed programs the record is made from (bundled workloads, shape-only graphs):
# every op kind, every style; the held-out check uses the others.
DESIGNED = ("digits-mlp", "kws-dscnn", "ic-resnet8", "ad-autoencoder", "designed-dense",
            "designed-one-wide")
# One dense layer without an activation (no designed bundled network lacks one: without it
# an activation's helpers would count as linked by every program), and convolutions over
# a one-wide input (gcc drops that axis's loops; hwsim.memory.code_bytes.node_keys).
DESIGNED_DATA = {
    "designed-dense": {"input": {"shape": [24], "levels": 16},
                       "layers": [{"type": "dense", "units": 5}]},
    "designed-one-wide": {"input": {"shape": [12, 1, 4], "levels": 16}, "layers": [
        {"type": "depthwise_conv2d", "kernel": [3, 1]},
        {"type": "conv2d", "filters": 6, "kernel": 1}, {"type": "flatten"},
        {"type": "dense", "units": 3}]}}
STYLES = ("lut", "int8", "float32")
# The programs the record measures: each style, and the lut style's per-layer loops
# (`lut_kernels="loops"`, no kernel library; hwsim.memory.code_bytes.LUT_LOOPS).
PROGRAMS = (*STYLES, "lut_loops")
TARGETS = ("cortex-m0", "cortex-m4", "rv32im", "rv32i")


def program_code_bytes(build: Build) -> int:
    """The ELF's flash bytes less the program's constants: its machine code (and the
    libraries' read-only data)."""
    image = read_elf(build.elf_path)
    flash = sum(image.section_bytes.get(name, 0) for name in CODE_SECTIONS)
    constants, _, _ = object_code(build.directory / CONSTANTS_OBJECT)
    return flash - constants


# An input section of a libgcc archive member in the link map (the name may stand on a
# line of its own): section, address, size, member.
MAP_LIBGCC = re.compile(r"^ (\.(?:text|rodata|srodata)\S*)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+"
                        r"\S*libgcc\.a\(([^)]+)\)", re.MULTILINE)


def _libgcc_routines(build: Build) -> dict[str, int]:
    """libgcc's archive members the link took (its map, network.map), each by the bytes of
    its code and read-only data in the flash image (after RISC-V relaxation; a member's
    code without a symbol of its own included), named "libgcc <member>"."""
    text = (build.directory / MAP_NAME).read_text()
    linked: dict[str, int] = {}
    for _, _, size, member in MAP_LIBGCC.findall(text):
        linked[f"libgcc {member}"] = linked.get(f"libgcc {member}", 0) + int(size, 16)
    return dict(sorted((name, size) for name, size in linked.items() if size))


def measure_build(build: Build, g) -> dict:
    """One build (of graph `g`)'s code, by part: the objects, the node functions (their
    node's keys, hwsim.memory.code_bytes.node_keys, and bytes) and every graph node's keys, network_run with what the link adds or takes (alignment,
    RISC-V relaxation), start-up, the shared routines: libgcc's and network.c's helpers
    (float32's hw_expf, hw_tanhf)."""
    program = build.program
    objects, defined = 0, set()
    network_functions, start = {}, 0
    for name in program.files:
        if not name.endswith(".c") or name == "model_data.c":
            continue
        total, _, functions = object_code(build.directory / name.replace(".c", ".o"))
        objects += total
        defined |= set(functions)
        if name == "network.c":
            network_total, network_functions = total, functions
        elif name == "start.c":
            start = total
    from hwsim.memory.code_bytes import node_keys
    keys = {n.node: list(node_keys(g.nodes[n.node]["op"])) for n in program.functions}
    nodes = [(keys[n.node], network_functions[n.function]) for n in program.functions
             if n.function]
    libgcc = _libgcc_routines(build)
    called = {n.function for n in program.functions if n.function} | {"network_run"}
    helpers = {f: size for f, size in network_functions.items() if f not in called}
    code = program_code_bytes(build)
    rest = (code - objects - sum(libgcc.values()) + network_total - sum(b for _, b in nodes)
            - sum(helpers.values()))
    return {"code_bytes": code, "graph_nodes": [keys[n.node] for n in program.functions],
            "nodes": nodes, "network_run": rest, "start": start,
            "shared": {**libgcc, **helpers}}


def library_objects(target: str, root: Path) -> dict[str, dict]:
    """Every library source compiled for `target` and measured: {source: {fixed,
    functions}}. A source whose build configuration names the functions it compiles (lut.c,
    ops_*.c): `fixed` compiled with none, each function compiled alone less that (its
    static helpers included); the others (int8, grouped lut): compiled whole, each global
    function by symbol size and the rest of the object as `fixed`."""
    from hwsim.ir.lut_kernels import FUNCTIONS as LUT_FUNCTIONS
    from hwsim.ir.ops_kernels import FUNCTIONS as OPS_FUNCTIONS
    from hwsim.machine.codegen import find_target
    from hwsim.machine.codegen.int8_library import library_files as int8_files
    from hwsim.machine.codegen.lut_library import config_header as lut_config
    from hwsim.machine.codegen.ops_library import library_files as ops_files
    from hwsim.machine.kernels import lut as lut_kernels
    from hwsim.machine.kernels.int8 import KERNELS
    from hwsim.machine.kernels.ops import CONFIG_HEADER as OPS_CONFIG
    from hwsim.machine.kernels.ops import config_header as ops_config
    from hwsim.machine.toolchain import find_compiler
    t = find_target(target)
    compiler, flags = find_compiler(t), [*CFLAGS, *t.flags]
    libraries = {}
    whole = dict(int8_files(KERNELS))
    whole.update({name: (lut_kernels.SOURCE_DIR / name).read_text()
                  for name in (*lut_kernels.HEADERS, *lut_kernels.SOURCES,
                               *lut_kernels.GROUPED_SOURCES)})
    whole[lut_kernels.CONFIG_HEADER] = lut_config(target, ())
    for name in sorted(n for n in whole if n.endswith(".c") and n != "lut.c"):
        total, globals_ = compile_measured(compiler, flags, root / "library", whole, name, target)
        libraries[name] = {"fixed": total - sum(globals_.values()),
                           "functions": dict(sorted(globals_.items()))}
    configured = [("lut.c", LUT_FUNCTIONS, lut_kernels.CONFIG_HEADER,
                   lambda fs: lut_config(target, fs), whole)]
    for style in ("int8", "lut"):
        files = ops_files(style, ())
        source = next(n for n in files if n.endswith(".c"))
        configured.append((source, [f"hwsim_ops_{f}" for f in OPS_FUNCTIONS], OPS_CONFIG,
                           lambda fs: ops_config(f.removeprefix("hwsim_ops_") for f in fs),
                           files))
    for source, functions, header, config, files in configured:
        directory = root / f"configured-{source}"
        base, _ = compile_measured(compiler, flags, directory, {**files, header: config(())}, source,
                           target)
        sizes = {}
        for function in functions:
            total, globals_ = compile_measured(compiler, flags, directory,
                                       {header: config((function,))}, source, target)
            if function in globals_:          # compiled for this style
                sizes[function] = total - base
        libraries[source] = {"fixed": base, "functions": dict(sorted(sizes.items()))}
    return dict(sorted(libraries.items()))


def designed_workload(name: str):
    """A designed workload of DESIGNED_DATA."""
    data = DESIGNED_DATA[name]
    return designed_workload_from(name, data["input"]["shape"], data["layers"])


def _generate(g, target: str, program: str, memory_map=None, **choices):
    """The generated program of graph `g` for `target`: `program` a style, or the lut
    style's per-layer loops (hwsim.memory.code_bytes.LUT_LOOPS)."""
    from hwsim.machine.codegen import generate
    from hwsim.memory.code_bytes import LUT_LOOPS
    if program == LUT_LOOPS:
        return generate(g, target, "lut", memory_map, lut_kernels="loops")
    return generate(g, target, program, memory_map, **choices)


def _designed_builds(target: str, names, styles, root: Path):
    from hwsim.ir.graph import graph_from_workload
    from hwsim.specs.workload import load_workload
    for name in names:
        g = graph_from_workload(designed_workload(name) if name in DESIGNED_DATA
                                else load_workload(name))
        for style in styles:
            try:
                program = _generate(g, target, style)
            except HwsimError:
                continue                       # does not fit the target's memory map
            try:
                yield name, style, g, build_program(program, root / f"{name}-{style}")
            except HwsimError:
                continue


def _library_sha256() -> dict[str, str]:
    """The libraries' hashes, as their characterization data carry them."""
    from hwsim.machine.kernels import int8, lut, ops
    return {"int8": int8.library_sha256(), "lut": lut.library_sha256(),
            "lut_grouped": lut.library_sha256(lut.GROUPED_SOURCES),
            "ops": ops.library_sha256()}


def fit_records(records: list[dict]) -> dict:
    """The code record's fitted part from measured builds, per style: node bytes per graph
    node of each key (hwsim.memory.code_bytes.node_keys: kind with padding and a one-wide
    axis, kind, op family): the key's node functions' bytes over its graph nodes (a fused
    threshold runs no function), rounded;
    network_run with the link's own bytes, affine in the graph's nodes (least squares,
    rounded); the shared routines (libgcc's, network.c's helpers) every program of the style
    links, and those every program
    with an op family links; and the start-up code."""
    import numpy as np
    styles: dict[str, dict] = {}
    sizes: dict[str, int] = {}
    for record in records:
        measured = record["measured"]
        style = styles.setdefault(record["style"], {"bytes": {}, "count": {}, "nodes": [],
                                                    "run": [], "always": None, "by": {}})
        for keys, size in measured["nodes"]:
            for key in keys:
                style["bytes"][key] = style["bytes"].get(key, 0) + size
        families = {keys[-1] for keys in measured["graph_nodes"]}
        for keys in measured["graph_nodes"]:
            for key in keys:
                style["count"][key] = style["count"].get(key, 0) + 1
        style["nodes"].append(len(measured["graph_nodes"]))
        style["run"].append(measured["network_run"])
        routines = set(measured["shared"])
        sizes.update(measured["shared"])
        style["always"] = routines if style["always"] is None else style["always"] & routines
        for kind in families:
            style["by"][kind] = routines if kind not in style["by"] else style["by"][kind] & routines
    fitted = {}
    for name, style in sorted(styles.items()):
        a = np.array([[1.0, n] for n in style["nodes"]])
        (base, per_node), *_ = np.linalg.lstsq(a, np.array(style["run"], dtype=float),
                                               rcond=None)
        fitted[name] = {
            "node_bytes": {k: int(round(style["bytes"].get(k, 0) / n))
                           for k, n in sorted(style["count"].items())},
            "network_run": {"base_bytes": int(round(base)),
                            "per_node_bytes": int(round(per_node))},
            "shared_always": sorted(style["always"]),
            "shared_by_family": {k: sorted(v - style["always"])
                                 for k, v in sorted(style["by"].items()) if v - style["always"]}}
    return {"styles": fitted, "shared_routines": dict(sorted(sizes.items())),
            "start_bytes": max(r["measured"]["start"] for r in records)}


def code_size_data(target: str, names=DESIGNED, styles=PROGRAMS,
                   directory: str | Path | None = None) -> dict:
    """The code record of `target`: the designed programs built, measured and fitted,
    with provenance (compiler, flags, the libraries' sha256, the programs)."""
    from hwsim.machine.codegen import find_target
    from hwsim.machine.codegen.int8_library import OPTIONAL_SOURCES
    from hwsim.ir.int8_kernels import SOFT_KERNELS
    from hwsim.machine.kernels.int8 import KERNELS, SOURCES as INT8_SOURCES
    from hwsim.machine.kernels.lut import GROUPED_SOURCES
    from hwsim.machine.loop_code_size import loop_records
    t = find_target(target)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(directory) if directory else Path(tmp)
        builds = list(_designed_builds(target, names, styles, root))
        if not builds:
            raise HwsimError(f"code size: no designed program builds for {target}")
        records = [{"network": n, "style": s, "measured": measure_build(b, g)}
                   for n, s, g, b in builds]
        compiler_version = builds[0][3].compiler_version
        libraries = library_objects(target, root)
        loops = {style: loop_records(target, root, loop_style)
                 for style, loop_style in (("float32", "float32"), ("lut_loops", "lut"))
                 if style in styles}
    fitted = fit_records(records)
    for style, record in loops.items():
        fitted["styles"][style].update(record)
    return {
        "schema_version": SCHEMA_VERSION, "target": target,
        "provenance": {"compiler": t.compiler, "compiler_version": compiler_version,
                       "flags": [*CFLAGS, *t.flags], "library_sha256": _library_sha256(),
                       "programs": [f"{r['network']} ({r['style']})" for r in records],
                       "how": "hwsim characterize --code-size: ELF object and symbol sizes "
                              "of generated programs (hwsim.machine.code_size)"},
        "int8_sources": {name: list(OPTIONAL_SOURCES.get(name, ())) for name in INT8_SOURCES},
        "int8_soft_kernels": list(SOFT_KERNELS), "has_multiply": t.has_multiply,
        "int8_kernel_sources": {k.name: k.source for k in KERNELS.values()},
        "lut_grouped_sources": [s for s in GROUPED_SOURCES if s.endswith(".c")],
        **fitted, "libraries": libraries,
        "measured": [{"network": r["network"], "style": r["style"],
                      "code_bytes": r["measured"]["code_bytes"]} for r in records],
    }


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def target_device(target: str):
    """A bundled device whose core the library build `target` runs on (the planner reads
    the code record through the device's instruction set)."""
    from hwsim.ir.lut_kernels import library_target
    from hwsim.specs.catalog import load_bundled_devices
    for device in sorted(load_bundled_devices(), key=lambda d: d.name):
        if library_target(device.core.isa) == target:
            return device
    raise HwsimError(f"code size: no bundled device runs target {target}")


def planner_check(g, target: str, program: str, directory: str | Path, device=None) -> dict:
    """The generated program of graph `g` built for `target`, `program` one of PROGRAMS (a
    style, or the lut style's per-layer loops): its ELF code bytes, the memory planner's
    code line and the typed-in estimate it replaces. With a `device`, the program runs the
    kernels the cost model chooses for it (as `hwsim validate` generates it) and the
    planner is handed the same choices (as `simulate`)."""
    from hwsim.machine.codegen import find_target
    from hwsim.memory.code_bytes import LUT_LOOPS, code_size, estimate_bytes
    style, lut_kernels = ("lut", "loops") if program == LUT_LOOPS else (program, "library")
    int8_choice, lut_chosen, memory_map = (), (), None
    if device is not None:
        from hwsim.cost.model import cost_graph
        report = cost_graph(g, device, style)
        int8_choice = report.int8_kernels if style == "int8" else ()
        lut_chosen = report.lut_chosen if program == "lut" else ()
        memory_map = find_target(target).memory_map(device)
    device = device or target_device(target)
    build = build_program(_generate(g, target, program, memory_map,
                                    int8_choice=int8_choice or None, lut_grouped=lut_chosen),
                          directory)
    planned = code_size(g, style, device, int8_choice, lut_kernels, lut_chosen)
    return {"network": str(g.graph.get("name")), "target": target, "style": program,
            "elf_bytes": program_code_bytes(build), "planner_bytes": planned.bytes,
            "measured": planned.measured, "estimate_bytes": estimate_bytes(g, style, device)}
