"""Grouped lookups wired end to end (issue 12): the grouped dense kernel's
characterization data (hwsim/cost/data/lut_grouped_<target>.json) belongs to its sources
and re-fits to itself; the per-layer lut kernel choice (hwsim.cost.lut_choice) takes the
fewest cycles within the memory budget and obeys `lut_grouping`; the code generator
emits what the memory planner counts; `hwsim validate` on a trained artifact where
grouping is chosen is bit-exact and prices each node as emulated."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from hwsim.cost.lut_choice import lut_kernel_choices
from hwsim.cost.lut_library import grouped_data
from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.lut_grouped import node_grouped_call
from hwsim.machine.lut_bound import dense_workload
from hwsim.memory.planner import MemoryOptions, plan_memory
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli

needs_compilers = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")

TARGETS = ("cortex-m0", "cortex-m4", "rv32im", "rv32i")


def _dense(inputs=256, units=128, clusters=4, entry_bits=8):
    """A dense layer with a fused threshold and a small second layer (shape-only)."""
    return graph_from_workload(dense_workload(inputs, units, 16, clusters, entry_bits))


def small_grouped_artifact(directory) -> str:
    """digits-mlp with K = 4 and 8-bit table entries, 2 + 1 epochs: the uint16 group
    tables hold g = 4 partial sums of its entries."""
    from hwsim.artifact.save import save_artifact
    from hwsim.specs.bundled import bundled_dir
    from hwsim.specs.workload import workload_from_data
    from hwsim.specs.yaml_reader import read_yaml
    from hwsim.train.pipeline import run_training
    data = read_yaml(bundled_dir("workloads") / "digits-mlp.yaml")
    data["training"]["epochs"], data["training"]["finetune_epochs"] = 2, 1
    data["discretization"]["weight_clusters"] = 4
    data["integer"]["table_entry_bits"] = 8
    save_artifact(run_training(workload_from_data(data, "digits-mlp K=4")), directory)
    return str(directory)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return small_grouped_artifact(tmp_path_factory.mktemp("grouped-art"))


@pytest.mark.parametrize("target", TARGETS)
def test_data_is_of_the_grouped_sources_and_proven_held_out(target):
    from hwsim.machine.kernels.lut import GROUPED_SOURCES, library_sha256
    from hwsim.ir.lut_grouped import FLASH
    from hwsim.machine.lut_grouped_characterize import FUNCTIONS, PRECOMPUTED_TARGETS
    data = grouped_data(target)
    assert data["library_sha256"] == library_sha256(GROUPED_SOURCES)
    # precomputed tables (the _flash records) on the Arm targets only
    assert set(data["kernels"]) == {f for f in FUNCTIONS if target in PRECOMPUTED_TARGETS
                                    or not f.endswith(FLASH)}
    assert all(r["held_out_shapes"] >= 4 for r in data["kernels"].values())


@needs_compilers
def test_refit_reproduces_the_shipped_record(tmp_path):
    from hwsim.machine.kernels.lut_grouped_harness import build_grouped_firmware
    from hwsim.machine.lut_grouped_characterize import characterize_grouping
    firmware = build_grouped_firmware("cortex-m0", tmp_path)
    assert characterize_grouping(firmware, 4, 4) == grouped_data("cortex-m0")["kernels"][
        "grouped_k4_g4"]


def test_choice_takes_the_fewest_cycles_and_obeys_the_option():
    g = _dense()
    device = find_device("nrf52840")
    choice = lut_kernel_choices(g, device)["L0.dense"]
    kernels = [c.kernel for c in choice.candidates]
    assert kernels[0] == "conv_s8" and {"grouped_g2", "grouped_g3", "grouped_g4"} <= set(kernels)
    assert "grouped_g4_c4" in kernels                    # 2 KiB of 512-byte tables live
    assert all(c.fits for c in choice.candidates)
    assert choice.chosen.cycles == min(c.cycles for c in choice.candidates)
    assert choice.kernel == "grouped_g4"
    # samd21's 24 KiB for the network cannot hold g = 4's 32 KiB of tables: g = 3 wins
    samd21 = lut_kernel_choices(g, find_device("samd21"))["L0.dense"]
    assert not next(c for c in samd21.candidates if c.kernel == "grouped_g4").fits
    assert samd21.kernel == "grouped_g3"
    off = lut_kernel_choices(g, device, CostOptions(lut_grouping="off"))
    assert not any(c.kernel.startswith("grouped") for c in off["L0.dense"].candidates)
    bytes_only = lut_kernel_choices(g, device, CostOptions(lut_grouping="off",
                                                           weight_indices="aligned"))
    assert bytes_only["L0.dense"].kernel == "conv_s8"
    assert len(bytes_only["L0.dense"].candidates) == 1
    forced = lut_kernel_choices(g, device, CostOptions(lut_grouping="2"))
    assert forced["L0.dense"].kernel.startswith("grouped_g2")
    # the build does not pay for 2 units: the small layer stays ungrouped
    assert lut_kernel_choices(g, device)["L1.dense"].kernel == "conv_s8"
    report = cost_graph(g, device, "lut")
    assert dict(report.lut_grouped) == {"L0.dense": "grouped_g4"}
    assert report.int8_kernels == ()


def test_choice_keeps_to_the_memory_budget():
    """With too little SRAM for every group table, the chunked variant (2 KiB of tables
    live) or the ungrouped call, whichever fits and is fastest."""
    g = _dense()
    device = find_device("samd21")
    full = lut_kernel_choices(g, device)["L0.dense"]
    budget = full.chosen.working_set_bytes - 1
    small = replace(device, memory=replace(device.memory,
                                           sram_bytes=device.memory.reserved_sram_bytes + budget))
    choice = lut_kernel_choices(g, small)["L0.dense"]
    assert choice.chosen.fits and choice.chosen.working_set_bytes <= budget
    assert choice.chosen.cycles >= full.chosen.cycles


def test_forced_group_size_falls_back_where_the_layer_forbids_it():
    g = _dense(clusters=32)                   # K^2 > 256
    choice = lut_kernel_choices(g, find_device("samd21"), CostOptions(lut_grouping=4))
    assert choice["L0.dense"].kernel == "conv_s8"
    wide = _dense(entry_bits=16)              # entries too wide for g = 4 in uint16
    assert all(not c.kernel.startswith("grouped_g4") for c in lut_kernel_choices(
        wide, find_device("samd21"))["L0.dense"].candidates)


def test_bad_grouping_names_the_option():
    with pytest.raises(HwsimError, match="lut_grouping must be one of"):
        CostOptions(lut_grouping=5)
    result = run_cli("simulate", "digits-mlp", "--device", "samd21", "--lut-grouping", "8")
    assert result.returncode == 2 and "--lut-grouping" in result.stderr


@pytest.mark.parametrize("device", ["samd21", "nrf52840", "esp32-c3"])
def test_planner_counts_what_the_generated_code_stores(device):
    g = _dense(64, 48)
    grouped = cost_graph(g, find_device(device), "lut").lut_grouped
    assert grouped
    program = assert_planned_as_generated(g, find_device(device), grouped)
    assert "lut_grouped.c" in program.files


def assert_planned_as_generated(g, d, grouped):
    """The memory planner's parameters are the generated program's constant bytes and its
    scratch the grouped calls'; the program."""
    from hwsim.machine.codegen import generate
    from hwsim.machine.validate import resolve_target
    target = resolve_target(d)
    program = generate(g, target, "lut", target.memory_map(d), lut_grouped=grouped)
    report = plan_memory(g, d, "lut", MemoryOptions(lut_grouped=grouped))
    assert report.parameter_bytes == program.constant_bytes
    scratch = {b.nodes[0]: b.size_bytes for b in report.buffers if b.kind == "scratch"}
    assert scratch == {n: node_grouped_call(g, n, k).scratch_bytes for n, k in grouped}
    return program


@pytest.mark.parametrize("device", ["samd21", "nrf52840"])
def test_precomputed_tables_chosen_at_two_levels_and_counted(device):
    """At L = 2 the grouped kernel's precomputed tables win; the planner counts the tables
    and the table addresses the generated program stores."""
    from hwsim.machine.codegen import generate
    from hwsim.machine.validate import resolve_target
    g = graph_from_workload(dense_workload(64, 48, 2, 4, 8))
    d = find_device(device)
    target = resolve_target(d)
    grouped = cost_graph(g, d, "lut").lut_grouped
    assert dict(grouped)["L0.dense"] == "grouped_g4_flash"
    forced = cost_graph(g, d, "lut", CostOptions(lut_grouping=4)).lut_grouped
    assert dict(forced)["L0.dense"] == "grouped_g4_flash"      # forced g keeps the variant
    program = generate(g, target, "lut", target.memory_map(d), lut_grouped=grouped)
    report = plan_memory(g, d, "lut", MemoryOptions(lut_grouped=grouped))
    assert report.parameter_bytes == program.constant_bytes
    scratch = {b.nodes[0]: b.size_bytes for b in report.buffers if b.kind == "scratch"}
    assert scratch["L0.dense"] == 4 * 16                     # one address a group
    assert "lut_grouped_flash.c" in program.files


def test_simulate_shows_the_lut_kernel_per_node(artifact):
    result = run_cli("simulate", artifact, "--device", "samd21")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()
            if line.startswith("L")}
    # the ungrouped layer keeps byte codes: on Armv6-M they cost fewer cycles than packed
    # ones (docs/lut-kernels.md, "Packed weight codes")
    assert rows["L1.dense"] == "grouped_g4" and rows["L2.dense"] == "conv_s8"
    data = json.loads(run_cli("simulate", artifact, "--device", "samd21", "--json",
                              "--lut-grouping", "off").stdout)
    kernels = {n["node"]: n["kernel"] for n in data["nodes"]}
    assert kernels["L1.dense"] == "conv_s8"


@needs_compilers
def test_validate_a_trained_artifact_where_grouping_is_chosen(artifact):
    """Bit-exact outputs, no multiply, and each grouped node's cost = its emulated
    instructions x the device's table (on esp32-c3 the fused search's taken steps are
    data dependent and costed at half: within 0.1%)."""
    from hwsim.artifact.load import load_artifact
    from hwsim.ir.graph import graph_from_artifact
    from hwsim.machine.validate import sample_inputs, validate_graph
    loaded = load_artifact(artifact)
    g = graph_from_artifact(loaded)
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    reports = validate_graph(g, devices, "lut", sample_inputs(loaded, 3))
    for report in reports:
        assert report.bit_exact, report.mismatch
        assert report.machine_code.multiplies == report.machine_code.helper_calls == 0
        nodes = {n.node: n for n in report.nodes}
        assert nodes["L1.dense"].kernel == "grouped_g4"
        for n in nodes.values():
            if n.kernel:
                assert n.basis == "characterized"
                tolerance = 1e-3 * n.emulated_cycles if report.device == "esp32-c3" else 0
                assert abs(n.estimated_cycles - n.emulated_cycles) <= tolerance, (report.device, n)
    assert {n.node: n.kernel for n in reports[2].nodes if n.kernel}["L2.dense"].startswith(
        "grouped")


def test_docs_state_what_the_code_and_benchmarks_give():
    """docs/lut-kernels.md "Grouped lookups" and docs/memory.md: the bundled workloads'
    table is what benchmarks/lut_grouping_workloads.py prints, and the figures in the
    text are the code's."""
    from hwsim.ir.lut_grouped import CALL_WORDS, CHUNK_TABLE_BYTES, ENTRY_LIMIT
    from hwsim.machine.lut_grouped_characterize import FIT_SHAPES
    from tests.conftest import REPO, load_benchmark
    doc = (REPO / "docs" / "lut-kernels.md").read_text()
    bench = load_benchmark("lut_grouping_workloads")
    found = bench.rows()
    for row in bench.table(found=found):
        assert row in doc, row
    assert bench.own_k_grouped(found) == ["har-cnn"]      # its K = 16 convolutions
    limits = [(ENTRY_LIMIT - 1) // (2 * g) for g in (2, 3, 4)]
    assert "g = 2 up to 16,383,\ng = 3 up to 10,922, g = 4 up to 8,191" in doc and limits == [
        16383, 10922, 8191]
    assert f"{FIT_SHAPES} dense layers" in doc and CHUNK_TABLE_BYTES == 2048
    samd21 = find_device("samd21").memory
    assert samd21.sram_bytes - samd21.reserved_sram_bytes == 24 * 1024 == 3 * (64 << 9) // 4
    memory = (REPO / "docs" / "memory.md").read_text()
    assert f"call\nconstant ({CALL_WORDS} words)" in memory
