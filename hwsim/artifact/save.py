"""The model artifact: `model.npz` (arrays) + `model.json` (everything else).

`save_artifact` writes both atomically and deterministically (same training, same
bytes); `hwsim.artifact.load.load_artifact` reads them back. docs/model-format.md
documents the format.
"""
from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path

import numpy as np

from hwsim.version import __version__
from hwsim.io import npz_bytes, sha256_bytes, write_files_atomically
from hwsim.ir import layers as L
from hwsim.ir.levels import level_flow
from hwsim.train.pipeline import TrainResult

from hwsim.artifact.load import (FORMAT, FORMAT_VERSION, INPUT_QUANTIZATION, JSON_NAME,
                                 LAYER_TYPES, NPZ_NAME)


def _int_dtype(bits: int):
    return {8: np.int8, 16: np.int16, 32: np.int32}.get(bits, np.int64)


def _index_dtype(count: int):
    return np.uint8 if count <= 256 else np.uint16 if count <= 65536 else np.uint32


def _geometry(layer) -> dict:
    return {"type": LAYER_TYPES[type(layer)], **dataclasses.asdict(layer)}


def build_files(result: TrainResult, *, init_from: str | None = None) -> dict[str, bytes]:
    """The artifact's two files as bytes (npz first: model.json commits the pair)."""
    w = result.workload
    arrays: dict[str, np.ndarray] = {}
    for i, params in enumerate(result.continuous_params):
        for key, value in params.items():
            arrays[f"continuous.layer{i}.{key}"] = np.asarray(value, dtype=np.float64)
    doc: dict = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": w.name, "task": w.task,
        "provenance": {"workload_sha256": w.sha256, "workload": w.data, "seed": w.training.seed,
                       "init_from_sha256": init_from,
                       "versions": {"hwsim": __version__, "numpy": np.__version__,
                                    "python": platform.python_version()}},
        "input": {"shape": list(w.input_shape), "levels": w.input_levels,
                  "quantization": INPUT_QUANTIZATION},
        "discretization": dataclasses.asdict(w.discretization),
        "metrics": result.metrics,
        "codebooks": {}, "integer": None, "tables": {}, "layers": [], "output": None,
    }
    if result.input_encoding is not None:
        doc["input"]["encoding"] = result.input_encoding.as_dict()
    outputs = [list(shape) for shape in w.shapes]
    shapes = [list(w.input_shape) if sources[0] < 0 else outputs[sources[0]]
              for sources in w.inputs]
    if result.integer_model is None and result.discrete_params is not None:
        for i, params in enumerate(result.discrete_params):   # no integer export to rebuild from
            for key, value in params.items():
                arrays[f"discretized.layer{i}.{key}"] = np.asarray(value, dtype=np.float64)
    if result.clustering is not None:
        for name, codebook in result.clustering.codebooks.items():
            arrays[f"codebook.{name}"] = codebook
            doc["codebooks"][name] = f"codebook.{name}"
    model = result.integer_model
    for i, layer in enumerate(w.layers):
        entry = {"index": i, **_geometry(layer), "input_shape": shapes[i],
                 "output_shape": outputs[i]}
        if isinstance(layer, L.WEIGHTED_LAYERS):
            entry["fan_in"] = layer.fan_in
            entry["parameters"] = L.num_params(layer)
        if model is not None:
            spec = model.layers[i]
            entry["levels_in"], entry["levels_out"] = spec.levels_in, spec.levels_out
            if spec.table is not None:
                k = len(result.clustering.codebooks[result.clustering.layer_scope[i]])
                entry["table"] = spec.table
                for key, value in (("weight_index", spec.weight_index),
                                   ("bias_index", spec.bias_index)):
                    arrays[f"layer{i}.{key}"] = value.astype(_index_dtype(k))
                    entry[key] = f"layer{i}.{key}"
                entry["thresholds"] = None
                if spec.thresholds is not None:
                    arrays[f"layer{i}.thresholds"] = spec.thresholds.astype(
                        _int_dtype(model.accumulator_bits))
                    entry["thresholds"] = f"layer{i}.thresholds"
            elif spec.thresholds is not None:                   # an activated add
                arrays[f"layer{i}.thresholds"] = spec.thresholds.astype(
                    _int_dtype(model.accumulator_bits))
                entry["thresholds"] = f"layer{i}.thresholds"
            if spec.pool_bounds is not None:
                arrays[f"layer{i}.pool_bounds"] = spec.pool_bounds.astype(np.int32)
                entry["pool_bounds"] = f"layer{i}.pool_bounds"
        doc["layers"].append(entry)
    if model is not None:
        scale = result.scale
        doc["integer"] = {"accumulator_bits": model.accumulator_bits,
                          "table_entry_bits": model.table_entry_bits,
                          "scale_bits": model.scale_bits, "binding_bound": scale.binding,
                          "accumulator_limit_bits": scale.accumulator_limit_bits,
                          "table_entry_limit_bits": scale.table_entry_limit_bits,
                          "rounding": "entry = rint(value * 2^scale_bits), ties to even; "
                                      "threshold = ceil(t * 2^scale_bits), clamped"}
        reads_input = level_flow(w.layers, w.inputs, w.activation_flags, w.input_levels,
                                 model.activation_levels)[1]
        input_rows = {spec.table for spec, first in zip(model.layers, reads_input)
                      if spec.table is not None and first}
        for name, table in model.tables.items():
            arrays[f"tables.{name}"] = table.astype(_int_dtype(model.table_entry_bits))
            scope = next(result.clustering.layer_scope[i] for i, s in enumerate(model.layers)
                         if s.table == name)
            doc["tables"][name] = {"array": f"tables.{name}", "rows": int(table.shape[0]),
                                   "columns": int(table.shape[1]), "codebook": scope,
                                   "row_values": "input" if name in input_rows else "activation"}
        for name, values in model.value_tables.items():
            arrays[f"value_tables.{name}"] = values.astype(_int_dtype(model.table_entry_bits))
            doc.setdefault("value_tables", {})[name] = {
                "array": f"value_tables.{name}", "rows": int(len(values)),
                "row_values": "activation"}
        if model.output_values is not None:
            arrays["output.values"] = model.output_values
            doc["output"] = {"kind": "level_table", "array": "output.values"}
        else:
            doc["output"] = {"kind": "argmax"}
    npz = npz_bytes(arrays)
    doc["npz_sha256"] = sha256_bytes(npz)
    return {NPZ_NAME: npz, JSON_NAME: _document_bytes(doc)}


def _document_bytes(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def save_artifact(result: TrainResult, directory: str | Path, *, init_from: str | None = None
                  ) -> Path:
    directory = Path(directory)
    write_files_atomically(directory, build_files(result, init_from=init_from))
    return directory


def add_document_fields(directory: str | Path, fields: dict) -> Path:
    """Add (or replace) top-level fields of an artifact's model.json, rewriting the pair
    atomically (the npz unchanged) in build_files' layout: what hwsim records after the
    network exists, such as its int8 input statistics."""
    from hwsim.artifact.load import load_artifact
    directory = Path(directory)
    doc = dict(load_artifact(directory).document, **fields)
    write_files_atomically(directory, {JSON_NAME: _document_bytes(doc)})
    return directory


def artifact_sha256(directory: str | Path) -> str:
    """Identity of an artifact: the sha256 of its model.json (which pins the npz)."""
    return sha256_bytes((Path(directory) / JSON_NAME).read_bytes())

