"""What a sweep covers: the grid (SweepSpec), the simulator options, and the plan
(plan_sweep) that loads and checks the workload and devices before any work
starts, with one workload per (L, K, accumulator bits) point."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from hwsim.importers.network import load_network
from hwsim.io import MAX_SPEC_BYTES, read_file_bytes
from hwsim.specs.bundled import bundled_names, resolve
from hwsim.cost.actions import CostOptions
from hwsim.specs.device import Device, load_device
from hwsim.errors import HwsimError
from hwsim.memory.planner import MemoryOptions
from hwsim.schedule.scheduler import ScheduleOptions
from hwsim.ir.style import STYLES
from hwsim.train.pipeline import dataset_for
from hwsim.specs.workload import (ACCUMULATOR_BITS, MAX_CLUSTERS, MAX_LEVELS, MIN_CLUSTERS,
                            MIN_LEVELS, Workload, workload_from_data)


def _grid(name: str, values, allowed: Callable[[int], bool], rule: str,
          problems: list[str]) -> tuple[int, ...]:
    if not isinstance(values, (list, tuple)):
        problems.append(f"{name}: must be a list of values ({rule}), got {values!r}")
        return ()
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

        def set_(name: str, value) -> None:       # normalise a field of this frozen record
            object.__setattr__(self, name, value)
        set_("levels", _grid("levels", self.levels, lambda v: MIN_LEVELS <= v <= MAX_LEVELS,
                             f"integers from {MIN_LEVELS} to {MAX_LEVELS}", problems))
        set_("clusters", _grid("clusters", self.clusters,
                               lambda v: MIN_CLUSTERS <= v <= MAX_CLUSTERS,
                               f"integers from {MIN_CLUSTERS} to {MAX_CLUSTERS}", problems))
        if self.accumulator_bits is not None:
            set_("accumulator_bits", _grid("accumulator_bits", self.accumulator_bits,
                                           lambda v: v in ACCUMULATOR_BITS, "16 or 32", problems))
        for name in ("styles", "devices"):
            if isinstance(getattr(self, name), str):
                problems.append(f"{name}: must be a list of names, got {getattr(self, name)!r}")
                set_(name, (getattr(self, name),))
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
        if len(problems) == 1:
            raise HwsimError(f"sweep: {problems[0]}")
        if problems:
            raise HwsimError(f"sweep: {len(problems)} problems\n"
                             + "\n".join(f"  {p}" for p in problems))


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
    def shape_only(self) -> bool:
        """No data to train on: each point is costed on a random integer model of its
        kind (as `hwsim simulate` costs a shape-only workload), not trained."""
        return self.workload.dataset is None

    @property
    def total_units(self) -> int:
        simulations = len(self.points) * len(self.devices) * len(self.styles)
        return simulations if self.shape_only else 1 + 2 * len(self.points) + simulations


def _copy(data: dict) -> dict:
    return json.loads(json.dumps(data, allow_nan=False))


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
    data = read_file_bytes(path, MAX_SPEC_BYTES, "spec file")
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
    workload = load_network(spec.workload)
    if spec.seed is not None:
        workload = workload.with_overrides(seed=spec.seed)
    if workload.dataset is not None:
        dataset_for(workload)      # dataset mismatches stop here
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
