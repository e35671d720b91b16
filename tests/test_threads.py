"""BLAS threads: the `hwsim` command and the sweep workers start with one, unless the
caller chose (hwsim/sweep/threads.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from hwsim.sweep.runner import LocalRunner
from hwsim.sweep.threads import THREAD_VARIABLES, one_thread_unless_set
from tests.conftest import cli_env


def test_unset_variables_become_one_and_set_ones_are_kept():
    environ = {"OMP_NUM_THREADS": "4", "PATH": "/bin"}
    assert one_thread_unless_set(environ) == ["OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
    assert environ == {"OMP_NUM_THREADS": "4", "PATH": "/bin", "OPENBLAS_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"}
    assert one_thread_unless_set(environ) == []


def _command_environment(**preset: str) -> dict:
    """The thread variables the `hwsim` command's process holds once the command runs."""
    env = {k: v for k, v in cli_env().items() if k not in THREAD_VARIABLES} | preset
    code = ("import json, os, sys\n"
            "from hwsim.cli import main\n"
            "sys.argv = ['hwsim', 'devices', '--json']\n"
            "import io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main() == 0\n"
            f"print(json.dumps({{n: os.environ.get(n) for n in {THREAD_VARIABLES!r}}}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_command_runs_on_one_blas_thread_unless_told_otherwise():
    assert _command_environment() == dict.fromkeys(THREAD_VARIABLES, "1")
    assert _command_environment(OPENBLAS_NUM_THREADS="2")["OPENBLAS_NUM_THREADS"] == "2"


def test_the_local_runner_sets_only_what_was_unset_and_restores_it(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    with LocalRunner(1):
        assert [os.environ[n] for n in THREAD_VARIABLES] == ["1", "1", "3"]
    assert [os.environ.get(n) for n in THREAD_VARIABLES] == [None, None, "3"]
