"""The memory planner's lut parameters are what the generated code stores
(hwsim.memory.lut_layout): the flash bytes of the constant arrays of the program
`hwsim codegen` emits, exactly, for the lut kernel library's calls and the per-layer loops;
and `hwsim simulate` plans the layout the cost model prices."""
from __future__ import annotations

import pytest

from hwsim.cost.options import CostOptions
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.ir.graph import graph_from_workload
from hwsim.machine.codegen import generate
from hwsim.machine.validate import resolve_target
from hwsim.memory.planner import MemoryOptions, plan_memory
from hwsim.specs.catalog import find_device
from hwsim.specs.workload import load_workload

CODE_LINES = ("weight codes (bytes)", "bias indices", "window geometry",
              "library call constants")


@pytest.mark.parametrize("workload", ["digits-mlp", "har-cnn", "kws-dscnn", "digits-ae"])
@pytest.mark.parametrize("device,lut_kernels", [("samd21", "library"),
                                                ("nrf52840", "library"),
                                                ("esp32-c3", "library"),
                                                ("samd21", "loops")])
def test_planner_parameters_are_the_generated_constants(workload, device, lut_kernels):
    g = graph_from_workload(load_workload(workload))
    d = find_device(device)
    target = resolve_target(d)
    program = generate(g, target, "lut", target.memory_map(d), lut_kernels=lut_kernels)
    report = plan_memory(g, d, "lut", MemoryOptions(lut_kernels=lut_kernels))
    assert report.parameter_bytes == program.constant_bytes
    names = [line.name for line in report.param_lines]
    assert "weight indices (packed)" not in names
    calls = dict((line.name, line.bytes) for line in report.param_lines)
    assert (calls["library call constants"] > 0) == (lut_kernels == "library")


def test_packed_indices_are_a_what_if_of_the_loops_smaller_than_their_codes():
    g = graph_from_workload(load_workload("har-cnn"))
    d = find_device("nrf52840")
    generated = plan_memory(g, d, "lut", MemoryOptions(lut_kernels="loops"))
    packed = plan_memory(g, d, "lut", MemoryOptions(lut_kernels="loops",
                                                    weight_indices="packed"))
    names = [line.name for line in packed.param_lines]
    assert "weight indices (packed)" in names and not set(CODE_LINES) & set(names)
    assert packed.parameter_bytes < generated.parameter_bytes
    tables = [line for line in packed.param_lines if line.name == "product tables"]
    assert tables == [line for line in generated.param_lines if line.name == "product tables"]


@pytest.mark.parametrize("device,library", [("samd21", True), ("stm32u575", True),
                                            ("picorv32", True), ("msp430fr5969", False)])
def test_simulate_plans_the_layout_the_cost_model_prices(device, library):
    """By default a covered core is priced and planned as the library's calls (PicoRV32
    too: its serial shifter is priced from the RISC-V build's shift counts); a core
    without a library build as the per-layer loops, the code `hwsim validate`
    generates for it."""
    subject = load_subject("digits-mlp")
    result = simulate(subject, find_device(device), "lut")
    lines = dict((line.name, line.bytes) for line in result.memory.param_lines)
    assert (lines["library call constants"] > 0) == library
    options = MemoryOptions(lut_kernels="library" if library else "loops")
    alone = plan_memory(subject.graph, find_device(device), "lut", options)
    assert alone.parameter_bytes == result.memory.parameter_bytes
    packed = simulate(load_subject("har-cnn"), find_device(device), "lut",   # K = 16
                      cost_options=CostOptions(weight_indices="packed"))
    # the library's packed codes (generated) where it runs, else the loops' what-if
    assert ("weight codes (packed)" if library else "weight indices (packed)") in [
        line.name for line in packed.memory.param_lines]


def test_bad_layout_option_names_the_field():
    from hwsim.errors import HwsimError
    with pytest.raises(HwsimError, match="lut_kernels must be one of"):
        MemoryOptions(lut_kernels="fast")
    with pytest.raises(HwsimError, match="weight_indices must be one of"):
        MemoryOptions(weight_indices="bits")


@pytest.mark.parametrize("workload,generated,packed", [("digits-mlp", 0.38, 0.24),
                                                       ("har-cnn", 0.55, 0.29),
                                                       ("kws-dscnn", 1.99, 1.91)])
def test_parameters_to_float32_as_docs_memory_says(workload, generated, packed):
    """docs/memory.md "Figures": lut parameters over float32's, as generated (byte codes)
    and as the per-layer loops' packed what-if."""
    from hwsim.memory.planner import compare_styles
    g = graph_from_workload(load_workload(workload))
    device = find_device("nrf52840")
    assert round(compare_styles(g, device).ratio_to_float32("lut", "parameters"), 2) == generated
    what_if = compare_styles(g, device, MemoryOptions(lut_kernels="loops",
                                                      weight_indices="packed"))
    assert round(what_if.ratio_to_float32("lut", "parameters"), 2) == packed


def test_default_options_are_the_validated_options():
    """Issue 11: what `hwsim simulate` prints by default is what `hwsim validate` checks:
    the cost options that describe the generated code are the defaults."""
    from hwsim.machine.validate import codegen_options
    assert codegen_options() == CostOptions()
    assert CostOptions().weight_indices == "auto" == MemoryOptions().weight_indices
