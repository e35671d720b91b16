"""Memory planner: arena planners on hand-made buffers, the MLPerf int8 arena sizes,
sizes per style and placement options, fits on a tiny device."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.memory.arena import Buffer, chain_conflict, live_bytes_per_step, plan_arena, plan_conflicts
from hwsim.specs.catalog import find_device
from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order, graph_from_workload
from hwsim.memory.planner import (MemoryOptions, compare_styles, memory_timeline, plan_memory,
                          tensor_buffers)
from hwsim.specs.yaml_reader import read_yaml
from hwsim.specs.workload import load_workload, workload_from_data
from tests.conftest import REPO

# the MLPerf Tiny reference notes (shapes and counts read from github.com/mlcommons/tiny): int8 activations, no scratch.
MLPERF_INT8 = {   # workload: (largest live activation set, greedy-by-size arena), bytes
    "kws-dscnn": (16_000, 16_000),
    "vww-mobilenet": (55_296, 64_512),
    "ic-resnet8": (49_152, 49_152),
    "ad-autoencoder": (768, 768),
    "sww-dscnn": (6_656, 6_656),
}


def graph(name: str):
    return graph_from_workload(load_workload(name))


def plain(buffers):
    return [Buffer(b.name, b.size_bytes, b.first_step, b.last_step) for b in buffers]


# ---- arena planners on hand-made buffers ------------------------------------------

def test_greedy_places_largest_first_at_lowest_free_offset():
    buffers = [Buffer("a", 10, 0, 1), Buffer("b", 30, 1, 2), Buffer("c", 20, 2, 3),
               Buffer("d", 5, 3, 4)]
    plan = plan_arena(buffers, "greedy_by_size")
    # b (30) at 0; c (20) overlaps b: above it at 30; a (10) overlaps b only: 30;
    # d (5) overlaps c only: 0.
    assert plan.offsets == {"a": 30, "b": 0, "c": 30, "d": 0}
    assert plan.arena_bytes == 50 and plan.lower_bound_bytes == 50
    assert plan_conflicts(plan) == []


def test_greedy_uses_a_gap_between_placed_buffers():
    buffers = [Buffer("big", 100, 0, 0), Buffer("low", 40, 1, 2), Buffer("high", 40, 2, 3),
               Buffer("fill", 30, 0, 1)]
    plan = plan_arena(buffers, "greedy_by_size")
    # low (40) and high (40) coexist at step 2: 0 and 40. fill (30) overlaps big [0,100)
    # and low [0,40) in time: first free offset is 100.
    assert plan.offsets == {"big": 0, "low": 0, "high": 40, "fill": 100}
    # A 10 B gap between two placed buffers is used when it fits exactly.
    gap = [Buffer("p", 60, 0, 0), Buffer("q", 50, 1, 1), Buffer("r", 45, 0, 1),
           Buffer("s", 10, 1, 1)]
    assert plan_arena(gap, "greedy_by_size").offsets == {"p": 0, "q": 0, "r": 60, "s": 50}


def test_greedy_ties_keep_input_order():
    buffers = [Buffer("first", 8, 0, 1), Buffer("second", 8, 1, 2)]
    assert plan_arena(buffers, "greedy_by_size").offsets == {"first": 0, "second": 8}
    swapped = [Buffer("second", 8, 1, 2), Buffer("first", 8, 0, 1)]
    assert plan_arena(swapped, "greedy_by_size").offsets == {"second": 0, "first": 8}


def test_greedy_can_exceed_the_lower_bound():
    # The start of MobileNet-v1 at 96x96: greedy places the 36,864 B tensor first and
    # the 18,432 B tensors around it cannot share, 9,216 B over the live-set bound.
    buffers = [Buffer("in", 27648, 0, 0), Buffer("c0", 18432, 0, 1), Buffer("dw1", 18432, 1, 2),
               Buffer("pw2", 36864, 2, 3), Buffer("dw3", 9216, 3, 4)]
    greedy = plan_arena(buffers, "greedy_by_size")
    assert (greedy.lower_bound_bytes, greedy.arena_bytes) == (55296, 64512)
    exact = plan_arena(buffers, "chain_exact")
    assert exact.arena_bytes == 55296 and plan_conflicts(exact) == []


def test_zero_size_and_alignment():
    buffers = [Buffer("empty", 0, 0, 3), Buffer("a", 5, 0, 1), Buffer("b", 3, 1, 2)]
    plan = plan_arena(buffers, "greedy_by_size", alignment_bytes=16)
    assert plan.arena_bytes == 32 and plan.lower_bound_bytes == 32
    assert all(offset % 16 == 0 for offset in plan.offsets_bytes)


def test_chain_exact_refuses_three_live_tensors():
    buffers = [Buffer("a", 1, 0, 2), Buffer("b", 1, 1, 2), Buffer("c", 1, 2, 3)]
    assert "3 multi-step buffers live at step 2 (a, b, c)" in chain_conflict(buffers)
    with pytest.raises(HwsimError, match="chain_exact does not apply: 3 multi-step"):
        plan_arena(buffers, "chain_exact")
    assert plan_arena(buffers, "auto").method == "greedy_by_size"


@pytest.mark.parametrize("bad,message", [
    (lambda: Buffer("x", -1, 0, 0), "size_bytes must be an int >= 0, got -1"),
    (lambda: Buffer("x", 1, 3, 2), "needs 0 <= first_step <= last_step, got 3..2"),
    (lambda: plan_arena([Buffer("x", 1, 0, 0)], "best"), "method must be one of"),
    (lambda: plan_arena([Buffer("x", 1, 0, 0), Buffer("x", 2, 0, 0)]),
     "duplicate buffer names 'x'"),
    (lambda: MemoryOptions(activations="nibbles", tables_in="rom"),
     "activations must be one of bytes, packed, got 'nibbles'; tables_in must be one of"),
])
def test_bad_arguments_are_named(bad, message):
    with pytest.raises(HwsimError, match=message.replace("(", r"\(")):
        bad()


@st.composite
def chains(draw):
    """Tensors of a chain (each lives from its producer to the next step), plus
    one-step scratch buffers at random steps."""
    sizes = draw(st.lists(st.integers(0, 5000), min_size=1, max_size=25))
    buffers = [Buffer(f"t{i}", s, i, i + 1 if i + 1 < len(sizes) else i)
               for i, s in enumerate(sizes)]
    scratch = draw(st.lists(st.tuples(st.integers(0, len(sizes) - 1), st.integers(0, 3000)),
                            max_size=10))
    buffers += [Buffer(f"s{i}", size, step, step) for i, (step, size) in enumerate(scratch)]
    order = draw(st.permutations(range(len(buffers))))
    return [buffers[i] for i in order], draw(st.sampled_from([1, 4, 16]))


@settings(max_examples=200, deadline=None)
@given(chains())
def test_chain_exact_equals_the_lower_bound(case):
    buffers, alignment = case
    plan = plan_arena(buffers, "chain_exact", alignment)
    assert plan.arena_bytes == plan.lower_bound_bytes
    assert plan_conflicts(plan) == []
    assert plan_arena(buffers, "auto", alignment).method == "chain_exact"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 8), st.integers(0, 4)),
                min_size=1, max_size=20))
def test_greedy_offsets_are_valid(items):
    buffers = [Buffer(f"b{i}", size, first, first + length)
               for i, (size, first, length) in enumerate(items)]
    plan = plan_arena(buffers, "greedy_by_size")
    assert plan_conflicts(plan) == []
    assert plan.arena_bytes >= plan.lower_bound_bytes == max(live_bytes_per_step(buffers))


# ---- graphs: lifetimes and the MLPerf reference arenas -----------------------------

@pytest.mark.parametrize("name", sorted(MLPERF_INT8))
def test_mlperf_int8_arena_reproduced(name):
    if not (REPO / "workloads" / f"{name}.yaml").exists():
        pytest.skip(f"workloads/{name}.yaml does not exist yet (MLPerf workloads being added)")
    live_set, greedy_arena = MLPERF_INT8[name]
    buffers = plain(tensor_buffers(graph(name), "int8", with_scratch=False))
    plan = plan_arena(buffers, "greedy_by_size")
    assert (plan.lower_bound_bytes, plan.arena_bytes) == (live_set, greedy_arena)
    assert plan_arena(buffers, "auto").arena_bytes == live_set     # optimal either way


def test_lifetimes_views_and_fusion():
    g = graph("har-cnn")
    buffers = {b.name: b for b in tensor_buffers(g, "lut")}
    # Each weighted layer's sums are fused into its threshold: no buffer.
    assert not any(name.endswith(("conv1d", "dense")) and name != "L5.dense"
                   for name in buffers)
    assert buffers["L3.max_pool1d"].nodes == ("L3.max_pool1d", "L4.flatten")   # view
    assert buffers["L5.dense"].size_bytes == 7 * 4          # classifier sums, 32-bit
    steps = dict(plan_memory(g, find_device("nrf52840"), "lut").steps)
    assert steps["L0.conv1d"] == steps["L0.threshold"] == buffers["L0.threshold"].first_step
    assert buffers["input"].last_step == steps["L0.conv1d"]
    assert buffers["L3.max_pool1d"].last_step == steps["L5.dense"]
    apart = {b.name: b for b in tensor_buffers(g, "lut", MemoryOptions(materialise_sums=True))}
    assert apart["L0.conv1d"].size_bytes == 62 * 16 * 4


def test_resnet_adds_fuse_in_lut_and_keep_int8_tensors():
    g = graph("ic-resnet8")
    device = find_device("nrf52840")
    fused = plan_memory(g, device, "lut")
    apart = plan_memory(g, device, "lut", MemoryOptions(fuse_adds=False))
    assert fused.arena_bytes == 49152            # like int8: three 16 KB tensors at once
    assert apart.arena_bytes == 98304            # the conv's 32-bit sums stored for the add
    int8 = plan_memory(g, device, "int8", MemoryOptions(scratch=False))
    assert "L2.conv2d" in {b.name for b in int8.buffers}
    assert fused.plan.method == "greedy_by_size" and fused.notes


def test_timeline_follows_the_schedule():
    g = graph("kws-dscnn")
    report = plan_memory(g, find_device("nrf52840"), "int8")
    timeline = memory_timeline(g, report)
    assert [node for node, _ in timeline] == execution_order(g)
    row_scratch = 3 * ((5 - 1) * 1 + 3) * 64         # the int8 library's depthwise 3x3
    assert max(live for _, live in timeline) == report.lower_bound_bytes == 16000 + row_scratch
    assert timeline[0] == ("input", 490)
    with pytest.raises(HwsimError, match="execution order differs"):
        memory_timeline(graph("digits-mlp"), report)


# ---- sizes per style and placement ------------------------------------------------

def test_packed_activations_are_smaller():
    g = graph("har-cnn")
    device = find_device("nrf52840")
    packed = plan_memory(g, device, "lut", MemoryOptions(activations="packed"))
    unpacked = plan_memory(g, device, "lut")
    assert packed.arena_bytes < unpacked.arena_bytes
    assert packed.flash_bytes == unpacked.flash_bytes


def test_tables_in_sram_move_bytes_from_flash_to_ram():
    g = graph("har-cnn")
    device = find_device("nrf52840")
    flash = plan_memory(g, device, "lut")
    sram = plan_memory(g, device, "lut", MemoryOptions(tables_in="sram"))
    moved = sum(line.bytes for line in flash.param_lines
                if line.name in ("product tables", "thresholds", "value tables"))
    assert moved > 0
    assert sram.ram_bytes - flash.ram_bytes == moved == flash.flash_bytes - sram.flash_bytes
    copied = plan_memory(g, device, "lut", MemoryOptions(tables_in="sram_from_flash"))
    assert copied.ram_bytes == sram.ram_bytes and copied.flash_bytes == flash.flash_bytes


def large_dense_graph():
    data = copy.deepcopy(read_yaml(REPO / "workloads" / "digits-mlp.yaml"))
    data["layers"] = [{"type": "flatten"}, {"type": "dense", "units": 512},
                      {"type": "dense", "units": 512}, {"type": "dense", "units": 10}]
    data["discretization"].update(weight_clusters=256, activation_levels=32)
    return graph_from_workload(workload_from_data(data))


def test_lut_parameters_below_a_third_of_float32():
    comparison = compare_styles(large_dense_graph(), find_device("nrf52840"))
    ratio = comparison.ratio_to_float32("lut", "parameters")
    assert ratio < 1 / 3 and comparison.lut_parameters_below_third_of_float32
    # 8-bit indices are a quarter of float32; tables and thresholds add the rest.
    assert 0.25 < ratio
    assert comparison.ratio_to_float32("int8", "parameters") < 0.3


def test_styles_sizes():
    g = graph("kws-dscnn")
    c = compare_styles(g, find_device("nrf52840"))
    assert dict((line.name, line.bytes) for line in c.int8.param_lines) == {
        "weights (int8)": 22016, "biases (int32)": 588 * 4,
        "requantization (multiplier + shift)": 8 * 588}
    assert c.float32.parameter_bytes == 4 * 22604
    assert c.float32.activation_plan.arena_bytes == 4 * 16000
    assert c.lut.activation_plan.arena_bytes == 16000
    # Cortex-M4: the code line is measured (hwsim/memory/data/code_cortex-m4.json); a core
    # without a code record keeps a labelled estimate.
    code = [line for line in c.int8.flash_lines if line.name.startswith("code")]
    assert [(line.name, line.estimate) for line in code] == [("code", False)]
    other = plan_memory(g, find_device("msp430fr5969"), "int8")
    assert [(line.name, line.estimate) for line in other.flash_lines
            if line.name.startswith("code")] == [("code (estimate)", True)]


def test_tiny_device_does_not_fit_and_says_by_how_much():
    device = find_device("msp430fr5969")        # 2 KB SRAM, 512 B reserved
    report = plan_memory(graph("kws-dscnn"), device, "int8")
    assert not report.fits_ram and not report.fits
    assert report.ram_margin_bytes == 2048 - report.ram_bytes < 0
    small = plan_memory(graph("digits-mlp"), device, "lut")
    assert small.fits_ram and small.ram_margin_bytes == 2048 - 512 - small.arena_bytes
