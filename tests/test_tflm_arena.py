"""TFLite Micro's arena computed from an imported model (hwsim.importers.tflm_arena) against
the real TFLM runtime's RecordingMicroAllocator, on the MLPerf-shaped test models.

`python -m tests.test_tflm_arena` prints the table of docs/import.md §9.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite", reason="the .tflite reader needs the `tflite` package (pip install '.[test]')")

from hwsim.importers import load_model  # noqa: E402
from hwsim.importers.network import import_network  # noqa: E402
from hwsim.importers.tflm_arena import Buffer, _greedy, tflm_arena  # noqa: E402
from tests.test_import_network import (ad_autoencoder_tflite, kws_dscnn_tflite, resnet8_tflite,  # noqa: E402
                                       residual_model, vww_mobilenet_tflite)
from tests.test_import_tflite import kws_like_model, shape_model  # noqa: E402

MODELS = {"kws-dscnn": (kws_dscnn_tflite, 0), "ic-resnet8": (resnet8_tflite, 0),
          "vww-mobilenet": (vww_mobilenet_tflite, 0), "ad-autoencoder": (ad_autoencoder_tflite, 0),
          "kws-like": (kws_like_model, 7),
          "residual (pad, add, mean)": (residual_model, 1),
          "reshape-squeeze-pad": (shape_model, 0)}   # head 80 only with the planner's tie order
HAVE_TFLM = importlib.util.find_spec("tflite_micro") is not None
_PRINT = ("from tflite_micro.python.tflite_micro import runtime\n"
          "runtime.Interpreter.from_file({path!r}).print_allocations()\n")


def tflm_allocations(path: Path) -> dict[str, int]:
    """head/tail/total of the TFLM runtime's RecordingMicroAllocator (printed from C++, so
    read from a subprocess)."""
    done = subprocess.run([sys.executable, "-c", _PRINT.format(path=str(path))], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", done.stdout))
    assert done.returncode == 0 and len(found) == 3, done.stdout
    return {k: int(v) for k, v in found.items()}


def write_model(name: str, directory: Path) -> Path:
    build, seed = MODELS[name]
    path = directory / f"{name.split()[0]}.tflite"
    path.write_bytes(build(np.random.default_rng(seed)))
    return path


def test_greedy_planner_reuses_memory_of_dead_buffers_largest_first():
    plan = _greedy([Buffer("a", 64, 0, 0), Buffer("b", 32, 0, 1), Buffer("c", 64, 1, 2),
                    Buffer("d", 16, 2, 2)])
    assert [(b.name, b.offset_bytes) for b in plan] == [("a", 0), ("b", 64), ("c", 0), ("d", 64)]


def test_greedy_planner_places_equal_sizes_last_added_first():
    """x -> r -> s -> y (y largest): TFLM places s before r and x: 80 B, not 96."""
    plan = _greedy([Buffer("x", 32, 0, 0), Buffer("r", 32, 0, 1), Buffer("s", 32, 1, 2),
                    Buffer("y", 48, 2, 2)])
    assert [(b.name, b.offset_bytes) for b in plan] == [("x", 32), ("r", 0), ("s", 48), ("y", 0)]


def test_arena_counts_every_tensor_node_and_per_channel_requantization(tmp_path):
    model = load_model(write_model("kws-like", tmp_path))
    arena = tflm_arena(model)
    assert arena.head_bytes == 16_000          # dw1 reads 8,000 B and writes 8,000 B
    assert arena.total_bytes == arena.head_bytes + arena.tail_bytes
    assert arena.lines[0] == f"{len(model.tensors)} TfLiteEvalTensor x 24 B: {24 * len(model.tensors):,} B"
    assert "per-channel output multipliers and shifts: 1,536 B" in arena.lines   # 3 x 64 ch x 8 B
    assert arena.estimated == ()
    # 32-bit layout: 12 B less per tensor, 32 per node, 36 per graph input/output, 16 per conv,
    # dense and softmax OpData (16-B aligned), half the fixed part
    assert arena.tail_bytes - arena.tail_bytes_32bit == 12 * 17 + 32 * 7 + 36 * 2 + 16 * (3 + 1 + 1) + 264
    note = [n for n in import_network(tmp_path / "kws-like.tflite").notes if "TFLite Micro arena" in n]
    assert note and note[0].startswith(f"TFLite Micro arena: {arena.total_bytes:,} B (head 16,000, persistent ")


@pytest.mark.skipif(not HAVE_TFLM, reason="the TFLite Micro runtime is not installed "
                                          "(pip install --pre tflite-micro)")
@pytest.mark.parametrize("name", list(MODELS))
def test_arena_matches_the_tflite_micro_runtime(name, tmp_path):
    path = write_model(name, tmp_path)
    measured = tflm_allocations(path)
    arena = tflm_arena(load_model(path))
    assert arena.head_bytes == measured["head"]
    assert abs(arena.total_bytes - measured["total"]) <= 0.02 * measured["total"]
    assert abs(arena.tail_bytes - measured["tail"]) <= 0.05 * measured["tail"]


def table(directory: Path) -> str:
    rows = ["| model | TFLM head | hwsim head | TFLM tail | hwsim tail | TFLM total | hwsim total | error "
            "| hwsim total, 32-bit MCU |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in MODELS:
        path = write_model(name, directory)
        m, a = tflm_allocations(path), tflm_arena(load_model(path))
        rows.append(f"| {name} | {m['head']:,} | {a.head_bytes:,} | {m['tail']:,} | {a.tail_bytes:,} | "
                    f"{m['total']:,} | {a.total_bytes:,} | "
                    f"{100 * (a.total_bytes - m['total']) / m['total']:+.1f}% | {a.total_bytes_32bit:,} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as directory:
        print(table(Path(directory)))
