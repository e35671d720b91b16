"""`hwsim report`, the main job, on a small plan through the real console script."""
from __future__ import annotations

import json

import pytest
import yaml

from hwsim.specs.yaml_reader import read_yaml
from tests.conftest import REPO, run_cli


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["name"] = "quick-mlp"
    data["training"].update(epochs=2, finetune_epochs=1)
    path = root / "quick-mlp.yaml"
    path.write_text(yaml.safe_dump(data))
    return root, path


def _report(root, path, out, jobs=1, cache="cache"):
    return run_cli("report", "--workloads", f"{path},sww-dscnn", "--devices", "samd21,nrf52840",
                   "--sweep", str(path), "--sweep-levels", "4,8", "--sweep-clusters", "4,16",
                   "--jobs", str(jobs), "--out", str(out), "--cache", str(root / cache), cwd=root)


def test_main_job_writes_summary_and_dashboard(quick):
    root, path = quick
    first = _report(root, path, root / "one")
    assert first.returncode == 0, first.stderr
    for text in ("quick-mlp", "bit-exact", "fit RAM, flash and deadline", "least energy",
                 "summary:", "dashboard:"):
        assert text in first.stdout
    doc = json.loads((root / "one" / "summary.json").read_text())
    assert doc["format"] == "hwsim-results"
    assert len(doc["compare"]) == 2 * 2 * 3
    assert len(doc["sweep"]) == 2 * 2 * 2 * 3
    assert doc["training"][0]["bit_exact"] is True
    assert {d["style"] for d in doc["details"]} == {"lut", "int8", "float32"}
    assert (root / "one" / "index.html").stat().st_size > 100_000

    second = _report(root, path, root / "two")          # warm: everything from the cache
    assert second.returncode == 0, second.stderr
    assert (root / "one" / "summary.json").read_bytes() == (root / "two" / "summary.json").read_bytes()
    page_one = (root / "one" / "index.html").read_text().replace(str(root / "one"), "OUT")
    page_two = (root / "two" / "index.html").read_text().replace(str(root / "two"), "OUT")
    assert page_one == page_two


def test_training_in_worker_processes_gives_the_same_document(quick):
    # Two jobs: the untrained workload trains in a worker process while this one costs
    # the crossover; one job: everything here, one after the other. Same bytes.
    root, path = quick
    inline = _report(root, path, root / "inline", jobs=1, cache="cache-inline")
    workers = _report(root, path, root / "workers", jobs=2, cache="cache-workers")
    assert inline.returncode == 0 and workers.returncode == 0, inline.stderr + workers.stderr
    assert (root / "inline" / "summary.json").read_bytes() == \
        (root / "workers" / "summary.json").read_bytes()


def test_bad_input(quick):
    root, _ = quick
    result = run_cli("report", "--devices", "pentium", "--out", str(root / "bad"),
                     "--cache", str(root / "cache"), cwd=root)
    assert result.returncode == 2
    assert "unknown device 'pentium'" in result.stderr and "Traceback" not in result.stderr
    assert not (root / "bad").exists()
    result = run_cli("report", "--sweep-levels", "x", cwd=root)
    assert result.returncode == 2 and "is not an integer" in result.stderr
