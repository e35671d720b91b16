"""TFLite import and execution: every supported op, int8 byte-exact and float32 within tolerance,
against the ai-edge-litert interpreter with its reference kernels (BUILTIN_REF)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from hwsim.importers import load_model, macs, parameter_count  # noqa: E402
from hwsim.importers.float_reference import run_float  # noqa: E402
from hwsim.importers.int8_reference import run_int8  # noqa: E402
from hwsim.importers.model import op_macs, op_parameters  # noqa: E402
from tests.tflite_builder import TFLiteBuilder, run_interpreter  # noqa: E402

RNG_SEED = 1234
TRIALS = 12


def conv_options(padding="same", stride=(1, 1), dilation=(1, 1), activation=0):
    return {"Padding": 0 if padding == "same" else 1, "StrideH": stride[0], "StrideW": stride[1],
            "DilationHFactor": dilation[0], "DilationWFactor": dilation[1], "FusedActivationFunction": activation}


def pool_options(padding="same", stride=(1, 1), pool=(2, 2), activation=0):
    return {"Padding": 0 if padding == "same" else 1, "StrideH": stride[0], "StrideW": stride[1],
            "FilterHeight": pool[0], "FilterWidth": pool[1], "FusedActivationFunction": activation}


def int8_weights(rng, shape, channels):
    weight = rng.integers(-127, 128, shape).astype(np.int8)
    scales = rng.uniform(0.002, 0.02, channels).astype(np.float32)
    return weight, scales


def conv_model(rng, depthwise=False, multiplier=1, padding="same", stride=(1, 1), dilation=(1, 1),
               activation=0, in_shape=(1, 9, 7, 4), out_channels=5, kernel=(3, 3), out_scale=0.08):
    b = TFLiteBuilder()
    in_scale, in_zp = 0.04, -3
    x = b.tensor("x", in_shape, "int8", scale=in_scale, zero_point=in_zp)
    channels = in_shape[3] * multiplier if depthwise else out_channels
    w_shape = (1, *kernel, channels) if depthwise else (channels, *kernel, in_shape[3])
    weight, scales = int8_weights(rng, w_shape, channels)
    w = b.tensor("w", w_shape, "int8", data=weight, scale=scales, zero_point=0, axis=3 if depthwise else 0)
    bias = b.tensor("bias", (channels,), "int32", data=rng.integers(-3000, 3000, channels),
                    scale=(scales * np.float32(in_scale)), zero_point=0)  # the int8 kernels require a bias
    inputs = [x, w, bias]
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding == "same":
        out_hw = [(n + s - 1) // s for n, s in zip(in_shape[1:3], stride)]
    else:
        out_hw = [(n - e + s) // s for n, e, s in zip(in_shape[1:3], eff, stride)]
    y = b.tensor("y", (1, *out_hw, channels), "int8", scale=out_scale, zero_point=5)
    options = conv_options(padding, stride, dilation, activation)
    if depthwise:
        options["DepthMultiplier"] = multiplier
        b.op("DEPTHWISE_CONV_2D", inputs, [y], ("DepthwiseConv2DOptions", options))
    else:
        b.op("CONV_2D", inputs, [y], ("Conv2DOptions", options))
    return b.build([x], [y])


def dense_model(rng, activation=1, batch=2, depth=24, units=7, per_channel=False, out_scale=0.11):
    b = TFLiteBuilder()
    x = b.tensor("x", (batch, depth), "int8", scale=0.03, zero_point=7)
    weight = rng.integers(-127, 128, (units, depth))
    w_scale = rng.uniform(0.002, 0.02, units).astype(np.float32) if per_channel else np.float32(0.0071)
    w = b.tensor("w", (units, depth), "int8", data=weight, scale=w_scale, zero_point=0)
    bias = b.tensor("bias", (units,), "int32", data=rng.integers(-2000, 2000, units),
                    scale=np.atleast_1d(w_scale) * np.float32(0.03), zero_point=0)
    y = b.tensor("y", (batch, units), "int8", scale=out_scale, zero_point=-9)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], ("FullyConnectedOptions", {"FusedActivationFunction": activation}))
    return b.build([x], [y])


def pool_model(kind, padding, stride, pool, activation=0, in_shape=(1, 9, 8, 3)):
    b = TFLiteBuilder()
    x = b.tensor("x", in_shape, "int8", scale=0.05, zero_point=-4)
    if padding == "same":
        out_hw = [(n + s - 1) // s for n, s in zip(in_shape[1:3], stride)]
    else:
        out_hw = [(n - k + s) // s for n, k, s in zip(in_shape[1:3], pool, stride)]
    y = b.tensor("y", (1, *out_hw, in_shape[3]), "int8", scale=0.05, zero_point=-4)
    b.op(kind, [x], [y], ("Pool2DOptions", pool_options(padding, stride, pool, activation)))
    return b.build([x], [y])


def binary_model(rng, code, constant=False, activation=0, broadcast=False):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 5, 6), "int8", scale=0.045, zero_point=3)
    other_shape = (1, 1, 1, 6) if broadcast else (1, 4, 5, 6)
    if constant:
        other = b.tensor("c", other_shape, "int8", data=rng.integers(-128, 128, other_shape), scale=0.013,
                         zero_point=-20)
        inputs = [x]
    else:
        other = b.tensor("x2", other_shape, "int8", scale=0.021, zero_point=-11)
        inputs = [x, other]
    y = b.tensor("y", (1, 4, 5, 6), "int8", scale=0.06 if code == "ADD" else 0.02, zero_point=-2)
    options = ("AddOptions" if code == "ADD" else "MulOptions", {"FusedActivationFunction": activation})
    b.op(code, [x, other], [y], options)
    return b.build(inputs, [y])


def shape_model(rng):
    """RESHAPE (shape input), SQUEEZE and PAD in a chain."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 3, 4, 2), "int8", scale=0.1, zero_point=1)
    shape = b.tensor("shape", (4,), "int32", data=np.array([1, 1, 12, 2]))
    r = b.tensor("r", (1, 1, 12, 2), "int8", scale=0.1, zero_point=1)
    b.op("RESHAPE", [x, shape], [r])
    s = b.tensor("s", (12, 2), "int8", scale=0.1, zero_point=1)
    b.op("SQUEEZE", [r], [s])
    pads = b.tensor("pads", (2, 2), "int32", data=np.array([[1, 2], [0, 1]]))
    y = b.tensor("y", (15, 3), "int8", scale=0.1, zero_point=1)
    b.op("PAD", [s, pads], [y])
    return b.build([x], [y])


def mean_model(axes, keep, out_scale, out_zp, in_shape=(1, 5, 6, 4)):
    b = TFLiteBuilder()
    x = b.tensor("x", in_shape, "int8", scale=0.05, zero_point=-7)
    a = b.tensor("axes", (len(axes),), "int32", data=np.array(axes))
    out_shape = tuple(1 if i in axes else n for i, n in enumerate(in_shape)) if keep else \
        tuple(n for i, n in enumerate(in_shape) if i not in axes)
    y = b.tensor("y", out_shape, "int8", scale=out_scale, zero_point=out_zp)
    b.op("MEAN", [x, a], [y], ("ReducerOptions", {"KeepDims": keep}))
    return b.build([x], [y])


def unary_model(code, in_scale=0.07, in_zp=4, out_scale=1 / 256, out_zp=-128, shape=(3, 10), options=None):
    b = TFLiteBuilder()
    x = b.tensor("x", shape, "int8", scale=in_scale, zero_point=in_zp)
    y = b.tensor("y", shape, "int8", scale=out_scale, zero_point=out_zp)
    b.op(code, [x], [y], options)
    return b.build([x], [y])


def quantize_chain_model():
    """float -> QUANTIZE -> int8 -> QUANTIZE (requantize) -> DEQUANTIZE -> float."""
    b = TFLiteBuilder()
    x = b.tensor("x", (2, 17), "float32")
    q = b.tensor("q", (2, 17), "int8", scale=0.037, zero_point=-5)
    b.op("QUANTIZE", [x], [q])
    r = b.tensor("r", (2, 17), "int8", scale=0.05, zero_point=9)
    b.op("QUANTIZE", [q], [r])
    y = b.tensor("y", (2, 17), "float32")
    b.op("DEQUANTIZE", [r], [y])
    return b.build([x], [y, q])


INT8_CASES = {
    "conv_same_stride2_relu": lambda rng: conv_model(rng, stride=(2, 2), activation=1),
    "conv_valid_dilated_relu6": lambda rng: conv_model(rng, padding="valid", dilation=(2, 1), activation=3),
    "conv_1x1": lambda rng: conv_model(rng, kernel=(1, 1), out_channels=8),
    "conv_kws_like_10x4_stride2": lambda rng: conv_model(rng, kernel=(10, 4), stride=(2, 2), in_shape=(1, 20, 10, 1),
                                                         out_channels=6, activation=1),
    "conv_multiplier_above_one": lambda rng: conv_model(rng, kernel=(1, 1), out_scale=0.0001),
    "depthwise_dilated_stride2": lambda rng: conv_model(rng, depthwise=True, stride=(2, 2), dilation=(2, 2),
                                                        in_shape=(1, 11, 10, 3)),
    "dense_multiplier_above_one": lambda rng: dense_model(rng, activation=0, batch=8, depth=3, out_scale=0.00005),
    "depthwise_mult2_same": lambda rng: conv_model(rng, depthwise=True, multiplier=2, activation=1),
    "depthwise_valid_stride2": lambda rng: conv_model(rng, depthwise=True, padding="valid", stride=(2, 2)),
    "depthwise_relu_n1_to_1": lambda rng: conv_model(rng, depthwise=True, activation=2),
    "dense_relu": lambda rng: dense_model(rng),
    "dense_per_channel": lambda rng: dense_model(rng, activation=0, per_channel=True, batch=16),
    "dense_batch16": lambda rng: dense_model(rng, activation=0, batch=16, units=20),
    "avg_pool_same_3x3_s2": lambda rng: pool_model("AVERAGE_POOL_2D", "same", (2, 2), (3, 3)),
    "avg_pool_global_valid": lambda rng: pool_model("AVERAGE_POOL_2D", "valid", (1, 1), (9, 8)),
    "max_pool_same_relu": lambda rng: pool_model("MAX_POOL_2D", "same", (2, 2), (2, 2), activation=1),
    "max_pool_valid_3x3": lambda rng: pool_model("MAX_POOL_2D", "valid", (2, 1), (3, 3)),
    "add_relu": lambda rng: binary_model(rng, "ADD", activation=1),
    "add_broadcast_constant": lambda rng: binary_model(rng, "ADD", constant=True, broadcast=True),
    "mul_constant": lambda rng: binary_model(rng, "MUL", constant=True),
    "mul_broadcast_relu6": lambda rng: binary_model(rng, "MUL", broadcast=True, activation=3),
    "reshape_squeeze_pad": shape_model,
    "mean_hw_keep": lambda rng: mean_model((1, 2), True, 0.02, 3),
    "mean_hw_drop_rescaled": lambda rng: mean_model((1, 2), False, 0.02, 3),
    "mean_last_same_quant": lambda rng: mean_model((3,), False, 0.05, -7),
    "softmax": lambda rng: unary_model("SOFTMAX", options=("SoftmaxOptions", {"Beta": 1.0})),
    "softmax_beta_large_scale": lambda rng: unary_model("SOFTMAX", in_scale=0.25, options=("SoftmaxOptions",
                                                                                           {"Beta": 0.7})),
    "logistic": lambda rng: unary_model("LOGISTIC"),
    "logistic_wide": lambda rng: unary_model("LOGISTIC", in_scale=0.2, in_zp=-10),
    "relu": lambda rng: unary_model("RELU", out_scale=0.05, out_zp=-128),
    "relu6": lambda rng: unary_model("RELU6", out_scale=6 / 255, out_zp=-128),
    "quantize_requantize_dequantize": lambda rng: quantize_chain_model(),
}


def random_input(rng, detail_shape, dtype):
    if np.dtype(dtype) == np.float32:
        return rng.normal(0, 2.0, detail_shape).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, detail_shape).astype(dtype)


@pytest.mark.parametrize("case", sorted(INT8_CASES))
def test_int8_op_is_byte_exact_against_the_reference_interpreter(case, tmp_path):
    rng = np.random.default_rng(RNG_SEED)
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(INT8_CASES[case](rng))
    model = load_model(path)
    for _ in range(TRIALS):
        inputs = [random_input(rng, model.tensors[name].shape, model.tensors[name].dtype) for name in model.inputs]
        expected = run_interpreter(path, inputs)
        got = run_int8(model, inputs)
        for want, have in zip(expected, got):
            assert have.dtype == want.dtype
            assert have.shape == want.shape
            np.testing.assert_array_equal(have, want)


def float_model(rng, kind):
    """One float32 op (or a short chain) of each supported kind."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 7, 3), "float32")
    w = lambda shape: rng.normal(0, 0.5, shape).astype(np.float32)  # noqa: E731
    if kind in ("conv", "depthwise"):
        depthwise = kind == "depthwise"
        w_shape = (1, 3, 3, 6) if depthwise else (5, 3, 3, 3)
        wt = b.tensor("w", w_shape, "float32", data=w(w_shape))
        bias = b.tensor("b", (w_shape[3] if depthwise else 5,), "float32", data=w(w_shape[3] if depthwise else 5))
        y = b.tensor("y", (1, 4, 4, w_shape[3] if depthwise else 5), "float32")
        options = conv_options("same", (2, 2), (1, 1), 1)
        if depthwise:
            options["DepthMultiplier"] = 2
            b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], ("DepthwiseConv2DOptions", options))
        else:
            b.op("CONV_2D", [x, wt, bias], [y], ("Conv2DOptions", options))
    elif kind == "dense":
        wt = b.tensor("w", (4, 168), "float32", data=w((4, 168)))
        bias = b.tensor("b", (4,), "float32", data=w(4))
        y = b.tensor("y", (1, 4), "float32")
        b.op("FULLY_CONNECTED", [x, wt, bias], [y], ("FullyConnectedOptions", {"FusedActivationFunction": 3}))
    elif kind in ("avg_pool", "max_pool"):
        y = b.tensor("y", (1, 4, 4, 3), "float32")
        code = "AVERAGE_POOL_2D" if kind == "avg_pool" else "MAX_POOL_2D"
        b.op(code, [x], [y], ("Pool2DOptions", pool_options("same", (2, 2), (3, 3))))
    elif kind in ("add", "mul"):
        c = b.tensor("c", (1, 1, 7, 3), "float32", data=w((1, 1, 7, 3)))
        y = b.tensor("y", (1, 8, 7, 3), "float32")
        options = ("AddOptions" if kind == "add" else "MulOptions", {"FusedActivationFunction": 1})
        b.op(kind.upper(), [x, c], [y], options)
    elif kind == "shape":
        shape = b.tensor("shape", (3,), "int32", data=np.array([1, 56, 3]))
        r = b.tensor("r", (1, 56, 3), "float32")
        b.op("RESHAPE", [x, shape], [r])
        s = b.tensor("s", (56, 3), "float32")
        b.op("SQUEEZE", [r], [s])
        pads = b.tensor("pads", (2, 2), "int32", data=np.array([[2, 0], [1, 1]]))
        y = b.tensor("y", (58, 5), "float32")
        b.op("PAD", [s, pads], [y])
    elif kind == "mean":
        axes = b.tensor("axes", (2,), "int32", data=np.array([1, 2]))
        y = b.tensor("y", (1, 1, 1, 3), "float32")
        b.op("MEAN", [x, axes], [y], ("ReducerOptions", {"KeepDims": True}))
    else:
        y = b.tensor("y", (1, 8, 7, 3), "float32")
        code = {"softmax": "SOFTMAX", "logistic": "LOGISTIC", "relu": "RELU", "relu6": "RELU6"}[kind]
        b.op(code, [x], [y], ("SoftmaxOptions", {"Beta": 0.8}) if kind == "softmax" else None)
    return b.build([x], [y])


FLOAT_KINDS = ("conv", "depthwise", "dense", "avg_pool", "max_pool", "add", "mul", "shape", "mean", "softmax",
               "logistic", "relu", "relu6")


@pytest.mark.parametrize("kind", FLOAT_KINDS)
def test_float_op_matches_the_interpreter_within_tolerance(kind, tmp_path):
    rng = np.random.default_rng(RNG_SEED)
    path = tmp_path / f"float_{kind}.tflite"
    path.write_bytes(float_model(rng, kind))
    model = load_model(path)
    for _ in range(3):
        x = rng.normal(0, 2.0, (1, 8, 7, 3)).astype(np.float32)
        want = run_interpreter(path, [x])[0]
        have = run_float(model, x)[0]
        assert have.dtype == np.float32 and have.shape == want.shape
        np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-5)


def kws_like_model(rng):
    """The KWS DS-CNN's first block and head at its reference shapes (shared/reference/mlperf-tiny.md)."""
    b = TFLiteBuilder()
    x = b.tensor("input", (1, 49, 10, 1), "int8", scale=0.5, zero_point=-20)

    def conv(name, source, in_scale, w_shape, out_shape, depthwise=False, stride=(1, 1)):
        channels = w_shape[3] if depthwise else w_shape[0]
        scales = rng.uniform(0.002, 0.01, channels).astype(np.float32)
        wt = b.tensor(f"{name}/w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=scales,
                      axis=3 if depthwise else 0)
        bias = b.tensor(f"{name}/b", (channels,), "int32", data=rng.integers(-500, 500, channels),
                        scale=scales * np.float32(in_scale))
        y = b.tensor(name, out_shape, "int8", scale=0.1, zero_point=-128)
        options = conv_options("same", stride, (1, 1), 1)
        if depthwise:
            options["DepthMultiplier"] = 1
            b.op("DEPTHWISE_CONV_2D", [source, wt, bias], [y], ("DepthwiseConv2DOptions", options))
        else:
            b.op("CONV_2D", [source, wt, bias], [y], ("Conv2DOptions", options))
        return y

    c0 = conv("conv0", x, 0.5, (64, 10, 4, 1), (1, 25, 5, 64), stride=(2, 2))
    d1 = conv("dw1", c0, 0.1, (1, 3, 3, 64), (1, 25, 5, 64), depthwise=True)
    c2 = conv("pw2", d1, 0.1, (64, 1, 1, 64), (1, 25, 5, 64))
    pool = b.tensor("pool", (1, 1, 1, 64), "int8", scale=0.1, zero_point=-128)
    b.op("AVERAGE_POOL_2D", [c2], [pool], ("Pool2DOptions", pool_options("valid", (1, 1), (25, 5))))
    shape = b.tensor("shape", (2,), "int32", data=np.array([1, 64]))
    flat = b.tensor("flat", (1, 64), "int8", scale=0.1, zero_point=-128)
    b.op("RESHAPE", [pool, shape], [flat])
    fc_scale = np.float32(0.004)
    wt = b.tensor("fc/w", (12, 64), "int8", data=rng.integers(-127, 128, (12, 64)), scale=fc_scale)
    bias = b.tensor("fc/b", (12,), "int32", data=rng.integers(-500, 500, 12), scale=fc_scale * np.float32(0.1))
    logits = b.tensor("logits", (1, 12), "int8", scale=0.15, zero_point=3)
    b.op("FULLY_CONNECTED", [flat, wt, bias], [logits])
    probabilities = b.tensor("probabilities", (1, 12), "int8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [probabilities], ("SoftmaxOptions", {"Beta": 1.0}))
    return b.build([x], [probabilities])


def test_kws_like_network_counts_and_runs_byte_exact(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "kws_like.tflite"
    path.write_bytes(kws_like_model(rng))
    model = load_model(path)
    assert [op.kind for op in model.ops] == ["conv2d", "depthwise_conv2d", "conv2d", "avg_pool", "reshape",
                                             "dense", "softmax"]
    # Per-op MACs equal the reference table's rows 0, 1, 2 and 11.
    assert [op_macs(model, op) for op in model.ops] == [320_000, 72_000, 512_000, 0, 0, 768, 0]
    assert [op_parameters(model, op) for op in model.ops] == [64 * 40 + 64, 576 + 64, 4096 + 64, 0, 0, 768 + 12, 0]
    assert macs(model) == 904_768
    assert parameter_count(model) == 2624 + 640 + 4160 + 780
    conv0 = model.ops[0]
    assert conv0.stride_hw == (2, 2) and conv0.padding == "same" and conv0.activation == "relu"
    assert model.ops[1].depth_multiplier == 1 and model.ops[3].pool_hw == (25, 5)
    for _ in range(3):
        x = rng.integers(-128, 128, (1, 49, 10, 1)).astype(np.int8)
        np.testing.assert_array_equal(run_int8(model, x)[0], run_interpreter(path, [x])[0])


def test_imported_model_records_tensors_and_quantization(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv_model(rng, depthwise=True, multiplier=2))
    model = load_model(path)
    assert model.format == "tflite" and model.source_path == str(path)
    assert model.inputs == ("x",) and model.outputs == ("y",)
    weight = model.tensors["w"]
    assert weight.shape == (1, 3, 3, 8) and weight.dtype == "int8" and weight.is_constant
    assert weight.quantization.per_channel and weight.quantization.axis == 3
    assert len(weight.quantization.scales) == 8
    activation = model.tensors["x"]
    assert activation.data is None
    assert activation.quantization.scale == pytest.approx(0.04) and activation.quantization.zero_point == -3
    assert model.ops[0].depth_multiplier == 2


def test_vww_first_layers_match_the_reference_counts(tmp_path):
    """MobileNetV1-0.25 at 96x96: rows 0 and 1 of the VWW table in shared/reference/mlperf-tiny.md."""
    rng = np.random.default_rng(4)
    b = TFLiteBuilder()
    x = b.tensor("input", (1, 96, 96, 3), "int8", scale=0.0078, zero_point=-1)
    scales = rng.uniform(0.002, 0.01, 8).astype(np.float32)
    w0 = b.tensor("w0", (8, 3, 3, 3), "int8", data=rng.integers(-127, 128, (8, 3, 3, 3)), scale=scales)
    b0 = b.tensor("b0", (8,), "int32", data=rng.integers(-99, 99, 8), scale=scales * np.float32(0.0078))
    y0 = b.tensor("y0", (1, 48, 48, 8), "int8", scale=0.05, zero_point=-128)
    b.op("CONV_2D", [x, w0, b0], [y0], ("Conv2DOptions", conv_options("same", (2, 2), (1, 1), 3)))
    w1 = b.tensor("w1", (1, 3, 3, 8), "int8", data=rng.integers(-127, 128, (1, 3, 3, 8)), scale=scales, axis=3)
    b1 = b.tensor("b1", (8,), "int32", data=rng.integers(-99, 99, 8), scale=scales * np.float32(0.05))
    y1 = b.tensor("y1", (1, 48, 48, 8), "int8", scale=0.05, zero_point=-128)
    b.op("DEPTHWISE_CONV_2D", [y0, w1, b1], [y1], ("DepthwiseConv2DOptions",
                                                   {**conv_options("same", (1, 1), (1, 1), 3), "DepthMultiplier": 1}))
    path = tmp_path / "vww_head.tflite"
    path.write_bytes(b.build([x], [y1]))
    model = load_model(path)
    assert [op_macs(model, op) for op in model.ops] == [497_664, 165_888]
    assert parameter_count(model) == 216 + 8 + 72 + 8
    image = rng.integers(-128, 128, (1, 96, 96, 3)).astype(np.int8)
    np.testing.assert_array_equal(run_int8(model, image)[0], run_interpreter(path, [image])[0])


def random_single_op_model(rng) -> tuple[str, bytes, list[tuple[tuple[int, ...], str]], float]:
    """One int8 op with random shapes, strides, paddings, scales (1e-4..2) and zero points."""

    def log_uniform(low, high):
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    def zero_point():
        return int(rng.integers(-128, 128))

    b = TFLiteBuilder()
    kind = str(rng.choice(["conv", "depthwise", "dense", "add", "mul", "avg", "max", "mean", "softmax", "logistic",
                           "quantize"]))
    activation = int(rng.choice([0, 1, 2, 3]))
    out_scale = log_uniform(1e-4, 1.0)
    if kind in ("conv", "depthwise", "avg", "max"):
        height, width, channels = (int(v) for v in rng.integers(1, 9, 3))
        kernel = tuple(int(v) for v in rng.integers(1, 4, 2))
        stride = tuple(int(v) for v in rng.integers(1, 3, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2)) if kind in ("conv", "depthwise") else (1, 1)
        effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        padding = "same" if min(height - effective[0], width - effective[1]) < 0 else str(rng.choice(["same", "valid"]))
        out_hw = [(n + s - 1) // s for n, s in zip((height, width), stride)] if padding == "same" else \
            [(n - e + s) // s for n, e, s in zip((height, width), effective, stride)]
        in_scale, in_zp = log_uniform(1e-3, 1.0), zero_point()
        x = b.tensor("x", (1, height, width, channels), "int8", scale=in_scale, zero_point=in_zp)
        if kind in ("avg", "max"):
            y = b.tensor("y", (1, *out_hw, channels), "int8", scale=in_scale, zero_point=in_zp)
            code = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
            b.op(code, [x], [y], ("Pool2DOptions", pool_options(padding, stride, kernel, activation)))
        else:
            multiplier = int(rng.integers(1, 3))
            out_channels = channels * multiplier if kind == "depthwise" else int(rng.integers(1, 6))
            scales = np.array([log_uniform(1e-4, 0.1) for _ in range(out_channels)], np.float32)
            shape = (1, *kernel, out_channels) if kind == "depthwise" else (out_channels, *kernel, channels)
            w = b.tensor("w", shape, "int8", data=rng.integers(-127, 128, shape), scale=scales,
                         axis=3 if kind == "depthwise" else 0)
            bias = b.tensor("b", (out_channels,), "int32", data=rng.integers(-20000, 20000, out_channels),
                            scale=scales * np.float32(in_scale))
            y = b.tensor("y", (1, *out_hw, out_channels), "int8", scale=out_scale, zero_point=zero_point())
            options = conv_options(padding, stride, dilation, activation)
            if kind == "depthwise":
                options["DepthMultiplier"] = multiplier
                b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], ("DepthwiseConv2DOptions", options))
            else:
                b.op("CONV_2D", [x, w, bias], [y], ("Conv2DOptions", options))
        inputs = [x]
    elif kind == "dense":
        batch, depth, units = (int(v) for v in rng.integers(1, 30, 3))
        in_scale = log_uniform(1e-3, 1.0)
        x = b.tensor("x", (batch, depth), "int8", scale=in_scale, zero_point=zero_point())
        scales = np.array([log_uniform(1e-4, 0.1) for _ in range(units if rng.random() < 0.5 else 1)], np.float32)
        w = b.tensor("w", (units, depth), "int8", data=rng.integers(-127, 128, (units, depth)), scale=scales)
        bias = b.tensor("b", (units,), "int32", data=rng.integers(-20000, 20000, units),
                        scale=scales * np.float32(in_scale))
        y = b.tensor("y", (batch, units), "int8", scale=out_scale, zero_point=zero_point())
        b.op("FULLY_CONNECTED", [x, w, bias], [y],
             ("FullyConnectedOptions", {"FusedActivationFunction": int(rng.choice([0, 1, 3]))}))
        inputs = [x]
    elif kind in ("add", "mul"):
        other_shape = [(1, 3, 4, 5), (1, 1, 1, 5), (1, 3, 1, 1)][int(rng.integers(0, 3))]
        x = b.tensor("x", (1, 3, 4, 5), "int8", scale=log_uniform(1e-3, 1.0), zero_point=zero_point())
        x2 = b.tensor("x2", other_shape, "int8", scale=log_uniform(1e-3, 1.0), zero_point=zero_point())
        y = b.tensor("y", (1, 3, 4, 5), "int8", scale=out_scale, zero_point=zero_point())
        options = "AddOptions" if kind == "add" else "MulOptions"
        b.op(kind.upper(), [x, x2], [y], (options, {"FusedActivationFunction": int(rng.choice([0, 1, 3]))}))
        inputs = [x, x2]
    elif kind == "mean":
        shape = tuple(int(v) for v in rng.integers(1, 12, 4))
        axes = [(1, 2), (1,), (2,), (3,), (1, 2, 3)][int(rng.integers(0, 5))]
        keep = bool(rng.random() < 0.5)
        x = b.tensor("x", shape, "int8", scale=log_uniform(1e-3, 1.0), zero_point=zero_point())
        a = b.tensor("axes", (len(axes),), "int32", data=np.array(axes))
        out_shape = tuple(1 if i in axes else n for i, n in enumerate(shape)) if keep else \
            tuple(n for i, n in enumerate(shape) if i not in axes)
        y = b.tensor("y", out_shape, "int8", scale=log_uniform(1e-3, 1.0), zero_point=zero_point())
        b.op("MEAN", [x, a], [y], ("ReducerOptions", {"KeepDims": keep}))
        inputs = [x]
    elif kind in ("softmax", "logistic"):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 30)))
        x = b.tensor("x", shape, "int8", scale=log_uniform(1e-3, 2.0), zero_point=zero_point())
        y = b.tensor("y", shape, "int8", scale=1 / 256, zero_point=-128)
        options = ("SoftmaxOptions", {"Beta": log_uniform(0.1, 3.0)}) if kind == "softmax" else None
        b.op(kind.upper(), [x], [y], options)
        inputs = [x]
    else:
        x = b.tensor("x", (3, 30), "float32")
        y = b.tensor("y", (3, 30), "int8", scale=out_scale, zero_point=zero_point())
        b.op("QUANTIZE", [x], [y])
        inputs = [x]
    shapes = [(b.tensors[i].shape, b.tensors[i].dtype) for i in inputs]
    return kind, b.build(inputs, [len(b.tensors) - 1]), shapes, out_scale


def test_random_int8_configurations_are_byte_exact(tmp_path):
    """1000 random single-op models (shapes, strides, dilations, paddings, scales, zero points, activations)."""
    rng = np.random.default_rng(2026)
    path = tmp_path / "random.tflite"
    for _ in range(1000):
        kind, data, shapes, out_scale = random_single_op_model(rng)
        path.write_bytes(data)
        model = load_model(path)
        inputs = []
        for shape, dtype in shapes:
            if dtype == "float32":  # half-integer multiples of the scale: the rounding ties
                inputs.append((rng.integers(-300, 300, shape) * 0.5 * np.float32(out_scale)).astype(np.float32))
            else:
                inputs.append(rng.integers(-128, 128, shape).astype(np.int8))
        expected = run_interpreter(path, inputs)[0]
        np.testing.assert_array_equal(run_int8(model, inputs)[0], expected, err_msg=kind)
