"""What a per-layer loop function's machine-code size depends on: the loops whose trip
count is a constant of the generated C (float32's hwsim.machine.codegen.float32 and the
lut style's per-layer loops, hwsim.machine.codegen.lut_weighted and lut_kernels; pools,
argmax), each as a class: 1 (gcc drops the loop), 2 (gcc peels it: the body is written
twice) or 3 and more (one loop), and the window of a pool written out in full. A node's
`loop_signature` is its key (hwsim.memory.code_bytes.node_keys) with those classes and
whether a threshold is fused into it; in the lut style also what its element types and
searches are (`lut_tags`: the table entry width, 16-bit weight indices, a threshold's or
an average pool's search steps and bound width, levels or sums read). The code record
measures one designed node function of every signature (hwsim.machine.loop_code_size)
and the memory planner reads its bytes by signature.

    loop_signature(g, "L0.conv2d", "conv2d/valid")          # -> "conv2d/valid 3.3.3.3.2 fused"
    loop_signature(g, "L0.conv2d", "conv2d/valid", "lut")   # -> "... 3.3.3.3.2 e16 fused"
"""
from __future__ import annotations

import networkx as nx

from hwsim.ir.lowering import UNROLLED_WINDOW, threshold_consumer
from hwsim.ir.lut_kernels import search_steps
from hwsim.ir.ops import WEIGHTED
from hwsim.ir.ops_kernels import bound_bits
from hwsim.memory.lut_layout import storage_bytes

PEELED = 2                # a loop of this many iterations is written out twice
LOOP = 3                  # the class of every longer loop
LOOP_STYLES = ("float32", "lut")    # the styles whose node functions are per-layer loops
FLOAT_BYTES = 4


def trip_class(trips: int) -> int:
    """A loop's class by its constant trip count: 1 (no loop), 2 (peeled), 3 (a loop)."""
    return max(1, min(int(trips), LOOP))


def _pool_loops(op) -> tuple[list[int], str]:
    """A pool's constant trip counts (positions, channels) and its window: the element
    count when written out in full, else its rows' and columns' loop classes."""
    layer = op.layer
    positions = list(op.output_shape[:-1])
    rows, cols = (1, layer.size) if op.kind.endswith("1d") else (layer.size_h, layer.size_w)
    window = (f"w{rows * cols}" if rows * cols <= UNROLLED_WINDOW
              else f"r{trip_class(rows)}c{trip_class(cols)}")
    return [*positions, op.input_shape[-1]], window


def constant_trips(op) -> tuple[list[int], str]:
    """The constant trip counts of `op`'s generated loops, outermost first, and a tag
    for what else its code has (a pool's window, an add's inputs)."""
    kind, layer = op.kind, getattr(op, "layer", None)
    padding = getattr(layer, "padding", "")
    if kind == "dense":
        return [layer.out_features, layer.in_features], ""
    if kind == "conv1d":
        inner = [layer.fan_in] if padding == "valid" else []
        return [op.output_shape[0], layer.out_channels, *inner], ""
    if kind in ("conv2d", "depthwise_conv2d"):
        depthwise = kind == "depthwise_conv2d"
        units = layer.channels if depthwise else layer.out_channels
        per_tap = 1 if depthwise else op.input_shape[-1]
        inner = [layer.kernel_h, layer.kernel_w * per_tap] if padding == "valid" else []
        return [op.output_shape[0], op.output_shape[1], units, *inner], ""
    if kind.startswith(("max_pool", "avg_pool")):
        return _pool_loops(op)
    if kind == "add":
        return [op.outputs], f"x{op.layer.arity}"
    if kind == "argmax":
        return [op.classes - 1], ""
    if kind == "output_table":                  # the lut style's (float32: no function)
        return [op.outputs], ""
    return [], ""


def _pointer_steps(op) -> list[int]:
    """The elements `op`'s generated loops step their pointers by (float32's emitter,
    hwsim.machine.codegen.float32 and pools): the steps of its rows, columns, units and
    taps, a pool's window offsets."""
    kind, layer, shape = op.kind, getattr(op, "layer", None), op.input_shape or ()
    if kind == "dense":
        return [layer.in_features]
    valid = getattr(layer, "padding", "") == "valid"      # 'same': positions from tables
    if kind == "conv1d":
        return [layer.fan_in] + ([layer.stride * shape[-1]] if valid else [])
    if kind in ("conv2d", "depthwise_conv2d"):
        _, width, channels = shape
        depthwise = kind == "depthwise_conv2d"
        per_tap = 1 if depthwise else channels
        steps = [layer.fan_in, width * channels, layer.kernel_w * per_tap]
        steps += [channels] if depthwise else []
        return steps + ([layer.stride_h * width * channels, layer.stride_w * channels]
                        if valid else [])
    if kind.startswith(("max_pool", "avg_pool")):
        channels = shape[-1]
        if kind.endswith("1d"):
            positions, rows, cols, row_step = [layer.stride * channels], 1, layer.size, 0
        else:
            row_step = shape[1] * channels
            positions = [layer.stride_h * row_step, layer.stride_w * channels]
            rows, cols = layer.size_h, layer.size_w
        if rows * cols > UNROLLED_WINDOW:                   # looped: rows, then columns
            return [*positions, row_step, channels]
        offsets = [r * row_step + c * channels for r in range(rows) for c in range(cols)]
        return [*positions, *offsets[1:]]
    return []


def _read_kinds(g: nx.DiGraph, node: str) -> str:
    """What `node` reads, one letter per input: "l" levels (bytes), "s" sums (int32),
    sorted."""
    return "".join(sorted("l" if d["kind"] == "levels" else "s"
                          for _, _, d in g.in_edges(node, data=True)))


def _entry_bytes(g: nx.DiGraph) -> int:
    return storage_bytes(g.graph["table_entry_bits"])


def lut_tags(g: nx.DiGraph, node: str) -> list[str]:
    """What else sets a lut loop function's bytes: a weighted layer's table entry width
    (e8, e16, e32: the lookup's load) and 16-bit weight indices (K > 256); a threshold's
    search steps; a pool's inputs (levels or sums), an average pool's search steps and
    bound width; an add's inputs and, reading levels, the value table's entry width; an
    argmax's inputs; an output table's entry width."""
    op = g.nodes[node]["op"]
    entry = f"e{8 * _entry_bytes(g)}"
    if op.kind in WEIGHTED:
        return [entry] + (["i16"] if op.table_shape[1] > 256 else [])
    if op.kind == "threshold":
        return [f"s{search_steps(len(op.thresholds))}"]
    if op.kind.startswith("avg_pool"):
        window = op.layer.size if op.kind.endswith("1d") else op.layer.size_h * op.layer.size_w
        return [_read_kinds(g, node), f"s{search_steps(len(op.pool_bounds))}",
                f"b{bound_bits(op.pool_bounds, window)}"]
    if op.kind.startswith("max_pool") or op.kind == "argmax":
        return [_read_kinds(g, node)]
    if op.kind == "add":
        kinds = _read_kinds(g, node)
        return [kinds] + ([entry] if "l" in kinds else [])
    if op.kind == "output_table":
        return [entry]
    return []


def loop_constants(g: nx.DiGraph, node: str, style: str = "float32") -> list[int]:
    """The constants of `node`'s generated loop function that set its immediates' widths:
    its constant trip counts and its pointer steps in bytes (a float's 4; in the lut
    style a level's or weight index's 1, a sum's 4), in the lut style also a weighted
    layer's bias row offset into its product table in bytes."""
    op = g.nodes[node]["op"]
    trips, _ = constant_trips(op)
    element_bytes = FLOAT_BYTES
    extra = []
    if style == "lut":
        element_bytes = FLOAT_BYTES if "s" in _read_kinds(g, node) else 1
        if op.kind in WEIGHTED:
            rows, k = op.table_shape
            extra = [((rows - 1) << max(0, (int(k) - 1).bit_length())) * _entry_bytes(g)]
    return trips + [step * element_bytes for step in _pointer_steps(op)] + extra


def wide_constants(g: nx.DiGraph, node: str, bounds, style: str = "float32") -> list[int]:
    """How many of `node`'s loop constants exceed each bound of `bounds` (an immediate's
    reach: Thumb's 8 bits, RISC-V's signed 12 bits, Thumb-2's 12 bits)."""
    values = loop_constants(g, node, style)
    return [sum(v > bound for v in values) for bound in bounds]


def loop_signature(g: nx.DiGraph, node: str, key: str, style: str = "float32") -> str:
    """`key` (the node's most specific code key) with its constant loops' classes, its
    tag, in the lut style its `lut_tags`, and whether a threshold is fused into it."""
    trips, tag = constant_trips(g.nodes[node]["op"])
    parts = [key, ".".join(str(trip_class(t)) for t in trips) or "-"]
    if tag:
        parts.append(tag)
    if style == "lut":
        parts += lut_tags(g, node)
    if threshold_consumer(g, node):
        parts.append("fused")
    return " ".join(parts)
