"""The model artifact: round trip, byte-identical output, and clear errors for
truncated or tampered files."""
from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest

from hwsim.artifact.save import build_files, save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.datasets import load_dataset
from hwsim.errors import HwsimError, SpecError
from hwsim.ir.integer import integer_forward
from hwsim.train.network import quantize_input
from hwsim.train.pipeline import run_training
from tests.test_train_pipeline import small


@pytest.fixture(scope="module")
def result():
    return run_training(small("digits-mlp", discretization__activation_levels=8,
                              discretization__weight_clusters=16))


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory):
    return save_artifact(result, tmp_path_factory.mktemp("artifact") / "model")


@pytest.fixture
def copy_of(saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def _rewrite_json(directory, change):
    path = directory / "model.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _rewrite_npz(directory, change):
    path = directory / "model.npz"
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    np.savez(path, **arrays)


def test_round_trip_runs_identically(result, saved):
    artifact = load_artifact(saved)
    x = quantize_input(load_dataset("digits").x_test, 17)
    original = integer_forward(result.integer_model, x)
    loaded = integer_forward(artifact.integer_model, x)
    np.testing.assert_array_equal(original.sums, loaded.sums)
    assert artifact.document["metrics"] == result.metrics
    assert artifact.workload == result.workload
    for a, b in zip(artifact.discrete_params, result.discrete_params):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_same_training_same_bytes(result):
    again = run_training(result.workload)
    assert build_files(again) == build_files(result)


def test_no_pickle_needed(saved):
    with np.load(saved / "model.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_provenance(saved, result):
    doc = json.loads((saved / "model.json").read_text())
    assert doc["provenance"]["workload_sha256"] == result.workload.sha256
    assert doc["provenance"]["seed"] == 0
    assert set(doc["provenance"]["versions"]) == {"hwsim", "numpy", "python"}
    assert doc["integer"]["binding_bound"] in ("accumulator", "table_entry", "cap")


def test_missing_json_field(copy_of):
    _rewrite_json(copy_of, lambda d: d["integer"].pop("scale_bits"))
    with pytest.raises(SpecError, match=r"model\.json: integer\.scale_bits: missing field"):
        load_artifact(copy_of)


def test_missing_array(copy_of):
    _rewrite_npz(copy_of, lambda a: a.pop("layer2.thresholds", None) or a.pop("layer1.thresholds"))
    with pytest.raises(SpecError, match=r"layers\[1\]\.thresholds: array 'layer1\.thresholds' is "
                                        r"missing from model\.npz"):
        load_artifact(copy_of)


def test_index_out_of_range(copy_of):
    def corrupt(arrays):
        arrays["layer1.weight_index"] = arrays["layer1.weight_index"].copy()
        arrays["layer1.weight_index"][0, 0] = 16
    _rewrite_npz(copy_of, corrupt)
    with pytest.raises(SpecError, match=r"layers\[1\]\.weight_index: indices must lie in 0\.\.15, "
                                        r"found 0\.\.16"):
        load_artifact(copy_of)


def test_unsorted_thresholds(copy_of):
    _rewrite_npz(copy_of, lambda a: a.update({"layer1.thresholds": a["layer1.thresholds"][::-1]}))
    with pytest.raises(SpecError, match=r"layers\[1\]\.thresholds: must be sorted ascending"):
        load_artifact(copy_of)


def test_table_shape_mismatch(copy_of):
    _rewrite_npz(copy_of, lambda a: a.update({"tables.input": a["tables.input"][:-1]}))
    with pytest.raises(SpecError, match=r"layers\[1\]\.table: table 'input' has 17 rows, a layer "
                                        r"with 17 input levels needs 18"):
        load_artifact(copy_of)


def test_tampered_values_caught_by_hash(copy_of):
    def corrupt(arrays):
        arrays["tables.hidden"] = arrays["tables.hidden"].copy()
        arrays["tables.hidden"][0, 0] += 1
    _rewrite_npz(copy_of, corrupt)
    with pytest.raises(SpecError, match=r"npz_sha256: model\.npz does not match this model\.json"):
        load_artifact(copy_of)


def test_truncated_npz(copy_of):
    data = (copy_of / "model.npz").read_bytes()
    (copy_of / "model.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(HwsimError, match=r"model\.npz: not a readable \.npz archive"):
        load_artifact(copy_of)


def test_truncated_json(copy_of):
    text = (copy_of / "model.json").read_text()
    (copy_of / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(HwsimError, match=r"model\.json: invalid JSON"):
        load_artifact(copy_of)


def test_pickled_npz_refused(copy_of):
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(copy_of / "model.npz", "a") as archive:
        archive.writestr("evil.npy", buffer.getvalue())
    with pytest.raises(HwsimError):
        load_artifact(copy_of)


def test_not_an_artifact(tmp_path):
    with pytest.raises(HwsimError, match=r"model\.json: missing; not a model artifact"):
        load_artifact(tmp_path)


def test_hidden_layer_without_thresholds(copy_of):
    _rewrite_json(copy_of, lambda d: d["layers"][1].update({"thresholds": None}))
    with pytest.raises(SpecError, match=r"layers\[1\]\.thresholds: missing: this layer is "
                                        r"followed by an activation"):
        load_artifact(copy_of)


def test_layer_entry_not_an_object(copy_of):
    _rewrite_json(copy_of, lambda d: d["layers"].__setitem__(0, 7))
    with pytest.raises(SpecError, match=r"layers\[0\]: must be an object, got 7"):
        load_artifact(copy_of)


def test_copied_fields_must_agree(copy_of):
    _rewrite_json(copy_of, lambda d: d["input"].update({"levels": 9}))
    with pytest.raises(SpecError, match=r"input\.levels: must be 17 \(as in provenance\.workload\)"):
        load_artifact(copy_of)


def test_embedded_workload_hash_checked(copy_of):
    _rewrite_json(copy_of, lambda d: d["provenance"]["workload"].update({"description": "x"}))
    with pytest.raises(SpecError, match=r"provenance\.workload_sha256: does not match"):
        load_artifact(copy_of)


def test_clustered_only_artifact_keeps_its_weights(tmp_path):
    result = run_training(small("digits-mlp", discretization__activation_levels="continuous",
                                discretization__weight_clusters=8))
    artifact = load_artifact(save_artifact(result, tmp_path / "k8"))
    assert artifact.integer_model is None
    values = np.concatenate([p[k].ravel() for p in artifact.discrete_params for k in p])
    assert len(np.unique(values)) == 8
