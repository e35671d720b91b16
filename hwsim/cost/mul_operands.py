"""What the int8 library's RISC-V muls multiply by (their second operand, rs2), which an
operand-dependent multiplier's time follows (the device's operand_multiplier: Ibex's
RV32MSlow takes 1 + 1 cycle per significant bit of rs2, 33 for a negative one:
docs/rtl.md), as the cost model knows it: each mul site's role comes from the
characterization (hwsim.machine.mul_sites); here, the mean significant bits of each
role's operands on a node (`mul_operand_bits`: weights and inputs over the MACs the call
executes, hwsim.ir.mac_counts) and of an address mul by a shape value (`parameter_bits`).
hwsim.cost.int8_library.call_actions prices them.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from hwsim.ir.graph import INT8_INPUT_BITS
from hwsim.ir.int8_kernels import MUL_BY, mul_parameters
from hwsim.ir.int8_weights import int8_weights
from hwsim.ir.mac_counts import padded_share, tap_macs

# A RISC-V `mul` of the library by what its second operand (rs2) holds, which an
# operand-dependent multiplier's time follows (hwsim.machine.characterize tells them
# apart by value): an int8 weight, an input plus its offset, a Q31 requantization
# multiplier. The library's other muls (address arithmetic on the shapes) stay `mul`.
MUL_OPERANDS = ("mul_weight", "mul_input", "mul_multiplier")
# Their most significant bits (a negative int8 read unsigned has 32; a Q31 multiplier is in
# [2^30, 2^31)): the bound of an operand multiplier's time when the values are unknown.
WORST_MUL_BITS = {"mul_weight": 32, "mul_input": 32, "mul_multiplier": 31}

# The graph key (hwsim.ir.graph.INT8_INPUT_BITS) of a trained artifact's int8 input
# statistics: weighted node -> histogram of its inputs' value_bits.
INPUT_BITS = INT8_INPUT_BITS


def reads_network_input(n) -> bool:
    """Whether a node's input is the network input (through flattens)."""
    sources = list(n.graph.predecessors(n.name))
    while sources and n.graph.nodes[sources[0]]["op"].kind in ("flatten",):
        sources = list(n.graph.predecessors(sources[0]))
    return bool(sources) and n.graph.nodes[sources[0]]["op"].kind == "input"


def value_bits(values) -> np.ndarray:
    """The significant bits (at least 1) of each int32 value read unsigned: a negative value
    has 32. What an operand multiplier's time follows."""
    v = np.asarray(values, dtype=np.int64).ravel() & 0xFFFFFFFF
    return np.maximum(np.floor(np.log2(np.maximum(v, 1))).astype(np.int64) + 1, 1)


def significant_bits(values) -> float:
    """The mean value_bits of int32 values (none: WORST_MUL_BITS' 32)."""
    v = np.asarray(values)
    if v.size == 0:
        return float(WORST_MUL_BITS["mul_weight"])
    return float(value_bits(v).mean())


def histogram_bits(histogram) -> float:
    """The mean significant bits of a histogram of value_bits (counts of 1 ... 32 bits)."""
    counts = np.asarray(histogram, dtype=np.float64)
    return float(counts @ np.arange(1, len(counts) + 1) / counts.sum())


def mul_operand_bits(n, call) -> dict[str, float]:
    """Mean significant bits of the library's mul second operands on node `n`
    (hwsim.cost.kernels.Node) run by library `call`, over the MACs the
    call executes (hwsim.ir.mac_counts), from the statistics the model knows: the graph's
    int8 weights (a trained artifact's; a shape-only graph's random ones), each tap by the
    MACs it takes part in; its inputs from the trained artifact's int8 input statistics
    (docs/model-format.md, `int8_input_statistics`: the layer's int8 inputs over training
    samples, each by its MACs) when it has them, else taken uniform over the int8 values
    they can hold (the network input's levels, 0..127; a hidden activation -127..127, the
    negative half 32 bits), and the padding a kernel multiplies (the zero point 0: 1 bit)
    mixed in by its share of the MACs; the options' multiplier_operand_bits when given; Q31
    multipliers 31 bits. The bound, every operand negative, is WORST_MUL_BITS."""
    weights = int8_weights(n.graph, n.name)
    histogram = n.graph.graph.get(INPUT_BITS, {}).get(n.name)
    if histogram is not None:                            # measured on the training data
        inputs = histogram_bits(histogram)
    else:
        inputs = uniform_input_bits(n.graph.nodes[n.name]["op"].levels_in
                                    if reads_network_input(n) else None)
    padded = padded_share(call)
    inputs = (1.0 - padded) * inputs + padded * uniform_input_bits(1)
    if n.opt.multiplier_operand_bits is not None:        # the user's statistic
        inputs = float(max(n.opt.multiplier_operand_bits, 1))
    return {"mul_weight": (weight_bits(weights, call) if weights is not None
                           else float(WORST_MUL_BITS["mul_weight"])),
            "mul_input": inputs,
            "mul_multiplier": float(WORST_MUL_BITS["mul_multiplier"])}


@lru_cache(maxsize=None)
def uniform_input_bits(levels: int | None) -> float:
    """The mean significant bits of int8 inputs taken uniform over the values they can hold:
    the network input's `levels` (round(q / (levels - 1) * 127), 0..127; one level: the
    zero point 0), else (None) a hidden activation's -127..127."""
    if levels is None:
        return significant_bits(np.arange(-127, 128))
    return significant_bits(np.rint(np.arange(levels) * 127 / max(levels - 1, 1)))


def weight_bits(weights, call) -> float:
    """The mean significant bits of a layer's int8 weights (taps x units, the taps in
    (kh, kw, channel) order) over the MACs of `call`: each tap by the MACs it takes part
    in (hwsim.ir.mac_counts.tap_macs; every weight alike in a dense layer)."""
    taps = tap_macs(call).ravel().astype(np.float64)
    bits = value_bits(weights).reshape(taps.size, -1)
    return float(taps @ bits.sum(axis=1) / (taps.sum() * bits.shape[1]))


def parameter_bits(call, action: str) -> int:
    """The significant bits of the shape value a mul_by_<name> site multiplies by
    (hwsim.ir.int8_kernels.mul_parameters): exact, the call fixes it."""
    return int(value_bits(mul_parameters(call)[action[len(MUL_BY):]])[0])
