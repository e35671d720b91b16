"""The units of work of a sweep, as pure functions of JSON-able inputs returning
JSON-able results, so that a local process pool and a Dask cluster (whose workers
share no files with the caller) run them alike. Files travel as base64 text.

Every result carries the worker's hwsim version; a user error (HwsimError) comes
back as {"error": message} instead of an exception, so that one bad point does not
end the sweep. Nothing here touches the cache: the caller stores the results.
"""
from __future__ import annotations

import base64
import functools
import tempfile
from pathlib import Path

from hwsim.version import __version__
from hwsim.artifact.save import build_files
from hwsim.artifact.load import load_artifact
from hwsim.cost.actions import CostOptions
from hwsim.specs.device import device_from_data
from hwsim.errors import HwsimError
from hwsim.memory.footprint import weight_footprint
from hwsim.ir.graph import build_graph, graph_from_artifact
from hwsim.ir.random_model import random_integer_model
from hwsim.memory.planner import MemoryOptions
from hwsim.evaluate.rows import simulation_row
from hwsim.schedule.scheduler import ScheduleOptions
from hwsim.evaluate.simulate import Subject, simulate
from hwsim.specs.yaml_reader import parse_yaml
from hwsim.train.pipeline import run_training
from hwsim.execute.verify import verify_artifact
from hwsim.specs.workload import workload_from_data

VERIFY_SPLIT = "test"
SHAPE_GRAPH_SEED = 0      # random integer models of shape-only points, as load_subject


def encode_files(files: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())}


def decode_files(files: dict[str, str]) -> dict[str, bytes]:
    return {name: base64.b64decode(text) for name, text in files.items()}


def read_files(directory: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in names}


def _result(**fields) -> dict:
    return {"hwsim_version": __version__, **fields}


def _load_artifact(directory: Path, files: dict[str, str]):
    for name, data in decode_files(files).items():
        (directory / name).write_bytes(data)
    return load_artifact(directory)


def train_checkpoint(workload_data: dict) -> dict:
    """Train the continuous baseline of a workload (its discretization must be
    continuous): the artifact files."""
    try:
        workload = workload_from_data(workload_data, "<sweep checkpoint>")
        result = run_training(workload)
        return _result(files=encode_files(build_files(result)))
    except HwsimError as exc:
        return _result(error=str(exc))


def fine_tune(workload_data: dict, checkpoint_files: dict[str, str],
              checkpoint_sha256: str) -> dict:
    """Discretize, fine-tune and export one grid point from the checkpoint's
    continuous weights: the artifact files and a summary of its metrics and weight
    memory."""
    try:
        workload = workload_from_data(workload_data, "<sweep point>")
        with tempfile.TemporaryDirectory(prefix="hwsim-unit-") as temp:
            checkpoint = _load_artifact(Path(temp), checkpoint_files)
        result = run_training(workload, init_params=checkpoint.continuous_params)
        if result.integer_model is None:
            raise HwsimError(f"workload {workload.name!r}: no integer model was exported "
                             "(the point is not discrete)")
        footprint = weight_footprint(result.integer_model)
        summary = {"metrics": result.metrics, "scale_bits": result.scale.scale_bits,
                   "binding_bound": result.scale.binding,
                   "accumulator_bits": result.integer_model.accumulator_bits,
                   "table_entry_bits": result.integer_model.table_entry_bits,
                   "weight_bytes": footprint.deployed_bytes,
                   "float32_weight_bytes": footprint.float32_bytes}
        return _result(files=encode_files(build_files(result, init_from=checkpoint_sha256)),
                       summary=summary)
    except HwsimError as exc:
        return _result(error=str(exc))


def verify(artifact_files: dict[str, str]) -> dict:
    """Run the artifact op by op on the test split and compare it bit for bit with
    the trainer's integer forward pass."""
    try:
        with tempfile.TemporaryDirectory(prefix="hwsim-unit-") as temp:
            report = verify_artifact(_load_artifact(Path(temp), artifact_files),
                                     split=VERIFY_SPLIT)
        counts = report.per_inference
        mismatch = report.mismatch
        return _result(verification={
            "bit_exact": report.bit_exact, "samples": report.samples,
            "nodes_compared": report.nodes_compared,
            "values_compared": report.values_compared,
            "mismatch": None if mismatch is None else
            f"node {mismatch.node!r} sample {mismatch.sample} unit {mismatch.unit}: trainer "
            f"{mismatch.expected}, executor {mismatch.got}{' ' + mismatch.detail if mismatch.detail else ''}",
            "loads": counts.loads, "adds": counts.adds, "compares": counts.compares,
            "multiplies": counts.multiplies, "float_ops": counts.float_ops})
    except HwsimError as exc:
        return _result(error=str(exc))


def simulate_many(artifact_files: dict[str, str], label: str, jobs: dict,
                  options: dict) -> dict:
    """Simulate one artifact on several (device, style) pairs. jobs: pack_jobs of
    ({"text": YAML, "source": path}, style) pairs; options: the CostOptions,
    MemoryOptions and ScheduleOptions fields. Returns one simulation_row per job."""
    try:
        with tempfile.TemporaryDirectory(prefix="hwsim-unit-") as temp:
            artifact = _load_artifact(Path(temp), artifact_files)
        subject = Subject(label, "artifact", graph_from_artifact(artifact),
                          artifact.workload.realtime)
        return _result(rows=_simulate_jobs(subject, label, jobs, options))
    except HwsimError as exc:
        return _result(error=str(exc))


def simulate_shape(workload_data: dict, label: str, jobs: dict, options: dict) -> dict:
    """A shape-only point: the workload costed on a random integer model of its kind
    (graph seed 0, as `hwsim simulate` costs it) on several (device, style) pairs.
    Returns one simulation_row per job and the point's integer facts."""
    try:
        workload = workload_from_data(workload_data, "<sweep point>")
        model = random_integer_model(workload, SHAPE_GRAPH_SEED)
        subject = Subject(label, "workload", build_graph(workload, model, source="random"),
                          workload.realtime)
        footprint = weight_footprint(model)
        point = {"scale_bits": model.scale_bits, "accumulator_bits": model.accumulator_bits,
                 "table_entry_bits": model.table_entry_bits,
                 "weight_bytes": footprint.deployed_bytes,
                 "float32_weight_bytes": footprint.float32_bytes}
        return _result(rows=_simulate_jobs(subject, label, jobs, options), point=point)
    except HwsimError as exc:
        return _result(error=str(exc))


@functools.lru_cache(maxsize=256)
def _device(text: str, source: str):
    """A device from its file's text, parsed once per worker process (a Device is
    frozen; the text, not the path, is what the cache keys name)."""
    return device_from_data(parse_yaml(text, source), source)


def pack_jobs(pairs) -> dict:
    """(device job {"text", "source"}, style) pairs as one JSON-able record that carries
    each device file's text once: {"devices": [...], "jobs": [{"device": index, "style"}]}."""
    devices: list[dict] = []
    index: dict[str, int] = {}
    jobs = []
    for device, style in pairs:
        if device["text"] not in index:
            index[device["text"]] = len(devices)
            devices.append(device)
        jobs.append({"device": index[device["text"]], "style": style})
    return {"devices": devices, "jobs": jobs}


def _simulate_jobs(subject: Subject, label: str, packed: dict, options: dict) -> list[dict]:
    cost = CostOptions(**options["cost"])
    memory = MemoryOptions(**options["memory"])
    schedule = ScheduleOptions(**options["schedule"])
    rows = []
    for job in packed["jobs"]:
        file = packed["devices"][job["device"]]
        device = _device(file["text"], file["source"])
        sim = simulate(subject, device, job["style"], cost_options=cost,
                       memory_options=memory, schedule_options=schedule)
        rows.append(simulation_row(sim, workload=label, realtime=subject.realtime))
    return rows
