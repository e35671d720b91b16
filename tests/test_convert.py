"""`hwsim convert`: ReLU classifiers fitted on digits (tests/convert_models.py), written as
.onnx and .tflite, become the paper's network; the artifact verifies, simulates and
validates; bad data and unsupported ops are one error; fine-tuning is deterministic;
docs/import.md §12's outputs are what the commands print."""
from __future__ import annotations

import json
import re
import shlex
import shutil

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("tflite")

from hwsim.artifact.load import load_artifact  # noqa: E402
from hwsim.artifact.save import build_files, save_artifact  # noqa: E402
from hwsim.datasets import load_dataset  # noqa: E402
from hwsim.errors import HwsimError  # noqa: E402
from hwsim.execute.executor import execute  # noqa: E402
from hwsim.importers.convert import Options, convert_model  # noqa: E402
from hwsim.importers.float_network import float_forward, float_network  # noqa: E402
from hwsim.importers.float_reference import run_float  # noqa: E402
from hwsim.importers.load import load_model  # noqa: E402
from hwsim.importers.network import workload_from_model  # noqa: E402
from hwsim.ir.graph import graph_from_artifact  # noqa: E402
from hwsim.ir.levels import quantize_input  # noqa: E402
from tests.conftest import REPO, run_cli  # noqa: E402
from tests.convert_models import DSCNN, MLP, fit_relu, write_data, \
    write_tflite_cnn  # noqa: E402

EXAMPLE = re.compile(r"<!-- convert-example: hwsim (.+?) -->\n```text\n(.*?)```", re.S)


@pytest.fixture(scope="session")
def files(convert_files):
    return convert_files


def _copy(files, tmp_path):
    for path in files.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize("name", ["digits_mlp.onnx", "digits_cnn.tflite"])
def test_float_network_is_the_original_model(files, name):
    model = load_model(files / name)
    net = float_network(model, workload_from_model(model))
    x = np.load(files / "digits_test.npz")["x"][:40]
    ours, _ = float_forward(net, None, x)
    theirs = np.concatenate([run_float(model, x[i:i + 1])[0] for i in range(len(x))])
    if name.endswith(".onnx"):                       # softmax at the end: compare classes
        assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_constant_mul_and_add_after_a_layer_fold_into_it(files, tmp_path):
    """MatMul + Add (bias) + Mul (per-channel gain) + Relu, as exporters write a dense layer."""
    from onnx import TensorProto, helper, numpy_helper
    mlp = fit_relu(MLP, epochs=30)
    gain = np.linspace(0.5, 2.0, 32)
    arrays = {"w1": mlp[1]["w"], "b1": mlp[1]["b"] / gain, "g1": gain, "w2": mlp[2]["w"],
              "b2": mlp[2]["b"]}
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "w1"], ["m1"]),
             helper.make_node("Add", ["m1", "b1"], ["a1"]),
             helper.make_node("Mul", ["a1", "g1"], ["s1"]),
             helper.make_node("Relu", ["s1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "w2"], ["m2"]),
             helper.make_node("Add", ["m2", "b2"], ["y"])]
    graph = helper.make_graph(
        nodes, "matmul_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in arrays.items()])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx_model.ir_version = 8
    (tmp_path / "matmul_mlp.onnx").write_bytes(onnx_model.SerializeToString())
    model = load_model(tmp_path / "matmul_mlp.onnx")
    net = float_network(model, workload_from_model(model))
    x = np.load(files / "digits_test.npz")["x"][:40]
    ours, _ = float_forward(net, None, x)
    theirs = np.concatenate([run_float(model, x[i:i + 1])[0] for i in range(len(x))])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    report = convert_model(tmp_path / "matmul_mlp.onnx", Options(32, 32),
                           data=files / "digits_test.npz").report
    assert report["converted"]["agreement"] >= 0.93


def test_onnx_mlp_converts_with_high_agreement(files):
    report = convert_model(files / "digits_mlp.onnx", Options(32, 32),
                           data=files / "digits_test.npz").report
    assert report["converted"]["agreement"] >= 0.93
    assert report["converted"]["accuracy"] >= 0.92 and report["original_accuracy"] >= 0.95
    assert report["input_range"] == [0.0, 1.0] and report["unique_weights"] == {"global": 32}
    assert not report["evaluation"]["held_out"]
    coarse = convert_model(files / "digits_mlp.onnx", Options(4, 8),
                           data=files / "digits_test.npz").report
    assert coarse["converted"]["agreement"] < report["converted"]["agreement"]


def test_tflite_cnn_artifact_verifies_simulates_and_validates(files, tmp_path):
    folder = _copy(files, tmp_path)
    done = run_cli("convert", "digits_cnn.tflite", "--levels", "32", "--clusters", "32",
                   "--dataset", "digits", "--out", "art", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["evaluation"]["held_out"] and report["converted"]["agreement"] >= 0.93
    # the executor's classes agree with the original model as the report says
    artifact = load_artifact(folder / "art")
    data = load_dataset("digits")
    x = np.asarray(data.x_test, np.float64)
    run = execute(graph_from_artifact(artifact), quantize_input(x, 256))
    model = load_model(folder / "digits_cnn.tflite")
    original = [int(np.argmax(run_float(model, x[i:i + 1].astype(np.float32))[0]))
                for i in range(len(x))]
    assert np.mean(run.outputs == np.array(original)) == report["converted"]["agreement"]
    for args in (("verify", "art"), ("simulate", "art", "--device", "nrf52840", "--frames", "5"),
                 ("codegen", "art", "--target", "rv32i", "--out", "c"),
                 ("validate", "art", "--device", "samd21", "--samples", "2")):
        done = run_cli(*args, cwd=folder, timeout=300)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "bit-exact: yes" in run_cli("verify", "art", cwd=folder).stdout


def test_same_padding_after_relu_is_bias_corrected_and_fine_tuning_recovers_the_rest(files,
                                                                                     tmp_path):
    """A same-padded depthwise convolution reads its padding as the middle of the previous
    layer's range where the original read 0 (docs/import.md §12): the bias correction
    keeps the agreement above 75%, 20 epochs of fine-tuning on 600 samples above 90%."""
    write_tflite_cnn(tmp_path / "dscnn.tflite", fit_relu(DSCNN, epochs=15), DSCNN)
    write_data(tmp_path / "tune.npz", "train", count=600)
    report = convert_model(tmp_path / "dscnn.tflite", Options(32, 32), dataset="digits",
                           finetune=tmp_path / "tune.npz").report
    assert 0.75 <= report["converted"]["agreement"] < 0.9 <= report["finetuned"]["agreement"]


def test_finetuning_is_deterministic_and_uses_the_original_classes_without_labels(files):
    options = Options(8, 16, epochs=2, seed=3)
    runs = [convert_model(files / "digits_mlp.onnx", options, data=files / "digits_test.npz",
                          finetune=files / "digits_unlabelled.npz") for _ in range(2)]
    assert build_files(runs[0].result) == build_files(runs[1].result)
    report = runs[0].report
    assert report["finetune"]["labels"] == "the original model's classes"
    assert report["finetune"]["samples"] == 200 and "finetuned" in report
    other = convert_model(files / "digits_mlp.onnx", Options(8, 16, epochs=2, seed=4),
                          data=files / "digits_test.npz", finetune=files / "digits_unlabelled.npz")
    assert build_files(other.result) != build_files(runs[0].result)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path.name


BAD_DATA = {
    "missing x": (lambda x, y: {"y": y}, "missing array 'x'"),
    "wrong shape": (lambda x, y: {"x": x.reshape(len(x), 64)}, "array 'x' has shape [364, 64]"),
    "nan": (lambda x, y: {"x": np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x)},
            "array 'x' holds 1 NaN or infinite value(s), the first at index [0, 0, 5, 0]"),
    "labels out of range": (lambda x, y: {"x": x, "y": y + 1}, "array 'y' holds labels 1..10"),
    "float labels": (lambda x, y: {"x": x, "y": y.astype(np.float32)}, "array 'y' is float32"),
    "extra array": (lambda x, y: {"x": x, "X": x}, "unexpected array(s) 'X'"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_one_error_naming_file_and_array(files, tmp_path, case):
    make, message = BAD_DATA[case]
    arrays = np.load(files / "digits_test.npz")
    name = _npz(tmp_path / "bad.npz", **make(arrays["x"], arrays["y"]))
    with pytest.raises(HwsimError) as error:
        convert_model(files / "digits_mlp.onnx", Options(8, 8), data=tmp_path / name)
    assert f"--data {tmp_path / name}: {message}" in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_data_on_the_command_line_exits_2_and_writes_nothing(files, tmp_path):
    shutil.copy(files / "digits_mlp.onnx", tmp_path)
    arrays = np.load(files / "digits_test.npz")
    name = _npz(tmp_path / "bad.npz", y=arrays["y"])
    done = run_cli("convert", "digits_mlp.onnx", "--levels", "8", "--clusters", "8", "--data",
                   name, "--out", "art", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "hwsim: error: --data bad.npz: missing array 'x' (the inputs, [N, ...])"]
    assert not (tmp_path / "art").exists()
    done = run_cli("convert", "digits_mlp.onnx", "--levels", "1", "--clusters", "8", cwd=tmp_path)
    assert done.returncode == 2 and "--levels: must be an integer from 2 to 256" in done.stderr


def test_no_data_and_both_sources_are_errors(files):
    with pytest.raises(HwsimError, match="no calibration data: give --data"):
        convert_model(files / "digits_mlp.onnx", Options(8, 8))
    with pytest.raises(HwsimError, match="give --data or --dataset, not both"):
        convert_model(files / "digits_mlp.onnx", Options(8, 8), data=files / "digits_test.npz",
                      dataset="digits")
    with pytest.raises(HwsimError, match="--dataset digits: its inputs are read as they are"):
        convert_model(files / "digits_mlp.onnx", Options(8, 8, input_range=(-1.0, 1.0)),
                      dataset="digits")


def test_every_unsupported_op_is_listed_in_one_error(tmp_path):
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    w = lambda *shape: numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32),  # noqa: E731
                                               f"w{len(inits)}")
    inits = []
    for shape in ((16, 64), (16, 16), (1,), (10, 16)):
        inits.append(w(*shape))
    nodes = [helper.make_node("Relu", ["x"], ["positive"]),
             helper.make_node("Flatten", ["positive"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w0"], ["h1"], transB=1),
             helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("Gemm", ["r1", "w1"], ["h2"], transB=1),
             helper.make_node("Add", ["h2", "r1"], ["sum"]),
             helper.make_node("Mul", ["sum", "w2"], ["scaled"]),
             helper.make_node("Gemm", ["scaled", "w3"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "residual", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 1, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [1, 10])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    (tmp_path / "residual.onnx").write_bytes(model.SerializeToString())
    write_data(tmp_path / "d.npz", count=8)
    done = run_cli("convert", "residual.onnx", "--levels", "8", "--clusters", "8", "--data",
                   "d.npz", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "residual.onnx: 2 problems" in done.stderr
    assert "a relu of the network input has no place" in done.stderr
    assert "a mul by a constant is not converted" in done.stderr
    assert "'sum'" not in done.stderr                 # the residual add itself converts


def test_int8_model_uses_its_quantized_input_range_and_activation_saturation(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from tests.test_import_tflite import kws_like_model
    (tmp_path / "kws.tflite").write_bytes(kws_like_model(np.random.default_rng(7)))
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "kws.npz", x=rng.integers(-128, 128, (12, 49, 10, 1)).astype(np.int8))
    report = convert_model(tmp_path / "kws.tflite", Options(32, 64),
                           data=tmp_path / "kws.npz").report
    assert report["arithmetic"] == "int8"
    assert report["input_range"] == [0.5 * (-128 + 20), 0.5 * (127 + 20)]
    assert report["converted"]["agreement"] >= 0.9


def convert_examples() -> list[tuple[str, str]]:
    return EXAMPLE.findall((REPO / "docs" / "import.md").read_text())


def test_the_page_has_its_convert_examples():
    assert len(convert_examples()) == 7


def test_convert_examples_print_what_the_page_shows(files, tmp_path):
    """In order, in one folder (the last example reads the artifact of the one before)."""
    folder = _copy(files, tmp_path)
    for command, expected in convert_examples():
        done = run_cli(*shlex.split(command), cwd=folder, timeout=300)
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout == expected, command


def test_verify_of_an_artifact_without_a_dataset_says_how_to_get_one(files, tmp_path):
    converted = convert_model(files / "digits_mlp.onnx", Options(8, 8),
                              data=files / "digits_test.npz")
    save_artifact(converted.result, tmp_path / "art")
    done = run_cli("verify", str(tmp_path / "art"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "names no dataset" in done.stderr and "--dataset NAME" in done.stderr
