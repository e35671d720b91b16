"""libgcc's integer multiply routines characterized on RV32I (hwsim.machine.
soft_multiply_characterize), the data the int8 cost model reads on a core without a
multiplier (hwsim.cost.soft_multiply), and ch32v003's int8 estimate against emulation."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from hwsim.cost.kernels import Node
from hwsim.cost.model import cost_graph, dense_layer_workload
from hwsim.cost.options import CostOptions, core_traits
from hwsim.cost.soft_multiply import (
    call_actions, mac_call, operand_terms, requantize_call, soft_multiply_data,
    soft_multiply_target,
)
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_scales import int8_scales, weighted_multiplier
from hwsim.ir.int8_weights import int8_weights
from hwsim.machine import soft_multiply_characterize as sm
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.toolchain import CFLAGS, find_compiler
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli

needs_riscv = pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None,
                                 reason="needs the RISC-V cross-compiler")


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    return sm.build_firmware("rv32i", tmp_path_factory.mktemp("soft-multiply"))


@needs_riscv
def test_the_data_is_current_for_the_pinned_compiler():
    data = soft_multiply_data("rv32i")
    target = find_target("rv32i")
    version = subprocess.run([find_compiler(target), "-dumpversion"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert data["format_version"] == sm.FORMAT_VERSION and data["target"] == "rv32i"
    assert data["compiler_version"] == version, "re-run characterize --soft-multiply"
    assert data["flags"] == [*CFLAGS, *target.flags]
    assert set(data["routines"]) == set(sm.ROUTINES)


@needs_riscv
def test_recharacterizing_gives_the_shipped_record_proven_held_out(firmware):
    """The fit is exact on the designed operands and on 64 held-out random ones per
    routine (characterize_routine fails otherwise)."""
    shipped = soft_multiply_data("rv32i")["routines"]
    for routine in sm.ROUTINES:
        assert sm.characterize_routine(firmware, routine) == shipped[routine]
        assert shipped[routine]["held_out_operands"] == sm.HELD_OUT


@needs_riscv
def test_mulsi3_is_libgccs_loop_over_its_second_operand(firmware):
    """mv, li; per significant bit of b (at least one): andi, beqz (taken on a 0), srli,
    slli (two shifts by 1), bnez, plus an add per set bit; ret; the call instruction:
    one call_return. The data as docs/cost-model.md quotes them."""
    assert soft_multiply_data("rv32i")["routines"]["mulsi3"]["counts"] == {
        "alu": [2, 1, 1], "shift": [0, 2, 0], "shift_bit": [0, 2, 0], "call_return": [1, 0, 0],
        "branch_taken": [-1, 2, -1], "branch_not_taken": [1, 0, 1]}
    for b in (0, 1, 0x7F, 0x40, 0x80000000, 0xFFFFFFFF, 0x5A5A5):
        counts, low = sm.run_call(firmware, "mulsi3", 0x1234567, b)
        assert low == (0x1234567 * b) & 0xFFFFFFFF
        bits, ones = max(b.bit_length(), 1), b.bit_count()
        assert sum(counts.values()) - counts["shift_bit"] == 3 + 5 * bits + ones
        assert counts == call_actions("rv32i", "mulsi3", bits, ones, serial_shifter=True)
        flat = call_actions("rv32i", "mulsi3", bits, ones)
        assert "shift" not in flat and flat["alu"] == counts["alu"] + counts["shift"]
    # a negative second operand (read unsigned) takes 32 passes: why the code passes |w|
    counts = sm.run_call(firmware, "mulsi3", 3, -1)[0]
    assert sum(counts.values()) - counts["shift_bit"] == 3 + 5 * 32 + 32


@needs_riscv
def test_a_basis_missing_a_term_fails(firmware, monkeypatch):
    monkeypatch.setattr(sm, "BASIS", ("1", "bits"))
    monkeypatch.setattr(sm, "operand_terms", lambda b: {"1": 1, "bits": max(b.bit_length(), 1)})
    with pytest.raises(HwsimError, match="not an exact function"):
        sm.characterize_routine(firmware, "mulsi3")


def test_only_targets_without_a_multiplier(tmp_path):
    with pytest.raises(HwsimError, match="rv32i"):
        sm.characterize("rv32im", tmp_path)
    assert run_cli("characterize", "--target", "rv32im", "--soft-multiply").returncode == 2


def _dense_node(device_name: str, options: CostOptions | None = None):
    g = graph_from_workload(dense_layer_workload(37, 11))
    device = find_device(device_name)
    op = g.nodes["L0.dense"]["op"]
    return g, device, Node(g, "L0.dense", op, "int8", core_traits(device),
                           options or CostOptions())


def test_each_call_is_priced_from_the_weights_and_the_multiplier():
    """The MAC's __mulsi3 runs over |w| (mean over the layer's int8 weights), the
    requantization's __muldi3 over the Q31 multiplier (hwsim.ir.int8_scales)."""
    g, device, n = _dense_node("ch32v003")
    assert soft_multiply_target(n.tr) == "rv32i"
    w = np.abs(int8_weights(g, "L0.dense")).ravel()
    bits = np.mean([max(int(v).bit_length(), 1) for v in w])
    ones = np.mean([int(v).bit_count() for v in w])
    assert operand_terms(w) == pytest.approx((bits, ones))
    assert mac_call(n, "rv32i") == pytest.approx(call_actions("rv32i", "mulsi3", bits, ones))
    multiplier = weighted_multiplier(g, "L0.dense", int8_scales(g))[0]
    assert 1 << 30 <= multiplier < 1 << 31
    assert requantize_call(n, "rv32i") == pytest.approx(call_actions(
        "rv32i", "muldi3", multiplier.bit_length(), multiplier.bit_count()))
    # multiplier_operand_bits replaces the weights' bits (half of them set)
    _, _, forced = _dense_node("ch32v003", CostOptions(multiplier_operand_bits=4))
    assert mac_call(forced, "rv32i") == pytest.approx(call_actions("rv32i", "mulsi3", 4, 2))


def test_cores_with_a_multiplier_keep_their_prices_a_serial_shifter_is_priced_by_amount():
    from dataclasses import replace
    for name in ("esp32-c3", "samd21"):
        assert soft_multiply_target(core_traits(find_device(name))) is None
    g, device, n = _dense_node("ch32v003")
    serial = replace(n, tr=replace(n.tr, serial_shifter=True))
    assert soft_multiply_target(serial.tr) == "rv32i"
    plain, shifted = requantize_call(n, "rv32i"), requantize_call(serial, "rv32i")
    assert "shift_4_bits" not in plain and shifted["shift_4_bits"] > 0   # __muldi3's >> 31
    assert shifted["alu"] + shifted["shift"] == plain["alu"]


def test_the_estimate_follows_the_weights():
    """Weights of 7 significant bits each cost more __mulsi3 passes than the layer's own
    weights (random: about 6 on average)."""
    g, device, _ = _dense_node("ch32v003")
    base = cost_graph(g, device, "int8").total_cycles
    assert cost_graph(g, device, "int8",
                      CostOptions(multiplier_operand_bits=7)).total_cycles > base


@needs_riscv
def test_ch32v003_int8_validates_bit_exact_within_2_percent(tmp_path_factory):
    """A trained digits MLP (the test suite's small artifact) on ch32v003 (RV32EC, built
    as RV32I): every output byte equal, every weighted node and the network within 2%
    of the emulated cycles (0.03% when measured)."""
    from hwsim.artifact.load import load_artifact
    from hwsim.ir.ops import WEIGHTED
    from hwsim.machine.validate import validate
    from tests.test_codegen import small_artifact
    artifact = load_artifact(small_artifact(tmp_path_factory.mktemp("digits")))
    report = validate(artifact, find_device("ch32v003"), "int8")
    assert report.bit_exact
    weighted = [n for n in report.nodes if n.op in WEIGHTED]
    assert len(weighted) == 2
    assert all(abs(n.error) <= 0.02 for n in weighted), weighted
    assert abs(report.error) <= 0.02


@needs_riscv
def test_ch32v003_int8_held_out_sample(tmp_path):
    """Five held-out networks (hwsim.machine.heldout, shapes never used anywhere): every
    output byte equal; the weighted layers, run by the int8 library's soft kernels and
    characterized with their software multiplies priced from libgcc's characterization
    at the layers' weights and multipliers, within 2% (docs/validation.md), the networks
    within 2%; the pools and argmax (the ops library) and the residual add (a plain loop
    whose __muldi3 calls are priced the same way) within 2%."""
    from hwsim.ir.ops import WEIGHTED
    from hwsim.machine.heldout import heldout_workloads, run_heldout
    runs = run_heldout(heldout_workloads(0, 5), [find_device("ch32v003")], ("int8",),
                       workdir=tmp_path)
    assert all(r.bit_exact and not r.refused for r in runs)
    weighted = [(e, basis) for r in runs for _, op, e, basis in r.node_errors if op in WEIGHTED]
    assert len(weighted) >= 10 and max(abs(e) for e, _ in weighted) <= 0.02
    assert {basis for _, basis in weighted} == {"characterized"}
    assert max(abs(r.network_error) for r in runs) <= 0.02
    others = [(op, e) for r in runs for _, op, e, _ in r.node_errors if op not in WEIGHTED]
    assert {"avg_pool1d", "avg_pool2d", "add", "argmax"} <= {op for op, _ in others}
    assert max(abs(e) for _, e in others) <= 0.02, others
