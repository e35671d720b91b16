"""The per-node int8 kernel choice (hwsim.cost.int8_choice): the cost model picks, per
weighted node, the kernel with the fewest cycles that fits the memory budget, and the
code generator, the memory planner, `hwsim validate` and `hwsim simulate` follow it."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from hwsim.cost.int8_choice import int8_kernel_choices
from hwsim.cost.model import CostOptions, cost_graph
from hwsim.errors import HwsimError
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.importers.network import load_network
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import REFERENCE, SOFT_KERNELS, kernel_call
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.codegen import generate
from hwsim.machine.codegen.c_source import function_name
from hwsim.machine.validate import codegen_options, generated_kernels, validate_graph
from hwsim.memory.planner import MemoryOptions, plan_memory
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli

LIBRARY_CALL = {"fully_connected": "hwsim_fully_connected_s8(", "conv": "hwsim_conv_s8(",
                "conv_1x1": "hwsim_conv_1x1_s8(", "depthwise": "hwsim_depthwise_s8(",
                "depthwise_3x3": "hwsim_depthwise_3x3_s8(", "conv_scalar": "hwsim_conv_scalar_s8("}


@pytest.fixture(scope="module")
def graphs():
    return {name: graph_from_workload(load_network(name), seed=0)
            for name in ("har-cnn", "vww-mobilenet", "kws-dscnn")}


def test_choice_is_the_fewest_cycles_and_cost_graph_prices_it(graphs):
    device = find_device("nrf52840")
    for name, g in graphs.items():
        choices = int8_kernel_choices(g, device)
        report = cost_graph(g, device, "int8")
        by_node = {n.node: n for n in report.nodes}
        for node, choice in choices.items():
            best = min((c for c in choice.candidates if c.fits), key=lambda c: c.cycles)
            assert choice.kernel == best.kernel
            assert by_node[node].kernel == choice.kernel
            assert by_node[node].cycles == pytest.approx(best.cycles, rel=1e-12)
            # every candidate is a characterized library kernel on a covered core
            assert by_node[node].basis == "characterized"
            assert REFERENCE not in {c.kernel for c in choice.candidates}
        assert report.int8_kernels == tuple(sorted((n, c.kernel) for n, c in choices.items()))
    choices = int8_kernel_choices(graphs["vww-mobilenet"], device)
    assert [c.kernel for c in choices["L0.conv2d"].candidates] == ["conv", "conv_scalar"]
    # among library variants: the 3x3 depthwise kernel beats the generic one
    dw = choices["L1.depthwise_conv2d"]
    assert [c.kernel for c in dw.candidates] == ["depthwise_3x3", "depthwise"]
    assert dw.kernel == "depthwise_3x3"


def test_scalar_small_fan_in_variant_wins_where_im2col_does_not_pay():
    """A held-out conv0 with 3 input channels (heldout-02: 8x11x3 to 2 channels,
    3x3, stride 2x1, 'valid'): the direct scalar kernel beats the im2col kernel on Cortex-M4 and M0+."""
    from hwsim.machine.heldout import heldout_workloads
    workload = heldout_workloads(0, 3)[2]
    g = graph_from_workload(workload, seed=2)
    for device in map(find_device, ("nrf52840", "samd21")):
        choice = int8_kernel_choices(g, device)["L0.conv2d"]
        cycles = {c.kernel: c.cycles for c in choice.candidates}
        assert choice.kernel == "conv_scalar" and cycles["conv_scalar"] < cycles["conv"]


def test_optimized_is_never_slower_than_library_or_reference(graphs):
    for device in map(find_device, ("nrf52840", "samd21", "esp32-c3", "stm32u575")):
        for g in graphs.values():
            # the weighted layers, which the choice is about (with the int8 library the
            # pools and argmax run the ops library's run-time-shaped kernels, slower than
            # the plain loops' constant-shaped ones: docs/ops-kernels.md)
            cycles = {mode: sum(n.cycles for n in cost_graph(
                g, device, "int8", CostOptions(int8_kernels=mode)).nodes if n.op in WEIGHTED)
                      for mode in ("optimized", "library", "reference")}
            assert cycles["optimized"] <= cycles["reference"] + 1e-6
            # the library's kernels can lose only by not fitting (vww-mobilenet on samd21)
            fit = all(c.fits for ch in int8_kernel_choices(g, device).values()
                      for c in ch.candidates)
            assert (cycles["optimized"] <= cycles["library"] + 1e-6) or not fit


def test_modes_reference_and_library(graphs):
    g, device = graphs["kws-dscnn"], find_device("samd21")
    reference = int8_kernel_choices(g, device, CostOptions(int8_kernels="reference"))
    assert {c.kernel for c in reference.values()} == {REFERENCE}
    library = cost_graph(g, device, "int8", CostOptions(int8_kernels="library"))
    for node, kernel in library.int8_kernels:
        assert kernel == kernel_call(g.nodes[node]["op"]).kernel
    # a core without a multiplier: its soft kernel only, with a serial shifter too (the
    # soft kernels' data count their shifts by amount and role)
    for name in ("ch32v003", "picorv32"):
        rv32i = int8_kernel_choices(g, find_device(name))
        assert {c.kernel for c in rv32i.values()} == set(SOFT_KERNELS)
        assert all(len(c.candidates) == 1 for c in rv32i.values())


def test_memory_budget_excludes_a_kernel_whose_scratch_does_not_fit(graphs):
    g, device = graphs["kws-dscnn"], find_device("nrf52840")
    choices = int8_kernel_choices(g, device)
    conv0 = choices["L0.conv2d"]
    assert conv0.kernel == "conv" and conv0.scratch_bytes > 0
    # SRAM just too small for conv0's working set with the im2col scratch
    library = next(c for c in conv0.candidates if c.kernel == "conv")
    small = replace(device, memory=replace(
        device.memory, sram_bytes=device.memory.reserved_sram_bytes
        + library.working_set_bytes - 1))
    tight = int8_kernel_choices(g, small)["L0.conv2d"]
    assert not next(c for c in tight.candidates if c.kernel == "conv").fits
    assert tight.kernel == "conv_scalar"       # the direct kernel needs no scratch
    # the memory planner follows: no scratch buffer for conv0 any more
    report = simulate(load_subject("kws-dscnn"), small, "int8")
    assert dict(report.cost.int8_kernels)["L0.conv2d"] == "conv_scalar"
    assert "scratch:L0.conv2d" not in {b.name for b in report.memory.buffers}


def test_memory_planner_counts_the_chosen_kernels_scratch(graphs):
    for device in map(find_device, ("nrf52840", "samd21")):
        result = simulate(load_subject("vww-mobilenet"), device, "int8")
        chosen = dict(result.cost.int8_kernels)
        scratch = {b.nodes[0]: b.size_bytes for b in result.memory.buffers
                   if b.kind == "scratch"}
        g = load_subject("vww-mobilenet").graph
        for node, kernel in chosen.items():
            op = g.nodes[node]["op"]
            want = 0 if kernel == REFERENCE else kernel_call(op, kernel).scratch_bytes
            assert scratch.get(node, 0) == want, (device.name, node, kernel)
        assert result.memory.options.int8_kernels == result.cost.int8_kernels
    with pytest.raises(HwsimError, match="int8_kernels"):
        MemoryOptions(int8_kernels=(("L0.conv2d", "im2col"),))
    # without a choice: the library's preferred kernels (as before)
    g = load_subject("kws-dscnn").graph
    plain = plan_memory(g, find_device("nrf52840"), "int8")
    assert any(b.name == "scratch:L1.depthwise_conv2d" for b in plain.buffers)


def test_code_generator_follows_the_choice(graphs):
    g, device = graphs["vww-mobilenet"], find_device("nrf52840")
    from hwsim.machine.codegen.targets import find_target
    target = find_target("cortex-m4")
    mode, choice, _, _ = generated_kernels(g, device, "int8", target, codegen_options())
    assert mode == "optimized" and REFERENCE not in {k for _, k in choice}
    program = generate(g, target, "int8", int8_kernels=mode, int8_choice=choice)
    network = program.files["network.c"]
    for node, kernel in choice:
        start = network.index(f"/* graph node {node!r}")
        assert function_name(node) in network[start:start + 200]
        body = network[start:network.index("\n}\n", start)]
        calls = [k for k, call in LIBRARY_CALL.items() if call in body]
        assert calls == ([] if kernel == REFERENCE else [kernel]), (node, kernel, calls)
    with pytest.raises(HwsimError, match="no kernel for node"):
        generate(g, target, "int8", int8_choice=choice[1:])


def test_validate_mixed_choice_is_bit_exact_and_priced_by_its_basis(graphs):
    """har-cnn on nrf52840 (Cortex-M4) and samd21 (Cortex-M0+): every node a library
    kernel, priced from its characterization."""
    g = graphs["har-cnn"]
    x = np.random.default_rng(0).integers(0, 32, size=(1, *g.nodes["input"]["op"].output_shape))
    devices = [find_device("nrf52840"), find_device("samd21")]
    for report, device in zip(validate_graph(g, devices, "int8", x, check_instructions=False),
                              devices):
        assert report.bit_exact, report.mismatch
        chosen = dict(cost_graph(g, device, "int8", replace(codegen_options())).int8_kernels)
        basis = {n.node: n.basis for n in report.nodes}
        for node, kernel in chosen.items():
            assert basis[node] == "characterized" and kernel != REFERENCE
            error = next(n.error for n in report.nodes if n.node == node)
            assert abs(error) < 0.05, (device.name, node, kernel, error)
    kernels = dict(cost_graph(g, devices[0], "int8", codegen_options()).int8_kernels)
    assert kernels["L0.conv1d"] == "conv_scalar" and kernels["L2.conv1d"] == "conv"


def test_simulate_shows_the_kernel_per_node():
    result = run_cli("simulate", "har-cnn", "--device", "nrf52840", "--style", "int8")
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("node "))
    assert header.split()[-1] == "kernel"
    rows = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()
            if line.startswith("L")}
    assert rows["L0.conv1d"] == "conv_scalar" and rows["L5.dense"] == "conv_scalar"
    data = json.loads(run_cli("simulate", "har-cnn", "--device", "nrf52840", "--style",
                              "int8", "--json").stdout)
    kernels = {n["node"]: n["kernel"] for n in data["nodes"]}
    assert kernels["L2.conv1d"] == "conv" and kernels["L1.max_pool1d"] is None


def test_documented_examples(graphs):
    """docs/int8-kernels.md, "Per-layer choice"."""
    kws = graphs["kws-dscnn"]
    har = int8_kernel_choices(graphs["har-cnn"], find_device("nrf52840"))
    assert [har[n].kernel for n in ("L0.conv1d", "L2.conv1d", "L5.dense")] == [
        "conv_scalar", "conv", "conv_scalar"]
    vww = int8_kernel_choices(graphs["vww-mobilenet"], find_device("nrf52840"))
    assert vww["L0.conv2d"].kernel == "conv_scalar"
    assert {vww[n].kernel for n in vww if n.endswith("depthwise_conv2d")} == {"depthwise_3x3"}
    esp = int8_kernel_choices(kws, find_device("esp32-c3"))
    assert {esp[f"L{i}.conv2d"].kernel for i in (2, 4, 6, 8)} == {"conv_1x1"}
    cc = int8_kernel_choices(kws, find_device("cc2340r5"))
    for i in (1, 3, 5, 7):
        choice = cc[f"L{i}.depthwise_conv2d"]
        assert choice.kernel == "depthwise"       # no scratch buffer
        assert not next(c for c in choice.candidates if c.kernel == "depthwise_3x3").fits


def test_validate_reports_the_kernel_that_ran(graphs):
    g = graphs["har-cnn"]
    x = np.random.default_rng(0).integers(0, 32, size=(1, *g.nodes["input"]["op"].output_shape))
    [report] = validate_graph(g, [find_device("nrf52840")], "int8", x, check_instructions=False)
    kernels = {n["node"]: n["kernel"] for n in report.to_dict()["nodes"]}
    assert kernels["L0.conv1d"] == "conv_scalar" and kernels["L2.conv1d"] == "conv"
    assert kernels["L1.max_pool1d"] is None


def test_generated_conv_scalar_is_bit_exact_and_priced_exactly_enough():
    """heldout-02's conv0 runs conv_scalar on nrf52840 and samd21: the generated network
    links its source, is bit-exact, and every weighted node is characterized within 5%."""
    from hwsim.machine.heldout import heldout_workloads
    workload = heldout_workloads(0, 3)[2]
    g = graph_from_workload(workload, seed=2)
    x = np.random.default_rng(2).integers(0, workload.input_levels,
                                          size=(1, *workload.input_shape))
    devices = [find_device("nrf52840"), find_device("samd21")]
    for report in validate_graph(g, devices, "int8", x, check_instructions=False):
        assert report.bit_exact, report.mismatch
        nodes = {n["node"]: n for n in report.to_dict()["nodes"]}
        assert nodes["L0.conv2d"]["kernel"] == "conv_scalar"
        for node in report.nodes:
            if nodes[node.node]["kernel"] is not None:
                assert node.basis == "characterized" and abs(node.error) < 0.05, node


def test_conv_scalar_source_is_linked_only_where_called():
    from hwsim.machine.codegen.int8_library import library_files
    assert "conv_scalar.c" not in library_files(["conv", "reference", None])
    assert "conv_scalar.c" in library_files(["conv_scalar"])
    assert "conv.c" in library_files([])
