"""What a per-layer loop function's machine-code size depends on: the loops whose trip
count is a constant of the generated C (hwsim.machine.codegen.float32, pools, argmax),
each as a class: 1 (gcc drops the loop), 2 (gcc peels it: the body is written twice) or
3 and more (one loop), and the window of a pool written out in full. A node's
`loop_signature` is its key (hwsim.memory.code_bytes.node_keys) with those classes and
whether a threshold is fused into it; the code record measures one designed node
function of every signature (hwsim.machine.loop_code_size) and the memory planner reads
its bytes by signature.

    loop_signature(g, "L0.conv2d")   # -> "conv2d/valid 3.3.3.3.2 fused"
"""
from __future__ import annotations

import networkx as nx

from hwsim.ir.lowering import UNROLLED_WINDOW, threshold_consumer

PEELED = 2                # a loop of this many iterations is written out twice
LOOP = 3                  # the class of every longer loop


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


def loop_constants(op, element_bytes: int = 4) -> list[int]:
    """The constants of `op`'s generated loop function that set its immediates' widths:
    its constant trip counts and its pointer steps in bytes (`element_bytes` per element,
    a float's 4)."""
    trips, _ = constant_trips(op)
    return trips + [step * element_bytes for step in _pointer_steps(op)]


def wide_constants(op, bounds) -> list[int]:
    """How many of `op`'s loop constants exceed each bound of `bounds` (an immediate's
    reach: Thumb's 8 bits, RISC-V's signed 12 bits, Thumb-2's 12 bits)."""
    values = loop_constants(op)
    return [sum(v > bound for v in values) for bound in bounds]


def loop_signature(g: nx.DiGraph, node: str, key: str) -> str:
    """`key` (the node's most specific code key) with its constant loops' classes, its
    tag and whether a threshold is fused into it."""
    trips, tag = constant_trips(g.nodes[node]["op"])
    parts = [key, ".".join(str(trip_class(t)) for t in trips) or "-"]
    if tag:
        parts.append(tag)
    if threshold_consumer(g, node):
        parts.append("fused")
    return " ".join(parts)
