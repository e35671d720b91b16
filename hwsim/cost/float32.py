"""Action counts of the float32 style: FPU instructions, or soft-float routine calls
on a core without an FPU."""
from __future__ import annotations

import math

from hwsim.cost.kernels import (
    WEIGHTED_OPS,
    Node,
    executed_taps,
    inner_loop,
    no_actions,
    pool_window,
    unit_frame,
)
from hwsim.cost.options import CoreTraits
from hwsim.cost.primitives import HALF_BRANCH, Actions, load, loop_control, plus, times


def _float_op(tr: CoreTraits, routine: str) -> Actions:
    """One float operation: an FPU instruction or a soft-float routine call."""
    return {f"float_{routine}" if tr.fpu else f"soft_float_{routine}": 1.0}


def reads_network_input(n: Node) -> bool:
    """Whether the node's input is the network input (through flatten nodes)."""
    g, node = n.graph, n.name
    while True:
        sources = list(g.predecessors(node))
        if len(sources) != 1:
            return False
        node = sources[0]
        kind = g.nodes[node]["op"].kind
        if kind == "input":
            return True
        if kind != "flatten":
            return False


def zero_input_share(n: Node) -> float:
    """The share of the node's input elements that are 0: CostOptions.float_zero_inputs
    for a node reading the network input (0 when not given: the worst case); 0 for the
    others (tanh, pool and sum values are 0 only by chance)."""
    share = n.opt.float_zero_inputs
    return float(share) if share is not None and reads_network_input(n) else 0.0


def _float_weighted(n: Node) -> Actions:
    """Per output unit acc = 0, acc += w[i] * x[i] over its taps, acc += bias (as
    hwsim.machine.codegen.float32 generates it). On a soft-float core the first tap's
    add finds acc = 0, and an input at 0 makes the multiply and its add take libgcc's
    early return (`_zero` routines, hwsim.cost.soft_float_library)."""
    a, tr, opt = n.attrs, n.tr, n.opt
    connections, rows = executed_taps(a)
    if tr.fpu and tr.has_float_mac:
        mac = {"float_mac": 1.0}
        macs = times(mac, connections)
    elif tr.fpu:
        mac = plus(_float_op(tr, "mul"), _float_op(tr, "add"))
        macs = times(mac, connections)
    else:
        zero = zero_input_share(n)
        later = connections - a.outputs                 # taps after each unit's first
        macs = {"soft_float_mul": connections * (1 - zero),
                "soft_float_mul_zero": connections * zero,
                "soft_float_add": later * (1 - zero),
                "soft_float_add_zero": later * zero + a.outputs}
    depthwise = 1.0 if a.kind == "depthwise_conv2d" else 0.0
    per_connection = plus(load(32, "sram", tr), load(32, opt.weights_in, tr),
                          {"alu": depthwise} if depthwise else {})
    iterations = inner_loop(n, 1, connections, rows)
    per_unit = plus(unit_frame(n, iterations, rows), load(32, opt.weights_in, tr),
                    _float_op(tr, "add"))
    if not n.fused_into_threshold:
        per_unit = plus(per_unit, {"store_32": 1.0})
    return plus(times(per_connection, connections), macs, times(per_unit, a.outputs))


def _float_pool_frame(n: Node, window: int, rows: int) -> Actions:
    runs = max(1, rows)
    iterations = runs * math.ceil(window / runs / n.opt.unroll)
    return plus({"alu": 1 + rows}, loop_control(1 + iterations + rows))


def _float_max_pool(n: Node) -> Actions:
    """Per output: read the window (one address step each); every element but the
    first is compared (a float compare), branched on (half taken) and half the time
    moved."""
    window, rows = pool_window(n)
    element = load(32, "sram", n.tr)
    per_compare = plus(_float_op(n.tr, "compare"), HALF_BRANCH, {"alu": 0.5})
    per_output = plus(times(plus(element, {"alu": 1.0}), window), times(per_compare, window - 1),
                      {"store_32": 1.0}, _float_pool_frame(n, window, rows))
    return times(per_output, n.attrs.outputs)


def _float_argmax(n: Node) -> Actions:
    classes = n.attrs.classes
    per_compare = plus(_float_op(n.tr, "compare"), HALF_BRANCH, {"alu": 1})
    return plus(times(load(32, "sram", n.tr), classes), times(per_compare, classes - 1),
                loop_control(math.ceil(classes / n.opt.unroll)), {"alu": 2, "store_8": 1})


def _float_threshold(n: Node) -> Actions:
    return times(plus(_float_op(n.tr, "tanh"), {"store_32": 1.0}), n.attrs.units)


def _float_avg_pool(n: Node) -> Actions:
    window, rows = pool_window(n)
    per_element = plus(load(32, "sram", n.tr), {"alu": 1.0})
    per_output = plus(times(per_element, window), times(_float_op(n.tr, "add"), window - 1),
                      _float_op(n.tr, "mul"),                               # x (1 / window)
                      {"store_32": 1.0}, _float_pool_frame(n, window, rows))
    return times(per_output, n.attrs.outputs)


def _float_add(n: Node) -> Actions:
    inputs = len(n.inputs)
    per_element = plus(times(load(32, "sram", n.tr), inputs),
                       times(_float_op(n.tr, "add"), inputs - 1), {"alu": 1.0})
    if not n.fused_into_threshold:
        per_element = plus(per_element, {"store_32": 1.0})
    elements = n.attrs.outputs
    return plus(times(per_element, elements), loop_control(math.ceil(elements / n.opt.unroll)))


FLOAT32_COUNTERS = {
    **{op: _float_weighted for op in WEIGHTED_OPS},
    "threshold": _float_threshold,
    "max_pool1d": _float_max_pool, "max_pool2d": _float_max_pool,
    "avg_pool1d": _float_avg_pool, "avg_pool2d": _float_avg_pool,
    "add": _float_add,
    "argmax": _float_argmax,
    "output_table": no_actions,              # the float output is the value
}
