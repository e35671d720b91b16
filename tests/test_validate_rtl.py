"""The generated network on cycle-exact RTL (hwsim.machine.validate_rtl): a small trained
artifact on Ibex (fast multiplier) and PicoRV32, both styles. The RTL's output bytes equal
the executor's (lut) / the int8 reference's; emulation x the device table equals the RTL
clocks within 0.1% per node and per network (measured: 0.01%, the MARK stores' rounding);
the cost model is within 1% per network and 5% per node of the RTL (measured 0.5% / 3.3%,
the worst int8 __mulsi3 loops on PicoRV32 whose length follows the data).

The cores are built once per session and cached on disk ($HWSIM_CACHE/rtl, as
tests/test_rtl.py does).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hwsim.artifact.load import load_artifact
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_artifact
from hwsim.machine.rtl import rtl_core
from hwsim.machine.validate import sample_inputs
from hwsim.machine.validate_rtl import boundary_glue_cycles, device_for_core, validate_rtl_graph
from tests.conftest import run_cli
from tests.test_codegen import small_artifact

REPO = Path(__file__).resolve().parent.parent
CORES = ("ibex-rv32m-fast", "picorv32")
EMULATION_BOUND = 0.001        # emulation x table vs RTL, per node and per network
NETWORK_BOUND = 0.01           # cost model vs RTL, per network
NODE_BOUND = 0.05              # cost model vs RTL, per node
RTL_NODE_TARGET = 0.03         # issue 11's per-node target, where the estimate is characterized

pytestmark = pytest.mark.skipif(
    shutil.which("verilator") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs verilator and gcc-riscv64-unknown-elf (tools/system-packages.sh)")


def cache_dir() -> Path:
    return Path(os.environ.get("HWSIM_CACHE", REPO / ".hwsim-cache")) / "rtl"


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory):
    return small_artifact(tmp_path_factory.mktemp("art"))


@pytest.fixture(scope="module")
def reports(artifact_dir, tmp_path_factory):
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, 2)
    work = tmp_path_factory.mktemp("rtl-validate")
    return {(core, style): validate_rtl_graph(g, rtl_core(core), style, x,
                                              cache_dir=cache_dir(),
                                              workdir=work / f"{core}-{style}")
            for core in CORES for style in ("lut", "int8")}


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("style", ["lut", "int8"])
def test_rtl_outputs_and_clocks(reports, core, style):
    report = reports[(core, style)]
    assert report.outputs_equal, report.output_mismatch
    assert report.emulation.bit_exact, report.emulation.mismatch
    assert [r.node for r in report.rows] == ["L1.dense", "L2.dense", "output"]
    if style == "lut":
        assert report.rows[0].nodes == ("input", "L0.flatten", "L1.dense", "L1.threshold")
    for row in report.rows:
        assert row.rtl_clocks > 0
        assert abs(row.emulation_error) <= EMULATION_BOUND, row
        assert abs(row.estimate_error) <= NODE_BOUND, row
    assert abs(report.emulation_error) <= EMULATION_BOUND
    assert abs(report.estimate_error) <= NETWORK_BOUND
    # The raw network_run call (marks and set-up included) costs a little more.
    assert report.rtl_clocks < report.network_run_clocks < 1.01 * report.rtl_clocks
    assert set(report.to_dict()["sources"]) == {"estimated_cycles", "emulated_cycles",
                                                "rtl_clocks"}


def test_operand_dependent_multiplier(artifact_dir, tmp_path):
    """Ibex's slow multiplier times a MUL by its second operand: emulation records the
    operand widths and equals the RTL; the cost model (the int8 library's characterized
    muls by operand role, priced from the artifact's weights) is within 1% per network
    and 3% per node."""
    artifact = load_artifact(artifact_dir)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core("ibex-rv32m-slow"),
                                "int8", sample_inputs(artifact, 1), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    assert abs(report.emulation_error) <= EMULATION_BOUND
    assert abs(report.estimate_error) <= NETWORK_BOUND
    assert all(abs(r.estimate_error) <= RTL_NODE_TARGET for r in report.rows), report.rows
    # Negative weights as the second operand: 33-cycle MULs, far slower than single-cycle.
    assert report.rtl_clocks > 1.5 * single_cycle_int8_clocks(artifact, tmp_path)


@pytest.mark.parametrize("style", ["lut", "int8"])
def test_cv32e40p_hazards_priced(artifact_dir, tmp_path, style):
    """CV32E40P stalls a cycle on a load-use and a jalr dependency (its documented
    hazards): counted from the executed instructions, emulation x table equals the RTL
    to 0.1% per node, and the characterized estimate is within issue 11's targets, 1% per
    network and 3% per node."""
    artifact = load_artifact(artifact_dir)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core("cv32e40p"), style,
                                sample_inputs(artifact, 2), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    for row in report.rows:
        assert abs(row.emulation_error) <= EMULATION_BOUND, row
        assert abs(row.estimate_error) <= RTL_NODE_TARGET, row
    assert abs(report.estimate_error) <= NETWORK_BOUND


def single_cycle_int8_clocks(artifact, tmp_path) -> float:
    return validate_rtl_graph(graph_from_artifact(artifact), rtl_core("ibex-rv32m-single-cycle"),
                              "int8", sample_inputs(artifact, 1), cache_dir=cache_dir(),
                              workdir=tmp_path / "single").rtl_clocks


def test_instruction_fetch_wait_states_priced_by_the_ws1_table(artifact_dir, tmp_path):
    """picorv32-ws1 (one wait state on every fetch, load and store) has its own device
    table: emulation priced with it equals the RTL clocks as at zero wait states, and the
    report no longer says the table assumes none."""
    artifact = load_artifact(artifact_dir)
    core = rtl_core("picorv32-ws1")
    assert device_for_core(core).name == "picorv32-ws1"
    assert device_for_core(rtl_core("ibex-rv32m-fast-ws1")).name == "ibex-rv32m-fast"
    report = validate_rtl_graph(graph_from_artifact(artifact), core, "lut",
                                sample_inputs(artifact, 1), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal
    assert abs(report.emulation_error) <= EMULATION_BOUND
    assert all(abs(r.emulation_error) <= EMULATION_BOUND for r in report.rows)
    assert abs(report.estimate_error) <= NETWORK_BOUND
    assert not any("assumes none" in n for n in report.notes)


def test_cores_differ_as_their_tables_say(reports):
    """PicoRV32 takes about 3 clocks where Ibex takes 1: lut over 2.5x slower."""
    ibex, pico = reports[("ibex-rv32m-fast", "lut")], reports[("picorv32", "lut")]
    assert pico.rtl_clocks > 2.5 * ibex.rtl_clocks
    # Without a multiplier (PicoRV32 runs rv32i code) int8 costs more than lut.
    assert reports[("picorv32", "int8")].rtl_clocks > 4 * pico.rtl_clocks
    assert reports[("ibex-rv32m-fast", "int8")].target == "rv32im"
    assert reports[("picorv32", "int8")].target == "rv32i"


def test_node_marks_are_priced_out(reports, tmp_path):
    report = reports[("ibex-rv32m-fast", "lut")]
    device = device_for_core(rtl_core("ibex-rv32m-fast"))
    assert device.name == "ibex-rv32m-fast"
    assert device_for_core(rtl_core("ibex-rv32m-none")).name == "ibex-rv32i"
    with pytest.raises(HwsimError, match="no device file"):
        device_for_core(rtl_core("picorv32-fast-mul"))
    with pytest.raises(HwsimError, match="no such ELF|not a readable"):
        boundary_glue_cycles(tmp_path / "missing.elf", device, 3)
    assert report.samples == 2


def test_validate_rtl_cli(artifact_dir, tmp_path):
    env_cache = os.environ.get("HWSIM_CACHE")
    cache = Path(env_cache) if env_cache else REPO / ".hwsim-cache"
    result = run_cli("validate", artifact_dir, "--rtl", "ibex-rv32m-fast", "--samples", "1",
                     "--max-error", "3", "--cache", str(cache))
    assert result.returncode == 0, result.stderr
    assert "RTL output bytes equal to the integer executor: yes" in result.stdout
    assert "RTL clocks: Verilator simulation" in result.stdout
    result = run_cli("validate", artifact_dir, "--rtl", "picorv32-fast-mul")
    assert result.returncode == 2
    assert "no device file" in result.stderr
    result = run_cli("validate", artifact_dir, "--rtl", "ibex-rv32m-fast", "--device", "samd21")
    assert result.returncode == 2
