"""`hwsim verify`: the executor against the trainer, node by node, through the real
console script and the library."""
from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from hwsim.ir.graph import replace_op
from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_artifact
from hwsim.train.pipeline import run_training
from hwsim.execute.verify import first_mismatch, verify_artifact
from tests.conftest import run_cli
from tests.test_graph import tiny


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("artifacts") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    return path


def test_cli_bit_exact(mlp_dir):
    result = run_cli("verify", str(mlp_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"digits-mlp: test split, 364 samples ({mlp_dir})")
    assert "bit-exact: yes, 5 nodes and" in out
    assert "integer vs float-simulated: accuracy" in out and "agreement" in out
    assert "rmse" in out and "cos" in out
    assert "0 multiplies, 0 float ops" in out
    assert "L1.dense" in out and "L1.threshold" in out


def test_cli_json_and_train_split(mlp_dir):
    result = run_cli("verify", str(mlp_dir), "--split", "train", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bit_exact"] is True and report["mismatch"] is None
    assert (report["split"], report["samples"], report["nodes_compared"]) == ("train", 1433, 5)
    # every node's output for every sample: 64 + 128 + 128 + 10 + 1 values per sample
    assert report["values_compared"] == 1433 * (64 + 128 + 128 + 10 + 1)
    counts = report["counts_per_inference"]
    assert counts["multiplies"] == counts["float_ops"] == 0
    assert counts["table_loads"] == 64 * 128 + 128 + 128 * 10 + 10
    assert report["node_counts_per_inference"]["L1.threshold"]["op"] == "threshold"
    fc = report["float_comparison"]
    assert fc["metric"] == "accuracy" and 0.8 < fc["integer"] <= 1 and fc["cosine"] > 0.99
    assert set(fc) == {"metric", "integer", "float_simulated", "agreement", "rmse", "mae",
                       "l2_relative", "cosine"}


def _rewrite_npz(directory, change, rehash: bool) -> None:
    with np.load(directory / "model.npz") as z:
        arrays = {name: z[name] for name in z.files}
    change(arrays)
    np.savez(directory / "model.npz", **arrays)
    if rehash:
        doc = json.loads((directory / "model.json").read_text())
        doc["npz_sha256"] = hashlib.sha256((directory / "model.npz").read_bytes()).hexdigest()
        (directory / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("change, rehash, message", [
    (lambda a: a.__setitem__("layer1.thresholds", a["layer1.thresholds"] + 1), False,
     "npz_sha256: model.npz does not match this model.json"),
    (lambda a: a.__setitem__("layer1.thresholds", a["layer1.thresholds"][::-1].copy()), True,
     "layers[1].thresholds: must be sorted ascending"),
    (lambda a: a.__setitem__("layer2.weight_index", a["layer2.weight_index"] + 40), True,
     "layers[2].weight_index: indices must lie in 0..31"),
])
def test_cli_tampered_artifact(mlp_dir, tmp_path, change, rehash, message):
    copy = tmp_path / "tampered"
    shutil.copytree(mlp_dir, copy)
    _rewrite_npz(copy, change, rehash)
    result = run_cli("verify", str(copy))
    assert result.returncode == 2
    assert result.stderr.startswith("hwsim: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_user_errors(tmp_path):
    missing = run_cli("verify", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not an artifact directory" in missing.stderr
    split = run_cli("verify", str(tmp_path), "--split", "validation")
    assert split.returncode == 2 and "invalid choice: 'validation'" in split.stderr


def _corrupted(artifact):
    """The artifact's graph with every threshold of layer 1 raised by 2^12."""
    g = graph_from_artifact(artifact)
    replace_op(g, "L1.threshold", thresholds=g.nodes["L1.threshold"]["op"].thresholds + 4096)
    return g


def test_a_corrupted_graph_is_a_mismatch(mlp_dir):
    artifact = load_artifact(mlp_dir)
    report = verify_artifact(artifact, graph=_corrupted(artifact))
    m = report.mismatch
    assert not report.bit_exact and m.node == "L1.threshold" and m.layer_index == 1
    assert m.got is not None and m.expected is not None and m.got < m.expected
    assert report.nodes_compared == 3        # flatten and dense agreed, then the mismatch
    assert report.values_compared == 364 * (64 + 128)


def test_first_mismatch_is_the_first_sample_then_unit():
    expected = np.zeros((3, 2, 2), dtype=np.int64)
    got = expected.copy()
    got[2, 0, 0], got[1, 1, 0] = 5, 7
    m = first_mismatch("n", 4, expected, got)
    assert (m.sample, m.unit, m.expected, m.got) == (1, 2, 0, 7)
    assert first_mismatch("n", 4, expected, expected) is None
    assert "shape" in first_mismatch("n", 4, expected, got[:, :1]).detail


def test_cli_mismatch_exits_1(mlp_dir, monkeypatch, capsys):
    import hwsim.cli.verify as cli_verify

    def corrupted(artifact, split, data=None):
        return verify_artifact(artifact, split=split, data=data, graph=_corrupted(artifact))
    monkeypatch.setattr(cli_verify, "verify_artifact", corrupted)
    assert main(["verify", str(mlp_dir)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH at node 'L1.threshold' (layer 1), sample" in out and "trainer" in out


def test_autoencoder_and_errors(tmp_path):
    save_artifact(run_training(tiny("digits-ae")), tmp_path / "ae")
    report = verify_artifact(load_artifact(tmp_path / "ae"))
    assert report.bit_exact and report.samples == 364
    c = report.comparison
    assert c.metric == "mse" and 0 <= c.integer < 0.2 and c.agreement > 0.9 and c.cosine > 0.99
    assert report.per_inference.multiplies == report.per_inference.float_ops == 0
    with pytest.raises(HwsimError, match="split must be 'test' or 'train'"):
        verify_artifact(load_artifact(tmp_path / "ae"), split="dev")
