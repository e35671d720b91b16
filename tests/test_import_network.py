"""Imported models as workloads: the same IR as workloads/*.yaml, parameters and MACs equal to the
imported counts, every command taking a model path, and unmappable ops refused by name."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytest.importorskip("tflite")

from hwsim.errors import HwsimError  # noqa: E402
from hwsim.importers import load_model, macs, parameter_count  # noqa: E402
from hwsim.importers.network import (DEFAULT_CLUSTERS, DEFAULT_LEVELS, import_network,  # noqa: E402
                                     load_network)
from hwsim.ir import layers as L  # noqa: E402
from hwsim.ir.graph import graph_from_workload, totals  # noqa: E402
from tests.conftest import REPO, run_cli  # noqa: E402
from tests.test_import_tflite import conv_options, kws_like_model, pool_options  # noqa: E402
from tests.tflite_builder import TFLiteBuilder  # noqa: E402


def residual_model(rng, pad_same=True):
    """PAD + VALID conv (TensorFlow's SAME), a residual ADD with fused ReLU, a global MEAN,
    a dense head and a softmax: the ResNet-8 block structure at a small size."""
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=0.05, zero_point=0)

    def conv(name, source, w_shape, out_shape, activation, padding="same", stride=(1, 1)):
        scales = rng.uniform(0.002, 0.01, w_shape[0]).astype(np.float32)
        w = b.tensor(f"{name}/w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=scales)
        bias = b.tensor(f"{name}/b", (w_shape[0],), "int32", data=rng.integers(-99, 99, w_shape[0]),
                        scale=scales * np.float32(0.05))
        y = b.tensor(name, out_shape, "int8", scale=0.05, zero_point=0)
        b.op("CONV_2D", [source, w, bias], [y], ("Conv2DOptions", conv_options(padding, stride, (1, 1),
                                                                              activation)))
        return y

    c0 = conv("c0", x, (8, 3, 3, 3), (1, 8, 8, 8), 1)
    pads = b.tensor("pads", (4, 2), "int32",
                    data=np.array([[0, 0], [1, 1], [1, 1], [0, 0]] if pad_same else
                                  [[0, 0], [2, 0], [1, 1], [0, 0]]))
    p = b.tensor("p", (1, 10, 10, 8), "int8", scale=0.05, zero_point=0)
    b.op("PAD", [c0, pads], [p])
    c1 = conv("c1", p, (8, 3, 3, 8), (1, 8, 8, 8), 0, padding="valid")
    s = b.tensor("s", (1, 8, 8, 8), "int8", scale=0.05, zero_point=0)
    b.op("ADD", [c1, c0], [s], ("AddOptions", {"FusedActivationFunction": 1}))
    axes = b.tensor("axes", (2,), "int32", data=np.array([1, 2]))
    m = b.tensor("m", (1, 8), "int8", scale=0.05, zero_point=0)
    b.op("MEAN", [s, axes], [m], ("ReducerOptions", {"KeepDims": False}))
    w = b.tensor("fc/w", (4, 8), "int8", data=rng.integers(-127, 128, (4, 8)), scale=np.float32(0.01))
    bias = b.tensor("fc/b", (4,), "int32", data=rng.integers(-99, 99, 4), scale=np.float32(0.0005))
    logits = b.tensor("logits", (1, 4), "int8", scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [m, w, bias], [logits])
    prob = b.tensor("prob", (1, 4), "int8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [prob], ("SoftmaxOptions", {"Beta": 1.0}))
    return b.build([x], [prob])


@pytest.fixture
def kws_path(tmp_path):
    path = tmp_path / "kws_like.tflite"
    path.write_bytes(kws_like_model(np.random.default_rng(7)))
    return path


def ir_counts(workload):
    g = graph_from_workload(workload, seed=0)
    t = totals(g)
    return t["params"], t["connections"]


def test_kws_like_model_becomes_the_workload_layers_with_equal_counts(kws_path):
    imported = import_network(kws_path)
    w = imported.workload
    assert w.layers == (L.Conv2D(1, 64, 10, 4, 2, 2, "same"), L.DepthwiseConv2D(64, 3, 3, 1, 1, "same"),
                        L.Conv2D(64, 64, 1, 1, 1, 1, "valid"), L.AvgPool2D(25, 5, 1, 1), L.Flatten(),
                        L.Dense(64, 12))
    assert w.input_shape == (49, 10, 1) and w.input_levels == 256 and w.dataset is None
    assert w.task == "classification" and w.activation_flags == [True, True, True, False, False, False]
    assert (w.discretization.activation_levels, w.discretization.weight_clusters) == (DEFAULT_LEVELS,
                                                                                      DEFAULT_CLUSTERS)
    assert imported.parameters == parameter_count(load_model(kws_path)) == 8204
    assert imported.macs == macs(load_model(kws_path)) == 904_768
    assert ir_counts(w) == (imported.parameters, imported.macs)
    assert imported.biases_added == 0
    assert imported.dropped == ("operator 6 (SOFTMAX) -> 'probabilities': softmax",)
    assert imported.notes[2] == "no IR layer: operator 6 (SOFTMAX) -> 'probabilities': softmax"
    assert imported.notes[-1].startswith("TFLite Micro arena: 19,736 B (head 16,000, persistent 3,736;")
    assert imported.requantization_bytes == 8 * (64 + 64 + 64)
    assert imported.notes[1] == ("TFLite Micro keeps 1,536 B of per-channel requantization (conv and "
                                 "depthwise: multiplier and shift, 8 B per output channel) in its "
                                 "persistent arena; hwsim counts it in flash")


def test_pad_add_mean_map_to_same_padding_an_add_and_a_global_pool(tmp_path):
    path = tmp_path / "residual.tflite"
    path.write_bytes(residual_model(np.random.default_rng(1)))
    imported = import_network(path, levels=16, clusters=64)
    w = imported.workload
    assert [type(layer).__name__ for layer in w.layers] == ["Conv2D", "Conv2D", "Add", "AvgPool2D", "Flatten",
                                                            "Dense"]
    assert w.layers[1].padding == "same" and w.layers[3] == L.AvgPool2D(8, 8, 8, 8)
    assert w.inputs[2] == (1, 0)                      # add(c1, c0)
    # c0 feeds the conv and the add (activated), c1 feeds only the add (its sums), the add is activated
    assert w.activation_flags == [True, False, True, False, False, False]
    assert (w.discretization.activation_levels, w.discretization.weight_clusters) == (16, 64)
    assert ir_counts(w) == (imported.parameters, imported.macs) == (224 + 584 + 36, 13_824 + 36_864 + 32)


def test_padding_other_than_tensorflow_same_is_an_error_naming_the_op(tmp_path):
    path = tmp_path / "oddpad.tflite"
    path.write_bytes(residual_model(np.random.default_rng(1), pad_same=False))
    with pytest.raises(HwsimError) as error:
        import_network(path)
    text = str(error.value)
    assert text.startswith(str(path)) and "operator 2 (CONV_2D)" in text
    assert "[2, 0, 1, 1]" in text and "SAME" in text


def test_depth_multiplier_and_dilation_are_refused_together(tmp_path):
    from tests.test_import_tflite import conv_model
    path = tmp_path / "dw2.tflite"
    path.write_bytes(conv_model(np.random.default_rng(0), depthwise=True, multiplier=2))
    with pytest.raises(HwsimError, match="depth multiplier 2"):
        import_network(path)
    path = tmp_path / "dilated.tflite"
    path.write_bytes(conv_model(np.random.default_rng(0), dilation=(2, 1), padding="valid"))
    with pytest.raises(HwsimError, match=r"dilation \[2, 1\]"):
        import_network(path)


def test_onnx_model_becomes_a_workload_with_equal_counts(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(2)
    f = lambda *shape: rng.normal(0, 0.4, shape).astype(np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(a, n) for n, a in
             [("w1", f(8, 1, 3, 3)), ("b1", f(8)), ("w2", f(8, 1, 3, 3)), ("b2", f(8)), ("fc", f(5, 8)),
              ("fcb", f(5))]]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], group=8,
                              strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["v"]),
             helper.make_node("Gemm", ["v", "fc", "fcb"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                             [1, 1, 10, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "small.onnx"
    path.write_bytes(model.SerializeToString())
    imported = import_network(path)
    w = imported.workload
    assert w.layers == (L.Conv2D(1, 8, 3, 3, 1, 1, "same"), L.DepthwiseConv2D(8, 3, 3, 2, 2, "valid"),
                        L.AvgPool2D(4, 4, 4, 4), L.Flatten(), L.Dense(8, 5))
    assert ir_counts(w) == (imported.parameters, imported.macs) == (80 + 80 + 45, 6_480 + 1_152 + 40)


def test_load_network_resolves_workloads_yaml_and_models(kws_path):
    assert load_network("kws-dscnn").name == "kws-dscnn"
    assert load_network("kws-dscnn", levels=8).discretization.activation_levels == 8
    assert load_network(REPO / "workloads" / "digits-mlp.yaml").name == "digits-mlp"
    assert load_network(kws_path).name == "kws_like"
    with pytest.raises(HwsimError, match="unknown model format|[Nn]o such file|does not exist|not found"):
        load_network(kws_path.with_name("missing.tflite"))


def test_import_and_cost_on_every_device_and_style_is_fast(kws_path):
    from hwsim.cost.model import cost_graph
    from hwsim.ir.style import STYLES
    from hwsim.memory.planner import plan_memory
    from hwsim.specs.catalog import load_bundled_devices
    devices = load_bundled_devices()
    started = time.perf_counter()
    workload = import_network(kws_path).workload
    graph = graph_from_workload(workload, seed=0)
    for device in devices:
        for style in STYLES:
            cost_graph(graph, device, style)
            plan_memory(graph, device, style)
    assert time.perf_counter() - started < 2.0


def test_simulate_and_compare_take_a_model_file(kws_path):
    done = run_cli("simulate", str(kws_path), "--device", "nrf52840", "--style", "int8", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["subject"] == "kws_like" and summary["style"] == "int8"
    assert summary["notes"][:3:2] == [
        "imported kws_like.tflite: 8,204 parameters, 904,768 MACs; costed with random weights of its shape "
        "(L 32, K 256), one frame every 1000 ms",
        "no IR layer: operator 6 (SOFTMAX) -> 'probabilities': softmax"]
    done = run_cli("compare", str(kws_path), "--devices", "nrf52840,apollo4-plus", "--levels", "16",
                   "--frames", "2", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["compare"]
    assert {row["device"] for row in rows} == {"nrf52840", "apollo4-plus"} and len(rows) == 6


def test_a_model_that_cannot_be_mapped_exits_2_without_traceback(tmp_path):
    path = tmp_path / "oddpad.tflite"
    path.write_bytes(residual_model(np.random.default_rng(1), pad_same=False))
    done = run_cli("simulate", str(path), "--device", "nrf52840")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "operator 2 (CONV_2D)" in done.stderr


def test_verify_model_matches_the_interpreter_and_saves_stacked_outputs(kws_path, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from hwsim.importers.int8_reference import run_int8
    x = np.random.default_rng(5).integers(-128, 128, (3, 49, 10, 1)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    done = run_cli("verify", str(kws_path), "--inputs", str(tmp_path / "x.npy"), "--save-outputs", str(out),
                   "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["matches"] is True and report["criterion"] == "identical bytes" and report["samples"] == 3
    saved = np.load(out)
    assert saved.dtype == np.int8 and saved.shape == (3, 12)
    model = load_model(kws_path)
    np.testing.assert_array_equal(saved[1], run_int8(model, x[1:2])[0][0])
    done = run_cli("verify", str(kws_path))                 # random inputs, fixed seed
    assert done.returncode == 0 and "identical bytes on every sample" in done.stdout
    assert "8 samples (random (seed 0))" in done.stdout


def test_verify_model_rejects_bad_inputs_with_one_error_and_writes_nothing(kws_path, tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((2, 10, 49, 1), np.int8))
    out = tmp_path / "y.npy"
    done = run_cli("verify", str(kws_path), "--inputs", str(tmp_path / "wrong.npy"), "--save-outputs", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "wrong.npy: shape [2, 10, 49, 1] does not fit input 'input' [1, 49, 10, 1]" in done.stderr
    assert not out.exists()
    done = run_cli("verify", str(kws_path), "--inputs", str(kws_path))
    assert done.returncode == 2 and "not an .npy file" in done.stderr
    np.save(tmp_path / "float.npy", np.zeros((1, 49, 10, 1), np.float32))
    done = run_cli("verify", str(kws_path), "--inputs", str(tmp_path / "float.npy"))
    assert done.returncode == 2 and "dtype float32 cannot feed input 'input' (int8)" in done.stderr


def test_int8_arena_of_an_imported_model_counts_activations_and_cmsis_nn_scratch(kws_path):
    """Arena = the largest live pair plus the largest one-step scratch at that step, as TFLite
    Micro's planner: dw1 reads 8,000 B, writes 8,000 B and asks for the int8 library's
    depthwise 3x3 row scratch, 3 rows x 7 padded columns x 64 channels; conv0's im2col
    (2 x 40 int16) fits under it; pw2 (1x1) has none."""
    from hwsim.memory.planner import plan_memory
    from hwsim.specs.catalog import find_device
    graph = graph_from_workload(import_network(kws_path).workload, seed=0)
    report = plan_memory(graph, find_device("nrf52840"), "int8")
    lines = {line.name: line.bytes for line in report.ram_lines}
    assert lines["arena: activations"] == 16_000
    assert lines["arena: scratch"] == 1_344
    assert report.arena_bytes == 17_344
    scratch = {b.name: b.size_bytes for b in report.buffers if b.kind == "scratch"}
    assert scratch == {"scratch:L0.conv2d": 160, "scratch:L1.depthwise_conv2d": 1_344,
                       "scratch:L3.avg_pool2d": 256}


def test_report_and_sweep_take_models(kws_path, tmp_path):
    done = run_cli("report", "--out", str(tmp_path / "report"), "--cache", str(tmp_path / "cache"),
                   "--workloads", "kws-dscnn", "--models", str(kws_path), "--devices", "nrf52840",
                   "--sweep-levels", "4", "--sweep-clusters", "4")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert {row["workload"] for row in summary["compare"]} == {"kws-dscnn", "kws_like"}
    done = run_cli("sweep", str(kws_path), "--levels", "4,16", "--clusters", "16", "--devices", "nrf52840",
                   "--out", str(tmp_path / "sweep"), "--cache", str(tmp_path / "cache"), "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["sweep"]
    assert {(row["activation_levels"], row["weight_clusters"]) for row in rows} == {(4, 16), (16, 16)}
    assert {row["workload"] for row in rows} == {"kws_like"} and len(rows) == 6


def test_verify_float_onnx_model_against_onnxruntime_within_tolerance(tmp_path):
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper
    from hwsim.importers.verify import verify_model
    rng = np.random.default_rng(9)
    inits = [numpy_helper.from_array(rng.normal(0, 0.4, (4, 2, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.4, (4,)).astype(np.float32), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "conv.onnx"
    path.write_bytes(model.SerializeToString())
    result = verify_model(load_model(path), seed=3)
    assert result.arithmetic == "float32" and result.runtime.startswith("onnxruntime")
    assert result.matches is True and result.max_abs_difference < 1e-4
    assert result.outputs[0].shape == (8, 6, 5, 4) and result.outputs[0].dtype == np.float32
    assert result.criterion == "within rtol = atol = 0.0001"


class _Net:
    """A tiny int8 TFLite graph writer for whole networks (random weights, fixed scales)."""

    def __init__(self, rng, shape):
        self.b, self.rng, self.count = TFLiteBuilder(), rng, 0
        self.x = self.b.tensor("input", shape, "int8", scale=0.05, zero_point=0)

    def _tensor(self, shape):
        self.count += 1
        return self.b.tensor(f"t{self.count}", shape, "int8", scale=0.05, zero_point=0)

    def conv(self, source, in_shape, filters, kernel, stride=1, padding="same", activation=1, depthwise=False):
        h, w, c = in_shape
        out_c = c if depthwise else filters
        if padding == "same":
            oh, ow = -(-h // stride), -(-w // stride)
        else:
            oh, ow = (h - kernel[0]) // stride + 1, (w - kernel[1]) // stride + 1
        w_shape = (1, *kernel, c) if depthwise else (filters, *kernel, c)
        scales = self.rng.uniform(0.002, 0.01, out_c).astype(np.float32)
        wt = self.b.tensor(f"w{self.count}", w_shape, "int8", data=self.rng.integers(-127, 128, w_shape),
                           scale=scales, axis=3 if depthwise else 0)
        bias = self.b.tensor(f"b{self.count}", (out_c,), "int32", data=self.rng.integers(-99, 99, out_c),
                             scale=scales * np.float32(0.05))
        y = self._tensor((1, oh, ow, out_c))
        options = conv_options(padding, (stride, stride), (1, 1), activation)
        if depthwise:
            self.b.op("DEPTHWISE_CONV_2D", [source, wt, bias], [y],
                      ("DepthwiseConv2DOptions", {**options, "DepthMultiplier": 1}))
        else:
            self.b.op("CONV_2D", [source, wt, bias], [y], ("Conv2DOptions", options))
        return y, (oh, ow, out_c)

    def add(self, a, b_, shape):
        y = self._tensor((1, *shape))
        self.b.op("ADD", [a, b_], [y], ("AddOptions", {"FusedActivationFunction": 1}))
        return y

    def head(self, source, shape, pool, classes):
        y = self._tensor((1, 1, 1, shape[2]))
        self.b.op("AVERAGE_POOL_2D", [source], [y], ("Pool2DOptions", pool_options("valid", pool, pool)))
        new_shape = self.b.tensor(f"shape{self.count}", (2,), "int32", data=np.array([1, shape[2]]))
        flat = self._tensor((1, shape[2]))
        self.b.op("RESHAPE", [y, new_shape], [flat])
        wt = self.b.tensor("fc/w", (classes, shape[2]), "int8",
                           data=self.rng.integers(-127, 128, (classes, shape[2])), scale=np.float32(0.01))
        bias = self.b.tensor("fc/b", (classes,), "int32", data=self.rng.integers(-99, 99, classes),
                             scale=np.float32(0.0005))
        logits = self._tensor((1, classes))
        self.b.op("FULLY_CONNECTED", [flat, wt, bias], [logits])
        prob = self.b.tensor("prob", (1, classes), "int8", scale=1 / 256, zero_point=-128)
        self.b.op("SOFTMAX", [logits], [prob], ("SoftmaxOptions", {"Beta": 1.0}))
        return self.b.build([self.x], [prob])


def kws_dscnn_tflite(rng) -> bytes:
    net = _Net(rng, (1, 49, 10, 1))
    t, shape = net.conv(net.x, (49, 10, 1), 64, (10, 4), stride=2)
    for _ in range(4):
        t, shape = net.conv(t, shape, 64, (3, 3), depthwise=True)
        t, shape = net.conv(t, shape, 64, (1, 1), padding="valid")
    return net.head(t, shape, (25, 5), 12)


def resnet8_tflite(rng) -> bytes:
    """TFLite's layout of the MLPerf ResNet-8: convs feeding an add without activation, the add with ReLU."""
    net = _Net(rng, (1, 32, 32, 3))
    t, shape = net.conv(net.x, (32, 32, 3), 16, (3, 3))
    a, s = net.conv(t, shape, 16, (3, 3))
    a, s = net.conv(a, s, 16, (3, 3), activation=0)
    t, shape = net.add(a, t, s), s
    for filters in (32, 64):
        a, s = net.conv(t, shape, filters, (3, 3), stride=2)
        a, s = net.conv(a, s, filters, (3, 3), activation=0)
        short, _ = net.conv(t, shape, filters, (1, 1), stride=2, padding="valid", activation=0)
        t, shape = net.add(a, short, s), s
    return net.head(t, shape, (8, 8), 10)


def vww_mobilenet_tflite(rng) -> bytes:
    """Keras's MobileNetV1 layout: ZeroPadding2D ((0, 1), (0, 1)) before each stride-2
    depthwise convolution with VALID padding (TensorFlow's SAME padding, written out)."""
    net = _Net(rng, (1, 96, 96, 3))
    t, shape = net.conv(net.x, (96, 96, 3), 8, (3, 3), stride=2)
    filters = (16, 32, 32, 64, 64, 128, 128, 128, 128, 128, 128, 256, 256)
    strides = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
    for out, stride in zip(filters, strides):
        if stride == 2:
            pads = net.b.tensor(f"pads{net.count}", (4, 2), "int32",
                                data=np.array([[0, 0], [0, 1], [0, 1], [0, 0]]))
            padded_shape = (shape[0] + 1, shape[1] + 1, shape[2])
            padded = net._tensor((1, *padded_shape))
            net.b.op("PAD", [t, pads], [padded])
            t, shape = net.conv(padded, padded_shape, 0, (3, 3), stride=2, padding="valid", depthwise=True)
        else:
            t, shape = net.conv(t, shape, 0, (3, 3), depthwise=True)
        t, shape = net.conv(t, shape, out, (1, 1), padding="valid")
    return net.head(t, shape, (3, 3), 2)


def ad_autoencoder_tflite(rng) -> bytes:
    """The AD FC auto-encoder: 640-128x4-8-128x4-640, ReLU on every layer but the last."""
    net = _Net(rng, (1, 640))
    t, width = net.x, 640
    units = (128, 128, 128, 128, 8, 128, 128, 128, 128, 640)
    for i, out in enumerate(units):
        wt = net.b.tensor(f"d{i}/w", (out, width), "int8", data=rng.integers(-127, 128, (out, width)),
                          scale=np.float32(0.01))
        bias = net.b.tensor(f"d{i}/b", (out,), "int32", data=rng.integers(-99, 99, out), scale=np.float32(0.0005))
        y = net._tensor((1, out))
        net.b.op("FULLY_CONNECTED", [t, wt, bias], [y],
                 ("FullyConnectedOptions", {"FusedActivationFunction": 1 if i < len(units) - 1 else 0}))
        t, width = y, out
    return net.b.build([net.x], [t])


@pytest.mark.parametrize("name, build", [("kws-dscnn", kws_dscnn_tflite), ("ic-resnet8", resnet8_tflite),
                                         ("vww-mobilenet", vww_mobilenet_tflite),
                                         ("ad-autoencoder", ad_autoencoder_tflite)])
def test_mlperf_shaped_models_import_to_the_bundled_workloads_graphs(name, build, tmp_path):
    """The same IR: the imported model's layers, inputs, activations, counts, costs and memory
    equal those of the bundled shape-only workload of the same network."""
    from hwsim.cost.model import cost_graph
    from hwsim.memory.planner import plan_memory
    from hwsim.specs.catalog import find_device
    from hwsim.specs.workload import load_workload
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(build(np.random.default_rng(0)))
    imported = import_network(path)
    ours, bundled = imported.workload, load_workload(name)
    assert imported.requantization_bytes == {"kws-dscnn": 4_608, "ic-resnet8": 2_688, "vww-mobilenet": 21_888,
                                             "ad-autoencoder": 0}[name]
    assert ours.task == bundled.task
    assert ours.layers == bundled.layers
    assert ours.inputs == bundled.inputs
    assert ours.activation_flags == bundled.activation_flags
    assert ours.shapes == bundled.shapes and ours.input_shape == bundled.input_shape
    assert ir_counts(ours) == ir_counts(bundled) == (imported.parameters, imported.macs)
    device = find_device("nrf52840")
    for style in ("lut", "int8", "float32"):
        g_ours, g_bundled = graph_from_workload(ours, seed=0), graph_from_workload(bundled, seed=0)
        assert cost_graph(g_ours, device, style).total_cycles == cost_graph(g_bundled, device, style).total_cycles
        assert plan_memory(g_ours, device, style).ram_bytes == plan_memory(g_bundled, device, style).ram_bytes


def test_verify_float_tflite_model_within_tolerance_and_without_a_runtime(tmp_path, monkeypatch):
    pytest.importorskip("ai_edge_litert")
    from hwsim.importers import verify as verify_module
    from tests.test_import_tflite import float_model
    path = tmp_path / "float_conv.tflite"
    path.write_bytes(float_model(np.random.default_rng(2), "conv"))
    model = load_model(path)
    result = verify_module.verify_model(model, seed=1)
    assert result.arithmetic == "float32" and result.matches is True
    assert result.criterion == "within rtol = atol = 1e-05" and result.samples == verify_module.RANDOM_SAMPLES
    monkeypatch.setattr(verify_module, "_tflite_runner", lambda path: (None, "ai-edge-litert is not installed"))
    alone = verify_module.verify_model(model, seed=1)
    assert alone.matches is None and alone.runtime is None
    assert alone.runtime_missing == "ai-edge-litert is not installed"
    np.testing.assert_array_equal(alone.outputs[0], result.outputs[0])


def test_verify_model_reports_the_mismatched_samples(kws_path, monkeypatch):
    from hwsim.importers import verify as verify_module
    real = verify_module._tflite_runner

    def off_by_one(path):
        run, name = real(path)
        return (lambda x: [(o.astype(np.int16) + 1).clip(-128, 127).astype(o.dtype) for o in run(x)]), name
    monkeypatch.setattr(verify_module, "_tflite_runner", off_by_one)
    result = verify_module.verify_model(load_model(kws_path), seed=0)
    assert result.matches is False and result.mismatched_samples and result.max_abs_difference == 1.0


def test_every_imported_model_either_maps_or_is_one_error_naming_the_file(tmp_path):
    """Random single-op models (every op kind, stride, dilation, padding, batch): never another
    exception type."""
    from tests.test_import_tflite import random_single_op_model
    rng = np.random.default_rng(11)
    outcomes = {"mapped": 0, "refused": 0}
    for i in range(120):
        path = tmp_path / f"r{i}.tflite"
        path.write_bytes(random_single_op_model(rng)[1])
        try:
            import_network(path)
            outcomes["mapped"] += 1
        except HwsimError as error:
            assert str(error).startswith(str(path))
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
