"""`hwsim verify ARTIFACT --data FILE.npz`: a converted artifact keeps its input encoding
(the original model's input tensor, quantization and range, and a description of its
data) in model.json, and verify runs it on the user's data in the original format."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("onnx")

from hwsim.artifact.load import load_artifact  # noqa: E402
from hwsim.artifact.save import save_artifact  # noqa: E402
from hwsim.datasets import load_dataset  # noqa: E402
from hwsim.errors import HwsimError, SpecError  # noqa: E402
from hwsim.execute.verify import verify_artifact  # noqa: E402
from hwsim.importers.convert import Options, convert_model  # noqa: E402
from hwsim.train.pipeline import run_training  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.convert_models import MLP, fit_relu, write_data, write_onnx_mlp  # noqa: E402
from tests.test_train_pipeline import small  # noqa: E402


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """An ONNX MLP converted on labelled digits data in a range that is not [0, 1]
    (x * 4 - 1), so the stored range matters; the artifact and the conversion report."""
    folder = tmp_path_factory.mktemp("verify_data")
    write_onnx_mlp(folder / "mlp.onnx", fit_relu(MLP, epochs=10))
    write_data(folder / "test.npz")
    data = np.load(folder / "test.npz")
    np.savez(folder / "shifted.npz", x=data["x"] * 4 - 1, y=data["y"])
    np.savez(folder / "unlabelled.npz", x=data["x"][:50] * 4 - 1)
    conversion = convert_model(folder / "mlp.onnx", Options(16, 16), data=folder / "shifted.npz")
    save_artifact(conversion.result, folder / "art")
    return folder, conversion.report


def test_the_artifact_stores_the_input_encoding_and_the_data_description(converted):
    folder, report = converted
    doc = json.loads((folder / "art" / "model.json").read_text())
    encoding = doc["input"]["encoding"]
    assert encoding["dtype"] == "float32" and encoding["scale"] is None
    assert encoding["range"] == report["input_range"]
    assert encoding["range"][0] == pytest.approx(-1.0) and encoding["range"][1] > 2.0
    assert encoding["shape"] == [8, 8, 1]
    assert encoding["data"]["calibration"] == {"source": "shifted.npz",
                                               "samples": report["calibration"]["samples"],
                                               "labels": True}
    assert encoding["data"]["original_model"] == "mlp.onnx"
    loaded = load_artifact(folder / "art").input_encoding
    assert (loaded.low, loaded.high) == tuple(report["input_range"])


def test_verify_on_the_conversion_data_reproduces_the_conversion_scores(converted):
    folder, report = converted
    result = verify_artifact(load_artifact(folder / "art"), data=folder / "shifted.npz")
    assert result.passed and result.bit_exact
    assert result.split == "data shifted.npz" and result.samples == report["evaluation"]["samples"]
    # the integer network on the same samples: the accuracy hwsim convert reported
    assert result.comparison.integer == report["converted"]["accuracy"]
    assert result.comparison.agreement >= 0.95


def test_verify_without_labels_reports_agreement_only(converted):
    folder, _ = converted
    done = run_cli("verify", str(folder / "art"), "--data", str(folder / "unlabelled.npz"),
                   "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["bit_exact"] and report["samples"] == 50
    assert report["float_comparison"]["integer"] is None
    assert report["float_comparison"]["agreement"] >= 0.95
    text = run_cli("verify", str(folder / "art"), "--data", str(folder / "unlabelled.npz"))
    assert "data unlabelled.npz, 50 samples" in text.stdout
    assert "accuracy n/a (no labels)" in text.stdout


def _bad_files(folder, tmp_path) -> dict:
    data = np.load(folder / "shifted.npz")
    x, y = data["x"], data["y"]
    cases = {
        "missing x": ({"y": y}, "missing array 'x' (the inputs, [N, ...])"),
        "wrong shape": ({"x": x.reshape(len(x), 64)}, "array 'x' has shape [364, 64]; the "
                        "model's input"),
        "wrong dtype": ({"x": x > 0}, "array 'x' is bool"),
        "labels": ({"x": x, "y": y[:-1]}, "array 'y' is int64 [363]"),
    }
    files = {}
    for name, (arrays, message) in cases.items():
        path = tmp_path / (name.replace(" ", "_") + ".npz")
        np.savez(path, **arrays)
        files[name] = (path, message)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((folder / "shifted.npz").read_bytes()[:500])
    files["truncated"] = (truncated, "not a readable .npz archive")
    return files


def test_bad_data_files_are_one_error_naming_file_and_array(converted, tmp_path):
    folder, _ = converted
    for name, (path, message) in _bad_files(folder, tmp_path).items():
        done = run_cli("verify", str(folder / "art"), "--data", str(path))
        assert done.returncode == 2 and "Traceback" not in done.stderr, name
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and message in lines[0], (name, lines)
    done = run_cli("verify", str(folder / "art"), "--data", str(folder / "test.npz"),
                   "--split", "train")
    assert done.returncode == 2 and "give --data or --split, not both" in done.stderr


def test_an_int8_model_keeps_its_input_quantization(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from tests.test_import_tflite import kws_like_model
    (tmp_path / "kws.tflite").write_bytes(kws_like_model(np.random.default_rng(7)))
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (12, 49, 10, 1)).astype(np.int8)
    np.savez(tmp_path / "kws.npz", x=x)
    conversion = convert_model(tmp_path / "kws.tflite", Options(8, 16), data=tmp_path / "kws.npz")
    save_artifact(conversion.result, tmp_path / "art")
    artifact = load_artifact(tmp_path / "art")
    tensor = artifact.input_encoding.tensor
    assert (tensor.dtype, tensor.scale, tensor.zero_point) == ("int8", 0.5, -20)
    result = verify_artifact(artifact, data=tmp_path / "kws.npz")
    assert result.bit_exact and result.comparison.integer is None
    np.savez(tmp_path / "floats.npz", x=x.astype(np.float32))
    with pytest.raises(HwsimError, match=r"--data .*floats.npz: array 'x' is float32; input "
                                         r".* takes integers \(int8\)"):
        verify_artifact(artifact, data=tmp_path / "floats.npz")
    np.savez(tmp_path / "wide.npz", x=x.astype(np.int16) * 2)
    with pytest.raises(HwsimError, match="outside input .*'s int8 range -128..127"):
        verify_artifact(artifact, data=tmp_path / "wide.npz")


def test_a_tampered_encoding_is_named(converted, tmp_path):
    folder, _ = converted
    shutil.copytree(folder / "art", tmp_path / "art")
    path = tmp_path / "art" / "model.json"
    doc = json.loads(path.read_text())
    doc["input"]["encoding"]["range"] = [3.0, -1.0]
    doc["input"]["encoding"]["dtype"] = "complex"
    path.write_text(json.dumps(doc))
    with pytest.raises(SpecError) as error:
        load_artifact(tmp_path / "art")
    text = str(error.value)
    assert "input.encoding.range" in text and "input.encoding.dtype" in text


def test_a_trained_artifact_reads_floats_in_0_1(tmp_path):
    result = run_training(small("digits-mlp", discretization__activation_levels=8,
                                discretization__weight_clusters=16))
    save_artifact(result, tmp_path / "art")
    data = load_dataset("digits")
    np.savez(tmp_path / "test.npz", x=data.x_test.astype(np.float32), y=data.y_test)
    artifact = load_artifact(tmp_path / "art")
    assert artifact.input_encoding is None
    on_file = verify_artifact(artifact, data=tmp_path / "test.npz")
    on_split = verify_artifact(artifact)
    assert on_file.bit_exact and on_file.comparison == on_split.comparison
