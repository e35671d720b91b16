"""`hwsim convert` on graphs: residual networks (an identity shortcut in TFLite, two
weighted branches in ONNX) and an auto-encoder, fitted on digits
(tests/convert_models.py), become the paper's network; the artifacts verify bit for bit,
simulate, generate code and validate in emulation; what the converted add cannot read
is one error."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("tflite")

from hwsim.artifact.load import load_artifact  # noqa: E402
from hwsim.artifact.save import build_files, save_artifact  # noqa: E402
from hwsim.execute.verify import verify_artifact  # noqa: E402
from hwsim.importers.convert import Options, convert_model  # noqa: E402
from hwsim.importers.float_network import float_forward, float_network  # noqa: E402
from hwsim.importers.float_reference import run_float  # noqa: E402
from hwsim.importers.load import load_model  # noqa: E402
from hwsim.importers.network import workload_from_model  # noqa: E402
from hwsim.ir import layers as IL  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.convert_models import RESIDUAL_MLP, fit_graph, write_onnx_residual_mlp  # noqa: E402


@pytest.fixture(scope="module")
def residual_mlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "digits_residual_mlp.onnx"
    return write_onnx_residual_mlp(path, fit_graph(RESIDUAL_MLP, epochs=20))


@pytest.mark.parametrize("name", ["digits_resnet.tflite", "digits_ae.onnx", "residual_mlp"])
def test_the_float_network_follows_the_graph(convert_files, residual_mlp, name):
    path = residual_mlp if name == "residual_mlp" else convert_files / name
    model = load_model(path)
    net = float_network(model, workload_from_model(model))
    x = np.load(convert_files / "digits_test.npz")["x"][:30]
    ours, _ = float_forward(net, None, x)
    theirs = np.concatenate([run_float(model, x[i:i + 1])[0] for i in range(len(x))])
    if name == "residual_mlp":                     # softmax at the end: compare classes
        assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    else:
        np.testing.assert_allclose(ours, theirs.reshape(ours.shape), rtol=1e-4, atol=1e-4)


def test_two_weighted_branches_convert_and_verify(convert_files, residual_mlp, tmp_path):
    converted = convert_model(residual_mlp, Options(16, 32),
                              data=convert_files / "digits_test.npz")
    assert converted.report["converted"]["agreement"] >= 0.93
    model = converted.result.integer_model
    assert isinstance(model.layers[4].layer, IL.Add) and model.inputs[4] == (2, 3)
    out = save_artifact(converted.result, tmp_path / "art")
    report = verify_artifact(load_artifact(out), data=convert_files / "digits_test.npz")
    assert report.passed and report.comparison.integer == converted.report["converted"]["accuracy"]


def test_identity_shortcut_converts_fine_tunes_and_validates(convert_files, tmp_path):
    """The TFLite add (fused ReLU) of a raw convolution and an activated one: it reads
    the activated one through the value table at that one's scale."""
    folder = tmp_path
    for name in ("digits_resnet.tflite", "digits_unlabelled_train.npz"):
        shutil.copy(convert_files / name, folder / name)
    done = run_cli("convert", "digits_resnet.tflite", "--levels", "32", "--clusters", "32",
                   "--dataset", "digits", "--finetune", "digits_unlabelled_train.npz",
                   "--out", "art", "--json", cwd=folder, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["converted"]["agreement"] >= 0.8
    assert report["finetuned"]["agreement"] > report["converted"]["agreement"]
    artifact = load_artifact(folder / "art")
    assert "value_tables" in artifact.document
    for args in (("verify", "art"), ("simulate", "art", "--device", "nrf52840", "--frames", "3"),
                 ("codegen", "art", "--target", "rv32i", "--out", "c"),
                 ("validate", "art", "--device", "samd21", "--samples", "2")):
        done = run_cli(*args, cwd=folder, timeout=300)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "bit-exact: yes" in run_cli("verify", "art", cwd=folder).stdout


def test_fine_tuning_a_graph_is_deterministic(convert_files):
    options = Options(8, 16, epochs=1)
    runs = [convert_model(convert_files / "digits_resnet.tflite", options,
                          data=convert_files / "digits_test.npz",
                          finetune=convert_files / "digits_unlabelled.npz") for _ in range(2)]
    assert build_files(runs[0].result) == build_files(runs[1].result)


def test_an_autoencoder_converts_to_its_reconstruction(convert_files, tmp_path):
    converted = convert_model(convert_files / "digits_ae.onnx", Options(16, 32),
                              dataset="digits")
    report = converted.report
    assert report["task"] == "autoencoder" and report["evaluation"]["held_out"]
    assert report["converted"]["correlation"] >= 0.9
    assert report["converted"]["mse"] < report["original_mse"]
    coarse = convert_model(convert_files / "digits_ae.onnx", Options(4, 8), dataset="digits")
    assert coarse.report["converted"]["mse"] > report["converted"]["mse"]
    out = save_artifact(converted.result, tmp_path / "ae")
    verified = verify_artifact(load_artifact(out))
    assert verified.passed and verified.comparison.metric == "mse"
    done = run_cli("validate", str(out), "--device", "samd21", "--samples", "2", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_add_the_conversion_cannot_read_is_one_error(tmp_path):
    """Two activated inputs: the converted add reads one level tensor at its own scale."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)
             for name, shape in (("w0", (16, 64)), ("w1", (16, 16)), ("w2", (10, 16)))]
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w0"], ["h0"], transB=1),
             helper.make_node("Relu", ["h0"], ["r0"]),
             helper.make_node("Gemm", ["r0", "w1"], ["h1"], transB=1),
             helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("Add", ["r0", "r1"], ["sum"]),
             helper.make_node("Gemm", ["sum", "w2"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "two_levels", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 1, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [1, 10])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    (tmp_path / "two.onnx").write_bytes(model.SerializeToString())
    np.savez(tmp_path / "d.npz", x=rng.random((8, 8, 8, 1)).astype(np.float32))
    done = run_cli("convert", "two.onnx", "--levels", "8", "--clusters", "8", "--data", "d.npz",
                   cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "adds 2 activated tensors" in done.stderr and "no input is a weighted layer" \
        in done.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("workload, shape", [("ic-resnet8", (32, 32, 3)), ("ad-autoencoder", (640,))])
def test_the_mlperf_layouts_convert_and_run_bit_exactly(workload, shape, tmp_path):
    """The int8 TFLite layouts of the MLPerf ResNet-8 (identity and 1x1 stride-2
    shortcuts) and AD auto-encoder, random weights (tests/test_import_network.py):
    the conversion keeps their graph (parameters and MACs of the shape-only workload) and
    its integer network runs bit-exactly in the executor."""
    from hwsim.ir.graph import graph_from_artifact, graph_from_workload, totals
    from hwsim.specs.workload import load_workload
    from tests.test_import_network import ad_autoencoder_tflite, resnet8_tflite
    build = resnet8_tflite if workload == "ic-resnet8" else ad_autoencoder_tflite
    (tmp_path / "m.tflite").write_bytes(build(np.random.default_rng(1)))
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "x.npz", x=rng.integers(-128, 128, (4, *shape)).astype(np.int8))
    converted = convert_model(tmp_path / "m.tflite", Options(32, 256), data=tmp_path / "x.npz")
    artifact = load_artifact(save_artifact(converted.result, tmp_path / "art"))
    assert totals(graph_from_artifact(artifact)) == totals(graph_from_workload(
        load_workload(workload)))
    assert sum(isinstance(layer, IL.Add) for layer in artifact.workload.layers) == \
        (3 if workload == "ic-resnet8" else 0)
    assert verify_artifact(artifact, data=tmp_path / "x.npz").bit_exact
