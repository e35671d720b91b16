"""Which kernel runs each int8 weighted node: the per-node choice of the cost model, the
one the code generator emits, the memory planner counts and `hwsim validate` checks.

    choices = int8_kernel_choices(graph, device, options)   # {node: KernelChoice}
    choices["conv0"].kernel                                  # "reference"

For each int8 weighted node the candidates are the library kernels that can run it
(hwsim.ir.int8_kernels.candidate_kernels: e.g. conv_1x1, conv and conv_scalar for a
pointwise convolution), each priced with the device's cycle table from the same action
counts `cost_graph` uses: all characterized, so every default int8 node on a covered
core is priced from its kernel's own machine code. The choice is the candidate with the
fewest cycles among those that fit the memory budget, the first in order of preference
(CMSIS-NN's order, then the scalar small-fan-in conv_scalar) on a tie. A candidate fits
when the node's working set, its int8 input and output tensors plus the kernel's scratch
buffer, fits the device's SRAM net of the reserved part. conv_scalar (dense and conv)
and depthwise need no scratch, so none fits only when the tensors alone do not: then the
budget cannot decide and the fewest cycles do (the memory report says the network does
not fit).

`options.int8_kernels` sets the candidates: "optimized" (default) all the library
kernels that can run the node where the library's characterization covers the core, else
only the reference loops;
"library" only the preferred library kernel (the fixed CMSIS-NN rule) where covered;
"reference" only the plain loops. The choice is a pure function of the graph, the
device and the options, so anyone holding those three recomputes it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

from hwsim.cost.actions import core_traits, node_actions
from hwsim.cost.int8_library import covers
from hwsim.cost.options import CostOptions
from hwsim.cost.prices import action_prices
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import REFERENCE, candidate_kernels, kernel_scratch_bytes
from hwsim.ir.ops import WEIGHTED
from hwsim.specs.device import Device


@dataclass(frozen=True)
class KernelOption:
    """One candidate kernel of a node: its cycles on the device and its memory."""
    kernel: str
    cycles: float
    scratch_bytes: int
    working_set_bytes: int          # int8 input + output + scratch
    fits: bool
    actions: dict = field(default_factory=dict, repr=False, compare=False)   # node_actions


@dataclass(frozen=True)
class KernelChoice:
    """The kernel chosen for one int8 weighted node, and every candidate considered."""
    node: str
    kernel: str
    candidates: tuple[KernelOption, ...]

    @property
    def chosen(self) -> KernelOption:
        return next(c for c in self.candidates if c.kernel == self.kernel)

    @property
    def scratch_bytes(self) -> int:
        return self.chosen.scratch_bytes


def node_candidates(op, covered: bool, mode: str, multiplier: bool = True) -> tuple[str, ...]:
    """The candidate kernels of one int8 weighted op (a WeightedOp) in order of
    preference, on a core the library's data covers (`covered`) or not, with a
    `multiplier` or without (the soft kernels)."""
    if mode == "reference" or not covered:
        return (REFERENCE,)
    kernels = candidate_kernels(op.kind, tuple(op.input_shape), op.layer, multiplier)
    return kernels[:1] if mode == "library" else kernels


def int8_kernel_choices(graph: nx.DiGraph, device: Device,
                        options: CostOptions | None = None) -> dict[str, KernelChoice]:
    """The kernel of every int8 weighted node of `graph` on one core of `device`."""
    options = options or CostOptions()
    traits = core_traits(device)
    prices = action_prices(device)
    covered = covers(traits)
    budget = device.memory.sram_bytes - device.memory.reserved_sram_bytes
    choices = {}
    for node, op in graph.nodes(data="op"):
        if op.kind not in WEIGHTED:
            continue
        tensors = math.prod(op.input_shape) + int(op.outputs)
        candidates = []
        for kernel in node_candidates(op, covered, options.int8_kernels,
                                      traits.multiplier != "none"):
            actions = node_actions(graph, node, "int8", traits, options, kernel)
            cycles = _cycles(actions, prices)
            scratch = kernel_scratch_bytes(op, kernel)
            candidates.append(KernelOption(kernel, cycles, scratch, tensors + scratch,
                                           tensors + scratch <= budget, actions))
        fitting = [c for c in candidates if c.fits] or candidates
        best = min(fitting, key=lambda c: c.cycles)
        choices[node] = KernelChoice(node, best.kernel, tuple(candidates))
    return choices


def _cycles(actions, prices) -> float:
    missing = sorted(set(actions) - set(prices))
    if missing:
        raise HwsimError(f"the device has no cost for action {missing[0]!r}")
    return sum(count * prices[action].cycles for action, count in actions.items())
