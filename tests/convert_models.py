"""Small ReLU classifiers fitted on the bundled digits dataset, written as .onnx and
.tflite files, for the `hwsim convert` tests (tests/test_convert.py) and the worked
example of docs/import.md §12.

The fit uses the trainer's own layer passes (hwsim.train.layers) with ReLU in place of
tanh and Adam: a few seconds, deterministic for a seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwsim.datasets import load_dataset
from hwsim.ir import layers as IL
from hwsim.train import layers as L
from hwsim.train.losses import softmax_cross_entropy
from hwsim.train.optim import AdamConfig, adam_init, adam_step

MLP = (IL.Flatten(), IL.Dense(64, 32), IL.Dense(32, 10))
CNN = (IL.Conv2D(1, 8, 3, 3, 1, 1, "same"), IL.MaxPool2D(2, 2, 2, 2), IL.Flatten(),
       IL.Dense(128, 10))
DSCNN = (IL.Conv2D(1, 8, 3, 3, 1, 1, "same"), IL.DepthwiseConv2D(8, 3, 3, 1, 1, "same"),
         IL.Conv2D(8, 8, 1, 1), IL.MaxPool2D(2, 2, 2, 2), IL.Flatten(), IL.Dense(128, 10))


def fit_relu(layers, epochs: int = 30, seed: int = 0) -> list[dict]:
    """A ReLU network (every weighted layer but the last) fitted on digits' train split."""
    data = load_dataset("digits")
    x, y = np.asarray(data.x_train, np.float64), data.y_train
    rng = np.random.default_rng(seed)
    params = [{k: v.astype(np.float64) for k, v in L.init_params(layer, rng).items()}
              for layer in layers]
    last = max(i for i, layer in enumerate(layers) if isinstance(layer, L.WEIGHTED_LAYERS))
    state, config = adam_init(params), AdamConfig(lr=3e-3)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            a, caches = x[batch], []
            for i, layer in enumerate(layers):
                z, cache = L.forward(layer, params[i], a)
                relu = isinstance(layer, L.WEIGHTED_LAYERS) and i != last
                caches.append((cache, z > 0 if relu else None))
                a = np.maximum(z, 0) if relu else z
            _, d = softmax_cross_entropy(a, y[batch])
            grads = [{} for _ in layers]
            for i in range(len(layers) - 1, -1, -1):
                cache, mask = caches[i]
                if mask is not None:
                    d = d * mask
                d, grads[i] = L.backward(layers[i], params[i], cache, d)
            params, state = adam_step(params, grads, state, config)
    return params


def write_onnx_mlp(path: Path, params) -> Path:
    """Flatten -> Gemm -> Relu -> Gemm -> Softmax, input NCHW [1, 1, 8, 8]."""
    from onnx import TensorProto, helper, numpy_helper
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(f32(params[1]["w"].T), "w1"),
             numpy_helper.from_array(f32(params[1]["b"]), "b1"),
             numpy_helper.from_array(f32(params[2]["w"].T), "w2"),
             numpy_helper.from_array(f32(params[2]["b"]), "b2")]
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["y"], axis=-1)]
    graph = helper.make_graph(nodes, "digits_mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def _conv_options(depthwise: bool = False) -> tuple[str, dict]:
    options = {"Padding": 0, "StrideH": 1, "StrideW": 1, "DilationHFactor": 1,
               "DilationWFactor": 1, "FusedActivationFunction": 1}
    if depthwise:
        return "DepthwiseConv2DOptions", {**options, "DepthMultiplier": 1}
    return "Conv2DOptions", options


def write_tflite_cnn(path: Path, params, layers=CNN) -> Path:
    """Float32 TFLite of CNN (CONV_2D 3x3 same, fused ReLU -> MAX_POOL_2D 2x2 -> RESHAPE ->
    FULLY_CONNECTED) or DSCNN (a same-padded DEPTHWISE_CONV_2D and a 1x1 CONV_2D, both
    with ReLU, after the first convolution)."""
    from tests.tflite_builder import TFLiteBuilder
    b = TFLiteBuilder()
    tensor = b.tensor("x", (1, 8, 8, 1), "float32")
    for i, layer in enumerate(layers):
        if isinstance(layer, (IL.Conv2D, IL.DepthwiseConv2D)):
            depthwise = isinstance(layer, IL.DepthwiseConv2D)
            channels = layer.channels if depthwise else layer.out_channels
            kernel = (layer.kernel_h, layer.kernel_w)
            w = params[i]["w"].reshape(*kernel, -1, channels)
            w = w.reshape(1, *kernel, channels) if depthwise else w.transpose(3, 0, 1, 2)
            out = b.tensor(f"conv{i}", (1, 8, 8, channels), "float32")
            b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D",
                 [tensor, b.tensor(f"conv{i}/w", w.shape, "float32", data=w),
                  b.tensor(f"conv{i}/b", (channels,), "float32", data=params[i]["b"])],
                 [out], _conv_options(depthwise))
        elif isinstance(layer, IL.MaxPool2D):
            out = b.tensor("pool", (1, 4, 4, 8), "float32")
            b.op("MAX_POOL_2D", [tensor], [out], ("Pool2DOptions", {
                "Padding": 1, "StrideH": 2, "StrideW": 2, "FilterHeight": 2, "FilterWidth": 2,
                "FusedActivationFunction": 0}))
        elif isinstance(layer, IL.Flatten):
            shape = b.tensor("shape", (2,), "int32", data=np.array([1, 128]))
            out = b.tensor("flat", (1, 128), "float32")
            b.op("RESHAPE", [tensor, shape], [out])
        else:
            out = b.tensor("logits", (1, 10), "float32")
            b.op("FULLY_CONNECTED", [tensor, b.tensor("fc/w", (10, 128), "float32",
                                                      data=params[i]["w"].T),
                                     b.tensor("fc/b", (10,), "float32", data=params[i]["b"])],
                 [out], ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
        tensor = out
    path.write_bytes(b.build([0], [tensor]))
    return path


def write_data(path: Path, split: str = "test", labels: bool = True, count: int | None = None
               ) -> Path:
    """Digits samples as a convert data file: x [N, 8, 8, 1] float32, y [N]."""
    data = load_dataset("digits")
    x = np.asarray(data.x_test if split == "test" else data.x_train, np.float32)[:count]
    y = np.asarray(data.y_test if split == "test" else data.y_train, np.int64)[:count]
    np.savez(path, **({"x": x, "y": y} if labels else {"x": x}))
    return path


# Graphs with a residual add, and an auto-encoder (docs/import.md §12): layers, each
# layer's sources (-1: the input) and which layers a ReLU follows.
RESIDUAL_MLP = ((IL.Flatten(), IL.Dense(64, 32), IL.Dense(32, 32), IL.Dense(32, 32), IL.Add(2),
                 IL.Dense(32, 10)),
                ((-1,), (0,), (1,), (1,), (2, 3), (4,)),
                (False, True, False, False, True, False))
RESIDUAL_CNN = ((IL.Conv2D(1, 8, 3, 3, 1, 1, "same"), IL.Conv2D(8, 8, 1, 1),
                 IL.Conv2D(8, 8, 1, 1), IL.Add(2), IL.MaxPool2D(2, 2, 2, 2),
                 IL.Flatten(), IL.Dense(128, 10)),
                ((-1,), (0,), (1,), (2, 0), (3,), (4,), (5,)),
                (True, True, False, True, False, False, False))
AUTOENCODER = ((IL.Flatten(), IL.Dense(64, 16), IL.Dense(16, 8), IL.Dense(8, 16),
                IL.Dense(16, 64)),
               ((-1,), (0,), (1,), (2,), (3,)),
               (False, True, True, True, False))


def fit_graph(graph, epochs: int = 15, seed: int = 0) -> list[dict]:
    """A ReLU network with branches (`graph`: layers, sources, ReLU flags) fitted on digits'
    train split: cross-entropy on the labels, or for an auto-encoder (output size 64) the
    squared error of its reconstruction of the flattened input."""
    layers, sources, relu = graph
    data = load_dataset("digits")
    x, y = np.asarray(data.x_train, np.float64), data.y_train
    autoencoder = isinstance(layers[-1], IL.Dense) and layers[-1].out_features == 64
    rng = np.random.default_rng(seed)
    params = [{k: v.astype(np.float64) for k, v in L.init_params(layer, rng).items()}
              if not isinstance(layer, IL.Add) else {} for layer in layers]
    state, config = adam_init(params), AdamConfig(lr=3e-3)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            outs, caches = [], []
            for layer, p, found, on in zip(layers, params, sources, relu):
                a = x[batch] if found[0] < 0 else outs[found[0]]
                if isinstance(layer, IL.Add):
                    z, cache = sum(outs[s] for s in found), None
                else:
                    z, cache = L.forward(layer, p, a)
                caches.append((cache, z > 0 if on else None))
                outs.append(np.maximum(z, 0) if on else z)
            if autoencoder:
                d = 2 * (outs[-1] - x[batch].reshape(len(batch), -1)) / outs[-1].size
            else:
                _, d = softmax_cross_entropy(outs[-1], y[batch])
            grads, pending = [{} for _ in layers], {len(layers) - 1: d}
            for i in range(len(layers) - 1, -1, -1):
                d = pending.pop(i)
                cache, mask = caches[i]
                d = d * mask if mask is not None else d
                if isinstance(layers[i], IL.Add):
                    targets = [(s, d) for s in sources[i]]
                else:
                    d, grads[i] = L.backward(layers[i], params[i], cache, d)
                    targets = [(sources[i][0], d)]
                for s, part in targets:
                    if s >= 0:
                        pending[s] = pending[s] + part if s in pending else part
            params, state = adam_step(params, grads, state, config)
    return params


def _onnx_file(path: Path, nodes, arrays: dict, in_shape, out_shape, name: str) -> Path:
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in arrays.items()]
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def write_onnx_residual_mlp(path: Path, params) -> Path:
    """Flatten -> Gemm 32 -> Relu -> (Gemm 32, Gemm 32 shortcut) -> Add -> Relu -> Gemm 10
    -> Softmax: a residual block whose two branches are both weighted."""
    from onnx import helper
    arrays = {f"{key}{i}": (params[i][key].T if key == "w" else params[i][key])
              for i in (1, 2, 3, 5) for key in ("w", "b")}
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w1", "b1"], ["h1"], transB=1),
             helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("Gemm", ["r1", "w2", "b2"], ["h2"], transB=1),
             helper.make_node("Gemm", ["r1", "w3", "b3"], ["h3"], transB=1),
             helper.make_node("Add", ["h2", "h3"], ["sum"]),
             helper.make_node("Relu", ["sum"], ["r4"]),
             helper.make_node("Gemm", ["r4", "w5", "b5"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["y"], axis=-1)]
    return _onnx_file(path, nodes, arrays, [1, 1, 8, 8], [1, 10], "digits_residual_mlp")


def write_onnx_autoencoder(path: Path, params) -> Path:
    """Flatten -> Gemm 16 -> Relu -> Gemm 8 -> Relu -> Gemm 16 -> Relu -> Gemm 64: it
    reconstructs its 8x8 input (NCHW [1, 1, 8, 8]) as 64 values."""
    from onnx import helper
    arrays = {f"{key}{i}": (params[i][key].T if key == "w" else params[i][key])
              for i in range(1, 5) for key in ("w", "b")}
    nodes, tensor = [helper.make_node("Flatten", ["x"], ["flat"], axis=1)], "flat"
    for i in range(1, 5):
        out = "y" if i == 4 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [tensor, f"w{i}", f"b{i}"], [out], transB=1))
        if i < 4:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            out = f"r{i}"
        tensor = out
    return _onnx_file(path, nodes, arrays, [1, 1, 8, 8], [1, 64], "digits_autoencoder")


def write_tflite_residual_cnn(path: Path, params) -> Path:
    """Float32 TFLite: CONV_2D 3x3 same (ReLU) -> CONV_2D 1x1 (ReLU) -> CONV_2D 1x1 (none) -> ADD of
    that and the first convolution (fused ReLU: an identity shortcut) -> MAX_POOL_2D 2x2
    -> RESHAPE -> FULLY_CONNECTED 10."""
    from tests.tflite_builder import TFLiteBuilder
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8, 8, 1), "float32")
    convs = []
    for i, (source, relu) in enumerate(((x, 1), (None, 1), (None, 0))):
        layer = RESIDUAL_CNN[0][i]
        kernel = (layer.kernel_h, layer.kernel_w)
        w = params[i]["w"].reshape(*kernel, layer.in_channels, 8).transpose(3, 0, 1, 2)
        out = b.tensor(f"conv{i}", (1, 8, 8, 8), "float32")
        b.op("CONV_2D", [convs[-1] if source is None else source,
                         b.tensor(f"conv{i}/w", w.shape, "float32", data=w),
                         b.tensor(f"conv{i}/b", (8,), "float32", data=params[i]["b"])],
             [out], ("Conv2DOptions", {**_conv_options()[1], "FusedActivationFunction": relu}))
        convs.append(out)
    total = b.tensor("sum", (1, 8, 8, 8), "float32")
    b.op("ADD", [convs[2], convs[0]], [total], ("AddOptions", {"FusedActivationFunction": 1}))
    pool = b.tensor("pool", (1, 4, 4, 8), "float32")
    b.op("MAX_POOL_2D", [total], [pool], ("Pool2DOptions", {
        "Padding": 1, "StrideH": 2, "StrideW": 2, "FilterHeight": 2, "FilterWidth": 2,
        "FusedActivationFunction": 0}))
    flat = b.tensor("flat", (1, 128), "float32")
    b.op("RESHAPE", [pool, b.tensor("shape", (2,), "int32", data=np.array([1, 128]))], [flat])
    logits = b.tensor("logits", (1, 10), "float32")
    b.op("FULLY_CONNECTED", [flat, b.tensor("fc/w", (10, 128), "float32", data=params[6]["w"].T),
                             b.tensor("fc/b", (10,), "float32", data=params[6]["b"])],
         [logits], ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
    path.write_bytes(b.build([x], [logits]))
    return path
