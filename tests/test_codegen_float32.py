"""float32 code generation (hwsim.machine.codegen.float32): soft-float C for every op,
emulated outputs within the float32 reference's tolerance, the reference equal to the
trainer's continuous forward pass, and `hwsim validate --style float32`."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hwsim.artifact.load import load_artifact
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.machine.codegen import generate
from hwsim.machine.codegen.float32_reference import compare_float_outputs, float32_forward, \
    layer_values
from hwsim.machine.disasm import prove
from hwsim.machine.toolchain import build_program
from hwsim.machine.validate import sample_inputs, validate_graph
from hwsim.specs.catalog import find_device
from hwsim.train.network import Mode, forward
from tests.conftest import run_cli
from tests.test_codegen import shape_workload, small_artifact

SOFT_FLOAT_DEVICES = ("samd21", "esp32-c3")          # cortex-m0, rv32im


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory):
    return small_artifact(tmp_path_factory.mktemp("art"))


def test_the_reference_is_the_trainers_continuous_forward_pass(artifact_dir):
    """float32_forward = hwsim.train.network.forward in continuous mode (tanh) on the
    weights the C holds (the tables' bias rows / 2^s: the discretized weights rounded to
    the table's fixed point) and the inputs q / (levels - 1)."""
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    x_levels = sample_inputs(artifact, 40)
    reference = float32_forward(g, x_levels)
    x = x_levels / (artifact.workload.input_levels - 1)
    params = [{} for _ in artifact.workload.layers]
    for node in ("L1.dense", "L2.dense"):
        w, b = layer_values(g, node)
        params[g.nodes[node]["op"].layer_index] = {"w": w, "b": b}
    for held, used in zip(artifact.discrete_params, params):
        for key in used:                         # the rounding is below the table's step
            assert np.abs(held[key] - used[key]).max() <= 2.0 ** -g.graph["scale_bits"]
    logits, _ = forward(artifact.workload.layers, params, x, Mode(None, None), "classification")
    np.testing.assert_allclose(reference["L2.dense"].reshape(len(x), -1),
                               logits.reshape(len(x), -1), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(reference["output"], np.argmax(logits, axis=1))


@pytest.mark.parametrize("kind", ["2d", "1d", "valid2d", "residual", "big"])
def test_every_kernel_runs_within_the_tolerance_on_soft_float_cores(kind, tmp_path):
    g = graph_from_workload(shape_workload(kind), seed=3)
    levels = g.graph["input_levels"]
    shape = g.nodes["input"]["op"].outputs
    x = np.random.default_rng(5).integers(0, levels, (2, shape))
    devices = [find_device(name) for name in SOFT_FLOAT_DEVICES]
    for report in validate_graph(g, devices, "float32", x, workdir=tmp_path):
        assert report.bit_exact, (report.device, report.mismatch)
        assert report.instruction_check.agrees
        assert report.machine_code.float_ops == 0          # soft-float: no FPU instruction
        assert report.machine_code.helper_calls > 0        # ... but libgcc's routines


def test_the_c_is_soft_float_and_computes_tanh_without_libm(artifact_dir, tmp_path):
    g = graph_from_artifact(load_artifact(artifact_dir))
    program = generate(g, "cortex-m0", "float32")
    network = program.files["network.c"]
    assert "void network_run(const float *input, void *output)" in network
    assert "void node_L1_threshold(float acc, float *restrict y)" in network
    assert "node_L1_threshold(acc, y++);" in network          # fused: called per unit
    assert "#include <math.h>" not in network and "tanhf(" not in network.replace("hw_tanhf(", "")
    assert program.tensors["L1.threshold"].ctype == "float"
    build = build_program(program, tmp_path / "m0")
    proof = prove(build.elf_path, program.target, "float32", program.node_of_function)
    helpers = " ".join(h for f in proof.functions for h in f.helper_calls)
    assert "__aeabi_fmul" in helpers and "__aeabi_fadd" in helpers


def test_a_wrong_value_is_reported_with_the_tolerance(artifact_dir):
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, 2)
    reference = float32_forward(g, x)
    outputs = {"L1.threshold": reference["L1.threshold"].reshape(2, -1).astype(np.float32)}
    assert compare_float_outputs(g, outputs, x) == ""
    outputs["L1.threshold"][1, 3] += 1e-3
    message = compare_float_outputs(g, outputs, x)
    assert message.startswith("node 'L1.threshold', sample 1, element 3") and "tolerance" in message


def test_validate_float32_on_the_command_line(artifact_dir):
    done = run_cli("validate", artifact_dir, "--device", "samd21", "--style", "float32",
                   "--samples", "2", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["style"] == "float32" and report["bit_exact"]
    assert [n["node"] for n in report["nodes"]] == ["L1.dense", "L1.threshold", "L2.dense",
                                                    "output"]
    text = run_cli("validate", artifact_dir, "--device", "esp32-c3", "--style", "float32",
                   "--samples", "1").stdout
    assert "outputs within tolerance of the float32 reference" in text
    assert "soft-float cycles per call in this run: add " in text
    assert "mul " in text and "(43.9 in the device file)" in text     # esp32-c3's fmul figure


def test_a_device_with_an_fpu_is_a_clear_error(artifact_dir):
    done = run_cli("validate", artifact_dir, "--device", "nrf52840", "--style", "float32")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nrf52840 (core.fpu: single)" in done.stderr
    with pytest.raises(HwsimError, match="validate float32 on a device without an FPU"):
        validate_graph(graph_from_artifact(load_artifact(artifact_dir)),
                       [find_device("samd21"), find_device("apollo3-blue")], "float32",
                       np.zeros((1, 64), dtype=np.int64))


def test_soft_float_routines_are_counted_per_call(artifact_dir, tmp_path):
    """Every multiply of the network is one __aeabi_fmul call: the MACs of both dense
    layers and hw_tanhf's nine per unit (x log2 e, two in the range reduction, six in
    the polynomial; 2x is an add)."""
    from hwsim.machine.emulate import emulate
    from hwsim.machine.soft_float import measured_figures, routine_costs, with_figures
    from hwsim.machine.validate import program_inputs
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    device = find_device("samd21")
    program = generate(g, "cortex-m0", "float32")
    run = emulate(build_program(program, tmp_path), program_inputs(g, "float32",
                                                                   sample_inputs(artifact, 2)))
    costs = {c.routine: c for c in routine_costs(run, device)}
    macs = g.nodes["L1.dense"]["op"].connections + g.nodes["L2.dense"]["op"].connections
    assert costs["__aeabi_fmul"].calls == macs + 9 * g.nodes["L1.threshold"]["op"].units
    assert costs["__aeabi_fmul"].operation == "mul" and costs["__aeabi_fmul"].device_cycles == 166
    assert costs["__gesf2"].outer_calls == 0 < costs["__gesf2"].calls     # from __aeabi_fcmpgt
    figures = measured_figures(list(costs.values()))
    assert set(figures) == {"add", "mul", "div", "compare"}
    assert 0 < figures["mul"] < 1000
    assert with_figures(device, figures).soft_float_cycles["mul"] == figures["mul"]


@pytest.mark.skipif(shutil.which("verilator") is None
                    or shutil.which("riscv64-unknown-elf-gcc") is None,
                    reason="needs verilator and gcc-riscv64-unknown-elf (tools/system-packages.sh)")
def test_soft_float_on_the_picorv32_rtl_matches_emulation(artifact_dir):
    """The soft-float network on PicoRV32's RTL: outputs within the tolerance, and the
    emulated instructions x the core's table equal its clocks within 1% per node
    (measured 0.6%: libgcc's data-dependent loops; docs/codegen.md)."""
    from hwsim.machine.rtl import rtl_core
    from hwsim.machine.validate_rtl import validate_rtl_graph
    from tests.test_validate_rtl import cache_dir
    artifact = load_artifact(artifact_dir)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core("picorv32"), "float32",
                                sample_inputs(artifact, 1), cache_dir=cache_dir())
    assert report.outputs_equal and report.emulation.bit_exact, report.output_mismatch
    for row in report.rows:
        assert abs(row.emulation_error) <= 0.01, (row.node, row.emulated_cycles, row.rtl_clocks)


def test_float_literals_are_valid_c_for_whole_numbers():
    """A weight of exactly 1 or -2 is written "1.f" / "-2.f" ("1f" does not compile)."""
    from hwsim.machine.codegen.float32 import float_literal
    assert [float_literal(v) for v in (1.0, -2.0, 0.15625, 1e10)] == \
        ["1.f", "-2.f", "0.15625f", "1e+10f"]
    assert float(float_literal(0.1)[:-1]) == np.float32(0.1)
