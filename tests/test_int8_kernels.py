"""The int8 kernel library (hwsim.machine.kernels.int8), built once per target and run in
unicorn, gives exactly TFLite's int8 reference arithmetic
(hwsim.importers.int8_kernel_reference, built on hwsim.importers.fixed_point) on odd
shapes: channels not multiples of 4, strides, 'same' padding (explicit top/left pads),
left and right requantization shifts, activation clamps. Cortex-M0 and RV32IM run the
scalar code, Cortex-M4 the SXTB16/SMLAD code (checked in the disassembly)."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.importers import fixed_point as fp
from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.machine.codegen.targets import TARGETS
from hwsim.machine.kernels.cases import add_case, conv_case, dense_case, window_geometry
from hwsim.machine.kernels.harness import (
    build_firmware,
    run_case,
    run_requantize,
)
from hwsim.machine.kernels.int8 import KERNELS

FIRMWARE_TARGETS = ("cortex-m0", "cortex-m4", "rv32im", "rv32i")

# (kernel, builder, arguments); the seed of each case is its index.
CASES = [
    ("fully_connected", dict(batches=1, in_features=37, out_features=11)),
    ("fully_connected", dict(batches=3, in_features=64, out_features=12, left_shifts=True)),
    ("fully_connected", dict(batches=2, in_features=9, out_features=1, relu=True)),
    ("fully_connected", dict(batches=1, in_features=130, out_features=7)),
    ("conv", dict(input_shape=(9, 7, 3), out_c=5, kernel_hw=(3, 3), stride=(2, 1))),
    ("conv", dict(input_shape=(10, 6, 1), out_c=7, kernel_hw=(4, 3), stride=(2, 2), relu=True)),
    ("conv", dict(input_shape=(5, 4, 12), out_c=6, kernel_hw=(2, 2), stride=(1, 1))),
    ("conv", dict(input_shape=(7, 7, 5), out_c=3, kernel_hw=(3, 3), padding="valid",
                  left_shifts=True)),
    ("conv", dict(input_shape=(4, 3, 16), out_c=9, kernel_hw=(1, 1), padding="valid")),
    ("conv_1x1", dict(input_shape=(5, 3, 13), out_c=9, kernel_hw=(1, 1), padding="valid")),
    ("conv_1x1", dict(input_shape=(4, 4, 16), out_c=8, kernel_hw=(1, 1), padding="valid",
                      relu=True)),
    ("conv_1x1", dict(input_shape=(3, 5, 64), out_c=7, kernel_hw=(1, 1), padding="valid",
                      left_shifts=True)),
    ("conv_1x1", dict(input_shape=(1, 1, 5), out_c=3, kernel_hw=(1, 1), padding="valid")),
    ("depthwise", dict(input_shape=(7, 6, 11), out_c=0, kernel_hw=(3, 5), stride=(1, 2))),
    ("depthwise", dict(input_shape=(6, 6, 8), out_c=0, kernel_hw=(2, 2), stride=(2, 2),
                       padding="valid", left_shifts=True)),
    ("depthwise", dict(input_shape=(4, 3, 6), out_c=0, kernel_hw=(5, 5), relu=True)),
    ("depthwise_3x3", dict(input_shape=(7, 6, 10), out_c=0, kernel_hw=(3, 3), stride=(2, 2))),
    ("depthwise_3x3", dict(input_shape=(6, 5, 9), out_c=0, kernel_hw=(3, 3))),
    ("depthwise_3x3", dict(input_shape=(8, 8, 16), out_c=0, kernel_hw=(3, 3), relu=True)),
    ("depthwise_3x3", dict(input_shape=(5, 5, 3), out_c=0, kernel_hw=(3, 3), padding="valid",
                           left_shifts=True)),
    ("add", dict(size=37)),
    ("add", dict(size=64, relu=True)),
    ("add", dict(size=3)),
    ("conv_scalar", dict(input_shape=(9, 7, 3), out_c=5, kernel_hw=(3, 3), stride=(2, 1))),
    ("conv_scalar", dict(input_shape=(1, 35, 1), out_c=9, kernel_hw=(1, 7), stride=(1, 2),
                         padding="valid", relu=True)),
    ("conv_scalar", dict(input_shape=(6, 5, 4), out_c=4, kernel_hw=(3, 2), stride=(2, 2),
                         left_shifts=True)),
    ("conv_scalar", dict(input_shape=(1, 1, 54), out_c=4, kernel_hw=(1, 1), padding="valid")),
    ("conv_scalar", dict(input_shape=(5, 3, 4), out_c=8, kernel_hw=(1, 1), padding="valid")),
    # the Armv7E-M assembly row passes entered at their second block (depth % 8 == 4), an odd
    # row left, an odd column left
    ("conv_1x1", dict(input_shape=(3, 3, 12), out_c=7, kernel_hw=(1, 1), padding="valid")),
    # the soft kernels (cores without a multiplier; every target builds them): a dense layer
    # as a 1x1 convolution of a 1x1 input, clipped windows, left shifts (saturation), relu
    ("conv_soft", dict(input_shape=(1, 1, 37), out_c=9, kernel_hw=(1, 1), padding="valid")),
    ("conv_soft", dict(input_shape=(9, 7, 3), out_c=5, kernel_hw=(3, 3), stride=(2, 1),
                       left_shifts=True)),
    ("conv_soft", dict(input_shape=(6, 5, 4), out_c=4, kernel_hw=(3, 2), relu=True)),
    ("depthwise_soft", dict(input_shape=(7, 6, 11), out_c=0, kernel_hw=(3, 5), stride=(1, 2))),
    ("depthwise_soft", dict(input_shape=(6, 6, 8), out_c=0, kernel_hw=(2, 2), stride=(2, 2),
                            padding="valid", left_shifts=True, relu=True)),
]


def _case(index: int):
    kernel, args = CASES[index]
    rng = np.random.default_rng(index)
    if kernel == "add":
        return add_case(rng, **args)
    return dense_case(rng, **args) if kernel == "fully_connected" else conv_case(kernel, rng,
                                                                                 **args)


@pytest.fixture(scope="session")
def firmwares(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8_kernels")
    return {t: build_firmware(t, root / t) for t in FIRMWARE_TARGETS}


def test_every_kernel_is_covered():
    assert {kernel for kernel, _ in CASES} == set(KERNELS)


@pytest.mark.parametrize("target", FIRMWARE_TARGETS)
@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{k}-{i}" for i, (k, _) in
                                                          enumerate(CASES)])
def test_bit_exact_against_the_tflite_reference(firmwares, target, index):
    case = _case(index)
    run = run_case(firmwares[target], case)
    expected = REFERENCES[case.op](**case.reference_arguments)
    assert run.output.shape == expected.shape
    assert np.array_equal(run.output, expected), (case.describe(), target,
                                                  int((run.output != expected).sum()))
    # (RV32I: every product a libgcc shift-and-add call, of up to 32 passes)
    assert case.op == "add" or 0 < run.instructions_per_mac < (600 if target == "rv32i" else 200)
    # not a degenerate test: outputs spread over many values, not all clamped (the
    # left-shift cases saturate on purpose)
    if run.output.size >= 16 and not CASES[index][1].get("left_shifts"):
        assert len(np.unique(run.output)) >= 8


@pytest.mark.parametrize("target", FIRMWARE_TARGETS)
def test_requantize_matches_multiply_by_quantized_multiplier(firmwares, target):
    rng = np.random.default_rng(7)
    edges = np.array([fp.INT32_MIN, fp.INT32_MAX, 0, 1, -1, 2, -2, 1 << 20, -(1 << 20)])
    acc = np.concatenate([np.repeat(edges, 8), rng.integers(fp.INT32_MIN, fp.INT32_MAX, 200)])
    multiplier = np.concatenate([np.tile([1 << 30, fp.INT32_MAX, 1518500250, 0,
                                          (1 << 30) + 1, 2 * 10 ** 9, 1234567891, 1 << 30],
                                         len(edges)),
                                 rng.integers(1 << 30, fp.INT32_MAX, 200)])
    shift = np.concatenate([np.tile([0, -1, -31, 1, 5, -12, 30, -30], len(edges)),
                            rng.integers(-31, 8, 200)])
    got = run_requantize(firmwares[target], acc, multiplier, shift)
    expected = fp.multiply_by_quantized_multiplier(acc, multiplier, shift)
    assert np.array_equal(got, expected)


def test_the_dsp_build_uses_smlad_and_the_scalar_builds_do_not(firmwares):
    counts = {t: run_case(firmwares[t], _case(10)).mnemonics for t in FIRMWARE_TARGETS}
    assert counts["cortex-m4"].get("smlad", 0) > 0 and counts["cortex-m4"].get("sxtb16", 0) > 0
    assert "smlad" not in counts["cortex-m0"]
    assert any(m.startswith("mul") for m in counts["rv32im"])


def test_blocked_kernels_beat_the_scalar_loop_on_the_dsp_core(firmwares):
    """Pointwise 64 -> 64: the SMLAD kernel needs under 45% of the instructions per MAC of
    the scalar Armv6-M build of the same source (0.40 since the Armv6-M loop lost its
    offset add and half its branches)."""
    case = conv_case("conv_1x1", np.random.default_rng(3), (4, 4, 64), 64, (1, 1),
                     padding="valid")
    m4 = run_case(firmwares["cortex-m4"], case).instructions_per_mac
    m0 = run_case(firmwares["cortex-m0"], case).instructions_per_mac
    assert m4 < 2.6 and m4 < 0.45 * m0


def test_the_assembly_passes_take_the_right_shift_layers(firmwares):
    """The Cortex-M4 assembly passes (dsp_passes.c: PKHBT packs their output pairs) run
    pointwise and 3x3 depthwise layers whose every shift is a right shift, the C kernels
    the others (a third of the channels shifted left), both bit-exact above."""
    rng = np.random.default_rng(5)
    for kernel, shape, out_c in (("conv_1x1", (3, 4, 16), 6), ("depthwise_3x3", (5, 4, 8), 0)):
        for left_shifts in (False, True):
            case = conv_case(kernel, rng, shape, out_c, (1, 1) if out_c else (3, 3),
                             padding="valid" if out_c else "same", left_shifts=left_shifts)
            run = run_case(firmwares["cortex-m4"], case)
            assert np.array_equal(run.output, REFERENCES[case.op](**case.reference_arguments))
            assert ("pkhbt" in run.mnemonics) == (not left_shifts), (kernel, left_shifts)


def test_padding_geometry_is_tflite_same_and_valid():
    assert window_geometry(49, 10, 2, "same") == (25, 4)
    assert window_geometry(10, 4, 2, "same") == (5, 1)
    assert window_geometry(7, 3, 1, "valid") == (5, 0)
    with pytest.raises(HwsimError, match="padding"):
        window_geometry(7, 3, 1, "full")


def test_wrong_shapes_for_a_specialised_kernel_are_refused(firmwares):
    case = conv_case("conv_1x1", np.random.default_rng(0), (4, 4, 8), 4, (3, 3))
    with pytest.raises(HwsimError, match="conv_1x1 needs"):
        run_case(firmwares["cortex-m0"], case)


def test_targets_exist():
    assert set(FIRMWARE_TARGETS) <= set(TARGETS)


def test_the_input_offset_is_folded_into_the_bias_of_the_folding_kernels():
    """fully_connected, conv_1x1, conv and depthwise_3x3 take bias + offset x sum w
    (wrapping as their int32 accumulators do); the clipped-window kernels the plain bias."""
    from hwsim.ir.int8_kernels import FOLDED_OFFSET, folded_bias
    w = np.array([[1, -2, 3], [127, 127, 127]], dtype=np.int8)          # [out][in]
    bias = np.array([10, 2**31 - 100], dtype=np.int32)
    got = folded_bias("fully_connected", bias, w, 128)
    assert got.dtype == np.int32
    assert got.tolist() == [10 + 128 * 2, 2**31 - 100 + 128 * 381 - 2**32]
    taps = np.arange(18, dtype=np.int8).reshape(3, 3, 2)                # [kh][kw][c]
    assert folded_bias("depthwise_3x3", [0, 1], taps, -3).tolist() == [
        -3 * int(taps[..., 0].sum()), 1 - 3 * int(taps[..., 1].sum())]
    assert folded_bias("conv_scalar", bias, w, 128).tolist() == bias.tolist()
    assert folded_bias("conv", bias, w, 0).tolist() == bias.tolist()
    assert FOLDED_OFFSET == {"fully_connected", "conv_1x1", "conv", "depthwise_3x3"}
