"""docs/import.md's worked example: each `<!-- example: COMMAND -->` block is the output of
COMMAND run in a folder holding the example model (kws_like_model, seed 7)."""
from __future__ import annotations

import re
import shlex

import numpy as np
import pytest

pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from tests.conftest import REPO, run_cli  # noqa: E402
from tests.test_import_tflite import kws_like_model  # noqa: E402

EXAMPLE = re.compile(r"<!-- example: hwsim (.+?) -->\n```text\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    return EXAMPLE.findall((REPO / "docs" / "import.md").read_text())


def test_the_page_has_its_examples():
    assert len(examples()) == 3


@pytest.mark.parametrize("command, expected", examples(), ids=[c for c, _ in examples()])
def test_worked_example_output_is_what_the_command_prints(command, expected, tmp_path):
    (tmp_path / "kws_like.tflite").write_bytes(kws_like_model(np.random.default_rng(7)))
    done = run_cli(*shlex.split(command), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
