"""The lut kernel library (hwsim/machine/kernels/lut, docs/lut-kernels.md): bit-exact with
the numpy reference in its test firmware and with the integer executor in generated
networks, its characterization data current and exact on held-out shapes, the cost model
equal to emulation per node where it prices the library, and multiply-free."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from hwsim.cost.lut_library import call_counts, data_path, library_data, record_counts
from hwsim.cost.options import CostOptions
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import KernelCall
from hwsim.cost.serial_shift import with_role_amounts
from hwsim.ir.lut_kernels import (BLOCKS, PACK_BITS, PACKED_VARIANTS, UNROLL, LutCall,
                                  blocked_weights, lut_shift_amounts, trip_counts, variant_of)
from hwsim.machine.characterize import kernel_counts
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.kernels.lut import library_sha256
from hwsim.machine.lut_characterize import (CHARACTERIZED_TARGETS, FUNCTIONS, _conv_shape,
                                            characterize_function)
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")

TARGETS = ("cortex-m0", "cortex-m4", "rv32im")


@pytest.fixture(scope="session")
def firmwares(tmp_path_factory):
    from hwsim.machine.kernels.lut_harness import build_lut_firmware
    root = tmp_path_factory.mktemp("lut-firmware")
    return {t: build_lut_firmware(t, root / t) for t in TARGETS}


def _random_calls(target: str, rng: np.random.Generator, count: int,
                  kernels=("conv", "depthwise"), variants=("s8", "s16", "s16i")
                  ) -> list[LutCall]:
    calls = []
    for i in range(count):
        kernel = kernels[i % len(kernels)]
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        h, w = (int(v) for v in rng.integers(max(k), max(k) + 5, 2))
        shape = _conv_shape(kernel, h, w, int(rng.integers(1, 7)),
                            int(rng.integers(1, 3 * BLOCKS[target] + 2)), k,
                            tuple(int(v) for v in rng.integers(1, 3, 2)),
                            ("same", "valid")[int(rng.integers(2))])
        thresholded = bool(i % 3)
        calls.append(LutCall(kernel, variants[i % len(variants)], BLOCKS[target],
                             UNROLL[target], shape, thresholded,
                             int(rng.integers(1, 6)) if thresholded else 0))
    return calls


@pytest.mark.parametrize("target", TARGETS)
def test_kernels_bit_exact_with_the_reference_and_priced_exactly(firmwares, target):
    """Random shapes never in the design (larger kernels, other seeds): every output equals
    the numpy reference, and the shipped data predicts every executed action (the
    fetch-wait actions the data fits by least squares: within the bound it states)."""
    rng = np.random.default_rng(2024)
    _check_random_calls(firmwares[target], target, _random_calls(target, rng, 12), rng,
                        lambda call: 256 if call.variant == "s16i" else int(rng.integers(2, 129)))
    if target.startswith("rv32"):          # shifts counted apart, the row shift by role
        assert "shift_by_row" in library_data(target)["kernels"]["conv_s8"]["counts"]


@pytest.mark.parametrize("target", TARGETS)
def test_packed_kernels_bit_exact_and_priced_exactly(firmwares, target):
    """The packed weight-code variants (4 bits at K <= 16, 2 bits at K <= 4) on random
    dense and convolution shapes (units across blocks, pairs and a single): outputs equal
    the reference, the shipped data predicts every executed action."""
    rng = np.random.default_rng(77)
    calls = _random_calls(target, rng, 12, ("conv",), PACKED_VARIANTS)
    calls.append(replace(calls[0], shape=KernelCall("fully_connected", 1, 1, 29, 1, 1,
                                                    2 * BLOCKS[target] + 3)))
    _check_random_calls(firmwares[target], target, calls, rng,
                        lambda call: int(rng.integers(2, PACK_BITS[int(call.variant[-1])] + 1)))


def test_a_long_call_is_priced_as_its_straight_runs(firmwares):
    """A dense call of 576 inputs (K = 256) spends its time in the pairs' loop, which in
    the test firmware crosses a 4 KiB page boundary, where the emulator ends a block: the
    profile joins it into the code's straight run (hwsim.machine.emulate_profile
    .StraightRuns), so no executed block ends but at a control transfer, and the data
    prices the call's fetch-wait actions to the instruction (cut there, the loop hid a
    fetch wait an iteration fewer: 1,152 in this call)."""
    from hwsim.machine.emulate_profile import CONTROL_ACTIONS
    from hwsim.machine.kernels.lut_harness import random_case, run_lut_case
    rng = np.random.default_rng(5)
    call = LutCall("conv", "s16i", BLOCKS["rv32im"], UNROLL["rv32im"],
                   KernelCall("fully_connected", 1, 1, 576, 1, 1, 4), False, 0)
    _check_random_calls(firmwares["rv32im"], "rv32im", [call], rng, lambda call: 256)
    run = run_lut_case(firmwares["rv32im"], random_case(call, rng, clusters=256))
    assert {run.profile.blocks[k[:2]].instructions[-1].action
            for k in run.profile.executions if k[2] != "harness"} <= CONTROL_ACTIONS


def _check_random_calls(firmware, target, calls, rng, clusters_of):
    from hwsim.machine.kernels.lut_harness import random_case, reference_output, run_lut_case
    for call in calls:
        clusters = clusters_of(call)
        case = random_case(call, rng, clusters=clusters)
        run = run_lut_case(firmware, case)
        assert np.array_equal(run.output, reference_output(case)), case.describe()
        bits = int(sum(bin(int(v)).count("1") for v in run.output)) if call.thresholded else 0
        # a shift by the row shift or the search step at the call's amounts (RISC-V)
        predicted = with_role_amounts(call_counts(target, call, bits),
                                      lut_shift_amounts(clusters, call), case.describe())
        counted = kernel_counts(run)
        record = library_data(target)["kernels"][f"{call.kernel}_{call.variant}"]
        bounds = record.get("bounds", {})
        for action, bound in bounds.items():
            assert action in FETCH_ACTIONS
            executed = counted.pop(action, 0)
            # the absolute bound of the designed shapes, or the relative one on a larger call
            assert abs(predicted.get(action, 0) - executed) <= max(
                bound, record["relative_bounds"][action] * executed)
        assert {a: c for a, c in predicted.items() if c and a not in bounds} == counted, \
            case.describe()


def test_blocked_layout():
    codes = np.arange(7 * 3).reshape(7, 3)           # 7 units, 3 taps
    flat = blocked_weights(codes, 7)                 # one block of 7, each tap padded to 8
    assert flat.tolist() == [0, 3, 6, 9, 12, 15, 18, 0, 1, 4, 7, 10, 13, 16, 19, 0,
                             2, 5, 8, 11, 14, 17, 20, 0]
    flat = blocked_weights(codes[:5], 7)             # no block: a quad and one single
    assert flat.tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11, 12, 13, 14]
    flat = blocked_weights(codes, 4)                 # one block of 4, one pair, one single
    assert flat[:12].tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
    assert flat[12:18].tolist() == [12, 15, 13, 16, 14, 17]
    assert flat[18:].tolist() == [18, 19, 20]


def test_variant_selection():
    assert variant_of(8, 16) == "s8" and variant_of(8, 256) == "s8"
    assert variant_of(16, 128) == "s16" and variant_of(16, 100) == "s16"
    assert variant_of(16, 256) == "s16i" and variant_of(16, 200) == "s16i"
    assert variant_of(32, 16) is None and variant_of(16, 300) is None


@pytest.mark.parametrize("target", CHARACTERIZED_TARGETS)
def test_shipped_data_describes_this_library(target):
    data = library_data(target)
    assert data["library_sha256"] == library_sha256(), \
        f"{data_path(target).name} is stale: hwsim characterize --style lut --target {target}"
    assert data["block"] == BLOCKS[target] and data["unroll"] == UNROLL[target]
    assert data["compiler"] and data["flags"] and data["node_call"]
    assert set(data["kernels"]) == {f"{k}_{v}" for k in ("conv", "depthwise")
                                    for v in ("s8", "s16", "s16i")} | {
        f"conv_{v}" for v in ("s8p4", "s16p4", "s8p2", "s16p2")} == set(FUNCTIONS)


def test_refit_matches_the_shipped_record(firmwares):
    record = characterize_function(firmwares["cortex-m4"], "depthwise_s8")
    shipped = library_data("cortex-m4")["kernels"]["depthwise_s8"]
    assert json.dumps(record, sort_keys=True) == json.dumps(shipped, sort_keys=True)


def test_a_basis_without_a_trip_count_fails(firmwares):
    """The fit is exact or refuses: drop the block passes and the counts cannot be fitted."""
    from hwsim.machine.exact_fit import fit
    from hwsim.machine.lut_characterize import basis, designs, measure
    calls, _ = designs("conv_s16", "cortex-m4")
    runs = measure(firmwares["cortex-m4"], calls[:40], np.random.default_rng(0))[0]
    monomials = [m for m in basis(runs[0].trips) if m != (("v", "block_passes"),)]
    with pytest.raises(HwsimError, match="not an exact function"):
        fit(monomials, runs, "conv_s16", [r.trips for r in runs])


def _graph(kind: str, entry_bits: int = 16):
    from tests.test_codegen import shape_workload
    g = graph_from_workload(shape_workload(kind), seed=5)
    assert g.graph["table_entry_bits"] in (8, 16, entry_bits)
    return g


@pytest.mark.parametrize("kind", ["2d", "valid2d", "big", "residual", "1d"])
def test_generated_networks_bit_exact_and_cost_equals_emulation(kind):
    """Generated networks calling the library: outputs equal the integer executor's; on
    Cortex-M0 and M4 every library node's estimate equals its emulated cycles (gcc makes
    the search branch-free there or the data is exact), on RV32IM within the search's
    data-dependent part. "1d" has K = 300 (16-bit indices): no library node, the loops."""
    from hwsim.machine.validate import validate_graph
    from hwsim.specs.catalog import find_device
    g = _graph(kind)
    x = np.random.default_rng(1).integers(0, 17, size=(2, *g.nodes["input"]["op"].output_shape))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    for report in validate_graph(g, devices, "lut", x):
        assert report.bit_exact, report.mismatch
        assert report.machine_code.multiply_free
        library = [n for n in report.nodes if n.basis == "characterized"
                   and n.op in ("dense", "conv1d", "conv2d", "depthwise_conv2d")]
        assert bool(library) == (kind != "1d"), report.device
        for n in library:
            if report.device == "esp32-c3":
                assert abs(n.error) <= 0.02, (n.node, n.estimated_cycles, n.emulated_cycles)
            else:
                assert n.estimated_cycles == pytest.approx(n.emulated_cycles, abs=1e-6), n.node


def test_cost_model_uses_the_library_only_where_it_runs():
    from hwsim.cost.model import cost_graph
    from hwsim.machine.validate import codegen_options
    from hwsim.specs.catalog import find_device
    g = _graph("2d")
    device = find_device("nrf52840")
    described = cost_graph(g, device, "lut", codegen_options())
    assert {n.basis for n in described.nodes if n.op in ("conv2d", "dense")} == {"characterized"}
    for options in (replace(codegen_options(), lut_kernels="loops"),
                    replace(codegen_options(), tables_in="sram")):
        report = cost_graph(g, device, "lut", options)
        assert {n.basis for n in report.nodes} == {"formula"}, options
    with pytest.raises(HwsimError, match="lut_kernels"):
        CostOptions(lut_kernels="fast")


def test_trip_counts_of_a_dense_call():
    call = LutCall("conv", "s16", 4, 8, KernelCall("fully_connected", 1, 1, 21, 1, 1, 11),
                   True, 3)
    counts = trip_counts(call, level_bits=5)
    assert counts["blocks"] == 2 and counts["pairs"] == 1 and counts["singles"] == 1
    assert counts["block_passes"] == 2 * (21 // 8) and counts["block_remainder"] == 2 * 5
    assert counts["search_steps"] == 33 and counts["level_bits"] == 5
    assert counts["pair_taps"] == 21 and counts["single_taps"] == 21
    assert counts["quads"] == 0                      # a block of 4 leaves no quad
    wide = trip_counts(LutCall("conv", "s16", 7, 8, KernelCall("fully_connected", 1, 1, 21,
                                                               1, 1, 12), False, 0))
    assert wide["blocks"] == 1 and wide["quads"] == 1 and wide["singles"] == 1
    assert wide["quad_passes"] == 21 // 8 and wide["quad_remainder"] == 5
    assert wide["pairs"] == 0


def test_record_counts_reads_the_data():
    data = library_data("cortex-m0")
    call = LutCall("conv", "s8", 4, 8, KernelCall("fully_connected", 1, 1, 64, 1, 1, 16),
                   False, 0)
    counts = record_counts(data["kernels"]["conv_s8"], call)
    assert counts == call_counts("cortex-m0", call)
    assert counts["load_8"] >= 64 * 16                # an entry per connection,
    assert counts["load_32"] >= 64 * 16 // 4          # a word of 4 codes per input and block


def test_characterize_cli_refuses_unknown_functions():
    result = run_cli("characterize", "--style", "lut", "--target", "cortex-m0",
                     "--kernels", "conv_s32")
    assert result.returncode == 2 and "conv_s32" in result.stderr
    assert "Traceback" not in result.stderr


def test_rv32_fetch_wait_actions_are_exact():
    """The RV32 records fit every fetch-wait action exactly (the loop tests' entries are
    trip counts, the search's steps hide a fetch whichever way they go, the carry past a
    branch that falls through is counted per execution): no record states a bound, as
    docs/lut-kernels.md says."""
    from pathlib import Path
    from hwsim.cost.lut_library import grouped_data
    for target in ("rv32im", "rv32i"):
        for data in (grouped_data(target), library_data(target)):
            assert not [f for f, r in data["kernels"].items() if "bounds" in r], target
    text = " ".join((Path(__file__).parent.parent / "docs" / "lut-kernels.md").read_text()
                    .split())
    assert "no shipped RV32 record keeps a bound" in text
