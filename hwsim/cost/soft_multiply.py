"""What the int8 style's software multiplies execute on a core without a multiplier, from
the characterization of libgcc's __mulsi3 and __muldi3 with the pinned compiler
(hwsim.machine.soft_multiply_characterize, data in hwsim/cost/data/soft_multiply_<target>.json):
the actions of one call as exact functions of the bits and set bits of the operand its
loop runs over, which the device's cycle table turns into cycles.

    actions = mac_call(n)          # one __mulsi3(x + 128, |w|) of node n, mean over its weights
    actions = requantize_call(n)   # one __muldi3(|acc|, multiplier) of node n

The generated code (hwsim.machine.codegen.int8, SOFT_MULTIPLY) passes there what the
graph fixes: a MAC's weight magnitude |w| (the mean over the layer's int8 weights: exact
when every weight runs equally often, as in dense and 'valid' layers; a graph without
weights takes them uniform over -127..127) and the requantization's Q31 multiplier
(hwsim.ir.int8_scales; without weights, the mean over [2^30, 2^31): 31 bits, 16 set).
The options' multiplier_operand_bits, when given, replaces the weights' bits (half of
them set). Covered: a core with no multiplier whose ISA has data (a serial shifter's
shifts priced by their amounts, as the data count them); the caller keeps its formulas
elsewhere.
"""
from __future__ import annotations

import weakref
from fractions import Fraction
from functools import lru_cache

import numpy as np

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.ir.int8_kernels import TARGET_OF_ISA
from hwsim.ir.int8_trip_counts import tap_uses
from hwsim.ir.int8_scales import add_quant, int8_scales, weighted_multiplier
from hwsim.ir.int8_weights import int8_weights

# Without weights in the graph: a Q31 multiplier in [2^30, 2^31) has 31 bits, the top one
# set and the 30 below it set half the time.
MULTIPLIER_TERMS = (31.0, 16.0)
UNIFORM_WEIGHTS = np.arange(-127, 128)


def soft_multiply_data(target: str) -> dict | None:
    """The characterization data of one build, or None when there is none."""
    return characterized.characterization_data("soft_multiply", target)


def soft_multiply_target(tr) -> str | None:
    """The characterized target whose libgcc routines a core of traits `tr`
    (hwsim.cost.options.CoreTraits) calls, or None: it has a multiplier or its ISA has
    no data."""
    if tr.multiplier != "none":
        return None
    target = TARGET_OF_ISA.get(tr.isa)
    return target if target is not None and soft_multiply_data(target) is not None else None


@lru_cache(maxsize=None)
def _record(target: str, routine: str) -> tuple:
    record = soft_multiply_data(target)["routines"][routine]
    return tuple(record["basis"]), tuple(
        (action, tuple(float(Fraction(c)) for c in cs)) for action, cs in
        sorted(record["counts"].items()))


SHIFT_AMOUNTS = ("shift_4_bits", "shift_bit")
# The int8 soft kernels' libgcc calls (the actions counting them in the characterization,
# hwsim.machine.soft_kernel_calls): "soft_" + the routine. Their bound per call: the
# operand with the most loop passes and adds, |w| = 127 (the stored weights are in
# [-127, 127]) and a Q31 multiplier of 31 set bits.
SOFT_CALLS = ("soft_mulsi3", "soft_muldi3")
WORST_SOFT_TERMS = {"soft_mulsi3": (7.0, 7.0), "soft_muldi3": (31.0, 31.0)}


def call_actions(target: str, routine: str, bits: float, ones: float,
                 serial_shifter: bool = False) -> Actions:
    """The actions of one call whose loop operand has (mean) `bits` and `ones`: the data's
    functions are linear in them, so the mean call is the call at the means. The data
    count shifts with their amounts; without a serial shifter a shift is one `alu`."""
    basis, counts = _record(target, routine)
    terms = {"1": 1.0, "bits": bits, "ones": ones}
    actions: dict[str, float] = {}
    for action, cs in counts:
        if not serial_shifter and action in SHIFT_AMOUNTS:
            continue
        name = "alu" if action == "shift" and not serial_shifter else action
        actions[name] = actions.get(name, 0.0) + sum(c * terms[t] for c, t in zip(cs, basis))
    return {a: v for a, v in actions.items() if v}


def operand_terms(values) -> tuple[float, float]:
    """(mean bit length, at least 1, and mean set bits) of non-negative 32-bit values."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size == 0:
        return 1.0, 0.0
    highest, ones = operand_bits(v)
    return float(highest.mean()), float(ones.mean())


def operand_bits(values) -> tuple[np.ndarray, np.ndarray]:
    """(bit length, at least 1, and set bits) of each non-negative 32-bit value."""
    v = np.asarray(values, dtype=np.int64)
    set_bits = (v[..., None] >> np.arange(32)) & 1
    highest = np.where(set_bits.any(axis=-1), 32 - np.argmax(set_bits[..., ::-1], axis=-1), 1)
    return highest, set_bits.sum(axis=-1)


def soft_call_terms(call, weights, multipliers) -> dict[str, tuple[int, float, float]]:
    """(calls, summed bits, summed set bits of the operand the loop runs over) of each
    libgcc routine one call of a soft kernel (hwsim.ir.int8_kernels.SOFT_KERNELS) makes:
    __mulsi3 once per MAC of its clipped windows over that tap's |w| (`weights` in the
    library's layout: [out_c][kh][kw][in_c] or [kh][kw][c]), __muldi3 once per output over
    its channel's Q31 multiplier (`multipliers`, one per output channel)."""
    uses = tap_uses(call)
    w = np.abs(np.asarray(weights, dtype=np.int64))
    if call.kernel == "depthwise_soft":
        w = w.reshape(call.kh, call.kw, call.in_c)
        n = np.broadcast_to(uses[:, :, None], w.shape)
    else:
        w = w.reshape(call.out_c, call.kh, call.kw, call.in_c)
        n = np.broadcast_to(uses[None, :, :, None], w.shape)
    bits, ones = operand_bits(w)
    m_bits, m_ones = operand_bits(np.broadcast_to(np.asarray(multipliers, dtype=np.int64),
                                                  (call.out_c,)))
    pixels = call.out_h * call.out_w
    return {"soft_mulsi3": (int(n.sum()), float((n * bits).sum()), float((n * ones).sum())),
            "soft_muldi3": (pixels * call.out_c, float(pixels * m_bits.sum()),
                            float(pixels * m_ones.sum()))}


def node_soft_terms(n, call) -> dict[str, tuple[int, float, float]]:
    """soft_call_terms of weighted node `n` (hwsim.cost.kernels.Node) run by soft kernel
    `call`: the graph's int8 weights and Q31 multiplier (the generated code's); a graph
    without weights: every MAC at the mean |w| of weights uniform over -127..127 and the
    multiplier at MULTIPLIER_TERMS (the options' multiplier_operand_bits, when given,
    replaces the weights' bits as in `weight_terms`)."""
    terms = _graph_terms(n.graph)
    key = ("soft", n.name, call)
    if key not in terms:
        weights = int8_weights(n.graph, n.name)
        if weights is None:
            macs = call.macs
            bits, ones = operand_terms(np.abs(UNIFORM_WEIGHTS))
            outputs = call.out_h * call.out_w * call.out_c
            terms[key] = {"soft_mulsi3": (macs, macs * bits, macs * ones),
                          "soft_muldi3": (outputs, outputs * MULTIPLIER_TERMS[0],
                                          outputs * MULTIPLIER_TERMS[1])}
        else:
            layout = weights if call.kernel == "depthwise_soft" else weights.T
            if "scales" not in terms:
                terms["scales"] = int8_scales(n.graph)
            m = weighted_multiplier(n.graph, n.name, terms["scales"])[0]
            terms[key] = soft_call_terms(call, layout, np.full(call.out_c, m))
    result = dict(terms[key])
    if n.opt.multiplier_operand_bits is not None:
        calls = result["soft_mulsi3"][0]
        bits, ones = weight_terms(n)
        result["soft_mulsi3"] = (calls, calls * bits, calls * ones)
    return result


# Per graph (weakly held: a graph is not modified once built), node -> its terms.
_TERMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _graph_terms(graph) -> dict:
    terms = _TERMS.get(graph)
    if terms is None:
        terms = _TERMS[graph] = {}
    return terms


def weight_terms(n) -> tuple[float, float]:
    """(bits, ones) of the node's weight magnitudes |w| (module docstring)."""
    if n.opt.multiplier_operand_bits is not None:
        bits = float(max(n.opt.multiplier_operand_bits, 1))
        return bits, bits / 2
    terms = _graph_terms(n.graph)
    if ("weights", n.name) not in terms:
        weights = int8_weights(n.graph, n.name)
        terms["weights", n.name] = operand_terms(
            np.abs(UNIFORM_WEIGHTS if weights is None else weights))
    return terms["weights", n.name]


def multiplier_terms(n) -> tuple[float, float]:
    """(bits, ones) of the node's Q31 requantization multiplier (module docstring)."""
    terms = _graph_terms(n.graph)
    if ("multiplier", n.name) not in terms:
        if int8_weights(n.graph, n.name) is None:
            terms["multiplier", n.name] = MULTIPLIER_TERMS
        else:
            if "scales" not in terms:
                terms["scales"] = int8_scales(n.graph)
            multiplier = weighted_multiplier(n.graph, n.name, terms["scales"])[0]
            terms["multiplier", n.name] = operand_terms([multiplier])
    return terms["multiplier", n.name]


def mac_call(n, target: str) -> Actions:
    """One MAC's __mulsi3 call of weighted node `n` (hwsim.cost.kernels.Node)."""
    return call_actions(target, "mulsi3", *weight_terms(n), n.tr.serial_shifter)


def requantize_call(n, target: str) -> Actions:
    """One output's __muldi3 call of weighted node `n`."""
    return call_actions(target, "muldi3", *multiplier_terms(n), n.tr.serial_shifter)


def add_multiplier_terms(n) -> tuple[tuple[float, float], ...]:
    """(bits, ones) of the Q31 multipliers of add node `n`'s three requantizations (input
    1, input 2, output; hwsim.ir.int8_scales.add_quant), or MULTIPLIER_TERMS each when
    the graph has no weights."""
    terms = _graph_terms(n.graph)
    if ("add", n.name) not in terms:
        g = n.graph
        if any(int8_weights(g, m) is None for m, op in g.nodes(data="op") if op.weighted):
            terms["add", n.name] = (MULTIPLIER_TERMS,) * 3
        else:
            if "scales" not in terms:
                terms["scales"] = int8_scales(g)
            scales = terms["scales"]
            s1, s2 = (scales[m] for m in g.predecessors(n.name))
            multipliers, _ = add_quant(s1, s2, scales[n.name])
            terms["add", n.name] = tuple(operand_terms([m]) for m in multipliers)
    return terms["add", n.name]
