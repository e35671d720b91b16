"""Reading a model artifact back. Before anything runs it checks what the integer
network depends on: every referenced array exists with the right shape, dtype and
range, tables fit their codebooks and entry width, thresholds are sorted, copied
fields agree with the embedded workload, and model.npz is the one model.json was
written with (sha256). A truncated or tampered artifact is an error naming each
missing or bad field. Over 300 lines: every field of the format (docs/model-format.md) is
checked here, in one reader, so that each problem names its field."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.io import MAX_JSON_BYTES, MAX_NPZ_BYTES, read_file_bytes, parse_json, read_npz, sha256_bytes
from hwsim.errors import HwsimError, Problem, SpecError
from hwsim.ir import layers as L
from hwsim.train.export import integer_table, level_counts
from hwsim.ir.input_encoding import InputEncoding, encoding_from_dict
from hwsim.ir.integer import VALUE_TABLE, IntegerLayer, IntegerModel, accumulator_overflows, \
    model_bounds
from hwsim.ir.levels import MAX_SCALE_BITS, avg_pool_bounds, integer_thresholds, level_flow, \
    level_values, table_rows
from hwsim.specs.workload import Workload, workload_from_data

FORMAT = "hwsim-model"
FORMAT_VERSION = 1
JSON_NAME, NPZ_NAME = "model.json", "model.npz"
LAYER_TYPES = {L.Dense: "dense", L.Conv1D: "conv1d", L.Conv2D: "conv2d",
               L.DepthwiseConv2D: "depthwise_conv2d", L.MaxPool1D: "max_pool1d",
               L.AvgPool1D: "avg_pool1d", L.MaxPool2D: "max_pool2d", L.AvgPool2D: "avg_pool2d",
               L.Flatten: "flatten", L.Add: "add"}
INPUT_QUANTIZATION = "q = floor(clip(x, 0, 1) * (levels - 1) + 0.5)"


@dataclass(frozen=True)
class Artifact:
    directory: str
    document: dict
    workload: Workload
    continuous_params: list
    discrete_params: list | None
    integer_model: IntegerModel | None
    input_encoding: InputEncoding | None = None    # a converted model's input (input.encoding)
    # int8_input_statistics (optional): weighted layer index -> counts of its int8 inputs
    # with 1 ... 32 significant bits (docs/model-format.md section 2.13)
    int8_input_bits: dict[int, tuple[int, ...]] | None = None


class _Checker:
    """Looks up JSON fields and npz arrays, recording a problem for each bad one."""

    def __init__(self, source: str, arrays: dict[str, np.ndarray]):
        self.source, self.arrays, self.problems = source, arrays, []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def field(self, doc, path: str, kind, required: bool = True):
        node = doc
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                if required:
                    self.bad(path, "missing field")
                return None
            node = node[part]
        if node is None and not required:
            return None
        if not isinstance(node, kind) or isinstance(node, bool) and kind is not bool:
            self.bad(path, f"must be {getattr(kind, '__name__', kind)}, got {node!r}")
            return None
        return node

    def array(self, path: str, name, shape=None, integer=False, ndim=None):
        if not isinstance(name, str):
            self.bad(path, f"must name an array of {NPZ_NAME}, got {name!r}")
            return None
        if name not in self.arrays:
            self.bad(path, f"array {name!r} is missing from {NPZ_NAME}")
            return None
        value = self.arrays[name]
        if integer and value.dtype.kind not in "iu":
            self.bad(path, f"array {name!r} must hold integers, got {value.dtype}")
            return None
        if not integer and value.dtype.kind != "f":
            self.bad(path, f"array {name!r} must hold floats, got {value.dtype}")
            return None
        if shape is not None and tuple(value.shape) != tuple(shape):
            self.bad(path, f"array {name!r} has shape {list(value.shape)}, expected {list(shape)}")
            return None
        if ndim is not None and value.ndim != ndim:
            self.bad(path, f"array {name!r} must have {ndim} dimension(s), got {value.ndim}")
            return None
        return value.astype(np.int64) if integer else value.astype(np.float64)


def _read_document(directory: Path) -> tuple[dict, str]:
    path = directory / JSON_NAME
    if not directory.is_dir():
        raise HwsimError(f"{directory}: not an artifact directory (no such directory)")
    if not path.exists():
        raise HwsimError(f"{path}: missing; not a model artifact")
    doc = parse_json(read_file_bytes(path, MAX_JSON_BYTES, "model.json"), str(path))
    if not isinstance(doc, dict):
        raise SpecError(str(path), [Problem("", "must be a JSON object")])
    return doc, str(path)


def _tables(c: _Checker, doc: dict, entry_bits: int | None) -> dict[str, np.ndarray | None]:
    """name -> integer table (None when present but unusable: already reported)."""
    sizes = {}
    for scope, name in (c.field(doc, "codebooks", dict) or {}).items():
        book = c.array(f"codebooks.{scope}", name, ndim=1)
        if book is not None:
            sizes[scope] = len(book)
    tables: dict[str, np.ndarray | None] = {}
    for name, meta in (c.field(doc, "tables", dict) or {}).items():
        if not isinstance(meta, dict):
            c.bad(f"tables.{name}", f"must be an object, got {meta!r}")
            tables[name] = None
            continue
        table = c.array(f"tables.{name}.array", meta.get("array"), integer=True, ndim=2)
        tables[name] = table
        scope = meta.get("codebook")
        if table is None:
            continue
        if scope not in sizes:
            c.bad(f"tables.{name}.codebook", f"names no codebook: {scope!r}")
        elif table.shape[1] != sizes[scope]:
            c.bad(f"tables.{name}.array", f"has {table.shape[1]} columns, codebook {scope!r} "
                                          f"has {sizes[scope]} values")
        if entry_bits and np.abs(table).max(initial=0) > (1 << (entry_bits - 1)) - 1:
            c.bad(f"tables.{name}.array", f"entries do not fit {entry_bits}-bit table entries")
    return tables


def _weighted_layer(c, path, meta, layer, tables, levels_in, levels_out, levels):
    name = meta.get("table")
    if name not in tables:
        c.bad(f"{path}.table", f"names no table: {name!r}")
    table = tables.get(name)
    if table is not None and table.shape[0] != levels_in + 1:
        c.bad(f"{path}.table", f"table {name!r} has {table.shape[0]} rows, a layer with "
                               f"{levels_in} input levels needs {levels_in + 1}")
    shapes = layer.param_shapes()
    w = c.array(f"{path}.weight_index", meta.get("weight_index"), shapes["w"], integer=True)
    b = c.array(f"{path}.bias_index", meta.get("bias_index"), shapes["b"], integer=True)
    for key, index in (("weight_index", w), ("bias_index", b)):
        if index is not None and table is not None and index.size and (
                index.min() < 0 or index.max() >= table.shape[1]):
            c.bad(f"{path}.{key}", f"indices must lie in 0..{table.shape[1] - 1}, found "
                                   f"{int(index.min())}..{int(index.max())}")
    thresholds = None
    if levels_out and meta.get("thresholds") is None:
        c.bad(f"{path}.thresholds", "missing: this layer is followed by an activation")
    elif levels_out:
        thresholds = c.array(f"{path}.thresholds", meta["thresholds"], integer=True,
                             shape=(levels - 1,))
        if thresholds is not None and np.any(np.diff(thresholds) < 0):
            c.bad(f"{path}.thresholds", "must be sorted ascending")
    elif meta.get("thresholds") is not None:
        c.bad(f"{path}.thresholds", "given, but the output layer has no activation")
    return IntegerLayer(layer, levels_in, levels_out, name, w, b, thresholds)


def _integer_model(c: _Checker, doc: dict, workload: Workload) -> IntegerModel | None:
    c.field(doc, "integer", dict)
    acc = c.field(doc, "integer.accumulator_bits", int)
    entry = c.field(doc, "integer.table_entry_bits", int)
    scale = c.field(doc, "integer.scale_bits", int)
    fmt = workload.integer
    if fmt is not None and (acc, entry) != (fmt.accumulator_bits, fmt.table_entry_bits):
        c.bad("integer", "accumulator_bits/table_entry_bits differ from provenance.workload")
    levels = workload.discretization.activation_levels
    tables = _tables(c, doc, entry)
    counts = level_counts(workload.layers, workload.task, workload.input_levels, levels,
                          workload.activation_flags, workload.inputs)
    layers = []
    for i, (layer, (levels_in, levels_out)) in enumerate(zip(workload.layers, counts)):
        path, meta = f"layers[{i}]", doc["layers"][i]
        if (meta.get("levels_in"), meta.get("levels_out")) != (levels_in, levels_out):
            c.bad(path, f"levels_in/levels_out must be {levels_in}/{levels_out} for this "
                        f"workload, got {meta.get('levels_in')}/{meta.get('levels_out')}")
        if isinstance(layer, L.WEIGHTED_LAYERS):
            layers.append(_weighted_layer(c, path, meta, layer, tables, levels_in, levels_out,
                                          levels))
            continue
        bounds = thresholds = None
        if isinstance(layer, (L.AvgPool1D, L.AvgPool2D)):
            bounds = c.array(f"{path}.pool_bounds", meta.get("pool_bounds"), integer=True,
                             shape=(levels_in - 1,))
        if isinstance(layer, L.Add) and levels_out:
            thresholds = c.array(f"{path}.thresholds", meta.get("thresholds"), integer=True,
                                 shape=(levels - 1,))
        layers.append(IntegerLayer(layer, levels_in, levels_out, thresholds=thresholds,
                                   pool_bounds=bounds))
    output = c.field(doc, "output.kind", str)
    values = None
    if output == "level_table":
        values = c.array("output.array", doc["output"].get("array"), shape=(levels,))
    elif output is not None and output != "argmax":
        c.bad("output.kind", f"must be argmax or level_table, got {output!r}")
    if output is not None and (output == "level_table") != (workload.task == "autoencoder"):
        c.bad("output.kind", f"{output!r} does not fit task {workload.task!r}")
    value_tables = {}
    for name, meta in (c.field(doc, "value_tables", dict, required=False) or {}).items():
        if not isinstance(meta, dict):
            c.bad(f"value_tables.{name}", f"must be an object, got {meta!r}")
            continue
        table = c.array(f"value_tables.{name}.array", meta.get("array"), integer=True,
                        shape=(levels,))
        if table is not None:
            value_tables[name] = table
    if any(isinstance(layer, L.Add) for layer in workload.layers) and \
            VALUE_TABLE not in value_tables:
        c.bad("value_tables", f"missing the {VALUE_TABLE!r} table its adds read")
    if c.problems or None in (acc, entry, scale):
        return None
    return IntegerModel(workload.task, tuple(workload.input_shape), workload.input_levels,
                        levels, tables, tuple(layers), scale, acc, entry, values, value_tables,
                        workload.graph_inputs)


def _check_definition(c: _Checker, doc: dict, arrays: dict[str, np.ndarray],
                      model: IntegerModel) -> None:
    """The integer network must be what its own definition gives: every table
    rint(row value * codebook * 2^s) from the stored codebook and level values, every
    threshold ceil(t_k * 2^s) clamped at the layer's worst-case sum, every pool
    bound and the output values from the level count; the scale in 0..MAX_SCALE_BITS
    and no reachable sum beyond the accumulator (a static proof over every input)."""
    if not 0 <= model.scale_bits <= MAX_SCALE_BITS:
        c.bad("integer.scale_bits", f"must be in 0..{MAX_SCALE_BITS}, got {model.scale_bits}")
        return
    books = {}
    for scope, name in doc["codebooks"].items():
        book = arrays[name].astype(np.float64)
        if not np.all(np.isfinite(book)):
            c.bad(f"codebooks.{scope}", f"array {name!r} holds a non-finite value")
        elif np.abs(book).max(initial=0) > 1e6:
            c.bad(f"codebooks.{scope}", f"array {name!r} holds a value beyond +-1e6")
        else:
            books[scope] = book
    workload_flow = level_flow([spec.layer for spec in model.layers], model.sources,
                               [spec.levels_out > 0 for spec in model.layers],
                               model.input_levels, model.activation_levels)[1]
    shared = {}
    for spec, first in zip(model.layers, workload_flow):
        if spec.table is not None:
            shared.setdefault(spec.table, set()).add(first)
    for name, table in model.tables.items():
        scope = doc["tables"][name]["codebook"]
        if scope not in books:
            continue
        if shared.get(name, {False}) == {True, False}:
            c.bad(f"tables.{name}", "is read by the first weighted layer (input level rows) "
                                    "and by a later one (activation level rows)")
            continue
        rows = table_rows(shared.get(name) == {True}, model.input_levels,
                          model.activation_levels)
        if table.shape[0] != len(rows):
            continue                               # reported by the layer that reads it
        expected = integer_table(rows, books[scope], model.scale_bits)
        if not np.array_equal(expected, table):
            row, col = (int(v) for v in np.argwhere(expected != table)[0])
            c.bad(f"tables.{name}.array", f"is not its definition rint(row value x codebook "
                                          f"{scope!r} x 2^{model.scale_bits}): entry "
                                          f"[{row}, {col}] is {int(table[row, col])}, the "
                                          f"definition gives {int(expected[row, col])}")
    if c.problems:
        return
    for name, values in model.value_tables.items():
        expected = integer_table(level_values(model.activation_levels), np.ones(1),
                                 model.scale_bits)[:, 0]
        if not np.array_equal(expected, values):
            c.bad(f"value_tables.{name}.array", "is not rint(level value x 2^scale_bits)")
    if c.problems:
        return
    bounds = model_bounds(model)
    for i, (spec, meta) in enumerate(zip(model.layers, doc["layers"])):
        if spec.thresholds is not None:
            expected = integer_thresholds(model.activation_levels, model.scale_bits, bounds[i])
            if not np.array_equal(expected, spec.thresholds):
                c.bad(f"layers[{i}].thresholds", "are not ceil(t_k x 2^scale_bits) clamped "
                                                 "at the layer's worst-case sum")
        if spec.pool_bounds is not None:
            layer = spec.layer
            window = layer.size if isinstance(layer, L.AvgPool1D) else \
                layer.size_h * layer.size_w
            if not np.array_equal(avg_pool_bounds(window, spec.levels_in), spec.pool_bounds):
                c.bad(f"layers[{i}].pool_bounds", "are not the nearest-level bounds of the "
                                                  "pool window")
    if model.output_values is not None and not np.array_equal(
            model.output_values, (level_values(model.activation_levels) + 1.0) / 2.0):
        c.bad("output.array", "is not (level value + 1) / 2 of each activation level")
    for i, message in accumulator_overflows(model):
        c.bad(f"layers[{i}]", message)


def _copies_agree(c: _Checker, doc: dict, workload: Workload) -> None:
    """Fields copied from the workload for readers must agree with it."""
    if doc["provenance"].get("workload_sha256") != workload.sha256:
        c.bad("provenance.workload_sha256", "does not match provenance.workload")
    expected = {"name": workload.name, "task": workload.task,
                "input.shape": list(workload.input_shape), "input.levels": workload.input_levels}
    for path, value in expected.items():
        section, _, key = path.rpartition(".")
        node = doc.get(section, {}) if section else doc
        if not isinstance(node, dict) or node.get(key) != value:
            c.bad(path, f"must be {value!r} (as in provenance.workload)")


OPERAND_BITS = 32      # histogram bins of int8_input_statistics: 1 ... 32 significant bits


def _int8_input_statistics(c: _Checker, doc: dict, workload: Workload
                           ) -> dict[int, tuple[int, ...]] | None:
    """The optional `int8_input_statistics` (section 2.13), checked: a histogram of
    OPERAND_BITS non-negative counts, not all zero, per weighted layer index."""
    if doc.get("int8_input_statistics") is None:
        return None
    path = "int8_input_statistics"
    if c.field(doc, path, dict) is None:
        return None
    samples = c.field(doc, f"{path}.samples", int)
    if samples is not None and samples < 1:
        c.bad(f"{path}.samples", f"must be >= 1, got {samples}")
    layers = c.field(doc, f"{path}.layers", dict) or {}
    weighted = {str(i) for i, layer in enumerate(workload.layers)
                if isinstance(layer, L.WEIGHTED_LAYERS)}
    out = {}
    for key, counts in layers.items():
        where = f"{path}.layers.{key}"
        if key not in weighted:
            c.bad(where, "must be the index of a weighted layer (one of "
                         f"{', '.join(sorted(weighted, key=int))})")
        elif not (isinstance(counts, list) and len(counts) == OPERAND_BITS
                  and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                          for n in counts) and sum(counts) > 0):
            c.bad(where, f"must be a list of {OPERAND_BITS} non-negative integers, not all 0 "
                         "(inputs with 1 ... 32 significant bits)")
        else:
            out[int(key)] = tuple(counts)
    return out


def load_artifact(directory: str | Path) -> Artifact:
    """Load and check an artifact directory (model.json + model.npz). A field of the
    wrong JSON type anywhere is one SpecError naming model.json, never a TypeError."""
    directory = Path(directory)
    doc, source = _read_document(directory)
    npz_path = directory / NPZ_NAME
    npz_data = read_file_bytes(npz_path, MAX_NPZ_BYTES, ".npz archive")
    arrays = read_npz(npz_path, npz_data)
    try:
        return _load(directory, doc, source, arrays, sha256_bytes(npz_data))
    except (TypeError, KeyError, AttributeError, IndexError, ValueError, OverflowError) as exc:
        raise SpecError(source, [Problem("", f"malformed artifact: a field has the wrong type "
                                             f"or shape ({type(exc).__name__}: {exc})")]) \
            from None


def _load(directory: Path, doc: dict, source: str, arrays: dict[str, np.ndarray],
          npz_sha256: str) -> Artifact:
    c = _Checker(source, arrays)
    if doc.get("format") != FORMAT:
        raise SpecError(source, [Problem("format", f"must be {FORMAT!r}, got "
                                                   f"{doc.get('format')!r}")])
    if doc.get("format_version") != FORMAT_VERSION:
        raise SpecError(source, [Problem("format_version", f"must be {FORMAT_VERSION}, got "
                                                           f"{doc.get('format_version')!r}")])
    data = c.field(doc, "provenance.workload", dict)
    if data is None:
        raise SpecError(source, c.problems)
    try:
        workload = workload_from_data(data, f"{source}: provenance.workload")
    except SpecError as exc:
        raise SpecError(source, [Problem(f"provenance.workload.{p.path}", p.message)
                                 for p in exc.problems]) from None
    layers_doc = c.field(doc, "layers", list)
    if layers_doc is None:
        raise SpecError(source, c.problems)
    if len(layers_doc) != len(workload.layers):
        c.bad("layers", f"has {len(layers_doc)} entries, the workload has "
                        f"{len(workload.layers)} layers")
    for i, meta in enumerate(layers_doc):
        if not isinstance(meta, dict):
            c.bad(f"layers[{i}]", f"must be an object, got {meta!r}")
    if c.problems:
        raise SpecError(source, c.problems)
    _copies_agree(c, doc, workload)
    continuous = []
    for i, layer in enumerate(workload.layers):
        continuous.append({key: c.array(f"layers[{i}] continuous {key}",
                                        f"continuous.layer{i}.{key}", shape)
                           for key, shape in layer.param_shapes().items()})
    model = _integer_model(c, doc, workload) if doc.get("integer") is not None else None
    encoding = None
    if isinstance(doc.get("input"), dict) and "encoding" in doc["input"]:
        encoding, problems = encoding_from_dict(doc["input"]["encoding"], workload.input_shape)
        c.problems += problems
    input_bits = _int8_input_statistics(c, doc, workload)
    if not c.problems and doc.get("npz_sha256") != npz_sha256:
        c.bad("npz_sha256", f"{NPZ_NAME} does not match this {JSON_NAME} (modified, truncated "
                            "or from another artifact)")
    if not c.problems and model is not None:
        _check_definition(c, doc, arrays, model)
    if c.problems:
        raise SpecError(source, c.problems)
    discrete = None
    if model is None and "discretized.layer" in " ".join(arrays):
        discrete = [{key: arrays[f"discretized.layer{i}.{key}"].astype(np.float64)
                     for key in layer.param_shapes() if f"discretized.layer{i}.{key}" in arrays}
                    for i, layer in enumerate(workload.layers)]
    if model is not None:
        discrete = []
        books = {scope: arrays[name].astype(np.float64) for scope, name in doc["codebooks"].items()}
        for i, spec in enumerate(model.layers):
            if spec.table is None:
                discrete.append({})
                continue
            book = books[doc["tables"][spec.table]["codebook"]]
            discrete.append({"w": book[spec.weight_index], "b": book[spec.bias_index]})
    return Artifact(str(directory), doc, workload, continuous, discrete, model, encoding,
                    input_bits)
