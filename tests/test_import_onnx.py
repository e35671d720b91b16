"""ONNX import: every supported node, NCHW -> NHWC, float32 against onnxruntime within tolerance,
QLinear int8 within one step, parameter and MAC counts."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hwsim.importers import load_model, macs, parameter_count  # noqa: E402
from hwsim.importers.float_reference import run_float  # noqa: E402
from hwsim.importers.int8_reference import run_int8  # noqa: E402
from hwsim.importers.model import op_macs, op_parameters  # noqa: E402

OPSET = 13
FLOAT_TOLERANCE = 1e-4


def initializer(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(tmp_path, name, nodes, inputs, outputs, initializers, opset=OPSET):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def onnxruntime_outputs(path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def nhwc(array):
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)) if array.ndim == 4 else array


def small_cnn(tmp_path, rng):
    """Conv, Relu, depthwise Conv (SAME_UPPER), Clip 0..6, MaxPool, AveragePool, Add and Mul with channel
    constants, Flatten of a 2x2 map (the weight-column permutation), Gemm, Clip, MatMul, Softmax."""
    f = lambda *shape: rng.normal(0, 0.4, shape).astype(np.float32)  # noqa: E731
    inits = [
        initializer("w1", f(8, 3, 3, 3)), initializer("b1", f(8)),
        initializer("w2", f(16, 1, 3, 3)), initializer("b2", f(16)),
        initializer("channel_bias", f(16, 1, 1)), initializer("channel_gain", f(1, 16, 1, 1)),
        initializer("fc_w", f(10, 64)), initializer("fc_b", f(10)),
        initializer("low", np.array(-1.0, np.float32)), initializer("high", np.array(2.0, np.float32)),
        initializer("six", np.array(6.0, np.float32)), initializer("zero", np.array(0.0, np.float32)),
        initializer("head", f(10, 5)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], group=8, auto_pad="SAME_UPPER", kernel_shape=[3, 3]),
        helper.make_node("Clip", ["c2", "zero", "six"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["p1"], ["p2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Add", ["p2", "channel_bias"], ["a1"]),
        helper.make_node("Mul", ["a1", "channel_gain"], ["m1"]),
        helper.make_node("Flatten", ["m1"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc"], transB=1),
        helper.make_node("Clip", ["fc", "low", "high"], ["clamped"]),
        helper.make_node("MatMul", ["clamped", "head"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 14])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 5])]
    return save(tmp_path, "small_cnn", nodes, inputs, outputs, inits)


def test_float_cnn_matches_onnxruntime_in_channels_last(tmp_path):
    rng = np.random.default_rng(11)
    path = small_cnn(tmp_path, rng)
    model = load_model(path)
    assert model.format == "onnx"
    assert [op.kind for op in model.ops] == ["conv2d", "relu", "depthwise_conv2d", "relu6", "max_pool", "avg_pool",
                                             "add", "mul", "reshape", "dense", "clamp", "dense", "softmax"]
    assert model.tensors["x"].shape == (1, 16, 14, 3)  # NHWC
    assert model.ops[0].padding == "explicit" and model.ops[0].explicit_pads_tblr == (1, 1, 1, 1)
    assert model.ops[2].padding == "same" and model.ops[2].depth_multiplier == 2
    for _ in range(3):
        x = rng.normal(0, 1, (1, 3, 16, 14)).astype(np.float32)
        want = onnxruntime_outputs(path, {"x": x})[0]
        have = run_float(model, nhwc(x))[0]
        np.testing.assert_allclose(have, want, rtol=FLOAT_TOLERANCE, atol=FLOAT_TOLERANCE)


def test_float_cnn_parameters_and_macs(tmp_path):
    model = load_model(small_cnn(tmp_path, np.random.default_rng(0)))
    conv1, depthwise, fc, head = (op for op in model.ops if op.kind in ("conv2d", "depthwise_conv2d", "dense"))
    assert op_parameters(model, conv1) == 8 * 27 + 8 and op_macs(model, conv1) == 8 * 7 * 8 * 27
    assert op_parameters(model, depthwise) == 16 * 9 + 16 and op_macs(model, depthwise) == 8 * 7 * 16 * 9
    assert op_parameters(model, fc) == 640 + 10 and op_macs(model, fc) == 640
    assert op_parameters(model, head) == 50 and op_macs(model, head) == 50
    assert parameter_count(model) == 224 + 160 + 650 + 50
    assert macs(model) == 12096 + 8064 + 640 + 50


def test_global_average_pool_reshape_and_nhwc_output(tmp_path):
    rng = np.random.default_rng(5)
    inits = [initializer("w", rng.normal(0, 0.5, (6, 4, 1, 1)).astype(np.float32)),
             initializer("shape", np.array([0, -1], np.int64)),
             initializer("back", np.array([1, 6, 1, 1], np.int64))]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["c"], ["p"], kernel_shape=[2, 2], auto_pad="VALID", strides=[1, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["v"]),
        helper.make_node("Reshape", ["v", "back"], ["y"]),
    ]
    path = save(tmp_path, "gap", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 1, 1]),
                 helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 6, 4, 4])], inits)
    model = load_model(path)
    assert [op.kind for op in model.ops] == ["conv2d", "avg_pool", "mean", "reshape", "reshape"]
    x = rng.normal(0, 1, (1, 4, 5, 5)).astype(np.float32)
    want = onnxruntime_outputs(path, {"x": x})
    have = run_float(model, nhwc(x))
    for w, h in zip(want, have):
        np.testing.assert_allclose(h, nhwc(w), rtol=FLOAT_TOLERANCE, atol=FLOAT_TOLERANCE)


def qlinear_model(tmp_path, rng):
    """QuantizeLinear -> QLinearConv (per-channel int8 weights) -> DequantizeLinear, and a QLinearMatMul branch."""
    inits = [
        initializer("x_scale", np.array(0.05, np.float32)), initializer("x_zp", np.array(3, np.int8)),
        initializer("w", rng.integers(-127, 128, (6, 3, 3, 3)).astype(np.int8)),
        initializer("w_scale", rng.uniform(0.002, 0.01, 6).astype(np.float32)),
        initializer("w_zp", np.zeros(6, np.int8)),
        initializer("y_scale", np.array(0.08, np.float32)), initializer("y_zp", np.array(-4, np.int8)),
        initializer("bias", rng.integers(-500, 500, 6).astype(np.int32)),
        initializer("v_scale", np.array(0.04, np.float32)), initializer("v_zp", np.array(1, np.int8)),
        initializer("m", rng.integers(-127, 128, (12, 4)).astype(np.int8)),
        initializer("m_scale", np.array(0.01, np.float32)), initializer("m_zp", np.array(0, np.int8)),
        initializer("o_scale", np.array(0.1, np.float32)), initializer("o_zp", np.array(2, np.int8)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"]),
        helper.make_node("QLinearConv", ["xq", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"],
                         ["yq"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("DequantizeLinear", ["yq", "y_scale", "y_zp"], ["y"]),
        helper.make_node("QuantizeLinear", ["v", "v_scale", "v_zp"], ["vq"]),
        helper.make_node("QLinearMatMul", ["vq", "v_scale", "v_zp", "m", "m_scale", "m_zp", "o_scale", "o_zp"],
                         ["oq"]),
        helper.make_node("DequantizeLinear", ["oq", "o_scale", "o_zp"], ["o"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 5]),
              helper.make_tensor_value_info("v", TensorProto.FLOAT, [2, 12])]
    outputs = [helper.make_tensor_value_info("yq", TensorProto.INT8, [1, 6, 6, 5]),
               helper.make_tensor_value_info("oq", TensorProto.INT8, [2, 4])]
    return save(tmp_path, "qlinear", nodes, inputs, outputs, inits)


def test_qlinear_ops_import_with_quantization_and_run_within_one_step(tmp_path):
    rng = np.random.default_rng(21)
    path = qlinear_model(tmp_path, rng)
    model = load_model(path)
    assert [op.kind for op in model.ops] == ["quantize", "conv2d", "dequantize", "quantize", "dense", "dequantize"]
    conv = model.ops[1]
    weight = model.tensors[conv.inputs[1]]
    assert weight.shape == (6, 3, 3, 3) and weight.dtype == "int8" and weight.quantization.per_channel
    assert model.tensors["xq"].quantization.zero_point == 3
    assert model.tensors["yq"].quantization.scale == pytest.approx(0.08)
    assert op_macs(model, conv) == 6 * 6 * 5 * 27 and op_parameters(model, conv) == 162 + 6
    assert op_macs(model, model.ops[4]) == 2 * 4 * 12
    for _ in range(3):
        x = rng.normal(0, 1, (1, 3, 6, 5)).astype(np.float32)
        v = rng.normal(0, 1, (2, 12)).astype(np.float32)
        want = onnxruntime_outputs(path, {"x": x, "v": v})
        have = run_int8(model, [nhwc(x), v])
        # TFLite arithmetic (run_int8) against onnxruntime's float requantization: at most one step apart.
        assert np.abs(have[0].astype(int) - nhwc(want[0]).astype(int)).max() <= 1
        assert np.abs(have[1].astype(int) - want[1].astype(int)).max() <= 1


def test_qdq_weights_stay_int8_constants_and_run_in_float(tmp_path):
    rng = np.random.default_rng(8)
    inits = [initializer("wq", rng.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)),
             initializer("w_scale", rng.uniform(0.005, 0.02, 4).astype(np.float32)),
             initializer("w_zp", np.zeros(4, np.int8)), initializer("b", rng.normal(0, 0.1, 4).astype(np.float32))]
    nodes = [helper.make_node("DequantizeLinear", ["wq", "w_scale", "w_zp"], ["w"], axis=0),
             helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], strides=[1, 2])]
    path = save(tmp_path, "qdq", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 3])], inits)
    model = load_model(path)
    weight = model.tensors[model.ops[0].inputs[1]]
    assert weight.dtype == "int8" and weight.quantization.per_channel and weight.quantization.axis == 0
    assert parameter_count(model) == 72 + 4 and macs(model) == 4 * 5 * 3 * 18
    x = rng.normal(0, 1, (1, 2, 7, 7)).astype(np.float32)
    want = onnxruntime_outputs(path, {"x": x})[0]
    np.testing.assert_allclose(run_float(model, nhwc(x))[0], nhwc(want), rtol=FLOAT_TOLERANCE, atol=FLOAT_TOLERANCE)


def test_qdq_gemm_weight_keeps_per_channel_quantization_on_the_output_axis(tmp_path):
    rng = np.random.default_rng(9)
    inits = [initializer("bq", rng.integers(-127, 128, (6, 4)).astype(np.int8)),
             initializer("b_scale", rng.uniform(0.01, 0.03, 4).astype(np.float32)),
             initializer("b_zp", np.zeros(4, np.int8)), initializer("c", rng.normal(0, 0.1, 4).astype(np.float32))]
    nodes = [helper.make_node("DequantizeLinear", ["bq", "b_scale", "b_zp"], ["b"], axis=1),
             helper.make_node("Gemm", ["x", "b", "c"], ["y"])]
    path = save(tmp_path, "qdq_gemm", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 6])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])], inits)
    model = load_model(path)
    weight = model.tensors[model.ops[0].inputs[1]]
    assert weight.shape == (4, 6) and weight.dtype == "int8" and weight.quantization.axis == 0
    x = rng.normal(0, 1, (3, 6)).astype(np.float32)
    want = onnxruntime_outputs(path, {"x": x})[0]
    np.testing.assert_allclose(run_float(model, x)[0], want, rtol=FLOAT_TOLERANCE, atol=FLOAT_TOLERANCE)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_same_padding_modes_with_even_kernels(tmp_path, auto_pad):
    rng = np.random.default_rng(13)
    inits = [initializer("w", rng.normal(0, 0.5, (3, 2, 2, 4)).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[2, 4], strides=[2, 1], auto_pad=auto_pad),
             helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], auto_pad=auto_pad)]
    path = save(tmp_path, f"pad_{auto_pad}", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                   [1, 2, 7, 6])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = load_model(path)
    assert model.ops[0].padding == ("same" if auto_pad == "SAME_UPPER" else "explicit")
    x = rng.normal(0, 1, (1, 2, 7, 6)).astype(np.float32)
    want = onnxruntime_outputs(path, {"x": x})[0]
    np.testing.assert_allclose(run_float(model, nhwc(x))[0], nhwc(want), rtol=FLOAT_TOLERANCE, atol=FLOAT_TOLERANCE)
