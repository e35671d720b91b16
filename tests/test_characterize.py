"""The int8 kernel library's characterization (hwsim.machine.characterize): the one
selection rule (hwsim.ir.int8_kernels), exact fits proven on held-out shapes, the
shipped data (hwsim/cost/data/int8_<target>.json) equal to what the code produces now,
and the cost model's int8_kernels="optimized" equal to the emulated kernels."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from hwsim.cost.int8_library import call_actions, data_path, kernel_counts, library_data
from hwsim.cost.mul_operands import significant_bits, value_bits, weight_bits
from hwsim.ir.mac_counts import input_macs, padded_share
from hwsim.cost.options import CostOptions, core_traits
from hwsim.cost.prices import action_prices
from hwsim.cost.model import combine
from hwsim.errors import HwsimError
from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.ir.int8_kernels import FOLDED_OFFSET, SOFT_KERNELS, KernelCall, select_kernel
from hwsim.ir.int8_trip_counts import trip_counts
from hwsim.ir.layers import Conv1D, Conv2D, Dense, DepthwiseConv2D
from hwsim.machine.characterize import (
    CHARACTERIZED_TARGETS, Measured, basis, dumps, kernel_counts as counted, kernel_record, measure,
)
from hwsim.machine.exact_fit import fit
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.soft_kernel_calls import SOFT_TARGETS
from hwsim.machine.kernels.cases import add_case, conv_case, fixed_path_case
from hwsim.machine.emulate_price import price
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.kernels.harness import KERNEL, build_firmware, kernel_cycles, run_case
from hwsim.machine.kernels.int8 import library_sha256
from hwsim.machine.toolchain import CFLAGS
from hwsim.specs.catalog import find_device

from tests.conftest import run_cli

DEVICE_OF = {"cortex-m0": "samd21", "cortex-m4": "nrf52840", "rv32im": "esp32-c3"}
# The targets with a multiplier, whose data has every kernel but the soft ones (RV32I's:
# tests/test_int8_soft.py).
MULTIPLY_TARGETS = [t for t in CHARACTERIZED_TARGETS if t not in SOFT_TARGETS]


def _check(case, output):
    assert np.array_equal(output, REFERENCES[case.op](**case.reference_arguments)), \
        case.describe()


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    return {t: build_firmware(t, tmp_path_factory.mktemp(t)) for t in CHARACTERIZED_TARGETS}


def test_selection_rule_picks_the_kernel_and_its_scratch():
    assert select_kernel("dense", (64,), Dense(64, 12)).kernel == "fully_connected"
    pointwise = select_kernel("conv2d", (25, 5, 64), Conv2D(64, 32, 1, 1, padding="same"))
    assert (pointwise.kernel, pointwise.scratch_bytes) == ("conv_1x1", 0)
    conv0 = select_kernel("conv2d", (49, 10, 1), Conv2D(1, 64, 10, 4, 2, 2, "same"))
    assert (conv0.kernel, conv0.out_h, conv0.out_w, conv0.pad_top, conv0.pad_left) == \
        ("conv", 25, 5, 4, 1)
    assert conv0.scratch_bytes == 4 * 10 * 4 * 1 and conv0.macs == 25 * 5 * 64 * 40
    strided = select_kernel("conv2d", (8, 8, 4), Conv2D(4, 4, 1, 1, 2, 2))
    assert strided.kernel == "conv"
    line = select_kernel("conv1d", (50, 3), Conv1D(3, 8, 5, 2, "same"))
    assert (line.kernel, line.in_h, line.out_h, line.out_w, line.kh, line.pad_left) == \
        ("conv", 1, 1, 25, 1, 1)
    dw = select_kernel("depthwise_conv2d", (25, 5, 64), DepthwiseConv2D(64, 3, 3, padding="same"))
    assert (dw.kernel, dw.scratch_bytes) == ("depthwise_3x3", 3 * (4 * 1 + 3) * 64)
    assert select_kernel("depthwise_conv2d", (9, 9, 8),
                         DepthwiseConv2D(8, 5, 5)).kernel == "depthwise"
    with pytest.raises(ValueError, match="no int8 library kernel"):
        select_kernel("max_pool2d", (4, 4, 1), None)


def test_shipped_data_names_the_library_and_toolchain_it_was_measured_on():
    for target in CHARACTERIZED_TARGETS:
        data = library_data(target)
        assert data["library_sha256"] == library_sha256(), f"{target}: re-run characterize"
        assert data["flags"] == [*CFLAGS, *find_target(target).flags]
        assert set(data["kernels"]) == (set(SOFT_KERNELS) if target in SOFT_TARGETS else {
            "fully_connected", "conv_1x1", "conv", "conv_scalar", "depthwise_3x3", "depthwise",
            "add"})
        assert data_path(target).read_text() == dumps(data)       # sorted keys, stable text


def test_recharacterizing_a_kernel_gives_the_shipped_record(firmware):
    """The data cannot go stale: a kernel measured and fitted now, on both requantization
    paths, equals the shipped record
    (the generic depthwise kernel on Cortex-M0, the quickest to fit; the CLI test does
    RV32IM; every kernel of every target is checked against the emulator on held-out
    shapes below)."""
    record = kernel_record(firmware["cortex-m0"], "depthwise", _check)   # both paths
    assert record == library_data("cortex-m0")["kernels"]["depthwise"]


def test_cli_characterize_writes_the_data(tmp_path):
    out = tmp_path / "dw.json"
    result = run_cli("characterize", "--target", "rv32im", "--kernels", "depthwise", "--out",
                     str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["kernels"]["depthwise"] == library_data("rv32im")["kernels"]["depthwise"]
    bad = run_cli("characterize", "--target", "rv32im", "--kernels", "winograd")
    assert bad.returncode == 2 and "winograd" in bad.stderr and "Traceback" not in bad.stderr


def test_a_basis_that_misses_a_loop_fails_the_fit(firmware):
    calls = [KernelCall("fully_connected", 1, 1, d, 1, 1, n) for d in (3, 8, 13) for n in (1, 2, 5)]
    rng = np.random.default_rng(0)
    runs = [Measured(c, counted(run_case(firmware["cortex-m4"], fixed_path_case(c, rng))))
            for c in calls]
    with pytest.raises(HwsimError, match="not an exact function"):
        fit([(), (("v", "rows"),)], runs, "fully_connected without its depth")
    assert fit(basis("fully_connected", "cortex-m4"), runs, "full basis")


# Held-out layer shapes of kws-dscnn, har-cnn and digits-mlp kinds, none in any design.
HELD_OUT = [
    ("conv", dict(input_shape=(25, 10, 1), out_c=16, kernel_hw=(10, 4), stride=(2, 2))),
    ("depthwise_3x3", dict(input_shape=(13, 5, 24), out_c=0, kernel_hw=(3, 3))),
    ("conv_1x1", dict(input_shape=(13, 5, 24), out_c=20, kernel_hw=(1, 1), padding="valid")),
    ("conv", dict(input_shape=(1, 64, 3), out_c=12, kernel_hw=(1, 5), stride=(1, 2))),
    ("depthwise", dict(input_shape=(10, 9, 7), out_c=0, kernel_hw=(5, 3), stride=(2, 1))),
]


def _cycles(call: KernelCall, device, weights_in: str) -> float:
    options = CostOptions(weights_in=weights_in, int8_kernels="optimized")
    return combine(call_actions(call, core_traits(device), options), action_prices(device))[0]


@pytest.mark.parametrize("target", MULTIPLY_TARGETS)
def test_characterized_counts_price_like_the_emulated_kernel(firmware, target):
    """On the fixed data path the cost model's library counts, priced with the device's
    table, equal the emulated kernel's cycles exactly; on random data (other rounding,
    signs and clamps per output) within 3%."""
    device = find_device(DEVICE_OF[target])
    for index, (kernel, args) in enumerate(HELD_OUT):
        rng = np.random.default_rng(index)
        random_case = conv_case(kernel, rng, **args)
        fixed = fixed_path_case(random_case.call, rng)
        modelled = _cycles(fixed.call, device, "sram")
        assert modelled == pytest.approx(kernel_cycles(run_case(firmware[target], fixed),
                                                       device), abs=1e-6), (target, kernel)
        run = run_case(firmware[target], random_case)
        _check(random_case, run.output)
        assert modelled == pytest.approx(kernel_cycles(run, device), rel=0.03), (target, kernel)
        in_flash = _cycles(fixed.call, device, "flash")
        reads = kernel_counts(target, fixed.call)["parameter_read"]
        assert in_flash - modelled == pytest.approx(
            float(reads) * device.memory.flash_load_extra_cycles)
    assert trip_counts(fixed.call)["window_taps"] > 0


@pytest.mark.parametrize("target", MULTIPLY_TARGETS)
def test_add_counts_are_exact_on_held_out_sizes(firmware, target):
    """The int8 add kernel on sizes outside its design (1..12, 20): the cost model's counts
    price exactly like the emulated kernel on the fixed path, within 3% on random data
    (rounding and clamps per element), and the output is TFLite's."""
    device = find_device(DEVICE_OF[target])
    for size in (77, 160, 513):
        rng = np.random.default_rng(size)
        random_case = add_case(rng, size, relu=size == 160)
        fixed = fixed_path_case(random_case.call, rng)
        modelled = _cycles(fixed.call, device, "sram")
        assert modelled == pytest.approx(kernel_cycles(run_case(firmware[target], fixed),
                                                       device), abs=1e-6), (target, size)
        run = run_case(firmware[target], random_case)
        _check(random_case, run.output)
        assert modelled == pytest.approx(kernel_cycles(run, device), rel=0.03), (target, size)


def test_rv32im_fetch_actions_of_random_convolutions_are_exact(firmware):
    """Ibex's one-wait-state fetch-wait actions, counted per execution with the fetches
    each run of blocks that fall through carries into its last block
    (hwsim.machine.emulate_price), are exact functions of the trip counts: random conv
    and depthwise layers (sizes, windows, strides and padding drawn, none in any design)
    on the fixed path execute exactly the fetch actions the shipped rv32im data
    predicts, and no rv32im record keeps a bound."""
    records = library_data("rv32im")["kernels"]
    assert [k for k, r in records.items()
            if "bounds" in r or "bounds" in r.get("left_shift", {})] == []
    rng = np.random.default_rng(11)
    calls = []
    for depthwise in (False,) * 5 + (True,) * 3:
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        h, w = (int(v) for v in rng.integers(max(kh, kw), 10, 2))
        c, stride = int(rng.integers(1, 7)), tuple(int(v) for v in rng.integers(1, 3, 2))
        padding = ("same", "valid")[int(rng.integers(2))]
        calls.append(select_kernel("depthwise_conv2d", (h, w, c), DepthwiseConv2D(
            c, kh, kw, *stride, padding)) if depthwise else select_kernel(
            "conv2d", (h, w, c), Conv2D(c, int(rng.integers(1, 6)), kh, kw, *stride, padding)))
    assert {"conv", "depthwise"} <= {call.kernel for call in calls}
    for run in measure(firmware["rv32im"], calls, rng, _check)[0]:
        predicted = kernel_counts("rv32im", run.call)
        fetches = {a for a in FETCH_ACTIONS if predicted.get(a) or run.counts.get(a)}
        assert {a: predicted.get(a, 0) for a in fetches} == {
            a: run.counts.get(a, 0) for a in fetches}, run.call
        assert run.counts.get("fetch_overlap", 0) > 0


def test_code_generator_calls_the_library_or_emits_plain_loops():
    """int8_kernels "optimized" (the default) calls the library where it is characterized;
    "reference" keeps the plain loops; RV32I calls its soft kernels, and links no other
    source."""
    from hwsim.cost.model import dense_layer_workload
    from hwsim.ir.graph import graph_from_workload
    from hwsim.machine.codegen import generate
    g = graph_from_workload(dense_layer_workload(16, 4), seed=0)
    library = generate(g, "cortex-m4", "int8")
    assert "hwsim_fully_connected_s8(" in library.files["network.c"]
    assert {"hwsim_int8.h", "matmul.c"} <= set(library.files)
    plain = generate(g, "cortex-m4", "int8", int8_kernels="reference")
    assert "hwsim_int8.h" not in plain.files and "__smlad" in plain.files["network.c"]
    soft = generate(g, "rv32i", "int8")
    assert "hwsim_conv_soft_s8(" in soft.files["network.c"]
    assert {"hwsim_int8.h", "soft_walk.c", "conv_soft.c"} <= set(soft.files)
    assert not {"matmul.c", "depthwise_soft.c"} & set(soft.files)
    assert "hwsim_int8.h" not in generate(g, "rv32i", "int8", int8_kernels="reference").files
    with pytest.raises(HwsimError, match="int8_kernels must be one of"):
        generate(g, "cortex-m4", "int8", int8_kernels="cmsis")


def _operand_priced(run, device) -> float:
    """The kernel's emulated cycles with every mul priced by its recorded operand."""
    bits: dict[int, int] = {}
    for (_address, value), n in run.mul_operands.items():
        bits[value.bit_length()] = bits.get(value.bit_length(), 0) + n
    profile = replace(run.profile, mul_operand_bits={KERNEL: bits})
    return price(profile, device).nodes[KERNEL].cycles


@pytest.mark.parametrize("kernel, args", HELD_OUT + [
    ("fully_connected", None),
    ("conv_1x1", dict(input_shape=(7, 3, 20), out_c=6, kernel_hw=(1, 1), padding="valid"))])
def test_rv32im_hazards_and_operand_multiplier_price_like_the_emulated_kernel(
        firmware, kernel, args):
    """Held out, on the fixed data path: the characterized counts with their load-use and
    jalr hazards priced by CV32E40P's table equal the emulated kernel's cycles exactly;
    on Ibex's slow multiplier (MUL time by its second operand) the counts with each mul
    role's mean operand bits over the MACs the call executes (the case's weights, each tap
    by its MACs; its inputs as the kernel multiplies them: x for the kernels that fold the
    offset into the bias, else x + offset, each by its MACs, the padding the im2col
    kernels multiply mixed in; its multipliers), the address muls by shape values at
    those values' bits and the ones by loop variables at the kernel's measured mean, are
    within 1% of the emulated kernel with every mul priced by its own operand (before the
    address muls were priced at cycles.mul, an 8-bit operand: up to 3.1% high here); and
    far from the bound."""
    rng = np.random.default_rng(7)
    call = (KernelCall("fully_connected", 1, 1, 45, 1, 1, 9, batches=3) if args is None
            else conv_case(kernel, rng, **args).call)
    case = fixed_path_case(call, rng)                                   # random weights
    run = run_case(firmware["rv32im"], case, mul_operands=True)
    _check(case, run.output)
    cv32e40p, slow = find_device("cv32e40p"), find_device("ibex-rv32m-slow")
    counts = kernel_counts("rv32im", case.call)
    assert counts["load_use"] > 0
    modelled = _cycles(case.call, cv32e40p, "sram")
    assert modelled == pytest.approx(kernel_cycles(run, cv32e40p), abs=1e-6)
    options = CostOptions(weights_in="sram", int8_kernels="optimized")
    inputs = case.x.astype(np.int64)          # the operand: x, or x + offset if not folded
    if case.kernel not in FOLDED_OFFSET:
        inputs = inputs + case.input_offset
    depthwise = case.kernel.startswith("depthwise")
    weights = (case.w.reshape(-1, case.w.shape[-1]) if depthwise    # taps x units
               else case.w.reshape(len(case.w), -1).T)
    macs = (np.ones(inputs.size) if case.op == "dense"     # (h, w, c) order
            else np.repeat(input_macs(call).ravel(), call.in_c))
    padded = padded_share(call)
    bits = {"mul_weight": weight_bits(weights, call),
            "mul_input": (1 - padded) * float(value_bits(inputs) @ macs / macs.sum()) + padded,
            "mul_multiplier": significant_bits(case.multiplier)}
    prices = action_prices(slow)
    estimate = combine(call_actions(case.call, core_traits(slow), options, bits), prices)[0]
    emulated = _operand_priced(run, slow)
    assert 0.99 * emulated <= estimate <= 1.01 * emulated, (kernel, estimate, emulated)
    bound = combine(call_actions(case.call, core_traits(slow), options), prices)[0]
    assert bound > 1.1 * emulated
