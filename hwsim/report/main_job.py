"""The main job: train the bundled workloads (cached), verify them bit for bit,
put every bundled network on every bundled device in every arithmetic style, run
a bit-width sweep, and write one results document and its dashboard."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hwsim.io import check_output_directory, write_files_atomically
from hwsim.specs.bundled import bundled_names
from hwsim.sweep.cache import Cache
from hwsim.specs.catalog import find_device, load_bundled_devices, load_bundled_socs
from hwsim.dashboard.page import write_dashboard
from hwsim.evaluate.simulate import load_subject
from hwsim.ir.style import STYLES
from hwsim.results.document import results_document
from hwsim.sweep.runner import make_runner
from hwsim.sweep.plan import SweepSpec, plan_sweep
from hwsim.importers.network import load_network
from hwsim.report.crossover import crossover_section
from hwsim.report.training import collect_training, submit_training
from hwsim.report.sections import cached_compare, cached_products, cached_sweep, subject_source

SUMMARY = "summary.json"
SWEEP_WORKLOAD = "digits-mlp"
SWEEP_LEVELS = (2, 4, 8, 16, 32)
SWEEP_CLUSTERS = (4, 16, 64, 256)
DETAIL_DEVICE = "nrf52840"                       # an earbud core: detail for every trained net
EXTRA_DETAILS = (("ic-resnet8", "gap9", "lut"),)  # branches on several cores
FRAMES = 20

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ReportPlan:
    """What the main job covers; the defaults are the bundled everything."""
    workloads: tuple[str, ...] | None = None      # None: every bundled workload
    devices: tuple[str, ...] | None = None        # None: every bundled device
    sweep_workload: str = SWEEP_WORKLOAD
    sweep_levels: tuple[int, ...] = SWEEP_LEVELS
    sweep_clusters: tuple[int, ...] = SWEEP_CLUSTERS
    frames: int = FRAMES
    products: bool = True                         # every workload on every bundled SoC
    crossover: bool = True                        # which style wins where (cost model only)


@dataclass(frozen=True)
class Report:
    directory: Path
    summary_path: Path
    dashboard_path: Path
    document: dict
    notes: tuple[str, ...]


def _training(names: list[str], cache: Cache, runner, handles: dict,
              progress: Progress | None):
    results = collect_training(
        names, cache, runner, handles,
        (lambda done, total: progress("train and verify", done, total)) if progress else None)
    trained, records, notes = {}, [], []
    for name in names:
        directory, found_notes, summary, verification = results[name]
        workload = load_network(name)
        notes.extend(found_notes)
        d = workload.discretization
        records.append({**summary, "workload": workload.name,
                        "activation_levels": d.activation_levels,
                        "weight_clusters": d.weight_clusters, "cluster_scope": d.cluster_scope,
                        "bit_exact": verification["bit_exact"],
                        "verification": verification})
        trained[name] = Path(directory)
    return trained, records, notes


def run_report(out_dir: str | Path, cache: Cache, plan: ReportPlan = ReportPlan(), *,
               jobs: int | None = None, progress: Progress | None = None) -> Report:
    out_dir = check_output_directory(out_dir)
    names = list(plan.workloads or bundled_names("workloads"))
    devices = ([find_device(d) for d in plan.devices] if plan.devices
               else load_bundled_devices())          # bad names fail before any training
    for name in names + [plan.sweep_workload]:
        load_network(name)
    spec = SweepSpec(plan.sweep_workload, plan.sweep_levels, plan.sweep_clusters,
                     devices=tuple(d.source_file or d.name for d in devices))
    sweep_plan = plan_sweep(spec)    # a sweep that cannot run fails before any training
    trainable = [n for n in names if load_network(n).dataset is not None]
    with make_runner(jobs=jobs) as runner:
        handles = submit_training(trainable, cache, runner)
        # The crossover needs the cost model only: it runs while the workers train.
        crossover = crossover_section(
            names, devices + (load_bundled_socs() if plan.products else []),
            cache) if plan.crossover else None
        trained, training, notes = _training(trainable, cache, runner, handles, progress)
    subjects = []
    for name in names:
        subject = load_subject(str(trained[name])) if name in trained else load_subject(name)
        subjects.append(dataclasses.replace(subject, label=load_network(name).name))
    sources = [subject_source(name, trained.get(name)) for name in names]
    trained_names = {load_network(n).name for n in trained}
    wanted = {(w, DETAIL_DEVICE, s) for w in trained_names for s in STYLES} | set(EXTRA_DETAILS)
    if not any(d.name == DETAIL_DEVICE for d in devices):
        wanted |= {(w, devices[0].name, s) for w in trained_names for s in STYLES}
    rows, details, note = cached_compare(
        cache, subjects, sources, devices, plan.frames, wanted,
        progress=(lambda done, total: progress("compare", done, total)) if progress else None)
    notes.extend([note] if note else [])
    sweep, sweep_notes = cached_sweep(
        cache, sweep_plan, jobs=jobs,
        progress=(lambda done, total: progress("sweep", done, total)) if progress else None)
    notes.extend(sweep_notes)
    products = []
    if plan.products:
        products, note = cached_products(
            cache, subjects, sources, load_bundled_socs(), plan.frames,
            progress=(lambda done, total: progress("products", done, total)) if progress
            else None)
        notes.extend([note] if note else [])
    notes.extend(crossover.notes if crossover else ())
    document = results_document(training=training, compare=rows, sweep=sweep,
                                details=details, products=products,
                                **({"crossover": list(crossover.rows)} if crossover else {}))
    text = json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n"
    write_files_atomically(out_dir, {SUMMARY: text.encode()})
    dashboard = write_dashboard(document, out_dir, source=str(out_dir / SUMMARY))
    return Report(out_dir, out_dir / SUMMARY, dashboard.index, document, tuple(notes))


def headline(document: dict) -> dict:
    """What the one-screen summary shows: per style how many (network, device) pairs
    fit, and per network the device that fits with the least energy per inference."""
    fits = {s: [0, 0] for s in STYLES}
    best: dict[tuple[str, str], dict] = {}
    for row in document["compare"]:
        fits[row["style"]][1] += 1
        if row["fits"]:
            fits[row["style"]][0] += 1
            key = (row["workload"], row["style"])
            if key not in best or row["energy_per_inference_uj"] < \
                    best[key]["energy_per_inference_uj"]:
                best[key] = row
    return {"fits": fits, "best": best}
