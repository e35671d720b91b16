"""The kernel structure every arithmetic style shares, as action counts.

Every kernel is output-stationary and handles one output unit at a time, in every
style: a node as its counter sees it (`Node`), the connections a weighted layer
executes, its inner, unit and position loops, the call of the node's function,
and the pool and argmax kernels, which differ between styles only in how an
element is read and stored."""
from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from hwsim.ir.lowering import UNROLLED_WINDOW, threshold_consumer
from hwsim.ir.ops import WEIGHTED as WEIGHTED_OPS
from hwsim.cost.options import CoreTraits, CostOptions
from hwsim.cost.primitives import HALF_BRANCH, Actions, loop_control, plus, times
from hwsim.cost.shapes import CodeShape

# Chance that a max-pool compare finds a new maximum: ties are common among a few
# levels; measured 6-37% on the bundled workloads (docs/validation.md).
MAX_UPDATE = 0.25

# gcc -O2 writes out a loop of at most this many iterations despite `#pragma GCC unroll 1`
# (seen in the RV32I code of argmax over 3 classes and of pools over 2 channels).
WRITTEN_OUT_ITERATIONS = 2


@dataclass(frozen=True)
class Node:
    """One graph node as its counter sees it: the graph, the node's attributes, the
    arithmetic style, the core's traits and the options."""

    graph: nx.DiGraph
    name: str
    attrs: dict
    style: str
    tr: CoreTraits
    opt: CostOptions
    kernel: str | None = None        # int8 weighted: the chosen kernel (hwsim.cost.int8_choice)

    @property
    def inputs(self) -> list[dict]:
        return [e for _, _, e in self.graph.in_edges(self.name, data=True)]

    @property
    def fused_into_threshold(self) -> bool:
        """The result stays in a register: a threshold node consumes it (the threshold
        search runs in the same unit loop)."""
        return threshold_consumer(self.graph, self.name) is not None

    @property
    def shape(self) -> CodeShape:
        return self.tr.shape

    @property
    def acc_bits(self) -> int:
        return self.graph.graph["accumulator_bits"]

    @property
    def entry_bits(self) -> int:
        return self.graph.graph["table_entry_bits"]

    def acc_ops(self, bits: int | None = None) -> int:
        """Instructions for one add or compare on the accumulator: two (with carry)
        when it is wider than the core's word."""
        return 1 if (bits or self.acc_bits) <= self.tr.word_bits else 2


def _axis_taps(length: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(output positions, kernel taps inside the input summed over them) along one
    axis; 'same' padding (TensorFlow rule) leaves some taps outside."""
    if padding != "same":
        out = (length - kernel) // stride + 1
        return out, out * kernel
    out = math.ceil(length / stride)
    before = max((out - 1) * stride + kernel - length, 0) // 2
    inside = sum(1 for o in range(out) for j in range(kernel)
                 if 0 <= o * stride - before + j < length)
    return out, inside


def executed_taps(a: dict) -> tuple[float, float]:
    """(connections executed, kernel rows per output unit) of a weighted layer.

    Taps that fall on 'same' padding are skipped (the kernel clips its loops to
    the input, as the executor does), so they cost nothing; without padding the
    executed connections are the graph's."""
    layer, op = getattr(a, "layer", None), a.kind
    if op == "dense" or layer is None or a.padding != "same":
        rows = getattr(layer, "kernel_h", 0) if op in ("conv2d", "depthwise_conv2d") else 0
        return float(a.connections), float(rows)
    shape = a.input_shape
    if op == "conv1d":
        _, inside = _axis_taps(shape[0], layer.kernel, layer.stride, "same")
        return float(inside * layer.in_channels * layer.out_channels), 0.0
    out_h, inside_h = _axis_taps(shape[0], layer.kernel_h, layer.stride_h, "same")
    _, inside_w = _axis_taps(shape[1], layer.kernel_w, layer.stride_w, "same")
    per_channel = inside_h * inside_w
    channels = (layer.in_channels * layer.out_channels if op == "conv2d" else layer.channels)
    return float(per_channel * channels), inside_h / out_h


def inner_loop(n: Node, per_iteration: int, connections: float, rows: float) -> float:
    """Inner-loop iterations per output unit of a weighted layer.

    Dense and conv1d windows are contiguous in a channels-last tensor: one loop
    over the fan-in. A conv2d window is kernel_h runs of kernel_w x channels
    contiguous elements; a depthwise window is kernel_h runs of kernel_w taps at
    a stride of `channels`. Each run is one inner loop (`rows` runs per unit)."""
    taps = connections / n.attrs.outputs
    step = n.opt.unroll * per_iteration
    runs = max(rows, 1.0)
    return runs * math.ceil(taps / runs / step)


def unit_frame(n: Node, iterations: float, rows: float) -> Actions:
    """Per output unit: set-up (reset the input pointer and index), the outer loop's
    own overhead, the inner loops, and one pointer step per kernel row."""
    return plus({"alu": 2 + rows}, loop_control(1 + iterations + rows))


def call_frame(n: Node, frame: str) -> Actions:
    """One call of the node's function from the schedule: call + return, prologue and
    epilogue ("weighted" or "light" kernels)."""
    if n.shape.family == "generic":
        return {}
    part = n.shape.weighted_frame if frame == "weighted" else n.shape.light_frame
    return plus({"call_return": 1.0}, part)


def output_positions(n: Node) -> tuple[float, float]:
    """(output positions, output rows) of a weighted layer or pool: a dense layer has
    one position, a 1-D layer one row."""
    shape = n.attrs.output_shape
    if len(shape) == 1:
        return 1.0, 1.0
    if len(shape) == 2:
        return float(shape[0]), 1.0
    return float(shape[0] * shape[1]), float(shape[0])


def outer_loops(n: Node, units: float) -> Actions:
    """The unit loop (per position) and the position loops around it."""
    positions, rows = output_positions(n)
    actions = loop_control(units, positions)
    if positions > 1:
        actions = plus(actions, loop_control(positions, rows),
                       {"alu": n.shape.position_alu * positions})
        if rows > 1:
            actions = plus(actions, loop_control(rows, 1))
    return actions


def kernel_rows(n: Node, rows: float) -> Actions:
    """Per unit of a conv2d/depthwise layer: the loop over the kernel's rows (taps clipped
    by 'same' padding are not visited) and each row's pointer work; a one-row kernel
    has no row loop. A clipped window's run count is tested before its loop."""
    if rows <= 1 and n.shape.family != "generic":
        return {}
    if n.shape.family == "generic":
        return plus(loop_control(rows, 1), {"alu": rows}) if rows else {}
    actions = plus(loop_control(rows, 1), times(n.shape.row, rows))
    if getattr(getattr(n.attrs, "layer", None), "padding", "valid") == "same":
        actions = plus(actions, times({"alu": 1.0, "branch_not_taken": 1.0}, rows))
    return actions


def same_padding(n: Node, units: float) -> Actions:
    """'same' padding: per unit, the clipped window's bookkeeping kept on the stack;
    per output position, its window-table entries (offset, first tap, taps) from flash."""
    layer = getattr(n.attrs, "layer", None)
    if n.shape.family == "generic" or getattr(layer, "padding", "valid") != "same":
        return {}
    positions, _ = output_positions(n)
    table = {"literal_load": 1.0, "alu": 1.0}          # window tables are constants in flash
    return plus(times(n.shape.same_unit, units), times(table, 3 * positions))


def pool_window(n: Node) -> tuple[int, int]:
    """(elements per window, rows per window) of a pool."""
    layer = getattr(n.attrs, "layer", None)
    if n.attrs.kind.endswith("2d"):
        return layer.size_h * layer.size_w, layer.size_h
    return n.attrs.window, 0


def pool_frame(n: Node, window: int, rows: int) -> Actions:
    """Per output: the window's loops. A window of up to UNROLLED_WINDOW elements is
    written out (no loop); a larger one loops over its rows and columns."""
    if window <= UNROLLED_WINDOW:
        return {}
    runs = max(1, rows)
    actions = loop_control(runs * math.ceil(window / runs / n.opt.unroll), runs)
    if rows > 1:
        actions = plus(actions, loop_control(rows, 1), {"alu": rows})
    return plus(actions, {"alu": 1.0})


def max_pool(n: Node, element: Actions, store: Actions) -> Actions:
    """Per output: read the window (one load per element, hwsim.machine.codegen.pools); the
    first element starts the maximum, every other one is compared and moved when
    larger: a branch around the move (taken unless there is a new maximum,
    MAX_UPDATE), or an IT block on Thumb-2. Then the store and the channel loop."""
    shape = n.shape
    window, rows = pool_window(n)
    if shape.search_if_converted:
        per_compare = {"alu": 3.0}
    elif shape.family == "generic":
        per_compare = plus({"alu": 1.5}, HALF_BRANCH)
    else:
        p = MAX_UPDATE
        compare = 0.0 if shape.family == "rv32" else 1.0
        per_compare = {"alu": compare + p, "branch_taken": 1 - p, "branch_not_taken": p}
    per_output = plus(times(element, window), times(per_compare, window - 1), store,
                      pool_frame(n, window, rows))
    outputs = float(n.attrs.outputs)
    return plus(times(per_output, outputs), pool_outer(n, outputs), call_frame(n, "light"))


def pool_outer(n: Node, outputs: float, written_out: bool = False) -> Actions:
    """The channel loop (one iteration per output) and the position loops. With
    `written_out` (a pool whose window is written out, as the int8 plain loops on a core
    without a multiplier are priced), gcc writes out a loop of at most
    WRITTEN_OUT_ITERATIONS iterations, and with the channel loop goes the pointer
    arithmetic per position (the position loop steps its pointers)."""
    shape = n.attrs.output_shape
    positions = float(math.prod(shape[:-1]))
    rows = float(shape[0]) if len(shape) == 3 else 1.0
    levels = ((outputs, positions), (positions, rows), (rows, 1.0) if rows > 1 else (0.0, 0.0))
    kept = [(iterations, runs) for iterations, runs in levels
            if iterations and not (written_out and iterations <= runs * WRITTEN_OUT_ITERATIONS)]
    actions = plus(*(loop_control(iterations, runs) for iterations, runs in kept))
    if not written_out or (outputs, positions) in kept:
        actions = plus(actions, {"alu": n.shape.position_alu * positions / 2})
    return actions


def new_maximum_probability(classes: int) -> float:
    """Chance that a compare finds a new maximum, scanning `classes` values in random
    order: (H_classes - 1) / (classes - 1)."""
    if classes < 2:
        return 0.0
    harmonic = sum(1.0 / k for k in range(1, classes + 1))
    return (harmonic - 1.0) / (classes - 1)


def argmax(n: Node, element: Actions, address_alu: float) -> Actions:
    """Read the first score; compare every other one with the running maximum. A new
    maximum moves the maximum and its index: a branch around two moves (taken when
    there is none) or, on Thumb-2, two IT-predicated moves. Then store the class id."""
    shape = n.shape
    classes = n.attrs.classes
    if shape.family == "generic":
        per_compare = plus({"alu": 1.0}, HALF_BRANCH, {"alu": 1})
        return plus(times(element, classes), times(per_compare, classes - 1),
                    loop_control(math.ceil(classes / n.opt.unroll)), {"alu": 2, "store_8": 1})
    p = new_maximum_probability(classes)
    if shape.search_if_converted:
        update = {"alu": 1.0 + 4.0}                         # cmp, it, mov, it, mov
    else:
        compare = 0.0 if shape.family == "rv32" else 1.0
        update = {"alu": compare + 2 * p, "branch_taken": 1 - p, "branch_not_taken": p}
    if shape.family == "rv32" and classes - 1 <= WRITTEN_OUT_ITERATIONS:
        # gcc writes the loop out: the loads take their offsets, the index is a constant
        # (li), one setup move of the first index.
        return plus(times(element, classes), {"alu": 1.0}, times(update, classes - 1),
                    {"store_8": 1.0}, call_frame(n, "light"))
    per_compare = plus(element, {"alu": address_alu + shape.argmax_index_alu}, update)
    return plus(element, {"alu": shape.argmax_setup_alu}, times(per_compare, classes - 1),
                loop_control(classes - 1, 1), {"store_8": 1.0}, call_frame(n, "light"))


def no_actions(n: Node) -> Actions:
    return {}
