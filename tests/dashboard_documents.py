"""Results documents for the dashboard tests, made with the real library: a fit
matrix and details from `hwsim.evaluate.simulate`, a bit-width sweep from short trainings
(digits-mlp L x K, digits-ae for an mse sweep) saved as artifacts and simulated,
and the training summaries of those runs. A few seconds; build once per session."""
from __future__ import annotations

import copy
import functools
import json
import tempfile
from pathlib import Path

from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device, load_bundled_devices, load_bundled_socs
from hwsim.evaluate.crossover import crossover_map
from hwsim.evaluate.crossover_rows import crossover_rows
from hwsim.evaluate.soc import compare_products
from hwsim.memory.footprint import weight_footprint
from hwsim.evaluate.rows import simulation_detail, simulation_row
from hwsim.schedule.scheduler import ScheduleOptions
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.ir.style import STYLES
from hwsim.train.pipeline import run_training
from hwsim.execute.verify import verify_artifact
from hwsim.specs.workload import load_workload, workload_from_data

HOSTILE = "</script><img src=x onerror=alert(1)>"

COMPARE_WORKLOADS = ("digits-mlp", "kws-dscnn", "har-cnn")
SWEEP_DEVICES = ("nrf52840", "stm32l053", "esp32-c3", "gap9")
MLP_GRID = [(levels, clusters) for levels in (2, 4, 8) for clusters in (2, 4, 16)]
AE_GRID = [(levels, clusters) for levels in (2, 8) for clusters in (4, 16)]
FRAMES = 6


def _short(name: str):
    """A bundled workload trained for a couple of epochs (test speed)."""
    data = copy.deepcopy(load_workload(name).data)
    data["training"].update(epochs=2, finetune_epochs=1)
    return workload_from_data(data, f"<{name}, short>")


def _options(frames: int = FRAMES) -> ScheduleOptions:
    return ScheduleOptions(frames=frames)


def compare_rows(workloads=COMPARE_WORKLOADS, devices=None) -> list[dict]:
    devices = devices or load_bundled_devices()
    rows = []
    for name in workloads:
        subject = load_subject(name)
        for device in devices:
            for style in STYLES:
                sim = simulate(subject, device, style, schedule_options=_options())
                rows.append(simulation_row(sim, workload=name, realtime=subject.realtime))
    return rows


def details() -> list[dict]:
    """A single-core device in all three styles, a DMA device streaming its weights
    (DMA lane) and a multi-core device."""
    out = []
    cases = [("digits-mlp", "nrf52840", style, False) for style in STYLES]
    cases += [("kws-dscnn", "rp2040", "lut", True), ("ic-resnet8", "gap9", "lut", True)]
    for name, device_name, style, stream in cases:
        subject, device = load_subject(name), find_device(device_name)
        sim = simulate(subject, device, style, schedule_options=_options(), stream_weights=stream)
        out.append(simulation_detail(sim, workload=name, sram_bytes=device.memory.sram_bytes))
    return out


def _train_point(workload, levels, clusters, init, directory: Path):
    w = workload.with_overrides(levels=levels, clusters=clusters)
    result = run_training(w, init_params=init)
    path = save_artifact(result, directory / f"{w.name}-L{levels}-K{clusters}")
    return w, result, path


def sweep_and_training(directory: Path) -> tuple[list[dict], list[dict]]:
    """Sweep rows (simulation row + bit widths + metrics + weight memory) and the
    `hwsim train --json` summary of every trained point."""
    devices = [find_device(name) for name in SWEEP_DEVICES]
    rows, summaries = [], []
    for name, grid in (("digits-mlp", MLP_GRID), ("digits-ae", AE_GRID)):
        base = _short(name)
        init = run_training(base.with_overrides(levels="continuous", clusters="continuous")
                            ).continuous_params
        for levels, clusters in grid:
            w, result, path = _train_point(base, levels, clusters, init, directory)
            fp = weight_footprint(result.integer_model)
            report = verify_artifact(load_artifact(path))
            d, integer = w.discretization, w.integer
            extra = {"activation_levels": levels, "weight_clusters": clusters,
                     "accumulator_bits": integer.accumulator_bits,
                     "table_entry_bits": integer.table_entry_bits,
                     "cluster_scope": d.cluster_scope, "metric": result.metrics["metric"],
                     "continuous": result.metrics["continuous"],
                     "discretized": result.metrics["discretized"],
                     "integer": result.metrics["integer"],
                     "agreement": result.metrics["agreement"], "bit_exact": report.bit_exact,
                     "weight_bytes": fp.deployed_bytes, "float32_weight_bytes": fp.float32_bytes,
                     "scale_bits": result.scale.scale_bits}
            subject = load_subject(str(path))
            for device in devices:
                sim = simulate(subject, device, "lut", schedule_options=_options())
                rows.append({**simulation_row(sim, workload=name, realtime=subject.realtime),
                             **extra})
            summaries.append({"artifact": str(path.name), "workload": name,
                              "activation_levels": levels, "weight_clusters": clusters,
                              "seed": w.training.seed, "seconds": 0.0,
                              "metrics": result.metrics, "scale_bits": result.scale.scale_bits,
                              "binding_bound": result.scale.binding,
                              "weight_memory": {"float32_bytes": fp.float32_bytes,
                                                "deployed_bytes": fp.deployed_bytes,
                                                "index_bytes": fp.index_bytes,
                                                "table_bytes": fp.table_bytes,
                                                "threshold_bytes": fp.threshold_bytes,
                                                "ratio_to_float32": round(fp.ratio_to_float32, 4)}})
    return rows, summaries


def product_rows() -> list[dict]:
    """Two workloads on every bundled SoC (the products section of `hwsim report`)."""
    subjects = [load_subject(name) for name in ("kws-dscnn", "har-cnn")]
    return list(compare_products(subjects, load_bundled_socs(), ("lut", "int8"), frames=FRAMES))


def crossover_section() -> list[dict]:
    """Two workloads on three devices and a SoC over a small (L, K) grid (the crossover
    section of `hwsim report`)."""
    targets = [find_device(n) for n in ("nrf52840", "ch32v003", "msp430fr5969")]
    targets += [s for s in load_bundled_socs() if s.name == "nordic-nrf5340"]
    return [row for name in ("digits-mlp", "har-cnn")
            for row in crossover_rows(crossover_map(load_workload(name), targets, (2, 8, 32),
                                                    (4, 16, 256)))]


@functools.lru_cache(maxsize=1)
def _full_document() -> str:
    with tempfile.TemporaryDirectory() as directory:   # artifacts only live while simulated
        sweep, training = sweep_and_training(Path(directory))
    return json.dumps({"format": "hwsim-results", "format_version": 1, "compare": compare_rows(),
                       "sweep": sweep, "details": details(), "training": training,
                       "products": product_rows(), "crossover": crossover_section()})


def full_document() -> dict:
    """Every section, as `hwsim report` would write it (built once per session;
    each call returns a fresh copy)."""
    return json.loads(_full_document())


def _rename(value, old: str, new: str):
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    return new if value == old else value


def hostile_document(document: dict) -> dict:
    """The same document with a workload, a device and a node named like markup
    that would run a script if a page pasted it unescaped."""
    doc = _rename(document, "digits-mlp", HOSTILE)
    doc = _rename(doc, "nrf52840", HOSTILE + " dev")
    return _rename(doc, "L1.dense", HOSTILE + " node")


def write_json(document: dict, path: Path) -> Path:
    path.write_text(json.dumps(document, indent=1))
    return path
