"""Malformed and unsupported model files: always one HwsimError naming the file, never another exception."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tflite")
onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hwsim.errors import HwsimError  # noqa: E402
from hwsim.importers import load_model  # noqa: E402
from hwsim.importers.int8_reference import run_int8  # noqa: E402
from tests.tflite_builder import TFLiteBuilder  # noqa: E402


def small_tflite(rng=None) -> bytes:
    rng = rng or np.random.default_rng(0)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 6, 6, 2), "int8", scale=0.1, zero_point=0)
    w = b.tensor("w", (3, 3, 3, 2), "int8", data=rng.integers(-127, 128, (3, 3, 3, 2)), scale=[0.01, 0.02, 0.03])
    bias = b.tensor("bias", (3,), "int32", data=np.array([1, 2, 3]), scale=[0.001, 0.002, 0.003])
    y = b.tensor("y", (1, 6, 6, 3), "int8", scale=0.2, zero_point=-1)
    b.op("CONV_2D", [x, w, bias], [y], ("Conv2DOptions", {"Padding": 0, "StrideH": 1, "StrideW": 1}))
    return b.build([x], [y])


def expect_error(path, *fragments) -> str:
    with pytest.raises(HwsimError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---- TensorFlow Lite ---------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.05, 0.2, 0.5, 0.8])
def test_truncated_tflite(tmp_path, fraction):
    data = small_tflite()
    path = tmp_path / "truncated.tflite"
    path.write_bytes(data[: int(len(data) * fraction)])
    expect_error(path)


def test_wrong_magic_tflite(tmp_path):
    data = bytearray(small_tflite())
    data[4:8] = b"ONNX"
    path = tmp_path / "magic.tflite"
    path.write_bytes(bytes(data))
    expect_error(path, "TFL3")


def test_unsupported_tflite_ops_are_listed_together(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "float32")
    t = b.tensor("tanh_out", (1, 8), "float32")
    b.op("TANH", [x], [t])
    r = b.tensor("relu_out", (1, 8), "float32")
    b.op("RELU", [t], [r])
    e = b.tensor("exp_out", (1, 8), "float32")
    b.op("EXP", [r], [e])
    c = b.tensor("custom_out", (1, 8), "float32")
    b.op("MyCustomOp", [e], [c])
    path = tmp_path / "unsupported.tflite"
    path.write_bytes(b.build([x], [c]))
    message = expect_error(path, "3 unsupported operator(s)", "operator 0 (TANH) -> 'tanh_out'",
                           "operator 2 (EXP) -> 'exp_out'", "operator 3 (CUSTOM 'MyCustomOp') -> 'custom_out'")
    assert "RELU) ->" not in message


def test_options_of_the_wrong_type_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "float32")
    y = b.tensor("y", (1, 2, 2, 1), "float32")
    b.op("MAX_POOL_2D", [x], [y], ("Conv2DOptions", {"StrideH": 2, "StrideW": 2}))
    path = tmp_path / "options.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "operator 0 (MAX_POOL_2D) -> 'y'", "expected Pool2DOptions")


def test_missing_tensor_index_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "float32")
    y = b.tensor("y", (1, 8), "float32")
    b.op("RELU", [57], [y])
    path = tmp_path / "missing_tensor.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "operator 0 (RELU)", "tensor 57")


def test_missing_buffer_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "float32")
    y = b.tensor("y", (1, 8), "float32")
    b.op("RELU", [x], [y])
    b.tensors[0].buffer = 9
    path = tmp_path / "missing_buffer.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "tensor 0 'x'", "buffer 9")


def test_absurd_shape_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (65536, 65536, 4), "float32")
    y = b.tensor("y", (65536, 65536, 4), "float32")
    b.op("RELU", [x], [y])
    path = tmp_path / "absurd.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "tensor 0 'x'", "17179869184 elements")


def test_short_constant_buffer_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    w = b.tensor("w", (3, 4), "float32", data=np.zeros((3, 4), np.float32))
    b.buffers[-1] = b.buffers[-1][:20]
    y = b.tensor("y", (1, 3), "float32")
    b.op("FULLY_CONNECTED", [x, w], [y])
    path = tmp_path / "short.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "tensor 1 'w'", "needs 48 bytes")


def test_read_before_write_tflite(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    h = b.tensor("h", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("RELU", [h], [y])
    b.op("RELU", [x], [h])
    path = tmp_path / "order.tflite"
    path.write_bytes(b.build([x], [y]))
    expect_error(path, "operator 0 (RELU)", "'h'")


def test_corrupted_tflite_bytes_only_raise_hwsim_error(tmp_path):
    """Random byte flips anywhere in a valid file: import succeeds or raises HwsimError, nothing else."""
    rng = np.random.default_rng(99)
    data = small_tflite()
    path = tmp_path / "fuzz.tflite"
    for _ in range(500):
        corrupted = bytearray(data)
        for position in rng.integers(8, len(data), rng.integers(1, 6)):
            corrupted[position] = rng.integers(0, 256)
        path.write_bytes(bytes(corrupted))
        try:
            load_model(path)
        except HwsimError as error:
            assert str(path) in str(error)


def test_missing_file_directory_and_unknown_extension(tmp_path):
    expect_error(tmp_path / "absent.tflite", "no such file")
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    expect_error(folder, "is a directory")
    fifo = tmp_path / "pipe.tflite"
    import os
    os.mkfifo(fifo)                     # refused from its stat: reading would block
    expect_error(fifo, "not a regular file")
    other = tmp_path / "model.pb"
    other.write_bytes(b"x")
    expect_error(other, "unknown model format")


def test_wrong_input_shape_for_execution(tmp_path):
    path = tmp_path / "ok.tflite"
    path.write_bytes(small_tflite())
    model = load_model(path)
    with pytest.raises(HwsimError, match="input 'x' has shape"):
        run_int8(model, np.zeros((1, 5, 6, 2), np.int8))
    with pytest.raises(HwsimError, match="is int8"):
        run_int8(model, np.zeros((1, 6, 6, 2), np.float32))


# ---- ONNX --------------------------------------------------------------------------------


def small_onnx(nodes=None, inits=None, inputs=None) -> bytes:
    rng = np.random.default_rng(1)
    inits = inits if inits is not None else [
        numpy_helper.from_array(rng.normal(0, 1, (4, 3, 3, 3)).astype(np.float32), "w")]
    nodes = nodes if nodes is not None else [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])]
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return model.SerializeToString()


def test_garbage_onnx(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\xff\xfe this is not a protobuf \x00\x01" * 10)
    expect_error(path)


def test_truncated_onnx(tmp_path):
    data = small_onnx()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    expect_error(path)


def test_empty_onnx(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    expect_error(path, "no graph")


def test_unsupported_onnx_nodes_are_listed_together(tmp_path):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="gate"),
             helper.make_node("Relu", ["s"], ["r"]),
             helper.make_node("Concat", ["r", "r"], ["y"], axis=1, name="join")]
    path = tmp_path / "unsupported.onnx"
    path.write_bytes(small_onnx(nodes=nodes, inits=[]))
    message = expect_error(path, "2 unsupported node(s)", "node 0 (Sigmoid) 'gate'", "node 2 (Concat) 'join'")
    assert "(Relu)" not in message


def test_missing_onnx_tensor(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w_missing"], ["y"], kernel_shape=[3, 3], name="conv")]
    path = tmp_path / "missing.onnx"
    path.write_bytes(small_onnx(nodes=nodes))
    expect_error(path, "node 0 (Conv) 'conv'", "'w_missing'")


def raw_initializer(name, dims, raw: bytes):
    tensor = TensorProto()
    tensor.name = name
    tensor.data_type = TensorProto.FLOAT
    tensor.dims.extend(dims)
    tensor.raw_data = raw
    return tensor


def test_absurd_onnx_shapes(tmp_path):
    huge = raw_initializer("w", [1 << 20, 1 << 20, 3, 3], b"")
    path = tmp_path / "absurd.onnx"
    path.write_bytes(small_onnx(inits=[huge]))
    expect_error(path, "initializer 'w'", "elements")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "height", 8])]
    path2 = tmp_path / "symbolic.onnx"
    path2.write_bytes(small_onnx(inputs=inputs))
    expect_error(path2, "graph input 'x'", "symbolic dimension 2")


def test_onnx_initializer_data_mismatch(tmp_path):
    bad = raw_initializer("w", [4, 3, 3, 3], b"\x00" * 12)
    path = tmp_path / "short.onnx"
    path.write_bytes(small_onnx(inits=[bad]))
    expect_error(path, "initializer 'w'")


def test_onnx_node_problems_are_collected(tmp_path):
    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.normal(0, 1, (4, 3, 3, 3)).astype(np.float32), "w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], group=3, name="grouped"),
             helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], ceil_mode=1, name="ceil")]
    path = tmp_path / "problems.onnx"
    path.write_bytes(small_onnx(nodes=nodes, inits=inits))
    expect_error(path, "3 problems", "'grouped'", "group 3", "'ceil'", "ceil_mode")


def test_old_opset_softmax_over_a_spatial_map_is_refused(tmp_path):
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1, name="sm")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    path = tmp_path / "softmax11.onnx"
    path.write_bytes(model.SerializeToString())
    expect_error(path, "node 0 (Softmax) 'sm'", "channel axis")


def test_corrupted_onnx_bytes_only_raise_hwsim_error(tmp_path):
    rng = np.random.default_rng(5)
    data = small_onnx()
    path = tmp_path / "fuzz.onnx"
    for _ in range(500):
        corrupted = bytearray(data)
        for position in rng.integers(0, len(data), rng.integers(1, 6)):
            corrupted[position] = rng.integers(0, 256)
        path.write_bytes(bytes(corrupted))
        try:
            load_model(path)
        except HwsimError as error:
            assert str(path) in str(error)
