"""Sweeps: rows, determinism across runners, resume, corruption, invalidation, the
CLI and a real Dask cluster. A tiny grid on a quick digits-mlp copy."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml

from hwsim.sweep.cache import open_cache
from hwsim.errors import HwsimError
from hwsim.specs.yaml_reader import read_yaml
from hwsim.sweep.run import (POINT_FIELDS, SweepSpec, cached_simulation, cached_training,
                         cached_verification, plan_sweep, run_sweep)
from hwsim.sweep.runner import make_runner
from hwsim.specs.workload import load_workload
from tests.conftest import REPO, run_cli

DEVICES = ("nrf52840", "rp2040")
STYLES = ("lut", "int8")
UNITS = 1 + 4 + 4 + 4 * 2 * 2      # checkpoint, 4 points, 4 verifications, 16 simulations


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["name"] = "quick-mlp"
    data["training"].update(epochs=2, finetune_epochs=1)
    path = tmp_path_factory.mktemp("workloads") / "quick-mlp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def spec_of(quick, **changes) -> SweepSpec:
    fields = dict(levels=(8, 4), clusters=(4, 16), styles=STYLES, devices=DEVICES)
    return SweepSpec(str(quick), **{**fields, **changes})


@pytest.fixture(scope="module")
def reference(quick, tmp_path_factory):
    """One sweep in this process; its cache is copied by the tests that damage one."""
    root = tmp_path_factory.mktemp("reference-cache")
    return root, run_sweep(spec_of(quick), cache=open_cache(root), jobs=1)


def text(rows) -> str:
    return json.dumps(rows)


def copy_cache(reference, tmp_path):
    shutil.copytree(reference[0], tmp_path / "cache")
    return open_cache(tmp_path / "cache")


def test_rows_are_complete_and_sorted(reference):
    _, result = reference
    assert (result.computed_units, result.cached_units, result.failed_units) == (UNITS, 0, 0)
    assert result.total_units == UNITS
    rows = result.rows
    assert len(rows) == 16
    keys = [(r["activation_levels"], r["weight_clusters"], r["device"], r["style"])
            for r in rows]
    assert keys == [(L, K, d, s) for L in (4, 8) for K in (4, 16) for d in DEVICES
                    for s in STYLES]
    for row in rows:
        assert list(row)[:3] == ["workload", "device", "style"]
        assert list(row)[3:3 + len(POINT_FIELDS)] == list(POINT_FIELDS)
        assert row["workload"] == "quick-mlp" and row["accumulator_bits"] == 32
        assert row["table_entry_bits"] == 16 and row["cluster_scope"] == "global"
        assert row["bit_exact"] is True and row["executed_multiplies"] == 0
        assert row["executed_float_ops"] == 0 and row["verified_values"] > 0
        assert 0 < row["weight_bytes"] < row["float32_weight_bytes"]
        assert row["metric"] == "accuracy" and 0 < row["integer"] <= 1
        assert row["agreement"] > 0.9 and row["cycles_per_inference"] > 0
    same_point = [r for r in rows if (r["activation_levels"], r["weight_clusters"]) == (4, 4)]
    assert len({r["integer"] for r in same_point}) == 1
    assert len({r["continuous"] for r in rows}) == 1       # one checkpoint for all points


def test_rerun_computes_nothing_and_gives_the_same_rows(quick, reference):
    again = run_sweep(spec_of(quick), cache=open_cache(reference[0]), jobs=1)
    assert (again.computed_units, again.cached_units) == (0, UNITS)
    assert text(again.rows) == text(reference[1].rows)


def test_two_local_workers_give_the_same_rows(quick, reference, tmp_path):
    two = run_sweep(spec_of(quick), cache=open_cache(tmp_path / "c2"), jobs=2)
    assert two.computed_units == UNITS
    assert text(two.rows) == text(reference[1].rows)
    assert open_cache(tmp_path / "c2").temp_entries() == []


def test_a_killed_sweep_resumes_with_only_the_missing_units(quick, reference, tmp_path):
    cache = open_cache(tmp_path / "c")
    seen = []

    def die_after_8(done, total, label):
        seen.append(label)
        if done == 8:           # mid-way through a batch of simulations
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec_of(quick), cache=cache, jobs=1, progress=die_after_8)
    assert len(seen) == 8 and seen[0] == "checkpoint"
    assert cache.temp_entries() == []
    resumed = run_sweep(spec_of(quick), cache=cache, jobs=1)
    assert (resumed.cached_units, resumed.computed_units) == (8, UNITS - 8)
    assert text(resumed.rows) == text(reference[1].rows)


def test_a_corrupt_entry_is_detected_and_recomputed(quick, reference, tmp_path):
    cache = copy_cache(reference, tmp_path)
    simulation = next((cache.root / "simulation").glob("*/*.json"))
    simulation.write_text(simulation.read_text().replace('"cycles_per_inference": ',
                                                         '"cycles_per_inference": 9'))
    point = next((cache.root / "point").glob("*/*/model.npz"))
    data = bytearray(point.read_bytes())
    data[len(data) // 2] ^= 0xFF
    point.write_bytes(bytes(data))
    result = run_sweep(spec_of(quick), cache=cache, jobs=1)
    assert result.computed_units == 2     # the point (same bytes again) and the simulation
    corrupt = [n for n in result.notes if "was corrupt" in n]
    assert len(corrupt) == 2 and any(n.startswith("cache entry point/") for n in corrupt)
    assert text(result.rows) == text(reference[1].rows)


def test_a_changed_seed_recomputes_everything(quick, reference, tmp_path):
    cache = copy_cache(reference, tmp_path)
    result = run_sweep(spec_of(quick, seed=1), cache=cache, jobs=1)
    assert result.computed_units == UNITS
    assert {r["seed"] for r in result.rows} == {1}
    assert text(result.rows) != text(reference[1].rows)


def test_a_changed_device_file_recomputes_its_simulations(quick, reference, tmp_path):
    cache = copy_cache(reference, tmp_path)
    device = tmp_path / "nrf52840.yaml"
    shutil.copy(REPO / "devices" / "nrf52840.yaml", device)
    same = run_sweep(spec_of(quick, devices=(str(device), "rp2040")), cache=cache, jobs=1)
    assert same.computed_units == 0                 # same content, same key
    data = read_yaml(device)
    data["core"]["clock_hz"] = data["core"]["clock_hz"] // 2
    device.write_text(yaml.safe_dump(data))
    slower = run_sweep(spec_of(quick, devices=(str(device), "rp2040")), cache=cache, jobs=1)
    assert slower.computed_units == 4 * 2           # 4 points x 2 styles on that device
    old = {(r["activation_levels"], r["weight_clusters"], r["style"]): r
           for r in reference[1].rows if r["device"] == "nrf52840"}
    for row in slower.rows:
        if row["device"] == "nrf52840":
            before = old[(row["activation_levels"], row["weight_clusters"], row["style"])]
            assert row["inference_ms"] > before["inference_ms"]


def test_accumulator_widths_and_helpers_share_the_cache(quick, reference, tmp_path):
    cache = copy_cache(reference, tmp_path)
    spec = spec_of(quick, levels=(4,), clusters=(4,), accumulator_bits=(16, 32))
    result = run_sweep(spec, cache=cache, jobs=1)
    assert result.computed_units == 1 + 1 + 2 * 2   # the acc-16 point: tune, verify, 4 sims
    assert {r["accumulator_bits"] for r in result.rows} == {16, 32}
    assert all(r["table_entry_bits"] == 16 and r["bit_exact"] for r in result.rows)
    # The one-at-a-time helpers find the sweep's entries.
    workload = load_workload(str(quick)).with_overrides(levels=4, clusters=4)
    trained = cached_training(workload, cache)
    assert not trained.computed and (trained.value / "model.npz").is_file()
    verified = cached_verification(trained.value, cache)
    assert not verified.computed and verified.value["bit_exact"]
    simulated = cached_simulation(trained.value, "rp2040", "int8", cache)
    assert not simulated.computed
    row = next(r for r in result.rows if (r["accumulator_bits"], r["device"], r["style"])
               == (32, "rp2040", "int8"))
    assert all(row[k] == v for k, v in simulated.value.items())


def test_a_failed_point_is_a_note_and_the_rest_goes_on(quick, reference, tmp_path,
                                                      monkeypatch):
    from hwsim import __version__
    from hwsim.sweep import units as sweep_units
    real = sweep_units.fine_tune

    def fail_l8(workload_data, *args):
        if workload_data["discretization"]["activation_levels"] == 8:
            return {"hwsim_version": __version__, "error": "the exporter cannot fit it"}
        return real(workload_data, *args)

    monkeypatch.setattr(sweep_units, "fine_tune", fail_l8)
    progress = []
    result = run_sweep(spec_of(quick), cache=open_cache(tmp_path / "c"), jobs=1,
                       progress=lambda done, total, label: progress.append((done, total)))
    assert result.failed_units == 2
    assert "point L=8 K=4 acc=32 failed: the exporter cannot fit it" in result.notes
    assert {r["activation_levels"] for r in result.rows} == {4} and len(result.rows) == 8
    assert text(result.rows) == text(reference[1].rows[:8])
    assert progress[-1] == (UNITS, UNITS)


def test_table_entries_wider_than_the_accumulator_are_lowered_with_a_note(quick, tmp_path):
    data = read_yaml(quick)
    data["integer"]["table_entry_bits"] = 32
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = plan_sweep(SweepSpec(str(path), levels=(4,), clusters=(4,),
                                accumulator_bits=(16, 32), devices=DEVICES))
    assert [p.workload.integer.table_entry_bits for p in plan.points] == [16, 32]
    assert any("lowered from 32 to 16" in n for n in plan.notes)


@pytest.mark.parametrize("changes, message", [
    (dict(levels=()), "levels: empty"),
    (dict(levels=(1, 300)), "levels: 1, 300 out of range"),
    (dict(clusters=(5000,)), "clusters: 5000 out of range"),
    (dict(accumulator_bits=(8,)), "accumulator_bits: 8 out of range (16 or 32)"),
    (dict(styles=("lut", "fp16")), "styles: unknown 'fp16'"),
    (dict(seed=-1), "seed: must be a non-negative integer"),
])
def test_bad_specs_are_clear_errors(quick, changes, message):
    with pytest.raises(HwsimError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_of(quick, **changes)


def test_bad_names_are_clear_errors(quick):
    with pytest.raises(HwsimError, match="unknown devices 'nope', 'zz'"):
        plan_sweep(spec_of(quick, devices=("nope", "nrf52840", "zz")))
    with pytest.raises(HwsimError, match="unknown workload 'nosuch'"):
        plan_sweep(SweepSpec("nosuch", levels=(4,), clusters=(4,)))
    assert plan_sweep(SweepSpec("kws-dscnn", levels=(4,), clusters=(4,))).shape_only


def test_unreachable_dask_scheduler_is_a_clear_error():
    with pytest.raises(HwsimError, match="cannot reach the Dask scheduler at "
                                         "'tcp://127.0.0.1:9' within 1 s"):
        make_runner("dask", dask_address="tcp://127.0.0.1:9", dask_timeout_s=1)
    with pytest.raises(HwsimError, match="not a scheduler address"):
        make_runner("dask", dask_address="no-port-here")


def test_dask_cluster_gives_the_same_rows(quick, reference, tmp_path):
    from dask.distributed import LocalCluster
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        result = run_sweep(spec_of(quick), cache=open_cache(tmp_path / "c"), executor="dask",
                           dask_address=cluster.scheduler_address)
        assert result.computed_units == UNITS
        assert text(result.rows) == text(reference[1].rows)
        cli = run_cli("sweep", str(quick), "--levels", "4,8", "--clusters", "4,16",
                      "--devices", ",".join(DEVICES), "--styles", ",".join(STYLES),
                      "--dask", cluster.scheduler_address, "--cache", str(tmp_path / "c3"),
                      "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    doc = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert text(doc["sweep"]) == text(reference[1].rows)


# -- the console script ----------------------------------------------------------------

def test_cli_writes_csv_and_json(quick, reference, tmp_path):
    args = ["sweep", str(quick), "--levels", "4,8", "--clusters", "4,16", "--devices",
            ",".join(DEVICES), "--styles", ",".join(STYLES), "--cache", str(reference[0])]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 points x 2 devices x 2 styles = 16 rows" in result.stdout
    assert f"0 computed, {UNITS} cached" in result.stdout
    assert "sweep [" in result.stderr                            # progress
    out = tmp_path / "runs" / "sweep-quick-mlp"
    doc = json.loads((out / "sweep.json").read_text())
    assert set(doc) == {"format", "format_version", "sweep"}
    assert (doc["format"], doc["format_version"]) == ("hwsim-results", 1)
    assert text(doc["sweep"]) == text(reference[1].rows)
    with open(out / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16 and list(rows[0]) == list(doc["sweep"][0])
    assert rows[0]["bit_exact"] == "true" and int(rows[0]["activation_levels"]) == 4
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.json"]
    printed = run_cli(*args, "--json", "--out", str(tmp_path / "o2"), cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == doc


def test_cli_uses_hwsim_cache_env(quick, reference, tmp_path, monkeypatch):
    monkeypatch.setenv("HWSIM_CACHE", str(reference[0]))
    result = run_cli("sweep", str(quick), "--levels", "4", "--clusters", "16", "--devices",
                     "rp2040", "--styles", "lut", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 computed, 4 cached" in result.stdout
    assert not (tmp_path / ".hwsim-cache").exists()


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "unknown workload 'nosuch'"),
    (["QUICK", "--levels", ""], "--levels: empty list"),
    (["QUICK", "--levels", "4,x"], "'x' is not an integer"),
    (["QUICK", "--levels", "1,300"], "levels: 1, 300 out of range"),
    (["QUICK", "--clusters", "8192"], "clusters: 8192 out of range"),
    (["QUICK", "--acc-bits", "24"], "accumulator_bits: 24 out of range"),
    (["QUICK", "--devices", "nrf52840,nope"], "unknown device 'nope'"),
    (["QUICK", "--styles", "lut,fp16"], "unknown 'fp16'"),
    (["QUICK", "--out", "BLOCKER/sub"], "cannot write the sweep results there"),
    (["QUICK", "--cache", "BLOCKER"], "cannot use as the cache directory"),
    (["QUICK", "--jobs", "0"], "--jobs: must be an integer >= 1"),
    (["QUICK", "--dask", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["QUICK", "--dask", "nowhere"], "not a scheduler address"),
])
def test_cli_bad_input(quick, tmp_path, args, message):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    args = [str(quick) if a == "QUICK" else a.replace("BLOCKER", str(blocker)) for a in args]
    if "--cache" not in args:
        args += ["--cache", str(tmp_path / "cache")]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    result = run_cli("sweep", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


# -- shape-only workloads --------------------------------------------------------------

def test_a_shape_only_sweep_costs_random_models_like_simulate(tmp_path):
    from hwsim.evaluate.rows import simulation_row
    from hwsim.evaluate.simulate import load_subject, simulate
    from hwsim.results.document import check_results, results_document
    from hwsim.specs.catalog import find_device
    spec = SweepSpec("kws-dscnn", levels=(4, 32), clusters=(4, 256),
                     devices=("samd21", "nrf52840"))
    progress = []
    result = run_sweep(spec, cache=open_cache(tmp_path / "c"), jobs=1,
                       progress=lambda done, total, label: progress.append((done, total)))
    assert len(result.rows) == 2 * 2 * 2 * 3 and result.computed_units == 24
    assert progress[-1] == (24, 24) and not result.notes
    check_results(results_document(sweep=list(result.rows)), "sweep")
    own = [r for r in result.rows if (r["activation_levels"], r["weight_clusters"]) == (32, 256)]
    subject = load_subject("kws-dscnn")          # the workload's own L=32, K=256
    for row in own:
        expected = simulation_row(simulate(subject, find_device(row["device"]), row["style"]),
                                  workload="kws-dscnn", realtime=subject.realtime)
        assert {k: row[k] for k in expected} == expected
        assert row["metric"] is None and row["bit_exact"] is None and row["scale_bits"] > 0
    small = [r for r in result.rows if r["weight_clusters"] == 4]
    assert all(r["weight_bytes"] < o["weight_bytes"] for r, o in zip(small, own))
    again = run_sweep(spec, cache=open_cache(tmp_path / "c"), jobs=1)
    assert again.rows == result.rows and again.cached_units == 24 and again.computed_units == 0
