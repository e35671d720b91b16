"""The report's compare, products and sweep sections, cached like the sweep's units
(hwsim/sweep/cache.py): one JSON entry per section, found by the sha256 of
everything the section depends on, so a warm `hwsim report` reads its 768
simulations, 216 SoC simulations and the sweep's rows (one entry instead of a
thousand) instead of running or assembling them.

The inputs of a section's key: the kind, the hwsim version, the sha256 of the
package's files (code and data: any change to the cost model, memory planner or
scheduler is a new key), per subject its label and the sha256 of what it was made
from (a trained artifact's model.json, which pins model.npz; else the workload as
parsed, and the bytes of a .tflite/.onnx file), the sha256 of every device or SoC
file, the styles, the frames and (compare) which triples get a detail record.
A subject or device that did not come from a file is not cached (computed). The
sweep section's key is its plan: the workload as parsed, the points, the device
files' sha256, the styles and the simulation options (its units keep their own
entries, so a sweep is resumed unit by unit; a sweep with a failed unit is not
stored, so the next run retries it).

The value is JSON either way: a section computed now goes through the same JSON
round trip as one read back, so cold and warm runs hand the document identical
rows.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from hwsim.artifact.load import JSON_NAME
from hwsim.evaluate.compare import compare
from hwsim.evaluate.simulate import Subject
from hwsim.evaluate.soc import compare_products
from hwsim.importers.network import is_model_path, load_network
from hwsim.ir.style import STYLES
from hwsim.specs.device import Device
from hwsim.specs.soc import Soc
from hwsim.sweep.cache import Cache, key_of, package_sha256
from hwsim.sweep.plan import SweepPlan
from hwsim.sweep.run import run_sweep
from hwsim.version import __version__

Progress = Callable[[int, int], None]


def _file_sha256(path: str | Path | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def subject_source(name: str, artifact: Path | None) -> dict | None:
    """What a report subject was made from, for a key: a trained artifact (the sha256
    of its model.json), or a workload name or path (the workload as parsed, plus the
    bytes of a .tflite/.onnx model file)."""
    if artifact is not None:
        return {"artifact_sha256": _file_sha256(artifact / JSON_NAME)}
    workload = load_network(name)
    return {"workload_sha256": workload.sha256,
            "model_sha256": _file_sha256(name) if is_model_path(name) else None}


def _section_inputs(kind: str, subjects: Sequence[Subject], sources: Sequence[dict | None],
                    machines: Sequence[Device | Soc], frames: int) -> dict | None:
    if any(s is None for s in sources) or any(not m.source_file for m in machines):
        return None
    return {"kind": kind, "hwsim_version": __version__, "package_sha256": package_sha256(),
            "subjects": [{"label": s.label, **source} for s, source in zip(subjects, sources)],
            "files_sha256": [[m.name, _file_sha256(m.source_file)] for m in machines],
            "styles": list(STYLES), "frames": frames}


def _cached(cache: Cache, kind: str, inputs: dict | None, compute: Callable[[], object],
            count: int, progress: Progress | None) -> tuple[object, str | None]:
    """(value, note): the section from the cache, or computed, round-tripped through
    JSON and stored. `count`: the section's units, reported at once on a hit."""
    key = key_of(inputs) if inputs is not None else None
    found = cache.get_json(kind, key) if key else None
    if found is not None and found.hit:
        if progress:
            progress(count, count)
        return found.value, found.note
    value = json.loads(json.dumps(compute(), allow_nan=False))
    if key:
        cache.put_json(kind, key, value, inputs)
    return value, found.note if found is not None else None


def cached_compare(cache: Cache, subjects: Sequence[Subject], sources: Sequence[dict | None],
                   devices: Sequence[Device], frames: int, details: set[tuple[str, str, str]],
                   progress: Progress | None = None) -> tuple[list, list, str | None]:
    """(rows, details, note) of hwsim.evaluate.compare over every style, from the cache
    when the same inputs were compared before."""
    inputs = _section_inputs("report_compare", subjects, sources, devices, frames)
    if inputs is not None:
        inputs["details"] = sorted(list(d) for d in details)

    def compute() -> dict:
        matrix = compare(subjects, devices, STYLES, frames=frames,
                         detail=lambda w, d, s: (w, d, s) in details, progress=progress)
        return {"rows": matrix.rows, "details": matrix.details}
    value, note = _cached(cache, "report_compare", inputs, compute,
                          len(subjects) * len(devices) * len(STYLES), progress)
    return value["rows"], value["details"], note


def cached_products(cache: Cache, subjects: Sequence[Subject], sources: Sequence[dict | None],
                    socs: Sequence[Soc], frames: int, progress: Progress | None = None
                    ) -> tuple[list, str | None]:
    """(rows, note) of hwsim.evaluate.soc.compare_products over every style, from the
    cache when the same inputs were run before."""
    inputs = _section_inputs("report_products", subjects, sources, socs, frames)
    return _cached(cache, "report_products", inputs,
                   lambda: compare_products(subjects, socs, STYLES, frames=frames,
                                            progress=progress),
                   len(subjects) * len(socs) * len(STYLES), progress)


def cached_sweep(cache: Cache, plan: SweepPlan, *, jobs: int | None = None,
                 progress: Progress | None = None) -> tuple[list, tuple[str, ...]]:
    """(rows, notes) of hwsim.sweep.run.run_sweep on `plan`, from one cache entry when
    the same plan ran to the end before."""
    inputs = {"kind": "report_sweep", "hwsim_version": __version__,
              "package_sha256": package_sha256(),
              "workload_sha256": plan.workload.sha256, "workload": plan.workload.data,
              "points": [list(point.order) for point in plan.points],
              "files_sha256": [[d.name, d.sha256] for d in plan.devices],
              "styles": list(plan.styles), "options": plan.options.to_dict()}
    key = key_of(inputs)
    found = cache.get_json("report_sweep", key)
    notes = plan.notes + ((found.note,) if found.note else ())
    if found.hit:
        if progress:
            progress(plan.total_units, plan.total_units)
        return found.value, notes
    result = run_sweep(plan, cache=cache, jobs=jobs,
                       progress=(lambda done, total, label: progress(done, total))
                       if progress else None)
    rows = json.loads(json.dumps(result.rows, allow_nan=False))
    if not result.failed_units:
        cache.put_json("report_sweep", key, rows, inputs)
    return rows, result.notes + ((found.note,) if found.note else ())
