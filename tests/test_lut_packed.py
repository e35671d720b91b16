"""Packed weight codes in the lut kernel library (docs/lut-kernels.md "Packed weight
codes"): the layout the kernels read, the per-layer choice by flash fit
(hwsim.cost.lut_choice, `weight_indices`), the memory planner equal to the generated
program's constants, `hwsim validate` bit-exact and priced from the characterization on
networks with packed codes (one refused with byte codes), and the docs' figures."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from hwsim.cost.lut_choice import lut_kernel_choices
from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import KernelCall
from hwsim.ir.lut_kernels import (LutCall, geometry, layout_weights, packed_calls, tap_bytes,
                                  weight_bytes)
from hwsim.machine.lut_bound import dense_workload
from hwsim.memory.planner import MemoryOptions, plan_memory
from hwsim.specs.catalog import find_device
from tests.conftest import REPO, load_benchmark, run_cli

needs_compilers = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")


def _dense_call(variant: str, units: int, block: int = 4, fan: int = 3) -> LutCall:
    return LutCall("conv", variant, block, 8, KernelCall("fully_connected", 1, 1, fan, 1, 1,
                                                         units), False, 0)


def test_packed_layout_is_one_word_per_block_and_tap():
    index = np.arange(7 * 3).reshape(7, 3) % 16          # 7 units, 3 taps, block 4
    call = _dense_call("s16p4", 7)
    flat = layout_weights(index, call)
    assert tap_bytes(call) == 2 and geometry(call).fan_block == 6
    # the block: per tap one little-endian halfword, unit j's index at bit 4 j
    for tap in range(3):
        word = int(flat[2 * tap]) | int(flat[2 * tap + 1]) << 8
        assert [(word >> (4 * j)) & 15 for j in range(4)] == index[:4, tap].tolist()
    # the units after the block: byte codes (2 x index at 16-bit entries), pair then single
    assert flat[6:12].tolist() == (2 * index[4:6].T.reshape(-1)).tolist()
    assert flat[12:].tolist() == (2 * index[6]).tolist()
    assert len(flat) == weight_bytes(call) == 6 + 9
    two = _dense_call("s8p2", 8, block=7)                 # 7 x 2 bits in a halfword
    assert tap_bytes(two) == 2 and weight_bytes(two) == 3 * 2 + 3
    assert [c.variant for c in packed_calls(_dense_call("s8", 8), 4)] == ["s8p4", "s8p2"]
    assert [c.variant for c in packed_calls(_dense_call("s16", 8), 16)] == ["s16p4"]
    assert packed_calls(_dense_call("s16", 8), 17) == ()
    assert packed_calls(replace(_dense_call("s8", 8), kernel="depthwise"), 4) == ()


def packed_network(clusters: int = 16, entry_bits: int = 16, seed: int = 5):
    """Convolutions and dense layers wide enough for full blocks on every build (9, 17
    and 19 units), a depthwise layer between (byte codes), shape-only."""
    from hwsim.specs.workload import workload_from_data
    layers = [{"type": "conv2d", "filters": 9, "kernel": 3, "padding": "same"},
              {"type": "depthwise_conv2d", "kernel": 3, "stride": 2, "padding": "same"},
              {"type": "conv2d", "filters": 17, "kernel": [2, 3], "stride": [1, 2]},
              {"type": "flatten"}, {"type": "dense", "units": 19}, {"type": "dense", "units": 3}]
    return graph_from_workload(workload_from_data({
        "schema_version": 1, "name": f"packed-k{clusters}", "description": "packed codes",
        "task": "classification", "dataset": "none", "input": {"shape": [7, 8, 2], "levels": 8},
        "layers": layers,
        "discretization": {"activation_levels": 8, "weight_clusters": clusters,
                           "cluster_scope": "per_layer"},
        "integer": {"accumulator_bits": 32, "table_entry_bits": entry_bits},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8, "learning_rate": 0.01,
                     "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 10, "deadline_ms": 10}}, "<packed>"), seed=seed)


def _wide(inputs=272, units=64):
    """A dense network whose byte codes overflow ch32v003's 16 KiB of flash."""
    return graph_from_workload(dense_workload(inputs, units, 16, 16, 8))


def test_choice_takes_packed_codes_where_they_cost_fewer_cycles():
    # 160 inputs: byte codes overflow ch32v003's flash with the firmware's reserve and the
    # measured code (hwsim.memory.code_bytes); packed codes fit.
    g = _wide(160)
    small, large = find_device("ch32v003"), find_device("nrf52840")
    for device in (small, large):
        choices = lut_kernel_choices(g, device)
        for choice in choices.values():             # the fewest cycles among those that fit
            fitting = [c for c in choice.candidates if c.fits]
            assert choice.kernel == min(fitting, key=lambda c: c.cycles).kernel
        assert choices["L0.dense"].kernel == "conv_s8p4"    # fewer cycles than conv_s8
        assert choices["L1.dense"].kernel == "conv_s8"      # 2 units: nothing to pack
        assert {c.kernel for c in choices["L0.dense"].candidates} >= {"conv_s8", "conv_s8p4"}
    aligned = lut_kernel_choices(g, large, CostOptions(weight_indices="aligned"))
    assert {c.kernel for c in aligned["L0.dense"].candidates} == {
        "conv_s8", "grouped_g2", "grouped_g2_c4"}
    report = cost_graph(g, small, "lut")
    assert dict(report.lut_chosen) == {"L0.dense": "conv_s8p4"} and not report.lut_grouped
    plans = {mode: plan_memory(g, small, "lut", MemoryOptions(
        weight_indices=mode, lut_grouped=cost_graph(
            g, small, "lut", CostOptions(weight_indices=mode)).lut_chosen))
        for mode in ("aligned", "auto", "packed")}
    assert not plans["aligned"].fits_flash and plans["auto"].fits_flash
    saved = plans["aligned"].parameter_bytes - plans["auto"].parameter_bytes
    assert saved == 160 * 64 // 2
    code = {mode: dict((line.name, line.bytes) for line in plans[mode].flash_lines)["code"]
            for mode in plans}        # the packed kernel's function is linked beside conv_s8
    assert plans["aligned"].flash_bytes - plans["auto"].flash_bytes == saved - (
        code["auto"] - code["aligned"]) and code["auto"] > code["aligned"]
    forced = lut_kernel_choices(g, large, CostOptions(weight_indices="packed"))
    assert forced["L0.dense"].kernel == "conv_s8p4"
    k4 = graph_from_workload(dense_workload(64, 48, 16, 4, 16))
    assert lut_kernel_choices(k4, large, CostOptions(weight_indices="packed", lut_grouping="off")
                              )["L0.dense"].kernel == "conv_s16p2"
    with pytest.raises(HwsimError, match="weight_indices must be one of"):
        CostOptions(weight_indices="nibbles")


@pytest.mark.parametrize("device", ["samd21", "nrf52840", "esp32-c3"])
def test_planner_counts_what_the_packed_program_stores(device):
    from hwsim.machine.codegen import generate
    from hwsim.machine.validate import resolve_target
    d = find_device(device)
    target = resolve_target(d)
    for g in (graph_from_workload(dense_workload(70, 30, 16, 4, 8)), packed_network()):
        chosen = cost_graph(g, d, "lut", CostOptions(weight_indices="packed",
                                                     lut_grouping="off")).lut_chosen
        assert chosen and all(k[-2] == "p" for _, k in chosen)
        program = generate(g, target, "lut", target.memory_map(d), lut_grouped=chosen)
        report = plan_memory(g, d, "lut", MemoryOptions(lut_grouped=chosen,
                                                        weight_indices="packed"))
        assert report.parameter_bytes == program.constant_bytes
        lines = dict((line.name, line.bytes) for line in report.param_lines)
        assert lines["weight codes (packed)"] > 0


def test_simulate_shows_the_packed_kernel_per_node():
    result = run_cli("simulate", "har-cnn", "--device", "samd21", "--weight-indices", "packed")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()
            if line.startswith("L")}
    assert rows["L0.conv1d"] == rows["L2.conv1d"] == rows["L5.dense"] == "conv_s16p4"
    bad = run_cli("simulate", "har-cnn", "--device", "samd21", "--weight-indices", "bits")
    assert bad.returncode == 2 and "--weight-indices" in bad.stderr


def _check_characterized(report, kinds=("dense", "conv1d", "conv2d")):
    assert report.bit_exact, report.mismatch
    assert report.machine_code.multiplies == report.machine_code.helper_calls == 0
    packed = [n for n in report.nodes if n.kernel and n.kernel[-2] == "p"]
    assert packed and all(n.op in kinds and n.basis == "characterized" for n in packed)
    for n in report.nodes:
        if n.basis == "characterized" and n.emulated_cycles:
            assert abs(n.error) <= 0.01, (report.device, n)
    return packed


@needs_compilers
@pytest.mark.parametrize("clusters,entry_bits", [(16, 16), (4, 8)])
def test_validate_networks_with_packed_codes(clusters, entry_bits):
    """Bit-exact with the executor, multiply-free, every packed node priced from its
    characterization within 1% (exactly on the Arm cores)."""
    from hwsim.machine.validate import codegen_options, validate_graph
    g = packed_network(clusters, entry_bits)
    x = np.random.default_rng(1).integers(0, 8, size=(2, 7, 8, 2))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    options = replace(codegen_options(), weight_indices="packed", lut_grouping="off")
    for report in validate_graph(g, devices, "lut", x, options=options):
        packed = _check_characterized(report)
        assert {n.kernel[-2:] for n in packed} == {"p4" if clusters > 4 else "p2"}
        for n in packed:
            if report.device != "esp32-c3":
                assert n.estimated_cycles == pytest.approx(n.emulated_cycles, abs=1e-6), n


@needs_compilers
def test_a_network_refused_with_byte_codes_runs_packed_on_ch32v003():
    from hwsim.machine.validate import codegen_options, validate_graph
    g = _wide()
    x = np.random.default_rng(2).integers(0, 16, size=(2, 272))
    device = find_device("ch32v003")
    with pytest.raises(HwsimError, match="flash is 16,384 bytes"):
        validate_graph(g, [device], "lut", x,
                       options=replace(codegen_options(), weight_indices="aligned"))
    [report] = validate_graph(g, [device], "lut", x)          # the default: by fit
    assert [n.node for n in _check_characterized(report)] == ["L0.dense"]


def test_docs_state_what_the_benchmark_gives():
    doc = (REPO / "docs" / "lut-kernels.md").read_text()
    bench = load_benchmark("lut_packed")
    for row in bench.flash_table():
        assert row in doc, row


@needs_compilers
def test_validate_cli_on_a_trained_artifact_with_packed_codes(tmp_path):
    """`hwsim validate --weight-indices packed`: digits-mlp at K = 4 (8-bit entries);
    the layer the grouped kernel does not take runs the 2-bit packed codes."""
    import json
    from tests.test_lut_choice import small_grouped_artifact
    artifact = small_grouped_artifact(tmp_path / "art")
    result = run_cli("validate", artifact, "--device", "nrf52840", "--samples", "2",
                     "--weight-indices", "packed", "--max-error", "1", "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads(result.stdout)
    kernels = {n["node"]: n["kernel"] for n in report["nodes"] if n.get("kernel")}
    assert kernels["L2.dense"] == "conv_s8p2" and report["bit_exact"]


@needs_compilers
def test_heldout_networks_with_packed_codes(tmp_path):
    """Random held-out networks (hwsim.machine.heldout) with packed codes wherever K allows:
    bit-exact, their weighted layers characterized and within 1%."""
    from hwsim.machine.heldout import heldout_workloads, run_heldout
    workloads = [w for w in heldout_workloads(0, 8) if w.discretization.weight_clusters <= 16]
    assert workloads
    runs = run_heldout(workloads, [find_device("samd21")], ("lut",), workdir=tmp_path,
                       weight_indices="packed")
    done = [r for r in runs if not r.refused]
    assert done and all(r.bit_exact for r in done)
    weighted = [(e, b) for r in done for _, op, e, b in r.node_errors
                if op in ("dense", "conv1d", "conv2d")]
    assert weighted and all(b == "characterized" and abs(e) <= 0.01 for e, b in weighted)
