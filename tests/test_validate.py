"""Validation of the cost model against emulated machine code (hwsim.machine.validate):
within 10% per node and per network on every target, both styles; the CLI."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device
from hwsim.ir.graph import graph_from_artifact
from hwsim.machine.validate import TOLERANCE, sample_inputs, validate_graph
from tests.conftest import hwsim_script, run_cli
from tests.test_codegen import small_artifact

DEVICES = ("samd21", "cm0plus-iterative-mul", "nrf52840", "ch32v003", "esp32-c3")


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory):
    return small_artifact(tmp_path_factory.mktemp("art"))


@pytest.fixture(scope="module")
def reports(artifact_dir):
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, 3)
    devices = [find_device(name) for name in DEVICES]
    return {style: {r.device: r for r in validate_graph(g, devices, style, x)}
            for style in ("lut", "int8")}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("style", ["lut", "int8"])
def test_cost_model_within_ten_percent(reports, device, style):
    report = reports[style][device]
    assert report.bit_exact, report.mismatch
    assert report.instruction_check.agrees
    expected = ["L1.dense", "L1.threshold", "L2.dense", "output"]
    if style == "int8":
        expected.remove("L1.threshold")              # the clamp of the requantization
    else:                                            # searched in the lut library's call
        assert report.nodes[0].basis == "characterized"
        expected.remove("L1.threshold")
    assert [n.node for n in report.nodes] == expected
    for node in report.nodes:
        assert abs(node.error) <= TOLERANCE, (node.node, node.estimated_cycles,
                                              node.emulated_cycles)
    assert abs(report.error) <= TOLERANCE
    assert report.within()


def test_targets_follow_the_device(reports):
    targets = {d: r.target for d, r in reports["lut"].items()}
    assert targets == {"samd21": "cortex-m0", "cm0plus-iterative-mul": "cortex-m0",
                       "nrf52840": "cortex-m4", "ch32v003": "rv32i", "esp32-c3": "rv32im"}
    assert any("emulated as rv32i" in n for n in reports["lut"]["ch32v003"].notes)


def test_the_paper_orderings_hold_in_emulation(reports):
    """Section 7 of the paper, measured: lut slower than int8 with the one-cycle
    multiplier, faster with the 32-cycle one, several times faster without M."""
    lut, int8 = reports["lut"], reports["int8"]

    def emulated(style, device):
        return style[device].emulated_cycles
    assert emulated(lut, "samd21") > emulated(int8, "samd21")
    assert emulated(int8, "cm0plus-iterative-mul") / emulated(lut, "cm0plus-iterative-mul") > 2
    assert 4 <= emulated(int8, "ch32v003") / emulated(lut, "ch32v003") <= 10
    assert all(r.machine_code.multiply_free for r in lut.values())


def test_validate_cli(artifact_dir):
    result = run_cli("validate", artifact_dir, "--device", "samd21", "--samples", "2",
                     "--max-error", "10")
    assert result.returncode == 0, result.stderr
    assert "bit-exact against the integer executor: yes" in result.stdout
    assert "machine code (v6S-M): no multiply" in result.stdout
    result = run_cli("validate", artifact_dir, "--device", "esp32-c3", "--style", "int8",
                     "--samples", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["target"] == "rv32im" and data["bit_exact"] and data["instructions_agree"]
    assert abs(data["error"]) <= TOLERANCE
    # int8 weighted layers are priced from the characterized library, argmax from the
    # ops library's (docs/ops-kernels.md)
    basis = {n["op"]: n["basis"] for n in data["nodes"]}
    assert basis["dense"] == "characterized" and basis["argmax"] == "characterized"
    # lut weighted layers likewise from the lut kernel library's characterization
    lut = run_cli("validate", artifact_dir, "--device", "samd21", "--samples", "1")
    table = lut.stdout.split("estimate from:")[0]
    assert re.search(r"L1\.dense\s+dense\s.*characterized", table)
    assert re.search(r"output\s+argmax\s.*characterized", table)


def test_validate_cli_user_errors(artifact_dir, tmp_path):
    result = run_cli("validate", artifact_dir, "--device", "no-such-device")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run_cli("validate", artifact_dir, "--device", "msp430fr5969")
    assert result.returncode == 2
    assert "no code generation target for ISA 'msp430x'" in result.stderr
    env = dict(os.environ, PATH=str(tmp_path))          # the cross compilers are not on PATH
    result = subprocess.run([hwsim_script(), "validate", artifact_dir, "--device", "esp32-c3"],
                            capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hwsim: error: cross compiler riscv64-unknown-elf-gcc not found on PATH; install the "
        "Debian package gcc-riscv64-unknown-elf (apt-get install gcc-riscv64-unknown-elf)")


def test_auto_encoder_output_values_are_compared(tmp_path):
    """The auto-encoder's output table maps levels to values: the emulated values are
    compared with the executor's levels mapped through it (a regression: the check
    once compared values with levels, and failed)."""
    from hwsim.artifact.save import save_artifact
    from hwsim.specs.bundled import bundled_dir
    from hwsim.specs.workload import workload_from_data
    from hwsim.specs.yaml_reader import read_yaml
    from hwsim.train.pipeline import run_training
    data = read_yaml(bundled_dir("workloads") / "digits-ae.yaml")
    data["training"]["epochs"], data["training"]["finetune_epochs"] = 1, 1
    save_artifact(run_training(workload_from_data(data, "small digits-ae")), tmp_path)
    artifact = load_artifact(tmp_path)
    g = graph_from_artifact(artifact)
    assert g.nodes["output"]["op"].kind == "output_table"
    report = validate_graph(g, [find_device("esp32-c3")], "lut", sample_inputs(artifact, 1),
                            check_instructions=False)[0]
    assert report.bit_exact, report.mismatch
