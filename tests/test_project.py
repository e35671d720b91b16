"""The project's own promises: README set-up commands and the CI script agree."""
from __future__ import annotations

import re

from tests.conftest import REPO


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_readme_has_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2, commands
    assert "hwsim" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    assert _setup_commands()[1] in ci.splitlines()


def test_no_unsafe_loading_in_the_package():
    for path in (REPO / "hwsim").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"pickle\.loads?\(|allow_pickle=True|unsafe_load|import pickle",
                             text), path
        assert "yaml.load(" not in text, path


def test_public_api_resolves():
    import hwsim
    for name in hwsim.__all__:
        assert getattr(hwsim, name) is not None, name
