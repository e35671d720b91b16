"""Bit-width sweeps: train a workload's continuous baseline once, fine-tune every
(activation levels L, weight clusters K, accumulator bits) point from it, verify
each point's integer network against the trainer with the executor, and simulate
it on every device in every arithmetic style. One row per point x device x style.

    spec = SweepSpec("digits-mlp", levels=(4, 8), clusters=(4, 16))
    result = run_sweep(spec, cache=open_cache(), jobs=2)
    result.rows          # simulation_row + the point's fields, sorted

Every unit of work (checkpoint, fine-tuned point, verification, simulation) is
cached on disk by a content hash of its inputs (hwsim/cache.py), so a sweep that
was stopped resumes where it was, and a finished one costs nothing to rerun. The
units run in this process, in a local process pool or on a Dask cluster
(hwsim/sweep_runner.py); the rows are the same whichever runs them. The
`cached_*` helpers give the same cached results one at a time.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hwsim import __version__
from hwsim import sweep_units as units
from hwsim.artifact_load import JSON_NAME, NPZ_NAME
from hwsim.bundled import bundled_names, resolve
from hwsim.cache import Cache, key_of, open_cache
from hwsim.cost_actions import CostOptions
from hwsim.device import Device, load_device
from hwsim.errors import HwsimError
from hwsim.memory import MemoryOptions
from hwsim.schedule import ScheduleOptions
from hwsim.simulate import STYLES
from hwsim.sweep_runner import make_runner
from hwsim.train.pipeline import dataset_for
from hwsim.workload import (ACCUMULATOR_BITS, MAX_CLUSTERS, MAX_LEVELS, MIN_CLUSTERS,
                            MIN_LEVELS, Workload, load_workload, workload_from_data)

ARTIFACT_FILES = (JSON_NAME, NPZ_NAME)
SUMMARY_NAME = "summary.json"
# The fields a sweep adds to simulation_row, in column order (after workload, device, style).
POINT_FIELDS = ("activation_levels", "weight_clusters", "accumulator_bits", "table_entry_bits",
                "cluster_scope", "seed", "metric", "continuous", "discretized", "integer",
                "agreement", "bit_exact", "verified_samples", "verified_nodes",
                "verified_values", "executed_loads", "executed_adds", "executed_compares",
                "executed_multiplies", "executed_float_ops", "weight_bytes",
                "float32_weight_bytes", "scale_bits")

Progress = Callable[[int, int, str], None]   # (units done, units in all, what just finished)


# -- what to sweep --------------------------------------------------------------------

def _grid(name: str, values, allowed: Callable[[int], bool], rule: str,
          problems: list[str]) -> tuple[int, ...]:
    values = tuple(values)
    if not values:
        problems.append(f"{name}: empty; give at least one value ({rule})")
        return ()
    bad = [v for v in values if not isinstance(v, int) or isinstance(v, bool) or not allowed(v)]
    if bad:
        problems.append(f"{name}: {', '.join(repr(v) for v in bad)} out of range ({rule})")
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class SweepSpec:
    """A grid to sweep. accumulator_bits None: the workload's own; devices None:
    every bundled device; seed None: the workload's training seed."""
    workload: str
    levels: tuple[int, ...]
    clusters: tuple[int, ...]
    accumulator_bits: tuple[int, ...] | None = None
    styles: tuple[str, ...] = STYLES
    devices: tuple[str, ...] | None = None
    seed: int | None = None

    def __post_init__(self):
        problems: list[str] = []
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("levels", _grid("levels", self.levels, lambda v: MIN_LEVELS <= v <= MAX_LEVELS,
                             f"integers from {MIN_LEVELS} to {MAX_LEVELS}", problems))
        set_("clusters", _grid("clusters", self.clusters,
                               lambda v: MIN_CLUSTERS <= v <= MAX_CLUSTERS,
                               f"integers from {MIN_CLUSTERS} to {MAX_CLUSTERS}", problems))
        if self.accumulator_bits is not None:
            set_("accumulator_bits", _grid("accumulator_bits", self.accumulator_bits,
                                           lambda v: v in ACCUMULATOR_BITS, "16 or 32", problems))
        styles = tuple(dict.fromkeys(self.styles))
        if not styles:
            problems.append(f"styles: empty; give at least one of {', '.join(STYLES)}")
        unknown = [s for s in styles if s not in STYLES]
        if unknown:
            problems.append(f"styles: unknown {', '.join(map(repr, unknown))} "
                            f"(known: {', '.join(STYLES)})")
        set_("styles", styles)
        if self.devices is not None:
            devices = tuple(dict.fromkeys(self.devices))
            if not devices:
                problems.append("devices: empty; give device names or paths, or all")
            set_("devices", devices)
        if self.seed is not None and (not isinstance(self.seed, int)
                                      or isinstance(self.seed, bool) or self.seed < 0):
            problems.append(f"seed: must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.workload, str) or not self.workload:
            problems.append(f"workload: must be a name or a path, got {self.workload!r}")
        if problems:
            raise HwsimError("sweep: " + "; ".join(problems) if len(problems) == 1 else
                             "sweep: " + str(len(problems)) + " problems\n"
                             + "\n".join("  " + p for p in problems))


@dataclass(frozen=True)
class SimulationOptions:
    """The simulator's options, the same for every simulation of a sweep."""
    cost: CostOptions | None = None
    memory: MemoryOptions | None = None
    schedule: ScheduleOptions | None = None

    def to_dict(self) -> dict:
        def fields_of(value):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"cost": fields_of(self.cost or CostOptions()),
                "memory": fields_of(self.memory or MemoryOptions()),
                "schedule": fields_of(self.schedule or ScheduleOptions())}


@dataclass(frozen=True)
class DeviceFile:
    """A device as a sweep ships it to workers: its YAML text and content hash."""
    name: str
    source: str
    text: str
    sha256: str

    def as_job(self) -> dict:
        return {"text": self.text, "source": self.source}


@dataclass(frozen=True)
class Point:
    levels: int
    clusters: int
    accumulator_bits: int
    workload: Workload           # the base workload with this point's L, K and widths

    @property
    def label(self) -> str:
        return f"L={self.levels} K={self.clusters} acc={self.accumulator_bits}"

    @property
    def order(self) -> tuple[int, int, int]:
        return (self.levels, self.clusters, self.accumulator_bits)


@dataclass(frozen=True)
class SweepPlan:
    workload: Workload           # the base workload (seed applied)
    points: tuple[Point, ...]
    devices: tuple[DeviceFile, ...]
    styles: tuple[str, ...]
    options: SimulationOptions
    notes: tuple[str, ...]

    @property
    def total_units(self) -> int:
        return 1 + 2 * len(self.points) + len(self.points) * len(self.devices) * len(self.styles)


def _copy(data: dict) -> dict:
    return json.loads(json.dumps(data))


def point_workload(workload: Workload, levels: int, clusters: int, accumulator_bits: int
                   ) -> Workload:
    """The workload with L, K and the accumulator width replaced; the table entry
    width is lowered to the accumulator width when it is wider."""
    data = _copy(workload.data)
    data["discretization"]["activation_levels"] = levels
    data["discretization"]["weight_clusters"] = clusters
    entry = min(workload.integer.table_entry_bits, accumulator_bits)
    data["integer"] = {"accumulator_bits": accumulator_bits, "table_entry_bits": entry}
    return workload_from_data(data, workload.source_file or "<sweep point>")


def checkpoint_workload(workload: Workload) -> Workload:
    """What the continuous baseline depends on: the workload with its discretization
    made continuous and its integer section fixed (neither changes the baseline), so
    every point of every width shares one checkpoint."""
    data = _copy(workload.data)
    data["discretization"] = {"activation_levels": "continuous",
                              "weight_clusters": "continuous", "cluster_scope": "global"}
    data["integer"] = {"accumulator_bits": 32, "table_entry_bits": 16}
    return workload_from_data(data, workload.source_file or "<sweep checkpoint>")


def device_file(name_or_path: str | Path | Device) -> DeviceFile:
    """Load (and so check) a device and keep its file's text and sha256."""
    if isinstance(name_or_path, Device):
        if not name_or_path.source_file:
            raise HwsimError(f"device {name_or_path.name!r} was not loaded from a file; "
                             "sweeps and the cache need its YAML file")
        path = Path(name_or_path.source_file)
    else:
        path = resolve("devices", str(name_or_path))
    device = load_device(path)
    data = path.read_bytes()
    return DeviceFile(device.name, str(path), data.decode("utf-8"),
                      hashlib.sha256(data).hexdigest())


def _devices(names: tuple[str, ...] | None) -> tuple[DeviceFile, ...]:
    if names is None or names == ("all",):
        names = tuple(bundled_names("devices"))
    found, unknown = [], []
    for name in names:
        try:
            found.append(device_file(name))
        except HwsimError as exc:
            if str(exc).startswith("unknown device"):
                unknown.append(name)
            else:
                raise
    if unknown:
        raise HwsimError(f"unknown device{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; bundled: "
                         f"{', '.join(bundled_names('devices'))} (or give a path to a .yaml "
                         "file)")
    by_name: dict[str, DeviceFile] = {}
    for device in found:
        if device.name in by_name and by_name[device.name].sha256 != device.sha256:
            raise HwsimError(f"two different device files are named {device.name!r}: "
                             f"{by_name[device.name].source} and {device.source}")
        by_name[device.name] = device
    return tuple(by_name[name] for name in sorted(by_name))


def plan_sweep(spec: SweepSpec, options: SimulationOptions | None = None) -> SweepPlan:
    """Load and check everything a sweep needs before any work starts."""
    workload = load_workload(spec.workload)
    if spec.seed is not None:
        workload = workload.with_overrides(seed=spec.seed)
    dataset_for(workload)      # shape-only workloads and dataset mismatches stop here
    if workload.integer is None:
        raise HwsimError(f"workload {workload.name!r} has no integer section")
    notes = []
    accumulators = spec.accumulator_bits or (workload.integer.accumulator_bits,)
    entry = workload.integer.table_entry_bits
    for acc in accumulators:
        if entry > acc:
            notes.append(f"accumulator_bits {acc}: table_entry_bits lowered from {entry} "
                         f"to {acc} (an entry must fit the accumulator)")
    points = tuple(Point(L, K, acc, point_workload(workload, L, K, acc))
                   for L in sorted(spec.levels) for K in sorted(spec.clusters)
                   for acc in sorted(accumulators))
    styles = tuple(s for s in STYLES if s in spec.styles)
    return SweepPlan(workload, points, _devices(spec.devices), styles,
                     options or SimulationOptions(), tuple(notes))


# -- cache keys -----------------------------------------------------------------------

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


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _artifact_payload(directory: Path) -> dict[str, str]:
    return units.encode_files(units.read_files(directory, ARTIFACT_FILES))


def _check_version(result: dict) -> dict:
    if result.get("hwsim_version") != __version__:
        raise HwsimError(f"a sweep worker runs hwsim {result.get('hwsim_version')}, this "
                         f"process hwsim {__version__}: install the same version on every "
                         "worker")
    return result


# -- the sweep ------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepResult:
    rows: tuple[dict, ...]
    notes: tuple[str, ...]
    computed_units: int
    cached_units: int
    failed_units: int
    total_units: int


class _Run:
    """The event loop of one sweep: look each unit up in the cache, submit the
    missing ones, store their results, and submit what depended on them."""

    def __init__(self, plan: SweepPlan, cache: Cache, runner, progress: Progress | None):
        self.plan, self.cache, self.runner, self.progress = plan, cache, runner, progress
        self.done = self.computed = self.cached = self.failed = 0
        self.notes: list[str] = list(plan.notes)
        self.pending: dict = {}                 # handle -> what to do with its result
        self.summaries: dict[Point, dict] = {}
        self.verifications: dict[Point, dict] = {}
        self.rows: dict[tuple, dict] = {}       # (point, device, style) -> simulation_row

    def tick(self, label: str, how: str, count: int = 1) -> None:
        setattr(self, how, getattr(self, how) + count)
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.plan.total_units,
                          label if how == "computed" else f"{label} ({how})")

    def note(self, text: str | None) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def submit(self, then: Callable[[dict], None], function, *args) -> None:
        self.pending[self.runner.submit(function, *args)] = then

    def loop(self) -> None:
        while self.pending:
            for handle in self.runner.wait(list(self.pending)):
                then = self.pending.pop(handle)
                then(_check_version(self.runner.result(handle)))

    # checkpoint ----------------------------------------------------------------------
    def start(self) -> None:
        inputs = checkpoint_inputs(self.plan.workload)
        key = key_of(inputs)
        found = self.cache.get_files("checkpoint", key)
        self.note(found.note)
        if found.hit:
            self.tick("checkpoint", "cached")
            self.fan_out(found.value)
            return

        def stored(result: dict) -> None:
            if "error" in result:
                raise HwsimError(f"training the continuous baseline failed: {result['error']}")
            directory = self.cache.put_files("checkpoint", key,
                                             units.decode_files(result["files"]), inputs)
            self.tick("checkpoint", "computed")
            self.fan_out(directory)
        self.submit(stored, units.train_checkpoint, inputs["workload"])

    # points --------------------------------------------------------------------------
    def fan_out(self, checkpoint: Path) -> None:
        checkpoint_sha = _sha256_file(checkpoint / JSON_NAME)
        files = None
        for point in self.plan.points:
            inputs = point_inputs(point.workload, checkpoint_sha)
            key = key_of(inputs)
            found = self.cache.get_files("point", key)
            self.note(found.note)
            if found.hit:
                self.tick(f"fine-tune {point.label}", "cached")
                self.downstream(point, found.value)
                continue
            files = files or _artifact_payload(checkpoint)
            self.submit(self._point_stored(point, key, inputs), units.fine_tune,
                        inputs["workload"], files, checkpoint_sha)

    def _point_stored(self, point: Point, key: str, inputs: dict):
        def stored(result: dict) -> None:
            if "error" in result:
                self.note(f"point {point.label} failed: {result['error']}")
                self.tick(f"fine-tune {point.label}", "failed")
                self.skip(point)
                return
            files = units.decode_files(result["files"])
            files[SUMMARY_NAME] = (json.dumps(result["summary"], sort_keys=True, indent=1)
                                   + "\n").encode()
            directory = self.cache.put_files("point", key, files, inputs)
            self.tick(f"fine-tune {point.label}", "computed")
            self.downstream(point, directory)
        return stored

    def skip(self, point: Point) -> None:
        """A failed point: its verification and simulations will not run."""
        skipped = 1 + len(self.plan.devices) * len(self.plan.styles)
        self.done += skipped
        if self.progress is not None:
            self.progress(self.done, self.plan.total_units, f"skipped {point.label}")

    # verification and simulations ----------------------------------------------------
    def downstream(self, point: Point, artifact: Path) -> None:
        self.summaries[point] = json.loads((artifact / SUMMARY_NAME).read_bytes())
        artifact_sha = _sha256_file(artifact / JSON_NAME)
        files = None
        inputs = verification_inputs(artifact_sha)
        key = key_of(inputs)
        found = self.cache.get_json("verification", key)
        self.note(found.note)
        if found.hit:
            self.verifications[point] = found.value
            self.tick(f"verify {point.label}", "cached")
        else:
            files = _artifact_payload(artifact)
            self.submit(self._verified(point, key, inputs), units.verify, files)
        label, missing = self.plan.workload.name, []
        for device in self.plan.devices:
            for style in self.plan.styles:
                inputs = simulation_inputs(artifact_sha, device, style, label, self.plan.options)
                key = key_of(inputs)
                found = self.cache.get_json("simulation", key)
                self.note(found.note)
                if found.hit:
                    self.rows[(point, device.name, style)] = found.value
                    self.tick(f"simulate {point.label} {device.name} {style}", "cached")
                else:
                    missing.append((device, style, key, inputs))
        if missing:
            jobs = [{"device": device.as_job(), "style": style} for device, style, _, _ in missing]
            self.submit(self._simulated(point, missing), units.simulate_many,
                        files or _artifact_payload(artifact), label, jobs,
                        self.plan.options.to_dict())

    def _verified(self, point: Point, key: str, inputs: dict):
        def stored(result: dict) -> None:
            if "error" in result:
                self.note(f"verifying point {point.label} failed: {result['error']}")
                self.tick(f"verify {point.label}", "failed")
                return
            self.cache.put_json("verification", key, result["verification"], inputs)
            self.verifications[point] = result["verification"]
            if not result["verification"]["bit_exact"]:
                self.note(f"point {point.label}: the executor differs from the trainer's "
                          f"integer pass ({result['verification']['mismatch']})")
            self.tick(f"verify {point.label}", "computed")
        return stored

    def _simulated(self, point: Point, missing: list):
        def stored(result: dict) -> None:
            if "error" in result:
                self.note(f"simulating point {point.label} failed: {result['error']}")
                self.tick(f"simulate {point.label}", "failed", len(missing))
                return
            for (device, style, key, inputs), row in zip(missing, result["rows"]):
                self.cache.put_json("simulation", key, row, inputs)
                self.rows[(point, device.name, style)] = row
                self.tick(f"simulate {point.label} {device.name} {style}", "computed")
        return stored

    # rows ----------------------------------------------------------------------------
    def result(self) -> SweepResult:
        rows = []
        for point in self.plan.points:
            if point not in self.summaries or point not in self.verifications:
                continue
            fields = point_fields(point.workload, self.summaries[point],
                                  self.verifications[point])
            for device in self.plan.devices:
                for style in self.plan.styles:
                    sim = self.rows.get((point, device.name, style))
                    if sim is not None:
                        rows.append(sweep_row(sim, fields))
        return SweepResult(tuple(rows), tuple(self.notes), self.computed, self.cached,
                           self.failed, self.plan.total_units)


def point_fields(workload: Workload, summary: dict, verification: dict) -> dict:
    """The columns one grid point adds to each of its simulation rows."""
    d, m = workload.discretization, summary["metrics"]
    return {"activation_levels": d.activation_levels, "weight_clusters": d.weight_clusters,
            "accumulator_bits": summary["accumulator_bits"],
            "table_entry_bits": summary["table_entry_bits"], "cluster_scope": d.cluster_scope,
            "seed": workload.training.seed, "metric": m["metric"],
            "continuous": m["continuous"], "discretized": m.get("discretized"),
            "integer": m.get("integer"), "agreement": m.get("agreement"),
            "bit_exact": verification["bit_exact"],
            "verified_samples": verification["samples"],
            "verified_nodes": verification["nodes_compared"],
            "verified_values": verification["values_compared"],
            "executed_loads": verification["loads"], "executed_adds": verification["adds"],
            "executed_compares": verification["compares"],
            "executed_multiplies": verification["multiplies"],
            "executed_float_ops": verification["float_ops"],
            "weight_bytes": summary["weight_bytes"],
            "float32_weight_bytes": summary["float32_weight_bytes"],
            "scale_bits": summary["scale_bits"]}


def sweep_row(simulation: dict, fields: dict) -> dict:
    """workload, device, style, the point's fields, then the rest of simulation_row."""
    head = {k: simulation[k] for k in ("workload", "device", "style")}
    return {**head, **fields, **{k: v for k, v in simulation.items() if k not in head}}


def row_order(row: dict) -> tuple:
    return (row["activation_levels"], row["weight_clusters"], row["accumulator_bits"],
            row["device"], STYLES.index(row["style"]))


def run_sweep(spec: SweepSpec | SweepPlan, *, cache: Cache | str | Path | None = None,
              executor: str = "local", jobs: int | None = None,
              dask_address: str | None = None, progress: Progress | None = None,
              options: SimulationOptions | None = None) -> SweepResult:
    """Run (or resume) a sweep. cache: a Cache, a directory, or None for the default
    ($HWSIM_CACHE or ./.hwsim-cache). spec may be a plan from plan_sweep (its
    options then apply). executor "local": `jobs` processes (default one
    per CPU; 1 runs in this process); "dask": the cluster at `dask_address`.
    progress(done, total, label) is called after every unit, cached ones included."""
    plan = spec if isinstance(spec, SweepPlan) else plan_sweep(spec, options)
    cache = cache if isinstance(cache, Cache) else open_cache(cache)
    with make_runner(executor, jobs=jobs, dask_address=dask_address) as runner:
        run = _Run(plan, cache, runner, progress)
        run.start()
        run.loop()
    result = run.result()
    return dataclasses.replace(result, rows=tuple(sorted(result.rows, key=row_order)))


# -- one at a time ----------------------------------------------------------------------

@dataclass(frozen=True)
class Cached:
    """A cached result: value (an artifact directory or a JSON record), whether it
    was computed now, and notes (a corrupt entry that was replaced)."""
    value: object
    computed: bool
    notes: tuple[str, ...] = ()


def _files_entry(cache: Cache, kind: str, inputs: dict, compute: Callable[[], dict],
                 extra: Callable[[dict], dict] | None = None) -> Cached:
    key = key_of(inputs)
    found = cache.get_files(kind, key)
    notes = (found.note,) if found.note else ()
    if found.hit:
        return Cached(found.value, False, notes)
    result = _check_version(compute())
    if "error" in result:
        raise HwsimError(result["error"])
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
    checkpoint_sha = _sha256_file(checkpoint.value / JSON_NAME)
    inputs = point_inputs(workload, checkpoint_sha)
    point = _files_entry(
        cache, "point", inputs,
        lambda: units.fine_tune(workload.data, _artifact_payload(checkpoint.value),
                                checkpoint_sha),
        lambda r: {SUMMARY_NAME: (json.dumps(r["summary"], sort_keys=True, indent=1)
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
    result = _check_version(compute())
    if "error" in result:
        raise HwsimError(result["error"])
    cache.put_json(kind, key, result[field], inputs)
    return Cached(result[field], True, notes)


def cached_verification(artifact: str | Path, cache: Cache) -> Cached:
    """The executor-vs-trainer verification of an artifact directory (test split);
    value: {bit_exact, samples, nodes_compared, values_compared, mismatch, loads,
    adds, compares, multiplies, float_ops}."""
    artifact = Path(artifact)
    inputs = verification_inputs(_sha256_file(artifact / JSON_NAME))
    return _json_entry(cache, "verification", inputs,
                       lambda: units.verify(_artifact_payload(artifact)), "verification")


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
        label = json.loads((artifact / JSON_NAME).read_bytes())["name"]
    found = device if isinstance(device, DeviceFile) else device_file(device)
    inputs = simulation_inputs(_sha256_file(artifact / JSON_NAME), found, style, label, options)

    def compute() -> dict:
        result = units.simulate_many(_artifact_payload(artifact), label,
                                     [{"device": found.as_job(), "style": style}],
                                     options.to_dict())
        return result if "error" in result else {**result, "row": result["rows"][0]}
    return _json_entry(cache, "simulation", inputs, compute, "row")
