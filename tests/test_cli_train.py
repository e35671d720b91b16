"""`hwsim train` through the real console script."""
from __future__ import annotations

import json

import pytest
import yaml

from hwsim.specs.yaml_reader import read_yaml
from tests.conftest import REPO, run_cli


@pytest.fixture(scope="module")
def quick_workload(tmp_path_factory):
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["name"] = "quick-mlp"
    data["training"].update(epochs=2, finetune_epochs=1)
    data["discretization"].update(activation_levels=8, weight_clusters=16)
    path = tmp_path_factory.mktemp("workloads") / "quick-mlp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_writes_artifact_and_reports(quick_workload, tmp_path):
    result = run_cli("train", str(quick_workload), "--out", str(tmp_path / "a"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quick-mlp: L=8 K=16 seed=0" in result.stdout
    assert "test accuracy: continuous" in result.stdout and "integer" in result.stdout
    assert "weights:" in result.stdout
    assert (tmp_path / "a" / "model.json").is_file() and (tmp_path / "a" / "model.npz").is_file()
    # int8 input statistics recorded at export (docs/model-format.md section 2.13)
    statistics = json.loads((tmp_path / "a" / "model.json").read_text())["int8_input_statistics"]
    assert sorted(statistics["layers"]) == ["1", "2"] and statistics["samples"] == 256
    assert "continuous" in result.stderr and "discretized" in result.stderr  # progress


def test_train_is_byte_identical(quick_workload, tmp_path):
    for name in ("one", "two"):
        result = run_cli("train", str(quick_workload), "--out", str(tmp_path / name), "--json")
        assert result.returncode == 0, result.stderr
    for file in ("model.json", "model.npz"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes()


def test_overrides_and_init_from(quick_workload, tmp_path):
    first = run_cli("train", str(quick_workload), "--out", str(tmp_path / "base"), "--json")
    assert first.returncode == 0, first.stderr
    tuned = run_cli("train", str(quick_workload), "--levels", "4", "--clusters", "4",
                    "--init-from", str(tmp_path / "base"), "--out", str(tmp_path / "tuned"),
                    "--json")
    assert tuned.returncode == 0, tuned.stderr
    summary = json.loads(tuned.stdout)
    assert summary["activation_levels"] == 4 and summary["weight_clusters"] == 4
    assert summary["metrics"]["unique_weights"] == {"global": 4}
    base = json.loads(first.stdout)
    assert summary["metrics"]["continuous"] == base["metrics"]["continuous"]
    doc = json.loads((tmp_path / "tuned" / "model.json").read_text())
    assert doc["provenance"]["init_from_sha256"]


def test_bad_workload_lists_every_problem(tmp_path):
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["layers"][1]["type"] = "lstm"
    data["discretization"]["activation_levels"] = 1
    data["integer"]["accumulator_bits"] = 12
    data["training"]["epochs"] = -2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_cli("train", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for expected in ("layers[1].type", "discretization.activation_levels",
                     "integer.accumulator_bits", "training.epochs"):
        assert f"{path}: {expected}:" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,message", [
    (["nosuch"], "unknown workload 'nosuch'"),
    (["digits-mlp", "--levels", "1"], "--levels: must be an integer from 2 to 256"),
    (["digits-mlp", "--clusters", "lots"], "--clusters: must be an integer from 2 to 4096"),
    (["digits-mlp", "--seed", "-1"], "--seed: must be a non-negative integer"),
    (["digits-mlp", "--init-from", "/nonexistent/artifact"], "not an artifact directory"),
])
def test_user_errors(tmp_path, args, message):
    result = run_cli("train", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output(quick_workload, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("train", str(quick_workload), "--out", str(blocker / "sub"))
    assert result.returncode == 2
    assert "cannot create the artifact directory" in result.stderr
    assert "is not a directory" in result.stderr


def test_existing_file_as_output_fails_before_training(quick_workload, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("train", str(quick_workload), "--out", str(blocker))
    assert result.returncode == 2 and "exists and is not a directory" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert blocker.read_text() == "not a directory"
