"""The cache keys of a sweep's units, and the same cached results one at a time:

    checkpoint = cached_checkpoint(workload, cache)     # continuous baseline artifact
    trained = cached_training(workload, cache)          # its L, K, widths, from it
    cached_verification(trained.value, cache)           # executor vs trainer
    cached_simulation(trained.value, "nrf52840", "lut", cache)   # a simulation_row

Each key is key_of(inputs): the kind, the hwsim version and everything the result
depends on (docs/sweeps.md lists them). run_sweep uses the same keys, so these
helpers and sweeps share their entries.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from hwsim.version import __version__
from hwsim.sweep import units
from hwsim.artifact.load import JSON_NAME, NPZ_NAME, load_artifact
from hwsim.io import read_json
from hwsim.sweep.cache import Cache, key_of
from hwsim.specs.device import Device
from hwsim.errors import HwsimError
from hwsim.ir.style import STYLES
from hwsim.sweep.plan import DeviceFile, SimulationOptions, checkpoint_workload, device_file
from hwsim.specs.workload import Workload

ARTIFACT_FILES = (JSON_NAME, NPZ_NAME)
SUMMARY_NAME = "summary.json"


def checkpoint_inputs(workload: Workload) -> dict:
    w = checkpoint_workload(workload)
    return {"kind": "checkpoint", "hwsim_version": __version__, "seed": w.training.seed,
            "workload_sha256": w.sha256, "workload": w.data}


def point_inputs(workload: Workload, checkpoint_sha256: str) -> dict:
    return {"kind": "point", "hwsim_version": __version__, "seed": workload.training.seed,
            "workload_sha256": workload.sha256, "workload": workload.data,
            "checkpoint_sha256": checkpoint_sha256}


def verification_inputs(artifact_sha256: str) -> dict:
    return {"kind": "verification", "hwsim_version": __version__,
            "artifact_sha256": artifact_sha256, "split": units.VERIFY_SPLIT}


def simulation_inputs(artifact_sha256: str, device: DeviceFile, style: str, label: str,
                      options: SimulationOptions) -> dict:
    return {"kind": "simulation", "hwsim_version": __version__,
            "artifact_sha256": artifact_sha256, "device_sha256": device.sha256,
            "style": style, "label": label, "options": options.to_dict()}


def shape_point_inputs(workload: Workload, devices: tuple[DeviceFile, ...],
                       styles: tuple[str, ...], label: str, options: SimulationOptions) -> dict:
    """A shape-only point's simulations, one cache entry for all its rows: its workload
    (with L, K and widths) costed on a random integer model of graph seed
    units.SHAPE_GRAPH_SEED on every device (by file hash) in every style."""
    return {"kind": "shape_simulation", "hwsim_version": __version__,
            "workload_sha256": workload.sha256, "graph_seed": units.SHAPE_GRAPH_SEED,
            "device_sha256": [device.sha256 for device in devices], "styles": list(styles),
            "label": label, "options": options.to_dict()}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifact_payload(directory: Path) -> dict[str, str]:
    return units.encode_files(units.read_files(directory, ARTIFACT_FILES))


def check_version(result: dict) -> dict:
    if result.get("hwsim_version") != __version__:
        raise HwsimError(f"a sweep worker runs hwsim {result.get('hwsim_version')}, this "
                         f"process hwsim {__version__}: install the same version on every "
                         "worker")
    return result


# -- one at a time ----------------------------------------------------------------------

@dataclass(frozen=True)
class Cached:
    """A cached result: value (an artifact directory or a JSON record), whether it
    was computed now, and notes (a corrupt entry that was replaced)."""
    value: object
    computed: bool
    notes: tuple[str, ...] = ()


def _computed(compute: Callable[[], dict]) -> dict:
    result = check_version(compute())
    if "error" in result:
        raise HwsimError(result["error"])
    return result


def check_artifact_entry(directory: Path) -> None:
    """A cached artifact must load (and so pass every check of the loader), and its
    summary.json, when there is one, must be a JSON object."""
    load_artifact(directory)
    if (directory / SUMMARY_NAME).exists() and not isinstance(
            read_json(directory / SUMMARY_NAME, what="summary"), dict):
        raise HwsimError(f"{directory / SUMMARY_NAME}: must be a JSON object")


def _files_entry(cache: Cache, kind: str, inputs: dict, compute: Callable[[], dict],
                 extra: Callable[[dict], dict] | None = None) -> Cached:
    key = key_of(inputs)
    found = cache.get_files(kind, key, check_artifact_entry)
    notes = (found.note,) if found.note else ()
    if found.hit:
        return Cached(found.value, False, notes)
    result = _computed(compute)
    files = units.decode_files(result["files"])
    files.update(extra(result) if extra else {})
    return Cached(cache.put_files(kind, key, files, inputs), True, notes)


def cached_checkpoint(workload: Workload, cache: Cache) -> Cached:
    """The workload's continuous baseline artifact (trained now or taken from the
    cache); value: its directory."""
    inputs = checkpoint_inputs(workload)
    return _files_entry(cache, "checkpoint", inputs,
                        lambda: units.train_checkpoint(inputs["workload"]))


def cached_training(workload: Workload, cache: Cache) -> Cached:
    """The artifact of a discrete workload as its own L, K and widths give them,
    fine-tuned from the cached checkpoint (both trained now or taken from the
    cache); value: the artifact directory (model.json, model.npz, summary.json)."""
    checkpoint = cached_checkpoint(workload, cache)
    checkpoint_sha = sha256_file(checkpoint.value / JSON_NAME)
    inputs = point_inputs(workload, checkpoint_sha)
    point = _files_entry(
        cache, "point", inputs,
        lambda: units.fine_tune(workload.data, artifact_payload(checkpoint.value),
                                checkpoint_sha),
        lambda r: {SUMMARY_NAME: (json.dumps(r["summary"], sort_keys=True, indent=1, allow_nan=False)
                                  + "\n").encode()})
    return Cached(point.value, point.computed or checkpoint.computed,
                  checkpoint.notes + point.notes)


def _json_entry(cache: Cache, kind: str, inputs: dict, compute: Callable[[], dict],
                field: str) -> Cached:
    key = key_of(inputs)
    found = cache.get_json(kind, key)
    notes = (found.note,) if found.note else ()
    if found.hit:
        return Cached(found.value, False, notes)
    value = _computed(compute)[field]
    cache.put_json(kind, key, value, inputs)
    return Cached(value, True, notes)


def cached_verification(artifact: str | Path, cache: Cache) -> Cached:
    """The executor-vs-trainer verification of an artifact directory (test split);
    value: {bit_exact, samples, nodes_compared, values_compared, mismatch, loads,
    adds, compares, multiplies, float_ops}."""
    artifact = Path(artifact)
    inputs = verification_inputs(sha256_file(artifact / JSON_NAME))
    return _json_entry(cache, "verification", inputs,
                       lambda: units.verify(artifact_payload(artifact)), "verification")


def cached_simulation(artifact: str | Path, device: str | Path | Device, style: str,
                      cache: Cache, *, label: str | None = None,
                      options: SimulationOptions | None = None) -> Cached:
    """simulation_row of an artifact directory on a device (name, path or a Device
    loaded from a file) in a style; label: the row's `workload` (default: the
    artifact's workload name)."""
    if style not in STYLES:
        raise HwsimError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    artifact, options = Path(artifact), options or SimulationOptions()
    if label is None:
        label = load_artifact(artifact).workload.name
    found = device if isinstance(device, DeviceFile) else device_file(device)
    inputs = simulation_inputs(sha256_file(artifact / JSON_NAME), found, style, label, options)

    def compute() -> dict:
        result = units.simulate_many(artifact_payload(artifact), label,
                                     units.pack_jobs([(found.as_job(), style)]),
                                     options.to_dict())
        return result if "error" in result else {**result, "row": result["rows"][0]}
    return _json_entry(cache, "simulation", inputs, compute, "row")
