"""Pick the reader for a model file by its extension."""
from __future__ import annotations

from pathlib import Path

from hwsim.importers.diagnostics import fail
from hwsim.importers.model import ImportedModel


def load_model(path: str | Path) -> ImportedModel:
    """The model in a .tflite or .onnx file."""
    text = str(path)
    suffix = Path(text).suffix.lower()
    if suffix == ".tflite":
        from hwsim.importers.tflite import read_tflite

        return read_tflite(text)
    if suffix == ".onnx":
        from hwsim.importers.onnx_model import read_onnx

        return read_onnx(text)
    raise fail(text, [f"unknown model format {suffix or '(no extension)'!r}; expected .tflite or .onnx"])
