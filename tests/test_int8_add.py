"""The int8 residual add: the library's hwsim_add_s8 (TFLite's int8 ADD), generated for
every add node where the core multiplies (else a plain loop of sign-magnitude products),
bit-exact with the code generator's numpy reference and with TFLite's reference
arithmetic, and priced from its characterization (tests/test_int8_kernels.py
and tests/test_characterize.py test the kernel alone)."""
from __future__ import annotations

import numpy as np

from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.ir.graph import graph_from_workload
from hwsim.machine.codegen import generate
from hwsim.machine.codegen.int8_reference import ADD_LEFT_SHIFT, Int8Plan, int8_forward
from hwsim.machine.validate import validate_graph
from hwsim.specs.catalog import find_device
from tests.test_codegen import shape_workload


def _residual():
    return graph_from_workload(shape_workload("residual"), seed=3)


def test_the_numpy_reference_is_tflite_add():
    g = _residual()
    x = np.random.default_rng(0).integers(0, 12, size=(4, 6, 6, 2))
    values = int8_forward(g, x)
    plan = Int8Plan(g)
    [node] = [n for n, op in g.nodes(data="op") if op.kind == "add"]
    p = plan.params[node]
    first, second = (values[s] for s in g.predecessors(node))
    want = REFERENCES["add"](first, second, p["multiplier"], p["shift"], input_offset=0,
                             input2_offset=0, output_offset=0, act_min=p["low"],
                             act_max=p["high"], left_shift=ADD_LEFT_SHIFT)
    assert np.array_equal(values[node], want)
    assert len(np.unique(values[node])) > 8          # not all clamped


def test_generated_add_calls_the_library_on_every_target_with_a_multiplier():
    g = _residual()
    for target in ("cortex-m0", "cortex-m4", "rv32im"):
        program = generate(g, target, "int8", int8_kernels="reference")
        assert "hwsim_add_s8(" in program.files["network.c"] and "add.c" in program.files
    plain = generate(g, "rv32i", "int8", int8_kernels="reference")
    assert "hwsim_add_s8(" not in plain.files["network.c"] and "add.c" not in plain.files
    assert "hw_requantize_call(" in plain.files["network.c"]


def test_without_a_multiplier_the_plain_add_is_bit_exact_and_priced_from_the_multipliers():
    """ch32v003 (RV32I code): the plain add loop's sign-magnitude __muldi3 calls loop over
    the constant multipliers, so the estimate (their characterization) holds within 2%;
    measured 0.3% on held-out residual networks (docs/validation.md)."""
    g = _residual()
    x = np.random.default_rng(1).integers(0, 12, size=(2, 6, 6, 2))
    [report] = validate_graph(g, [find_device("ch32v003")], "int8", x, check_instructions=False)
    assert report.bit_exact, report.mismatch
    [add] = [n for n in report.nodes if n.op == "add"]
    assert add.basis == "formula"
    assert abs(add.error) < 0.02, add.error


def test_residual_network_validates_bit_exact_with_a_characterized_add():
    g = _residual()
    x = np.random.default_rng(1).integers(0, 12, size=(2, 6, 6, 2))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    for report in validate_graph(g, devices, "int8", x, check_instructions=False):
        assert report.bit_exact, (report.device, report.mismatch)
        [add] = [n for n in report.nodes if n.op == "add"]
        assert add.basis == "characterized"
        assert abs(add.error) < 0.02, (report.device, add.error)
