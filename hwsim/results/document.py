"""The results document a dashboard draws: read it and check the fields the
panels use, reporting every problem with its path in one error.

The document (written by `hwsim report` and friends; rows and details as made by
hwsim.evaluate.rows) is
    {"format": "hwsim-results", "format_version": 1,
     "compare": [row...], "sweep": [row...], "details": [detail...], "training": [summary...],
     "products": [product row...], "crossover": [crossover row...]}
Every section is optional. Keys the panels do not use are allowed and ignored.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hwsim.ir.style import STYLES  # the style values documents hold
from hwsim.errors import HwsimError, Problem, SpecError
from hwsim.io import MAX_JSON_BYTES, read_json

FORMAT = "hwsim-results"
FORMAT_VERSION = 1
SECTIONS = ("compare", "sweep", "details", "training", "products", "crossover")


def results_document(**sections) -> dict:
    """A results document: the format header and the given sections (names from SECTIONS)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown results sections: {sorted(unknown)}")
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **sections}
MAX_PROBLEMS = 20


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional(check: Callable) -> Callable:
    return lambda value: value is None or check(value)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_width(value) -> bool:
    """An activation level / cluster count, or None / "continuous" (not discretized)."""
    return value is None or value == "continuous" or _is_count(value)


_TYPES: dict[str, tuple[Callable, str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "str?": (_optional(lambda v: isinstance(v, str)), "a string or null"),
    "style?": (lambda v: v is None or v in STYLES, f"one of {', '.join(STYLES)} or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "bool?": (_optional(lambda v: isinstance(v, bool)), "true, false or null"),
    "number": (_is_number, "a number"),
    "number?": (_optional(_is_number), "a number or null"),
    "count": (_is_count, "a non-negative integer"),
    "count?": (_optional(_is_count), "a non-negative integer or null"),
    "width": (_is_width, "an integer, null or \"continuous\""),
    "metric": (lambda v: v in ("accuracy", "mse"), "\"accuracy\" or \"mse\""),
    "metric?": (lambda v: v in ("accuracy", "mse", None), "\"accuracy\", \"mse\" or null"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "object": (lambda v: isinstance(v, dict), "an object"),
}

SIMULATION_ROW = {
    "workload": "str", "device": "str", "style": "str", "fits": "bool", "fits_ram": "bool",
    "fits_flash": "bool", "fits_deadline": "bool", "ram_margin_bytes": "number",
    "flash_margin_bytes": "number", "deadline_margin_ms": "number?", "ram_bytes": "number",
    "flash_bytes": "number", "cycles_per_inference": "number",
    "energy_per_inference_uj": "number", "deadline_ms": "number", "latency_ms_max": "number?",
}
SWEEP_ROW = {**SIMULATION_ROW, "activation_levels": "width", "weight_clusters": "width",
             "metric": "metric?", "continuous": "number?", "discretized": "number?",
             "integer": "number?"}
PRODUCT_ROW = {**SIMULATION_ROW, "soc": "str", "product_class": "str", "core": "str",
               "core_class": "str", "fits_soc": "bool", "load": "str",
               "baseline_power_mw": "number", "network_power_battery_mw": "number",
               "network_share": "number", "battery_life_without_network_hours": "number",
               "battery_life_with_network_hours": "number"}
CROSSOVER_COSTS = {f"{style}_{measure}": "number?" for style in STYLES
                   for measure in ("cycles", "energy_uj")}
CROSSOVER_ROW = {
    "workload": "str", "device": "str", "soc": "str?", "core": "str?",
    "activation_levels": "width", "weight_clusters": "width", **CROSSOVER_COSTS,
    "winner_cycles": "style?", "margin_cycles": "number?", "winner_energy": "style?",
    "margin_energy": "number?", "levels": "list", "clusters": "list",
    "lut_cycles_grid": "list", "lut_energy_uj_grid": "list"}
DETAIL = {"workload": "str", "device": "str", "style": "str", "clock_hz": "number",
          "sram_bytes": "number", "static_ram_bytes": "number", "nodes": "list",
          "timeline": "list", "frames": "list", "memory_over_time": "list"}
NODE = {"node": "str", "op": "str", "cycles": "number", "energy_pj": "number",
        "cycles_by_class": "object"}
EVENT = {"frame": "count", "node": "str", "kind": "str", "core": "count?",
         "start_cycle": "number", "end_cycle": "number"}
RAM_LINE = {"name": "str", "bytes": "number"}
FRAME = {"frame": "count", "arrival_cycle": "number", "end_cycle": "number?",
         "deadline_cycle": "number"}
TRAINING = {"workload": "str", "activation_levels": "width", "weight_clusters": "width",
            "metrics": "object"}
TRAINING_METRICS = {"metric": "metric", "continuous": "number"}
# Fields a row may leave out; when present the dashboard reads them, so their type is checked.
OPTIONAL = {
    "sweep": {"agreement": "number?", "bit_exact": "bool?", "weight_bytes": "number?",
              "float32_weight_bytes": "number?"},
    "training.metrics": {"discretized": "number?", "integer": "number?",
                         "agreement": "number?"},
    "crossover": {"load": "str?", "baseline_power_mw": "number?", "classes": "object",
                  **{f"{style}_network_share": "number?" for style in STYLES},
                  **{f"{style}_keeps_up": "bool?" for style in STYLES}},
}


def _check_optional(record: dict, fields: dict[str, str], path: str,
                    problems: list[Problem]) -> None:
    for key, kind in fields.items():
        check, wanted = _TYPES[kind]
        if key in record and not check(record[key]):
            problems.append(Problem(f"{path}.{key}", f"must be {wanted}, got "
                                                     f"{record[key]!r:.60}"))


def _check_fields(record, fields: dict[str, str], path: str, problems: list[Problem]) -> bool:
    """Append a problem per missing or mistyped field; True when `record` is usable."""
    if not isinstance(record, dict):
        problems.append(Problem(path, f"must be an object, got {type(record).__name__}"))
        return False
    ok = True
    for key, kind in fields.items():
        check, wanted = _TYPES[kind]
        where = f"{path}.{key}" if path else key
        if key not in record:
            problems.append(Problem(where, "missing"))
            ok = False
        elif not check(record[key]):
            problems.append(Problem(where, f"must be {wanted}, got {record[key]!r:.60}"))
            ok = False
    return ok


def _check_list(items, fields, path: str, problems: list[Problem], inner=None) -> None:
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if _check_fields(item, fields, where, problems) and inner is not None:
            inner(item, where, problems)


def _check_sweep_row(row: dict, path: str, problems: list[Problem]) -> None:
    _check_optional(row, OPTIONAL["sweep"], path, problems)
    values = [row[key] for key in ("integer", "discretized", "continuous")]
    if row["metric"] is not None and all(value is None for value in values):
        problems.append(Problem(path, "has no metric value (integer, discretized and "
                                      "continuous are all null)"))
    elif row["metric"] is None and any(value is not None for value in values):
        problems.append(Problem(f"{path}.metric", "is null (a shape-only point), but the row "
                                                  "has metric values"))


def _check_detail(detail: dict, path: str, problems: list[Problem]) -> None:
    if detail["clock_hz"] <= 0:
        problems.append(Problem(f"{path}.clock_hz", f"must be > 0, got {detail['clock_hz']!r}"))
    _check_list(detail["nodes"], NODE, f"{path}.nodes", problems, _check_node)
    _check_list(detail["timeline"], EVENT, f"{path}.timeline", problems)
    _check_list(detail["frames"], FRAME, f"{path}.frames", problems)
    lines = detail.get("ram_lines")
    if lines is not None and not isinstance(lines, list):
        problems.append(Problem(f"{path}.ram_lines", f"must be a list, got {lines!r:.60}"))
    elif lines is not None:
        _check_list(lines, RAM_LINE, f"{path}.ram_lines", problems)
    for i, point in enumerate(detail["memory_over_time"]):
        if not (isinstance(point, list) and len(point) == 2 and all(map(_is_number, point))):
            problems.append(Problem(f"{path}.memory_over_time[{i}]",
                                    f"must be [cycle, bytes], got {point!r:.60}"))


def _check_node(node: dict, path: str, problems: list[Problem]) -> None:
    for key in ("cycles_by_class", "energy_pj_by_class"):
        for name, value in (node.get(key) or {}).items():
            if not _is_number(value):
                problems.append(Problem(f"{path}.{key}.{name}", f"must be a number, got "
                                                                f"{value!r:.60}"))


def _check_training(summary: dict, path: str, problems: list[Problem]) -> None:
    if _check_fields(summary["metrics"], TRAINING_METRICS, f"{path}.metrics", problems):
        _check_optional(summary["metrics"], OPTIONAL["training.metrics"], f"{path}.metrics",
                        problems)


def _check_product_row(row: dict, path: str, problems: list[Problem]) -> None:
    if not 0 <= row["network_share"] <= 1:
        problems.append(Problem(f"{path}.network_share",
                                f"must be between 0 and 1, got {row['network_share']!r}"))


def _check_crossover_row(row: dict, path: str, problems: list[Problem]) -> None:
    _check_optional(row, OPTIONAL["crossover"], path, problems)
    classes = row.get("classes")
    for name, costs in (classes.items() if isinstance(classes, dict) else ()):
        _check_fields(costs, CROSSOVER_COSTS, f"{path}.classes.{name}", problems)
    for key in ("levels", "clusters"):
        if not all(_is_count(v) for v in row[key]):
            problems.append(Problem(f"{path}.{key}", "must be a list of non-negative integers"))
    for key in ("lut_cycles_grid", "lut_energy_uj_grid"):
        grid = row[key]
        if len(grid) != len(row["levels"]) or not all(
                isinstance(line, list) and len(line) == len(row["clusters"])
                and all(v is None or _is_number(v) for v in line) for line in grid):
            problems.append(Problem(f"{path}.{key}", "must be a [levels][clusters] matrix of "
                                                     "numbers or nulls"))
    for style in STYLES:
        share = row.get(f"{style}_network_share")
        if _is_number(share) and not 0 <= share <= 1:
            problems.append(Problem(f"{path}.{style}_network_share",
                                    f"must be between 0 and 1, got {share!r}"))


_SECTION_CHECKS = {
    "compare": (SIMULATION_ROW, None),
    "sweep": (SWEEP_ROW, _check_sweep_row),
    "details": (DETAIL, _check_detail),
    "training": (TRAINING, _check_training),
    "products": (PRODUCT_ROW, _check_product_row),
    "crossover": (CROSSOVER_ROW, _check_crossover_row),
}


def check_results(document, source: str) -> dict:
    """The document itself when its format and every field a panel reads are
    right; otherwise a SpecError listing the problems (the first MAX_PROBLEMS)."""
    if not isinstance(document, dict):
        raise HwsimError(f"{source}: not a results document (a JSON object with "
                         f"\"format\": \"{FORMAT}\"), got a JSON {type(document).__name__}")
    if document.get("format") != FORMAT:
        raise HwsimError(f"{source}: not a results document: format must be \"{FORMAT}\", "
                         f"got {document.get('format')!r:.60}")
    if document.get("format_version") != FORMAT_VERSION:
        raise HwsimError(f"{source}: unsupported format_version "
                         f"{document.get('format_version')!r:.60} (this hwsim reads "
                         f"{FORMAT_VERSION})")
    problems: list[Problem] = []
    for section in SECTIONS:
        if section not in document:
            continue
        items = document[section]
        if not isinstance(items, list):
            problems.append(Problem(section, f"must be a list, got {type(items).__name__}"))
            continue
        fields, inner = _SECTION_CHECKS[section]
        _check_list(items, fields, section, problems, inner)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem("", f"... and {len(problems) - MAX_PROBLEMS} more problems"))
        raise SpecError(source, shown)
    return document


def read_results(path: str | Path) -> dict:
    """Read and check a results document (JSON, at most hwsim.io.MAX_JSON_BYTES)."""
    document = read_json(path, MAX_JSON_BYTES, "results document")
    return check_results(document, str(path))
