"""The int8 requantization's left-shift path (a channel's shift >= 0: a real multiplier
s_w s_x / s_out of 1/2 or more, as an imported model whose output scale is small against
s_w s_x has): characterized apart on every target (each weighted kernel's `left_shift`
record; on Armv7E-M the C kernels the call falls back to), priced by the cost model from
it, and proven on held-out networks whose layers shift left (docs/int8-kernels.md)."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.cost.int8_library import call_actions, kernel_counts, left_shifted, library_data
from hwsim.cost.model import combine, cost_graph
from hwsim.cost.options import CostOptions, core_traits
from hwsim.cost.prices import action_prices
from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import (REQUANTIZE_PATHS, SOFT_KERNELS, KernelCall, kernel_call,
                                   requantize_path, shift_roles)
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.characterize import CHARACTERIZED_TARGETS, characterize_kernel
from hwsim.machine.heldout import heldout_workloads, run_heldout, with_left_shifts
from hwsim.machine.kernels.harness import build_firmware
from hwsim.specs.catalog import find_device

# One device per characterized build: cortex-m0, cortex-m4, rv32im, rv32i.
DEVICE_OF = {"cortex-m0": "samd21", "cortex-m4": "nrf52840", "rv32im": "esp32-c3",
             "rv32i": "ch32v003"}
SEED = 5                       # held-out networks: drawn here, never characterized on
NETWORKS = (0, 3)              # an MLP, a depthwise net (3 layers that can shift left)
SOME = 3                       # the network run with every other layer shifted left
BOUND = 0.02                   # per node: the bar for cycles vs emulation x table


def _check(case, output):
    assert np.array_equal(output, REFERENCES[case.op](**case.reference_arguments)), \
        case.describe()


def test_the_path_is_left_when_any_channel_shifts_left():
    assert REQUANTIZE_PATHS == ("right", "left")
    assert requantize_path(-1) == "right" and requantize_path(0) == "left"
    assert requantize_path(np.array([-3, -7, -1])) == "right"
    assert requantize_path(np.array([-3, 2, -1])) == "left"
    # A RISC-V build's shift by a register: the rounding exponent, or the left shift.
    assert shift_roles("conv", -3) == {"exponent": 2}
    assert shift_roles("conv", 4) == {"left": 4}


def test_every_weighted_kernel_has_a_left_shift_record_on_every_target():
    """Each weighted kernel of every build carries its left-shift path, fitted exactly and
    proven on held-out shapes like the right-shift one; on Cortex-M4 the left path runs the
    C kernels instead of the assembly passes, so a 64-deep pointwise layer costs more."""
    for target in CHARACTERIZED_TARGETS:
        for kernel, record in library_data(target)["kernels"].items():
            if kernel == "add":
                assert "left_shift" not in record      # branch-free: one path
                continue
            left = record["left_shift"]
            assert left["held_out_shapes"] >= 4 and left["fitted_shapes"] > len(left["basis"])
    call = KernelCall("conv_1x1", 5, 5, 64, 5, 5, 64)
    right, left = (kernel_counts("cortex-m4", call, p) for p in REQUANTIZE_PATHS)
    assert sum(left.values()) > 1.05 * sum(right.values())


@pytest.fixture(scope="module")
def m4_firmware(tmp_path_factory):
    return build_firmware("cortex-m4", tmp_path_factory.mktemp("cortex-m4"))


def test_recharacterizing_a_left_shift_record_gives_the_shipped_one(m4_firmware):
    """The data cannot go stale: the 3x3 depthwise kernel's left path on Cortex-M4 (the C
    groups instead of the assembly ones), measured and fitted now, equals the shipped
    record."""
    record = characterize_kernel(m4_firmware, "depthwise_3x3", _check, path="left")
    assert record == library_data("cortex-m4")["kernels"]["depthwise_3x3"]["left_shift"]


def test_the_cost_model_prices_left_shifted_layers_from_their_record():
    """A graph whose layers shift left is priced from the left_shift records (not the
    right path, and with no note left saying it is not characterized)."""
    workload = heldout_workloads(SEED, NETWORKS[-1] + 1)[NETWORKS[-1]]
    g = graph_from_workload(workload, seed=SEED)
    shifted = with_left_shifts(g, "all")
    left = left_shifted(shifted)
    assert left_shifted(g) == () and len(left) == 3
    device = find_device("nrf52840")
    before, after = cost_graph(g, device, "int8"), cost_graph(shifted, device, "int8")
    assert not [n for n in after.notes if "shift left" in n]
    traits, prices = core_traits(device), action_prices(device)
    for node in left:
        cost = next(n for n in after.nodes if n.node == node)
        call = kernel_call(shifted.nodes[node]["op"], cost.kernel)
        alone = combine(call_actions(call, traits, CostOptions(), path="left"), prices)[0]
        right = combine(call_actions(call, traits, CostOptions()), prices)[0]
        assert alone != right and alone < cost.cycles
    assert after.total_cycles > before.total_cycles


@pytest.fixture(scope="module")
def heldout_runs(tmp_path_factory):
    """The held-out networks with every layer that can shift left doing so ("all"), and
    one with every other one ("some"), on one device per build, emulated."""
    workloads = heldout_workloads(SEED, max(NETWORKS) + 1)
    devices = [find_device(d) for d in DEVICE_OF.values()]
    out = {}
    for mode, indices in (("all", NETWORKS), ("some", (SOME,))):
        # run_heldout seeds network i's weights with seed + i: keep each one's index
        out[mode] = [run for i in indices for run in run_heldout(
            [workloads[i]], devices, ("int8",), seed=SEED + i,
            workdir=tmp_path_factory.mktemp(f"left-{mode}"), left_shifts=mode)]
    return workloads, out


def test_held_out_left_shifted_layers_are_priced_within_2_percent(heldout_runs):
    """Every network runs bit-exact against the int8 executor on all four builds, and
    every weighted node (left-shifted or not) is within 2% of its emulated cycles (the
    executed instructions priced with the device's table); the left-shifted ones are
    "characterized"."""
    workloads, runs = heldout_runs
    for mode, group in runs.items():
        assert len(group) == len(NETWORKS if mode == "all" else (SOME,)) * len(DEVICE_OF)
        checked = 0
        for run in group:
            assert not run.refused and run.bit_exact, (mode, run.workload, run.platform)
            [w] = [w for w in workloads if w.name == run.workload]
            i = workloads.index(w)
            g = with_left_shifts(graph_from_workload(w, seed=SEED + i), mode)
            left = set(left_shifted(g))
            assert left
            for node, op, error, basis in run.node_errors:
                if op in WEIGHTED:
                    assert basis == "characterized", (node, run.platform)
                    assert abs(error) <= BOUND, (mode, run.workload, node, run.platform, error)
                    checked += node in left
        assert checked >= len(DEVICE_OF) * (len(NETWORKS) if mode == "all" else 2)


def test_left_shifts_soft_kernels_are_characterized_too():
    """RV32I's soft kernels (libgcc's multiply routines split off) have their left path:
    the left shift by a register is counted by its role, `left`."""
    for kernel in SOFT_KERNELS:
        record = library_data("rv32i")["kernels"][kernel]["left_shift"]
        assert "shift_by_left" in record["counts"]
        assert "shift_by_exponent" not in record["counts"]


def test_the_plain_loops_left_shift_is_checked_by_emulation_on_picorv32(tmp_path):
    """`int8_kernels: reference` (the plain loops, priced by the formulas of
    docs/cost-model.md; on a serial shifter the left shift by its amount,
    hwsim.cost.requantize_shifts) on a held-out MLP whose layers shift left, on PicoRV32
    without and with its multiplier: bit-exact, within 1% without the multiplier; with it
    the per-unit counts, fitted on right shifts, still charge the rounding division the
    left path skips, so its left-shifted layers read high (within 5%, more than when the
    same layers shift right: docs/rtl.md)."""
    [workload] = heldout_workloads(SEED, 1)
    devices = [find_device("picorv32"), find_device("picorv32-mul")]
    left = set(left_shifted(with_left_shifts(graph_from_workload(workload, seed=SEED), "all")))
    errors = {}
    for mode in ("none", "all"):
        for run in run_heldout([workload], devices, ("int8",), seed=SEED,
                               workdir=tmp_path / mode, int8_kernels="reference",
                               left_shifts=mode):
            assert not run.refused and run.bit_exact, (mode, run.platform)
            for node, op, error, basis in run.node_errors:
                if op in WEIGHTED:
                    errors[mode, run.platform, node] = error
    assert left
    for node in left:
        assert abs(errors["all", "picorv32", node]) <= 0.01
        assert abs(errors["all", "picorv32-mul", node]) <= 0.05
        assert errors["all", "picorv32-mul", node] > errors["none", "picorv32-mul", node]
