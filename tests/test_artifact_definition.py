"""The loader checks an artifact against its own definition (tables, thresholds,
bounds and scale recomputed from the stored codebooks and levels), proves the
accumulator cannot overflow, and verify fails when the integer network stops
standing for the float-simulated one."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest

from hwsim.artifact.load import load_artifact
from hwsim.artifact.save import save_artifact
from hwsim.errors import HwsimError, SpecError
from hwsim.execute.verify import MIN_AGREEMENT, verify_artifact
from hwsim.ir.integer import accumulator_overflows, check_accumulator
from hwsim.train.pipeline import run_training
from tests.conftest import run_cli
from tests.test_graph import tiny
from tests.test_verify import _rewrite_npz


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("definition") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    return path


def _copy(mlp_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(mlp_dir, copy)
    return copy


def _first_table(arrays):
    return next(name for name in sorted(arrays) if name.startswith("tables."))


def _reverse_level_rows(arrays, name=None):
    name = name or _first_table(arrays)
    table = arrays[name]
    arrays[name] = np.concatenate([table[:-1][::-1], table[-1:]])   # bias row stays last


def _reverse_hidden(arrays):
    names = [n for n in sorted(arrays) if n.startswith("tables.")]
    _reverse_level_rows(arrays, names[-1])


def _nan_codebook(arrays):
    name = next(n for n in sorted(arrays) if n.startswith("codebook."))
    book = arrays[name].copy()
    book[0] = np.nan
    arrays[name] = book


def _scaled_codebook(arrays):
    name = next(n for n in sorted(arrays) if n.startswith("codebook."))
    arrays[name] = arrays[name] * 1.5


def _bump_one_entry(arrays):
    name = _first_table(arrays)
    table = arrays[name].copy()
    table[1, 0] += 1
    arrays[name] = table


def _threshold_shift(arrays):
    name = next(n for n in sorted(arrays) if n.endswith(".thresholds"))
    arrays[name] = arrays[name] + 1


@pytest.mark.parametrize("change, message", [
    (_reverse_level_rows, "is not its definition"),
    (_reverse_hidden, "is not its definition"),
    (_bump_one_entry, "is not its definition"),
    (_scaled_codebook, "is not its definition"),
    (_nan_codebook, "non-finite"),
    (_threshold_shift, "thresholds: are not ceil"),
])
def test_tampered_npz_with_updated_hash_is_refused(mlp_dir, tmp_path, change, message):
    copy = _copy(mlp_dir, tmp_path)
    _rewrite_npz(copy, change, rehash=True)
    with pytest.raises(SpecError, match=message):
        load_artifact(copy)
    result = run_cli("verify", str(copy))
    assert result.returncode == 2 and message in result.stderr
    assert "bit-exact: yes" not in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize("scale", [10 ** 6, -5, 41])
def test_absurd_scale_bits_refused(mlp_dir, tmp_path, scale):
    copy = _copy(mlp_dir, tmp_path)
    doc = json.loads((copy / "model.json").read_text())
    doc["integer"]["scale_bits"] = scale
    (copy / "model.json").write_text(json.dumps(doc))
    with pytest.raises(SpecError, match="integer.scale_bits: must be in 0..40"):
        load_artifact(copy)


def test_consistent_but_lower_scale_is_refused_too(mlp_dir, tmp_path):
    """Changing scale_bits alone leaves the tables disagreeing with it."""
    copy = _copy(mlp_dir, tmp_path)
    doc = json.loads((copy / "model.json").read_text())
    doc["integer"]["scale_bits"] -= 1
    (copy / "model.json").write_text(json.dumps(doc))
    with pytest.raises(SpecError, match="is not its definition"):
        load_artifact(copy)


def test_accumulator_overflow_is_proved_statically(mlp_dir):
    model = load_artifact(mlp_dir).integer_model
    assert accumulator_overflows(model) == []
    check_accumulator(model, "ok")
    name = next(iter(model.tables))
    huge = {**model.tables, name: model.tables[name] * (1 << 28)}
    broken = dataclasses.replace(model, tables=huge)
    found = accumulator_overflows(broken)
    assert found and "beyond the 32-bit accumulator" in found[0][1]
    with pytest.raises(HwsimError, match=r"^my-artifact: the integer network can overflow "
                                         r"its accumulator: layers\[\d+\]"):
        check_accumulator(broken, "my-artifact")


def test_verify_fails_on_disagreement_with_the_float_network(mlp_dir, monkeypatch):
    report = verify_artifact(load_artifact(mlp_dir))
    assert report.passed and report.bit_exact and report.float_problems == []
    low = dataclasses.replace(report, comparison=dataclasses.replace(
        report.comparison, agreement=MIN_AGREEMENT - 0.01))
    assert not low.passed and "below the 95% tolerance" in low.float_problems[0]
    nan = dataclasses.replace(report, comparison=dataclasses.replace(
        report.comparison, rmse=float("nan")))
    assert not nan.passed and "rmse is not finite" in nan.float_problems[0]
    json.dumps(nan.as_dict(), allow_nan=False)          # still valid JSON

    from hwsim.cli import main, verify as cli_verify
    monkeypatch.setattr(cli_verify, "verify_artifact", lambda artifact, split, data=None: low)
    assert main(["verify", str(mlp_dir)]) == 1
