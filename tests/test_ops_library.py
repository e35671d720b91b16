"""The ops kernel library (hwsim/machine/kernels/ops: pools, argmax, the lut residual add):
bit-exact with its numpy reference on random shapes and data, its characterization data
current and exact on shapes never fitted, and generated networks calling it bit-exact with
the executor (lut) and the int8 reference, each of its nodes' estimate equal to emulation
x table, the lut image multiply-free."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hwsim.cost.ops_library import call_counts, library_data
from hwsim.ir.ops_kernels import FUNCTIONS, OpsCall, node_ops_call, trip_counts
from hwsim.machine.characterize import kernel_counts
from hwsim.machine.kernels.ops import library_sha256
from hwsim.machine.ops_characterize import CHARACTERIZED_TARGETS, _pool, characterize_function
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")


@pytest.fixture(scope="session")
def firmwares(tmp_path_factory):
    from hwsim.machine.kernels.ops_harness import build_ops_firmware
    root = tmp_path_factory.mktemp("ops-firmware")
    return {t: build_ops_firmware(t, root / t) for t in CHARACTERIZED_TARGETS}


def _random_calls(rng, count: int) -> list[OpsCall]:
    """Shapes outside the designs: larger windows, positions and channels."""
    calls = []
    for _ in range(count):
        f = FUNCTIONS[int(rng.integers(len(FUNCTIONS)))]
        kind = f.split("_")[0]
        if kind == "argmax":
            calls.append(OpsCall(f, classes=int(rng.integers(2, 60))))
        elif kind == "table":
            calls.append(OpsCall(f, elements=int(rng.integers(1, 200))))
        elif kind == "add":
            calls.append(OpsCall(f, elements=int(rng.integers(1, 120)),
                                 steps=int(rng.integers(1, 9)),
                                 thresholded=bool(rng.integers(2)),
                                 sums_input=int(rng.integers(2)) if "sv" in f else 0))
        else:
            steps = int(rng.integers(1, 9)) if f.startswith("avg_pool_u8") else 0
            calls.append(_pool(f, rng, int(rng.integers(1, 6)), int(rng.integers(1, 7)),
                               int(rng.integers(1, 9)), int(rng.integers(1, 5)),
                               int(rng.integers(1, 5)), int(rng.integers(1, 4)),
                               int(rng.integers(1, 4)), steps))
    return calls


@pytest.mark.parametrize("target", CHARACTERIZED_TARGETS)
def test_kernels_bit_exact_and_priced_exactly_on_random_shapes(firmwares, target):
    from hwsim.machine.kernels.ops_harness import random_case, reference_output, run_ops_case
    from hwsim.machine.ops_characterize import reciprocal_sites
    rng = np.random.default_rng(77)
    average = _pool("avg_pool_i8", rng, 3, 7, 5, 3, 2, 2, 1, 0)     # a multiply by 1/6
    for call in [*_random_calls(rng, 14), average]:
        case = random_case(call, rng)
        run = run_ops_case(firmwares[target], case)
        assert np.array_equal(run.output, reference_output(case)), case.describe()
        predicted = {a: c for a, c in call_counts(target, call).items() if c}
        assert predicted == kernel_counts(run, reciprocal_sites([run])), case.describe()
    if target == "rv32im":      # the reciprocal's multiply apart: priced by its bits on Ibex
        assert "mul_reciprocal" in library_data(target)["kernels"]["avg_pool_i8"]["counts"]


@pytest.mark.parametrize("target", CHARACTERIZED_TARGETS)
def test_shipped_data_describes_this_library(target):
    data = library_data(target)
    assert data["library_sha256"] == library_sha256(), \
        f"ops_{target}.json is stale: hwsim characterize --style ops --target {target}"
    assert set(data["kernels"]) == set(FUNCTIONS)
    assert all(k["held_out_shapes"] >= 3 for k in data["kernels"].values())


def test_refit_matches_the_shipped_record(firmwares):
    record = characterize_function(firmwares["rv32i"], "avg_pool_i8")
    shipped = library_data("rv32i")["kernels"]["avg_pool_i8"]
    assert json.dumps(record, sort_keys=True) == json.dumps(shipped, sort_keys=True)


def test_trip_counts():
    call = OpsCall("avg_pool_u8_b16", out_h=2, out_w=3, channels=4, size_h=2, size_w=3,
                   steps=3)
    counts = trip_counts(call)
    assert counts["outputs"] == 24 and counts["elements"] == 144
    assert counts["window_rows"] == 48 and counts["search_steps"] == 72
    i8 = OpsCall("avg_pool_i8", out_h=1, out_w=2, channels=1, size_h=1, size_w=3,
                 reciprocal=21845)
    assert "multiply_bits" not in trip_counts(i8)
    assert trip_counts(i8, rv32i=True)["multiply_bits"] == 2 * 15
    assert trip_counts(OpsCall("argmax_u8", classes=1))["compared"] == 0


def test_small_windows_walk_unrolled_with_tap_offsets():
    from hwsim.ir.ops_kernels import pool_taps, tap_offsets
    from hwsim.machine.codegen.ops_library import struct_words
    rng = np.random.default_rng(0)
    square = _pool("max_pool_u8", rng, 2, 3, 4, 2, 2, 2, 2)     # in_w 6: x_row 24
    assert pool_taps(square) == 4 and tap_offsets(square) == [4, 24, 28]
    assert struct_words(square)[-4:] == [4, 4, 24, 28]
    counts = trip_counts(square)
    assert counts["outputs_taps4"] == 24 and counts["elements"] == 0
    one_d = _pool("avg_pool_i8", rng, 1, 5, 3, 1, 3, 1, 3)
    assert pool_taps(one_d) == 3 and tap_offsets(one_d) == [3, 6, 0]
    generic = _pool("avg_pool_u8_b8", rng, 1, 2, 2, 3, 3, 1, 1, 2)
    assert pool_taps(generic) == 0 and tap_offsets(generic) == [0, 0, 0]
    counts = trip_counts(generic)
    assert counts["row_pairs"] == 4 * 3 and counts["odd_rows"] == 4 * 3
    assert counts["searches_of_2"] == 4 and counts["searches_of_2_taps4"] == 0


@pytest.mark.parametrize("function", ["argmax_u8", "argmax_i8", "argmax_i32"])
def test_argmax_first_maximum_wins_at_every_position(firmwares, function):
    """Ties and extremes: the packed 8-bit key and the int32 mask keep the first maximum."""
    from hwsim.machine.kernels.ops_harness import OpsCase, reference_output, run_ops_case
    top = {"argmax_u8": 255, "argmax_i8": 127, "argmax_i32": (1 << 31) - 1}[function]
    low = {"argmax_u8": 0, "argmax_i8": -128, "argmax_i32": -(1 << 31)}[function]
    for classes in (1, 2, 7, 256):
        for at in sorted({0, classes // 2, classes - 1}):
            x = np.full(classes, low, dtype=np.int64)
            x[at:] = top                                   # the first top at `at`
            case = OpsCase(OpsCall(function, classes=classes), x)
            for firmware in firmwares.values():
                run = run_ops_case(firmware, case)
                assert run.output.tolist() == reference_output(case).tolist() == [at]


def _heldout_graph(index: int):
    from hwsim.ir.graph import graph_from_workload
    from hwsim.machine.heldout import heldout_workloads
    return graph_from_workload(heldout_workloads(0, index + 1)[index], seed=index)


def test_selection_follows_the_inputs():
    g = _heldout_graph(14)                 # residual: conv sums + levels, avg pool, argmax
    kinds = {a.kind: node_ops_call(g, n, "lut") for n, a in g.nodes(data="op")}
    assert kinds["add"].function.startswith("add_sv") and kinds["add"].thresholded
    assert kinds["avg_pool2d"].function.startswith("avg_pool_u8_b")
    assert kinds["argmax"].function == "argmax_i32"
    assert node_ops_call(g, "L2.add", "int8") is None          # the int8 library's add
    assert node_ops_call(g, "L0.conv2d", "lut") is None


@pytest.mark.parametrize("index,style", [(14, "lut"), (9, "lut"), (6, "int8"), (14, "int8")])
def test_generated_networks_bit_exact_and_cost_equals_emulation(index, style):
    """Held-out networks with pools, residual adds and argmax: every node the ops library
    runs costs exactly its emulated cycles on Cortex-M0, Cortex-M4 and RV32IM."""
    from hwsim.machine.validate import validate_graph
    from hwsim.specs.catalog import find_device
    g = _heldout_graph(index)
    x = np.random.default_rng(3).integers(0, 2, size=(2, *g.nodes["input"]["op"].output_shape))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    for report in validate_graph(g, devices, style, x):
        assert report.bit_exact, report.mismatch
        if style == "lut":
            assert report.machine_code.multiply_free
        ops = [n for n in report.nodes if node_ops_call(g, n.node, style) is not None]
        assert ops and all(n.basis == "characterized" for n in ops), report.device
        for n in ops:
            assert n.estimated_cycles == pytest.approx(n.emulated_cycles, abs=1e-6), \
                (report.device, n.node)


def test_characterize_cli_refuses_unknown_functions():
    result = run_cli("characterize", "--style", "ops", "--target", "cortex-m0",
                     "--kernels", "max_pool_u16")
    assert result.returncode == 2 and "max_pool_u16" in result.stderr
    assert "Traceback" not in result.stderr


def test_int8_calls_the_ops_library_only_with_the_int8_library():
    """Pools and argmax call the ops library wherever the int8 weighted layers call the
    int8 library (RV32I too: its soft kernels, which with the ops library fit a 16 KB part
    where the plain loops' per-layer code did not always), priced from its data; with
    int8_kernels "reference" the plain loops, priced by formulas."""
    from hwsim.cost.model import cost_graph
    from hwsim.cost.options import CostOptions
    from hwsim.machine.codegen import generate
    from hwsim.specs.catalog import find_device
    g = _heldout_graph(14)
    assert "ops_int8.c" in generate(g, "rv32i", "int8").files
    assert "ops_int8.c" in generate(g, "rv32im", "int8").files
    assert "ops_int8.c" not in generate(g, "rv32im", "int8", int8_kernels="reference").files
    for device in ("ch32v003", "esp32-c3"):
        bases = {n.op: n.basis for n in cost_graph(g, find_device(device), "int8").nodes}
        assert bases["avg_pool2d"] == bases["argmax"] == "characterized"
    bases = {n.op: n.basis for n in cost_graph(g, find_device("ch32v003"), "int8",
                                               CostOptions(int8_kernels="reference")).nodes}
    assert bases["avg_pool2d"] == bases["argmax"] == "formula"


def test_a_window_as_wide_as_its_input_walks_as_one_row():
    """kws-dscnn's global average pool (25 x 5 over a 25 x 5 input): its window's rows
    follow each other in memory, so the walk takes them as one row of 125 elements, the
    same elements (the rows' loop overhead gone)."""
    from hwsim.evaluate.simulate import load_subject
    g = load_subject("kws-dscnn").graph
    a = g.nodes["L9.avg_pool2d"]["op"]
    call = node_ops_call(g, "L9.avg_pool2d", "int8")
    assert (call.size_h, call.size_w) == (1, a.layer.size_h * a.layer.size_w)

    def window(size_h, size_w, x_row, channels):
        return {r * x_row + c * channels for r in range(size_h) for c in range(size_w)}
    assert window(call.size_h, call.size_w, call.x_row, call.channels) == window(
        a.layer.size_h, a.layer.size_w, a.input_shape[1] * a.input_shape[2], call.channels)


def test_an_auto_encoders_output_table_is_a_characterized_call():
    """digits-ae's output table (each output level's value) calls the library's table
    kernel, bit-exact with the executor, and its estimate equals its emulated cycles on
    Cortex-M0, Cortex-M4 and RV32IM (a formula before: up to 9.5% off the RTL)."""
    from hwsim.evaluate.simulate import load_subject
    from hwsim.machine.validate import validate_graph
    from hwsim.specs.catalog import find_device
    g = load_subject("digits-ae").graph
    (out,) = [n for n, a in g.nodes(data="op") if a.kind == "output_table"]
    assert node_ops_call(g, out, "lut").function.startswith("table_v")
    assert node_ops_call(g, out, "int8") is None
    x = np.random.default_rng(5).integers(0, 2, size=(2, *g.nodes["input"]["op"].output_shape))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    for report in validate_graph(g, devices, "lut", x):
        assert report.bit_exact, report.mismatch
        (node,) = [n for n in report.nodes if n.node == out]
        assert node.basis == "characterized", report.device
        assert node.estimated_cycles == pytest.approx(node.emulated_cycles, abs=1e-6)
