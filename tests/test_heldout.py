"""The held-out validation (hwsim.machine.heldout, benchmarks/heldout_validation.py) on a
small fixed sample: the random workloads are reproducible and varied, every run is
bit-exact or names why it was refused, and the distribution arithmetic is right."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwsim.machine.heldout import (
    FAMILIES, THRESHOLDS, distribution, heldout_workloads, random_workload_data, run_heldout,
)
from hwsim.errors import HwsimError
from hwsim.machine.rtl import rtl_core
from hwsim.specs.catalog import find_device
from tests.test_validate_rtl import cache_dir

REPO = Path(__file__).resolve().parent.parent
needs_tools = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")


def test_the_same_seed_draws_the_same_workloads_and_another_seed_others():
    a = [random_workload_data(np.random.default_rng(3), i) for i in range(10)]
    b = [random_workload_data(np.random.default_rng(3), i) for i in range(10)]
    c = [random_workload_data(np.random.default_rng(4), i) for i in range(10)]
    assert a == b and a != c
    workloads = heldout_workloads(0, 20)
    assert {w.name.rsplit("-", 1)[1] for w in workloads} == set(FAMILIES)
    ks = {w.discretization.weight_clusters for w in workloads}
    assert any(k & (k - 1) for k in ks), "some codebook size is not a power of two"
    kinds = {type(layer).__name__ for w in workloads for layer in w.layers}
    assert {"Dense", "Conv1D", "Conv2D", "DepthwiseConv2D", "Add"} <= kinds
    assert any(getattr(layer, "padding", "") == "same" for w in workloads for layer in w.layers)


def test_distribution_shares_and_worst():
    d = distribution([0.005, -0.015, 0.04, -0.2, 0.0])
    assert d.count == 5 and d.worst == -0.2
    assert dict(d.within) == {0.01: 0.4, 0.02: 0.6, 0.05: 0.8, 0.10: 0.8}
    assert tuple(b for b, _ in d.within) == THRESHOLDS
    assert distribution([]).count == 0


@needs_tools
def test_a_fixed_sample_runs_bit_exact_or_says_why(tmp_path):
    workloads = heldout_workloads(0, 5)
    devices = [find_device("samd21"), find_device("esp32-c3")]
    runs = run_heldout(workloads, devices, ("lut", "int8"), workdir=tmp_path)
    assert len(runs) == len(workloads) * len(devices) * 2
    done = [r for r in runs if not r.refused]
    assert len(done) >= len(runs) // 2
    for r in runs:
        if r.refused:
            assert r.network_error is None and r.refused.strip()
        else:
            assert r.bit_exact, r
            assert r.node_errors and np.isfinite(r.network_error)
    # The network error is the cost model's: not identically zero anywhere.
    assert any(r.network_error != 0 for r in done)
    # int8 weighted layers are priced from the characterized library on both targets and
    # hold on these held-out shapes within issue 11's 2% (the node function around each
    # call is characterized too; the per-output clamp is the only part not counted
    # exactly, docs/int8-kernels.md); so are lut weighted layers from the lut kernel library's
    # (exact but for the threshold search's data-dependent steps on RV32); the rest is
    # priced by formulas
    characterized = [e for r in done for _, _, e, b in r.node_errors if b == "characterized"]
    assert len(characterized) >= 5
    assert max(abs(e) for e in characterized) <= 0.02
    lut = [(op, e, b) for r in done if r.style == "lut" for _, op, e, b in r.node_errors]
    assert {b for op, _, b in lut if op in ("dense", "conv1d", "conv2d")} == {"characterized"}
    assert max(abs(e) for _, e, b in lut if b == "characterized") <= 0.02


@needs_tools
@pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")
def test_rtl_runs_join_the_distribution(tmp_path):
    [workload] = heldout_workloads(0, 1)
    [run] = run_heldout([workload], [], ("lut",), rtl_cores=(rtl_core("picorv32"),),
                        cache_dir=cache_dir(), workdir=tmp_path)
    assert run.reference == "rtl" and run.platform == "rtl:picorv32"
    assert run.bit_exact and not run.refused
    assert abs(run.network_error) < 0.5 and run.node_errors


@needs_tools
@pytest.mark.skipif(shutil.which("verilator") is None, reason="needs verilator")
def test_oracle_statistics_price_ibex_slow_multiplier_within_the_rtl_bar(tmp_path):
    """`--calibrated run`: the statistics of the very inputs run leave the model's own
    error. On a 'same'-padded conv2d + depthwise network (+5.3% before its address muls
    were priced by their shape values and its operands weighted by their MACs) the
    network is within issue 11's 1% of the RTL clocks and every node within its 3%."""
    workload = heldout_workloads(0, 4)[3]
    [run] = run_heldout([workload], [], ("int8",), rtl_cores=(rtl_core("ibex-rv32m-slow"),),
                        cache_dir=cache_dir(), workdir=tmp_path, statistics="run")
    assert run.bit_exact and not run.refused
    assert abs(run.network_error) <= 0.01, run.network_error
    assert max(abs(e) for _, _, e, _ in run.node_errors) <= 0.03, run.node_errors
    with pytest.raises(HwsimError, match="statistics must be one of"):
        run_heldout([workload], [], ("int8",), statistics="training")


@needs_tools
def test_the_benchmark_prints_the_distributions(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "heldout_validation.py"),
                          "--count", "2", "--devices", "samd21", "--styles", "lut",
                          "--json", str(tmp_path / "runs.json")],
                         capture_output=True, text=True, cwd=REPO, timeout=600,
                         env={"PYTHONPATH": str(REPO), "PATH": __import__("os").environ["PATH"]})
    assert out.returncode == 0, out.stderr
    assert "emulation  lut    samd21" in out.stdout
    assert "outputs not bit-exact: 0" in out.stdout
    assert (tmp_path / "runs.json").read_text().startswith("[")


def test_calibrated_networks_carry_input_statistics_of_their_own_draw():
    """--calibrated: every weighted node carries its int8 inputs' significant bits (each
    input counted once per MAC it takes part in) over CALIBRATION_SAMPLES inputs drawn
    apart from the run's, as a trained artifact's
    statistics come from its training split; the cost model then prices Ibex's slow
    multiplier from them."""
    from hwsim.cost.model import cost_graph
    from hwsim.ir.graph import INT8_INPUT_BITS, graph_from_workload
    from hwsim.ir.int8_kernels import kernel_call
    from hwsim.ir.mac_counts import input_macs
    from hwsim.machine.heldout import CALIBRATION_SAMPLES, with_input_statistics
    w = heldout_workloads(0, 3)[2]                       # a conv2d network
    g = with_input_statistics(graph_from_workload(w, seed=2), w, 2)
    statistics = g.graph[INT8_INPUT_BITS]
    weighted = [n for n, op in g.nodes(data="op") if op.weighted]
    assert set(statistics) == set(weighted)
    for node in weighted:                    # every input as often as it is multiplied
        call = kernel_call(g.nodes[node]["op"])
        assert sum(statistics[node]) == CALIBRATION_SAMPLES * call.in_c * int(
            input_macs(call).sum())
    slow = find_device("ibex-rv32m-slow")
    shape_only = cost_graph(graph_from_workload(w, seed=2), slow, "int8")
    calibrated = cost_graph(g, slow, "int8")
    assert calibrated.total_cycles != shape_only.total_cycles
    fast = find_device("ibex-rv32m-fast")              # no operand-dependent multiplier
    assert (cost_graph(g, fast, "int8").total_cycles
            == cost_graph(graph_from_workload(w, seed=2), fast, "int8").total_cycles)
