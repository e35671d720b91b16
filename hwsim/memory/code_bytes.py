"""The flash bytes of a generated program's code: measured, where the target has a code
record (hwsim/memory/data/code_<target>.json, made by `hwsim characterize --code-size`
from the ELF object and symbol sizes of generated programs, provenance inside;
hwsim.machine.code_size), else an estimate per kernel kind (CODE_ESTIMATE_BYTES). The
lut style's per-layer loops (`lut_kernels="loops"`) have their own entry in the record
("lut_loops": programs without the kernel libraries).

    code_size(graph, "int8", device, int8_kernels=(), lut_kernels="library", lut_grouped=())
    # -> CodeSize(bytes, measured, parts)

Measured: the sum of what the generated program links (the same choices the code
generator makes: the int8 kernel per weighted node and the int8 library sources they need,
the lut library's kernel functions the nodes call and its grouped sources, the ops
library's functions; a library source counts its fixed part once and each function it
compiles that is called), the start-up code, libgcc's routines and network.c's helpers the
style links (with the graph's op families), the node functions (per-layer loops, float32's
and the lut style's, by their loop signature, hwsim.memory.loop_shapes; else bytes per
style and graph node, by `node_keys`) and network_run with the link's own bytes (affine in the graph's nodes).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import REFERENCE, soft_kernel
from hwsim.ir.lut_kernels import library_target, node_call, with_kernel
from hwsim.ir.ops import WEIGHTED
from hwsim.ir.ops_kernels import node_ops_call
from hwsim.memory.loop_shapes import loop_signature, wide_constants

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_VERSION = 1

# Code size per kernel kind, bytes (ESTIMATES, not measured), for a device whose target has
# no code record: one copy of each kernel the graph uses, plus a static schedule.
CODE_ESTIMATE_BYTES = {
    "lut": {"schedule": 512, "dense": 384, "conv": 768, "depthwise": 640, "threshold": 192,
            "max_pool": 256, "avg_pool": 320, "add": 256, "argmax": 96, "output_table": 96},
    "int8": {"schedule": 512, "dense": 1024, "conv": 3072, "depthwise": 2560, "threshold": 0,
             "max_pool": 512, "avg_pool": 640, "add": 768, "argmax": 96, "output_table": 96},
    "float32": {"schedule": 512, "dense": 512, "conv": 1536, "depthwise": 1024, "threshold": 0,
                "max_pool": 384, "avg_pool": 384, "add": 256, "argmax": 96, "output_table": 96},
}
SOFT_FLOAT_CODE_ESTIMATE_BYTES = 2048     # float32 on a core without an FPU (add, mul, compare)
KERNEL_KIND = {"dense": "dense", "conv1d": "conv", "conv2d": "conv",
               "depthwise_conv2d": "depthwise", "threshold": "threshold",
               "max_pool1d": "max_pool", "max_pool2d": "max_pool", "avg_pool1d": "avg_pool",
               "avg_pool2d": "avg_pool", "add": "add", "argmax": "argmax",
               "output_table": "output_table"}
WINDOWED = ("conv1d", "conv2d", "depthwise_conv2d", "max_pool1d", "max_pool2d", "avg_pool1d",
            "avg_pool2d")
INT8_OPS_SOURCE = "ops_int8.c"
LUT_OPS_SOURCE = "ops_lut.c"
LUT_SOURCE = "lut.c"
LUT_LOOPS = "lut_loops"         # the record's entry of the lut style's per-layer loops


def family(kind: str) -> str:
    """The op family of a graph op kind (conv1d and conv2d: conv), as code is counted."""
    return KERNEL_KIND.get(kind, kind)


def node_keys(op) -> tuple[str, ...]:
    """The keys a node's code is counted by, most specific first: a windowed op's kind with
    its padding and "/w1" when its input is one wide (gcc drops that loop), its kind, its op
    family. The planner takes the first key the code record has."""
    keys = (op.kind, family(op.kind))
    padding = getattr(getattr(op, "layer", None), "padding", None)
    shape = tuple(getattr(op, "input_shape", None) or ())
    if padding is None or op.kind not in WINDOWED:
        return keys
    return (f"{op.kind}/{padding}" + ("/w1" if len(shape) == 3 and shape[1] == 1 else ""),
            *keys)


@dataclass(frozen=True)
class CodeSize:
    """Code bytes; `measured`: from a code record, else the estimate; `parts`: (what,
    bytes) summing to `bytes`."""
    bytes: int
    measured: bool
    parts: tuple[tuple[str, int], ...] = ()


@lru_cache(maxsize=None)
def code_record(target: str | None) -> dict | None:
    """The code record of library target `target`, None when there is none."""
    if target is None:
        return None
    path = DATA_DIR / f"code_{target}.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HwsimError(f"{path.name}: unreadable code record ({exc})") from None
    if data.get("schema_version") != SCHEMA_VERSION:
        raise HwsimError(f"{path.name}: schema_version must be {SCHEMA_VERSION}, got "
                         f"{data.get('schema_version')!r}")
    return data


def estimate_bytes(g: nx.DiGraph, style: str, device) -> int:
    """ESTIMATE of the kernels' code size: CODE_ESTIMATE_BYTES per kernel kind used."""
    table = CODE_ESTIMATE_BYTES[style]
    kinds = {KERNEL_KIND[a.kind] for _, a in g.nodes(data="op") if a.kind in KERNEL_KIND}
    total = table["schedule"] + sum(table[k] for k in kinds)
    if style == "float32" and device.core.fpu == "none":
        total += SOFT_FLOAT_CODE_ESTIMATE_BYTES
    return total


def _source_bytes(record: dict, source: str, functions=None) -> int:
    """A library source's fixed bytes plus its compiled functions (`functions`: the C
    names compiled; None: all of them)."""
    part = record["libraries"].get(source)
    if part is None:
        return 0
    sizes = part["functions"]
    names = sizes if functions is None else [f for f in sizes if f in set(functions)]
    return part["fixed"] + sum(sizes[f] for f in names)


def _int8_sources(record: dict, g: nx.DiGraph, int8_kernels) -> list[str]:
    """The int8 library sources the generated program links (hwsim.machine.codegen.
    int8_library.library_files, the lists in the record)."""
    chosen = dict(int8_kernels)
    weighted = [n for n, a in g.nodes(data="op") if a.kind in WEIGHTED]
    soft = set(record["int8_soft_kernels"])
    if chosen:
        kernels = {chosen.get(n) for n in weighted}
    elif not record["has_multiply"]:
        kernels = {soft_kernel(g.nodes[n]["op"].kind) for n in weighted}
    else:
        kernels = {None} if weighted else set()
    adds = any(a.kind == "add" for _, a in g.nodes(data="op"))
    if not (kernels - {REFERENCE} or (record["has_multiply"] and adds)):
        return []
    optional = {s: set(k) for s, k in record["int8_sources"].items() if k}
    sources = list(optional) if kernels and kernels <= soft else list(record["int8_sources"])
    return [s for s in sources if s not in optional or kernels & optional[s]]


def _lut_functions(g: nx.DiGraph, target: str, lut_grouped) -> tuple[set[str], bool]:
    """(lut library functions the weighted nodes call, whether a grouped kernel is)."""
    chosen = dict(lut_grouped)
    called, grouped = set(), False
    for node, a in g.nodes(data="op"):
        if a.kind not in WEIGHTED:
            continue
        kernel = chosen.get(node)
        if kernel and kernel.startswith("grouped"):
            grouped = True
            continue
        call = node_call(g, node, target)
        if call is not None:
            called.add(with_kernel(call, kernel).function)
    return called, grouped


def node_function_bytes(fitted: dict, g: nx.DiGraph, node: str, keys: tuple[str, ...],
                        style: str = "float32") -> int:
    """A node function's bytes: by its loop signature (hwsim.memory.loop_shapes) where the
    record measured per-layer loops of it (float32's, the lut style's with
    `lut_kernels="loops"`), with what its constants beyond an immediate's reach add over
    the designed node's, else the constant of its first key the record has (the measured
    node functions' bytes per graph node)."""
    loops = fitted.get("loop_node_bytes", {})
    if loops:
        signature = loop_signature(g, node, keys[0], style)
        if signature in loops:
            wide = fitted["loop_wide_bytes"]
            counts = wide_constants(g, node, wide["bounds"], style)
            designed = fitted["loop_wide_constants"].get(signature, [0] * len(counts))
            return loops[signature] + round(sum(b * (c - d) for b, c, d in
                                                zip(wide["bytes"], counts, designed)))
    node_bytes = fitted["node_bytes"]
    return next((node_bytes[k] for k in keys if k in node_bytes), 0)


def record_style(style: str, lut_kernels: str = "library") -> str:
    """The code record's entry of a program of `style`: the lut style's per-layer loops
    (`lut_kernels="loops"`) have their own ("lut_loops"), library calls the style's."""
    return LUT_LOOPS if style == "lut" and lut_kernels == "loops" else style


def code_size(g: nx.DiGraph, style: str, device, int8_kernels=(), lut_kernels: str = "library",
              lut_grouped=()) -> CodeSize:
    """The code bytes of the program generated for graph `g` in `style` on `device`."""
    target = library_target(device.core.isa)
    record = code_record(target)
    entry = record_style(style, lut_kernels)
    if record is None or entry not in record["styles"]:
        return CodeSize(estimate_bytes(g, style, device), False)
    fitted = record["styles"][entry]
    parts: list[tuple[str, int]] = [("start-up", record["start_bytes"])]
    ops_source = ""
    if style == "int8":
        sources = _int8_sources(record, g, int8_kernels)
        parts += [(f"int8 library: {s}", _source_bytes(record, s)) for s in sources]
        ops_source = INT8_OPS_SOURCE
    elif style == "lut" and lut_kernels == "library":
        called, grouped = _lut_functions(g, target, lut_grouped)
        if called or grouped:
            parts.append((f"lut library: {LUT_SOURCE}", _source_bytes(record, LUT_SOURCE, called)))
            ops_source = LUT_OPS_SOURCE
        if grouped:
            parts += [(f"lut library: {s}", _source_bytes(record, s))
                      for s in record["lut_grouped_sources"]]
    ops = set()
    if ops_source:
        ops = {n for n in g.nodes if node_ops_call(g, n, style) is not None}
        functions = {f"hwsim_ops_{node_ops_call(g, n, style).function}" for n in ops}
        if functions:
            parts.append((f"ops library: {ops_source}",
                          _source_bytes(record, ops_source, functions)))
    keys = {n: node_keys(a) for n, a in g.nodes(data="op")}
    kinds = [k[-1] for k in keys.values()]
    loop_style = "lut" if entry == LUT_LOOPS else style
    parts.append(("node functions", sum(node_function_bytes(fitted, g, n, k, loop_style)
                                        for n, k in keys.items())))
    run = fitted["network_run"]
    parts.append(("network_run", run["base_bytes"] + run["per_node_bytes"] * len(kinds)))
    routines = set(fitted["shared_always"]).union(
        *(fitted["shared_by_family"].get(k, ()) for k in set(kinds)))
    parts.append(("libgcc and shared helpers", sum(record["shared_routines"][r] for r in routines)))
    parts = [(name, size) for name, size in parts if size]
    return CodeSize(sum(size for _, size in parts), True, tuple(parts))
