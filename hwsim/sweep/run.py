"""Bit-width sweeps: train a workload's continuous baseline once, fine-tune every
(activation levels L, weight clusters K, accumulator bits) point from it, verify
each point's integer network against the trainer with the executor, and simulate
it on every device in every arithmetic style. One row per point x device x style.

    spec = SweepSpec("digits-mlp", levels=(4, 8), clusters=(4, 16))
    result = run_sweep(spec, cache=open_cache(), jobs=2)
    result.rows          # simulation_row + the point's fields, sorted

Every unit of work (checkpoint, fine-tuned point, verification, simulation) is
cached on disk by a content hash of its inputs (hwsim/sweep/cache.py), so a sweep that
was stopped resumes where it was, and a finished one costs nothing to rerun. The
units run in this process, in a local process pool or on a Dask cluster
(hwsim/sweep/runner.py); the rows are the same whichever runs them. The
`cached_*` helpers give the same cached results one at a time.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from hwsim.sweep import units
from hwsim.artifact.load import JSON_NAME
from hwsim.sweep.cache import Cache, key_of, open_cache
from hwsim.errors import HwsimError
from hwsim.ir.style import STYLES
from hwsim.io import read_json
from hwsim.sweep.checkpoints import (SUMMARY_NAME, Cached, artifact_payload, cached_checkpoint,
                               check_artifact_entry, cached_simulation, cached_training, cached_verification,
                               check_version, checkpoint_inputs, point_inputs, sha256_file,
                               shape_point_inputs, simulation_inputs, verification_inputs)
from hwsim.sweep.plan import (DeviceFile, Point, SimulationOptions, SweepPlan, SweepSpec,
                              plan_sweep)
from hwsim.sweep.runner import make_runner
from hwsim.specs.workload import Workload

__all__ = ["POINT_FIELDS", "Cached", "DeviceFile", "Point", "SimulationOptions", "SweepPlan",
           "SweepResult", "SweepSpec", "cached_checkpoint", "cached_simulation",
           "cached_training", "cached_verification", "plan_sweep", "run_sweep"]

# The fields a sweep adds to simulation_row, in column order (after workload, device, style).
POINT_FIELDS = ("activation_levels", "weight_clusters", "accumulator_bits", "table_entry_bits",
                "cluster_scope", "seed", "metric", "continuous", "discretized", "integer",
                "agreement", "bit_exact", "verified_samples", "verified_nodes",
                "verified_values", "executed_loads", "executed_adds", "executed_compares",
                "executed_multiplies", "executed_float_ops", "weight_bytes",
                "float32_weight_bytes", "scale_bits")

Progress = Callable[[int, int, str], None]   # (units done, units in all, what just finished)


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
        self.summaries: dict[tuple, dict] = {}     # point.order -> summary
        self.verifications: dict[tuple, dict] = {}  # point.order -> verification
        self.rows: dict[tuple, dict] = {}       # (point.order, device, style) -> simulation_row

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
                then(check_version(self.runner.result(handle)))

    # checkpoint ----------------------------------------------------------------------
    def start(self) -> None:
        if self.plan.shape_only:
            for point in self.plan.points:
                self.shape_point(point)
            return
        inputs = checkpoint_inputs(self.plan.workload)
        key = key_of(inputs)
        found = self.cache.get_files("checkpoint", key, check_artifact_entry)
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
        checkpoint_sha = sha256_file(checkpoint / JSON_NAME)
        files = None
        for point in self.plan.points:
            inputs = point_inputs(point.workload, checkpoint_sha)
            key = key_of(inputs)
            found = self.cache.get_files("point", key, check_artifact_entry)
            self.note(found.note)
            if found.hit:
                self.tick(f"fine-tune {point.label}", "cached")
                self.downstream(point, found.value)
                continue
            files = files or artifact_payload(checkpoint)
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
            files[SUMMARY_NAME] = (json.dumps(result["summary"], sort_keys=True, indent=1, allow_nan=False)
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
        self.summaries[point.order] = read_json(artifact / SUMMARY_NAME, what="summary")
        artifact_sha = sha256_file(artifact / JSON_NAME)
        files = None
        inputs = verification_inputs(artifact_sha)
        key = key_of(inputs)
        found = self.cache.get_json("verification", key)
        self.note(found.note)
        if found.hit:
            self.verifications[point.order] = found.value
            self.tick(f"verify {point.label}", "cached")
        else:
            files = artifact_payload(artifact)
            self.submit(self._verified(point, key, inputs), units.verify, files)
        label, missing = self.plan.workload.name, []
        for device in self.plan.devices:
            for style in self.plan.styles:
                inputs = simulation_inputs(artifact_sha, device, style, label, self.plan.options)
                key = key_of(inputs)
                found = self.cache.get_json("simulation", key)
                self.note(found.note)
                if found.hit:
                    self.rows[(point.order, device.name, style)] = found.value
                    self.tick(f"simulate {point.label} {device.name} {style}", "cached")
                else:
                    missing.append((device, style, key, inputs))
        if missing:
            jobs = units.pack_jobs((device.as_job(), style) for device, style, _, _ in missing)
            self.submit(self._simulated(point, missing), units.simulate_many,
                        files or artifact_payload(artifact), label, jobs,
                        self.plan.options.to_dict())

    def _verified(self, point: Point, key: str, inputs: dict):
        def stored(result: dict) -> None:
            if "error" in result:
                self.note(f"verifying point {point.label} failed: {result['error']}")
                self.tick(f"verify {point.label}", "failed")
                return
            self.cache.put_json("verification", key, result["verification"], inputs)
            self.verifications[point.order] = result["verification"]
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
                self.rows[(point.order, device.name, style)] = row
                self.tick(f"simulate {point.label} {device.name} {style}", "computed")
        return stored

    # shape-only points ----------------------------------------------------------------
    def shape_point(self, point: Point) -> None:
        """Cost one point of a shape-only workload on every device and style, from
        the cache where it can; the rest in one unit (one random model for all)."""
        label, plan = self.plan.workload.name, self.plan
        pairs = [(device, style) for device in plan.devices for style in plan.styles]
        inputs = shape_point_inputs(point.workload, plan.devices, plan.styles, label,
                                    plan.options)
        key = key_of(inputs)
        found = self.cache.get_json("shape_simulation", key)
        self.note(found.note)
        if found.hit:
            self.shape_stored(point, pairs, found.value)
            self.tick(f"simulate {point.label}", "cached", len(pairs))
            return

        def stored(result: dict) -> None:
            if "error" in result:
                self.note(f"simulating point {point.label} failed: {result['error']}")
                self.tick(f"simulate {point.label}", "failed", len(pairs))
                return
            value = {"rows": result["rows"], "point": result["point"]}
            self.cache.put_json("shape_simulation", key, value, inputs)
            self.shape_stored(point, pairs, value)
            self.tick(f"simulate {point.label}", "computed", len(pairs))
        jobs = units.pack_jobs((device.as_job(), style) for device, style in pairs)
        self.submit(stored, units.simulate_shape, point.workload.data, label, jobs,
                    plan.options.to_dict())

    def shape_stored(self, point: Point, pairs, value: dict) -> None:
        """One shape-only point's rows (in `pairs` order) and its integer facts."""
        self.summaries[point.order] = value["point"]
        for (device, style), row in zip(pairs, value["rows"]):
            self.rows[(point.order, device.name, style)] = row

    # rows ----------------------------------------------------------------------------
    def result(self) -> SweepResult:
        rows = []
        for point in self.plan.points:
            if self.plan.shape_only and point.order in self.summaries:
                fields = shape_point_fields(point.workload, self.summaries[point.order])
                rows += [sweep_row(self.rows[point.order, device.name, style], fields)
                         for device in self.plan.devices for style in self.plan.styles
                         if (point.order, device.name, style) in self.rows]
                continue
            if point.order not in self.summaries or point.order not in self.verifications:
                continue
            fields = point_fields(point.workload, self.summaries[point.order],
                                  self.verifications[point.order])
            for device in self.plan.devices:
                for style in self.plan.styles:
                    sim = self.rows.get((point.order, device.name, style))
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


def shape_point_fields(workload: Workload, point: dict) -> dict:
    """The columns of a shape-only point: its widths and weight memory; nothing was
    trained or verified, so metrics and executed counts are null."""
    d = workload.discretization
    fields = dict.fromkeys(POINT_FIELDS)
    fields.update(activation_levels=d.activation_levels, weight_clusters=d.weight_clusters,
                  cluster_scope=d.cluster_scope, seed=units.SHAPE_GRAPH_SEED,
                  **{k: point[k] for k in ("accumulator_bits", "table_entry_bits",
                                           "weight_bytes", "float32_weight_bytes",
                                           "scale_bits")})
    return fields


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
