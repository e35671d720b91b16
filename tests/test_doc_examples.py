"""Numbers shown in docs/ come from the code: docs/model-format.md's worked example
is recomputed from a freshly trained artifact (tests/doc_examples.py), and
docs/graph.md's sample verify output is the current render of the same command."""
from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.doc_examples import build, model_format_facts


@pytest.fixture(scope="module")
def documented(tmp_path_factory):
    return build(tmp_path_factory.mktemp("doc-example") / "doc-example")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_model_format_worked_example_is_current(documented):
    doc = _normal((REPO / "docs" / "model-format.md").read_text())
    stale = {name: text for name, text in model_format_facts(*documented).items()
             if _normal(text) not in doc}
    assert not stale, ("docs/model-format.md shows numbers the code no longer gives; "
                       "regenerate with `python -m tests.doc_examples`:\n" +
                       "\n".join(f"{name}: {text}" for name, text in stale.items()))


def test_graph_md_verify_sample_is_current(tmp_path):
    from hwsim.artifact.load import load_artifact
    from hwsim.artifact.save import save_artifact
    from hwsim.cli.verify import render
    from hwsim.execute.verify import verify_artifact
    from hwsim.specs.workload import load_workload
    from hwsim.train.pipeline import run_training
    text = (REPO / "docs" / "graph.md").read_text()
    start = text.index("```\ndigits-mlp: test split")
    sample = text[start + 4:text.index("\n```", start + 4)].splitlines()
    assert sample[-1].strip() == "..."
    shown = sample[:-1]
    directory = tmp_path / "digits-mlp-L32-K32-s0"
    save_artifact(run_training(load_workload("digits-mlp")), directory)
    lines = render(verify_artifact(load_artifact(directory))).replace(
        str(directory), "runs/digits-mlp-L32-K32-s0").splitlines()
    assert [_normal(line) for line in lines[:len(shown)]] == [_normal(line) for line in shown], \
        "docs/graph.md's sample of `hwsim verify` differs from its current output:\n" + \
        "\n".join(lines[:len(shown)])


def test_documented_cluster_intervals_match_the_bundled_workloads():
    from hwsim.specs.workload import load_workload
    text = (REPO / "docs" / "workloads.md").read_text()
    assert "bundled workloads with a dataset use 200 (digits-mlp, digits-ae, har-cnn)" in text
    for name in ("digits-mlp", "digits-ae", "har-cnn"):
        assert load_workload(name).training.cluster_interval_steps == 200, name
