"""Shared fixtures: a valid device mapping to corrupt, and the console script."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.specs.yaml_reader import read_yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def device_data() -> dict:
    """A fresh copy of a valid bundled device as a plain mapping."""
    return copy.deepcopy(read_yaml(REPO / "devices" / "nrf52840.yaml"))


def hwsim_script() -> str:
    """The installed `hwsim` console script (next to this interpreter)."""
    candidate = Path(sys.executable).parent / "hwsim"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("hwsim")
    if not found:
        pytest.fail("the hwsim console script is not installed (pip install '.[test]')")
    return found


def cli_env() -> dict[str, str]:
    """The environment for the console script: this checkout's hwsim first on the
    path, whichever checkout the script was installed from."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess:
    return subprocess.run([hwsim_script(), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=cli_env())


def load_benchmark(name: str):
    """benchmarks/<name>.py as a module (the benchmarks are scripts, not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark",
                                                  REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def convert_files(tmp_path_factory):
    """The files of docs/import.md §12 (tests/convert_models.py): digits_mlp.onnx,
    digits_cnn.tflite, digits_resnet.tflite (a residual add), digits_ae.onnx (an
    auto-encoder), digits_test.npz (labels), digits_train.npz, digits_unlabelled.npz (200
    train samples, no labels), digits_unlabelled_train.npz (the train split, no labels)."""
    pytest.importorskip("onnx")
    pytest.importorskip("tflite")
    from tests import convert_models as m
    folder = tmp_path_factory.mktemp("convert")
    m.write_onnx_mlp(folder / "digits_mlp.onnx", m.fit_relu(m.MLP, epochs=30))
    m.write_tflite_cnn(folder / "digits_cnn.tflite", m.fit_relu(m.CNN, epochs=15))
    m.write_tflite_residual_cnn(folder / "digits_resnet.tflite",
                                m.fit_graph(m.RESIDUAL_CNN, epochs=8))
    m.write_onnx_autoencoder(folder / "digits_ae.onnx", m.fit_graph(m.AUTOENCODER, epochs=30))
    m.write_data(folder / "digits_test.npz")
    m.write_data(folder / "digits_train.npz", "train")
    m.write_data(folder / "digits_unlabelled.npz", "train", labels=False, count=200)
    m.write_data(folder / "digits_unlabelled_train.npz", "train", labels=False)
    return folder
