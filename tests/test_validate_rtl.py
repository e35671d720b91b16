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
from hwsim.cost.int8_choice import int8_kernel_choices
from hwsim.cost.int8_library import call_actions
from hwsim.cost.mul_operands import significant_bits
from hwsim.cost.model import combine
from hwsim.cost.options import core_traits
from hwsim.cost.prices import action_prices
from hwsim.ir.int8_kernels import kernel_call
from hwsim.ir.int8_weights import int8_weights
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.codegen.int8 import int8_forward
from hwsim.machine.operand_statistics import record_int8_input_statistics
from hwsim.machine.validate import codegen_options, sample_inputs
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
    operand widths and equals the RTL. The cost model prices the int8 library's muls by
    operand role: with the operands' actual statistics (the artifact's int8 weights, the
    int8 reference's inputs of each layer) every weighted node is within issue 11's 3% of
    the RTL; by default (inputs taken uniform over their int8 values: this artifact's
    inputs are half zeros, 3.7 bits where the model takes 6) the estimate is high, by at
    most the 20% stated in docs/rtl.md, and below the bound (every operand negative)."""
    artifact = load_artifact(artifact_dir)
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, 1)
    core = rtl_core("ibex-rv32m-slow")
    report = validate_rtl_graph(g, core, "int8", x, cache_dir=cache_dir(), workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    assert abs(report.emulation_error) <= EMULATION_BOUND
    assert 0 < report.estimate_error <= 0.20
    device = device_for_core(core)
    traits, options, prices = core_traits(device), codegen_options(), action_prices(device)
    choices = int8_kernel_choices(g, device, options)
    values = int8_forward(g, x)
    for row in report.rows:
        if row.node not in choices:
            continue
        op = g.nodes[row.node]["op"]
        (source,) = g.predecessors(row.node)
        bits = {"mul_weight": significant_bits(int8_weights(g, row.node)),
                "mul_input": significant_bits(values[source]), "mul_multiplier": 31.0}
        call = kernel_call(op, choices[row.node].kernel)
        actual = combine(call_actions(call, traits, options, bits), prices)[0]
        assert abs(actual - row.rtl_clocks) <= RTL_NODE_TARGET * row.rtl_clocks, row
        bound = combine(call_actions(call, traits, options), prices)[0]
        assert actual <= row.estimated_cycles < bound
    # Negative weights as the second operand: 33-cycle MULs, far slower than single-cycle.
    assert report.rtl_clocks > 1.5 * single_cycle_int8_clocks(artifact, tmp_path)


@pytest.mark.parametrize("core", ["ibex-rv32m-slow", "ibex-rv32m-slow-ws1"])
def test_operand_statistics_meet_rtl_target(artifact_dir, tmp_path, core):
    """With the artifact's int8 input statistics (recorded from the training data, as
    `hwsim train` does at export) the cost model prices Ibex's slow multiplier within issue
    11's 3% of the RTL per weighted node and per network, on test inputs it never saw; at
    one wait state too, with its own table (devices/rtl/ibex-rv32m-slow-ws1.yaml)."""
    directory = tmp_path / "artifact"
    shutil.copytree(artifact_dir, directory)
    record_int8_input_statistics(directory)
    artifact = load_artifact(directory)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core(core),
                                "int8", sample_inputs(artifact, 3), cache_dir=cache_dir(),
                                workdir=tmp_path / "work")
    assert report.outputs_equal and report.emulation.bit_exact
    assert report.device == core and not any("assumes none" in n for n in report.notes)
    weighted = [r for r in report.rows if r.node.endswith(".dense")]
    assert len(weighted) == 2
    for row in weighted:
        assert abs(row.estimate_error) <= RTL_NODE_TARGET, row
    assert abs(report.estimate_error) <= RTL_NODE_TARGET


@pytest.mark.parametrize("style", ["lut", "int8"])
def test_cv32e40p_hazards_priced(artifact_dir, tmp_path, style):
    """CV32E40P stalls a cycle on a load-use and a jalr dependency (its documented
    hazards): counted from the executed instructions, emulation x table equals the RTL
    to 0.1% per node (it was 9% low on small nodes without them), and the estimate is
    within issue 11's targets, 1% per network and 3% per characterized (weighted) node;
    the argmax, priced by a formula without hazards, within 10%."""
    artifact = load_artifact(artifact_dir)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core("cv32e40p"), style,
                                sample_inputs(artifact, 2), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    for row in report.rows:
        assert abs(row.emulation_error) <= EMULATION_BOUND, row
        weighted = row.op in WEIGHTED
        assert abs(row.estimate_error) <= (RTL_NODE_TARGET if weighted else 0.10), row
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
    assert device_for_core(rtl_core("picorv32-mul-ws1")).name == "picorv32-mul"
    report = validate_rtl_graph(graph_from_artifact(artifact), core, "lut",
                                sample_inputs(artifact, 1), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal
    assert abs(report.emulation_error) <= EMULATION_BOUND
    assert all(abs(r.emulation_error) <= EMULATION_BOUND for r in report.rows)
    assert abs(report.estimate_error) <= NETWORK_BOUND
    assert not any("assumes none" in n for n in report.notes)


WS1_BOUND = 0.02               # issue 11 / docs/rtl.md: one wait state, per network


@pytest.mark.parametrize("core,style,device", [
    ("ibex-rv32m-fast-ws1", "int8", "ibex-rv32m-fast-ws1"),
    ("ibex-rv32m-single-cycle-ws1", "lut", "ibex-rv32m-single-cycle-ws1"),
    ("cv32e40p-ws1", "lut", "cv32e40p-ws1"),
    ("ibex-rv32m-none-ws1", "int8", "ibex-rv32i-ws1")])
def test_pipelined_cores_with_one_wait_state(artifact_dir, tmp_path, core, style, device):
    """Ibex and CV32E40P at one wait state have their own tables (devices/rtl/*-ws1.yaml:
    fetch-bound straight-line code, fetch waits hidden behind loads and multiplies, taken
    branches after a load): emulation and the cost model (the characterized libraries count
    the fetch actions) are within 2% of the RTL per network, and the report no longer says
    the table assumes no wait states."""
    artifact = load_artifact(artifact_dir)
    rtl = rtl_core(core)
    assert device_for_core(rtl).name == device
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl, style,
                                sample_inputs(artifact, 1), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    assert abs(report.emulation_error) <= WS1_BOUND
    assert abs(report.estimate_error) <= WS1_BOUND
    assert not any("assumes none" in n for n in report.notes)


@pytest.mark.parametrize("style", ["lut", "int8"])
def test_cv32e40p_one_wait_state_meets_the_rtl_targets(artifact_dir, tmp_path, style):
    """cv32e40p-ws1 with its load stalls (hwsim.machine.load_stalls; the lut kernels' table
    loads over their own address registers): emulation x table and the cost model within
    1% of the RTL per network and 3% per node (issue 11's targets), in both styles."""
    artifact = load_artifact(artifact_dir)
    report = validate_rtl_graph(graph_from_artifact(artifact), rtl_core("cv32e40p-ws1"),
                                style, sample_inputs(artifact, 1), cache_dir=cache_dir(),
                                workdir=tmp_path)
    assert report.outputs_equal and report.emulation.bit_exact
    assert max(abs(report.emulation_error), abs(report.estimate_error)) <= NETWORK_BOUND
    assert all(max(abs(r.emulation_error), abs(r.estimate_error)) <= 0.03
               for r in report.rows)


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


def test_picorv32_runs_the_characterized_libraries(reports):
    """PicoRV32's serial shifter (4 + n // 4 + n % 4 cycles) is priced from the RISC-V
    builds' shift counts (hwsim.cost.serial_shift), so its lut network calls the lut and
    ops libraries and every node is priced from characterization, within the bounds of
    test_rtl_outputs_and_clocks; emulation prices each shift by a register by its
    recorded amount (hwsim.machine.register_shifts)."""
    report = reports[("picorv32", "lut")]
    bases = {n.node: n.basis for n in report.emulation.nodes}
    assert {bases[node] for node in ("L1.dense", "L2.dense", "output")} == {"characterized"}
    assert abs(report.estimate_error) <= RTL_NODE_TARGET / 3      # 1% per network


def test_picorv32_int8_runs_the_soft_kernels(reports):
    """Without its multiplier PicoRV32 runs the int8 soft kernels (their RV32I data counts
    shifts by amount and role, hwsim.cost.serial_shift) and the ops library's argmax: every
    node characterized and within 1% of the RTL clocks (before: the plain loops, priced by
    the formulas)."""
    report = reports[("picorv32", "int8")]
    bases = {n.node: n.basis for n in report.emulation.nodes}
    assert {bases[node] for node in ("L1.dense", "L2.dense", "output")} == {"characterized"}
    assert all(abs(row.estimate_error) <= RTL_NODE_TARGET / 3 for row in report.rows)
    assert abs(report.estimate_error) <= RTL_NODE_TARGET / 3


def test_picorv32_int8_held_out_argmax_is_characterized(tmp_path):
    """Held out (seed 0, the conv1d and conv2d networks): PicoRV32's int8 argmax ran the
    plain loop, whose running maximum branches on the data, priced by a formula: -4.1%
    and +4.9% from the RTL clocks. It now calls the ops library's argmax, which selects
    without branches (hwsim/machine/kernels/ops/argmax.inc): exact, and every node of
    those networks within 1%."""
    from hwsim.machine.heldout import heldout_workloads, run_heldout
    workloads = [w for w in heldout_workloads(0, 10) if w.name in ("heldout-06-conv1d",
                                                                   "heldout-07-conv2d")]
    runs = run_heldout(workloads, [], ("int8",), rtl_cores=(rtl_core("picorv32"),),
                       cache_dir=cache_dir(), workdir=tmp_path)
    assert len(runs) == 2 and all(r.bit_exact for r in runs)
    nodes = [(op, e, basis) for r in runs for _, op, e, basis in r.node_errors]
    argmax = [(e, basis) for op, e, basis in nodes if op == "argmax"]
    assert len(argmax) == 2 and all(b == "characterized" and abs(e) <= 0.001 for e, b in argmax)
    assert max(abs(e) for _, e, _ in nodes) <= RTL_NODE_TARGET / 3, nodes
    assert all(abs(r.network_error) <= RTL_NODE_TARGET / 3 for r in runs)


def test_picorv32_takes_a_switch_jump_as_a_jalr(tmp_path):
    """The ops library's average pools and lut residual add jump through a switch's table
    (`jr`): PicoRV32 takes that as any jalr, 6 cycles against a jal's 3 (its README), so
    its table prices `jump_register` apart from `jump`. The pool and add rows were 2.4% and
    2.0% under the RTL clocks (emulation and estimate alike) before."""
    from hwsim.machine.heldout import heldout_workloads, run_heldout
    workloads = [w for w in heldout_workloads(0, 5) if w.name.endswith(("conv1d", "residual"))]
    runs = run_heldout(workloads, [], ("lut",), rtl_cores=(rtl_core("picorv32"),),
                       cache_dir=cache_dir(), workdir=tmp_path)
    errors = [e for r in runs for _, op, e, _ in r.node_errors
              if op.startswith("avg_pool") or op == "add"]
    assert len(errors) == 3 and all(r.bit_exact for r in runs)
    assert max(abs(e) for e in errors) <= 0.002, errors
