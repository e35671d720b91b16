"""The crossover map (hwsim.evaluate.crossover): its numbers are the cost model's, its
SoC columns carry the product battery of hwsim.evaluate.soc, its rows pass the results
check, the report caches it, and `hwsim crossover` prints, writes and refuses input."""
from __future__ import annotations

import json

import pytest

from hwsim.cost.model import cost_graph
from hwsim.errors import HwsimError
from hwsim.evaluate.crossover import (BASELINES, check_grid, crossover_map, layer_classes,
                                      style_cost, winner)
from hwsim.evaluate.crossover_rows import crossover_rows
from hwsim.evaluate.simulate import load_subject
from hwsim.evaluate.soc import simulate_soc
from hwsim.errors import SpecError
from hwsim.importers.network import load_network
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.style import STYLES
from hwsim.results.document import check_results, results_document
from hwsim.specs.catalog import find_device, find_device_or_soc
from hwsim.specs.workload import workload_from_data
from tests.conftest import run_cli

TINY = {
    "schema_version": 1, "name": "tiny-cnn", "description": "crossover test network",
    "task": "classification", "dataset": "none", "input": {"shape": [16, 2], "levels": 16},
    "layers": [{"type": "conv1d", "filters": 4, "kernel": 3}, {"type": "max_pool1d", "size": 2},
               {"type": "flatten"}, {"type": "dense", "units": 3}],
    "discretization": {"activation_levels": 8, "weight_clusters": 16, "cluster_scope": "global"},
    "integer": {"accumulator_bits": 32, "table_entry_bits": 16},
    "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 1, "learning_rate": 0.001,
                 "cluster_interval_steps": 1, "seed": 0},
    "realtime": {"frame_period_ms": 100, "deadline_ms": 100}}
LEVELS, CLUSTERS = (2, 8, 32), (4, 16, 256)


@pytest.fixture(scope="module")
def tiny():
    return workload_from_data(TINY, "<tiny>")


@pytest.fixture(scope="module")
def devices():
    return [find_device(n) for n in ("samd21", "ch32v003", "nrf52840")]


def test_every_number_is_the_cost_models(tiny, devices):
    found = crossover_map(tiny, devices, LEVELS, CLUSTERS)
    assert found.own == (8, 16) and found.classes == ("dense", "conv1d", "other")
    own_graph = graph_from_workload(tiny, 0)
    for device, column in zip(devices, found.columns):
        assert column.device == device.name and column.soc is None
        for style in BASELINES:
            direct = cost_graph(own_graph, device, style)
            assert column.baselines[style].cycles == direct.total_cycles
            assert column.baselines[style].energy_pj == direct.energy_pj
        for levels in LEVELS:
            for clusters in CLUSTERS:
                graph = graph_from_workload(tiny.with_overrides(levels=levels, clusters=clusters), 0)
                direct = {s: cost_graph(graph if s == "lut" else own_graph, device, s)
                          for s in STYLES}
                cell = column.cell(levels, clusters)
                assert cell.lut.cycles == direct["lut"].total_cycles
                assert cell.lut.energy_pj == direct["lut"].energy_pj
                assert column.ratio(levels, clusters) == pytest.approx(
                    direct["lut"].total_cycles / direct["int8"].total_cycles, rel=1e-12)
                cycles = {s: direct[s].total_cycles for s in STYLES}
                best = min(cycles, key=cycles.get)
                runner_up = sorted(cycles.values())[1]
                assert winner(column.costs(cell, "cycles")) == (
                    best, pytest.approx(runner_up / cycles[best], rel=1e-12))
                # the layer classes split the whole
                assert sum(cell.lut.cycles_by_class.values()) == pytest.approx(cell.lut.cycles)
                assert sum(cell.lut.energy_pj_by_class.values()) == pytest.approx(
                    cell.lut.energy_pj)
    # ch32v003 has no multiplier: lut wins there everywhere; nrf52840's SIMD MAC makes int8
    # relatively cheaper there at every point (on this tiny network, fan-in 6, the int8
    # library's per-output requantization and im2col keep lut ahead even so)
    assert all(found.columns[1].ratio(l, k) < 1 for l in LEVELS for k in CLUSTERS)
    assert all(found.columns[2].ratio(l, k) > found.columns[1].ratio(l, k)
               for l in LEVELS for k in CLUSTERS)


def test_layer_classes_put_thresholds_with_their_layer():
    graph = graph_from_workload(load_network("kws-dscnn"), 0)
    classes = layer_classes(graph)
    assert classes["L0.threshold"] == "conv2d" and classes["L1.threshold"] == "depthwise"
    assert classes["L9.avg_pool2d"] == "other" and classes["L11.dense"] == "dense"
    cost = style_cost(graph, find_device("nrf52840"), "lut")
    assert set(cost.cycles_by_class) == {"conv2d", "depthwise", "dense", "other"}


@pytest.mark.parametrize("name", ["digits-mlp", "har-cnn", "kws-dscnn"])
def test_int8_and_float32_do_not_depend_on_levels_or_clusters(name):
    """Why the map costs them once per column: the cost model reads neither L nor K."""
    workload = load_network(name)
    graphs = [graph_from_workload(workload.with_overrides(levels=l, clusters=k), 0)
              for l, k in ((2, 2), (64, 256))] + [graph_from_workload(workload, 0)]
    for device_name in ("samd21", "nrf52840", "msp430fr5969", "imxrt600-hifi4"):
        device = find_device(device_name)
        for style in BASELINES:
            costs = {(cost_graph(g, device, style).total_cycles,
                      cost_graph(g, device, style).energy_pj) for g in graphs}
            assert len(costs) == 1, (name, device_name, style, costs)


def test_soc_cores_are_columns_with_the_product_battery():
    soc = find_device_or_soc("nordic-nrf5340")
    workload = load_network("har-cnn")
    found = crossover_map(workload, [find_device("samd21"), soc], (4,), (16,))
    assert [c.device for c in found.columns] == ["samd21"] + [c.device.name
                                                              for c in soc.cores.values()]
    subject = load_subject("har-cnn")
    for style in STYLES:
        scheduled = simulate_soc(subject, soc, style, frames=4)
        for run, column in zip(scheduled.runs, found.columns[1:]):
            assert (column.soc, column.core) == (soc.name, run.core)
            assert column.keeps_up[style] and run.simulation.fits_all
            # the network's share from the cost model equals the schedule's for a core
            # that keeps up: the same arithmetic (hwsim.evaluate.soc.product_battery)
            assert column.battery[style].share == pytest.approx(run.battery.share, rel=1e-9)
            assert column.battery[style].load == run.battery.load
    rows = crossover_rows(found)
    assert rows[0]["soc"] is None and "lut_network_share" not in rows[0]
    assert rows[1]["soc"] == soc.name and 0 < rows[1]["lut_network_share"] < 1


def test_rows_pass_the_results_check_and_a_bad_grid_is_named(tiny, devices):
    rows = crossover_rows(crossover_map(tiny, devices, LEVELS, CLUSTERS))
    document = results_document(crossover=rows)
    assert check_results(document, "x.json") is document
    assert rows[0]["lut_cycles_grid"][0][0] == round(
        crossover_map(tiny, devices[:1], (2,), (4,)).columns[0].cells[0].lut.cycles)
    rows[0]["lut_cycles_grid"] = rows[0]["lut_cycles_grid"][:2]
    rows[1]["winner_energy"] = "int4"
    rows[2]["classes"]["dense"]["int8_cycles"] = "many"
    with pytest.raises(SpecError) as caught:
        check_results(document, "x.json")
    assert "crossover[0].lut_cycles_grid" in str(caught.value)
    assert "crossover[1].winner_energy" in str(caught.value)
    assert "crossover[2].classes.dense.int8_cycles" in str(caught.value)


def test_deterministic_and_own_point_only(tiny, devices):
    one = json.dumps(crossover_rows(crossover_map(tiny, devices, LEVELS, CLUSTERS)))
    two = json.dumps(crossover_rows(crossover_map(tiny, devices, LEVELS, CLUSTERS)))
    assert one == two
    own = crossover_map(tiny, devices, (), ())
    assert own.levels == () and all(c.cells == () for c in own.columns)
    assert own.columns[1].ratio(8, 16) == crossover_map(tiny, devices, (8,), (16,)).columns[1].ratio(8, 16)


@pytest.mark.parametrize("levels, clusters, message", [
    ((1, 4), (4,), "levels must be integers from 2 to 256, got 1"),
    ((4,), (5000,), "clusters must be integers from 2 to 4096, got 5000"),
    ((4,), (), "give both levels and clusters")])
def test_bad_grid_is_one_clear_error(levels, clusters, message):
    with pytest.raises(HwsimError, match=message):
        check_grid(levels, clusters)


def test_report_section_is_cached(tmp_path, monkeypatch):
    from hwsim.report import crossover as section
    from hwsim.sweep.cache import Cache
    cache = Cache(tmp_path)
    targets = [find_device("samd21"), find_device_or_soc("nordic-nrf5340")]
    first = section.crossover_section(["har-cnn", "kws-dscnn"], targets, cache)
    assert {r["workload"] for r in first.rows} == {"har-cnn", "kws-dscnn"}
    grids = {r["workload"]: len(r["levels"]) for r in first.rows}
    assert grids["har-cnn"] == 6 and grids["kws-dscnn"] == 6
    monkeypatch.setattr(section, "crossover_map", lambda *a, **k: pytest.fail("recomputed"))
    assert section.crossover_section(["har-cnn", "kws-dscnn"], targets, cache) == first


def test_cli_text_json_and_page(tmp_path):
    done = run_cli("crossover", "har-cnn", "--devices", "ch32v003,nordic-nrf5340",
                   "--levels", "2,16", "--clusters", "4,16")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for text in ("har-cnn (own L16 K16)", "ch32v003: at its own L16 K16: cycles: lut by",
                 "nordic-nrf5340.app", "share of the battery", "L=16", "K=4",
                 "per layer class at L16 K16", "conv1d", "dense"):
        assert text in out, text
    done = run_cli("crossover", "har-cnn", "--devices", "samd21", "--levels", "2",
                   "--clusters", "4", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["crossover"]
    assert [r["device"] for r in rows] == ["samd21"] and rows[0]["levels"] == [2]
    out_dir = tmp_path / "page"
    done = run_cli("crossover", "har-cnn", "--devices", "samd21,ch32v003", "--levels", "2,8",
                   "--clusters", "4", "--out", str(out_dir))
    assert done.returncode == 0, done.stderr
    page = (out_dir / "index.html").read_text()
    assert 'id="plot-crossover"' in page and 'id="plot-verdict"' in page
    assert len(json.loads((out_dir / "crossover.json").read_text())["crossover"]) == 2


@pytest.mark.parametrize("args, message", [
    (("--devices", "pentium"), "unknown device 'pentium'"),
    (("--levels", "1,4"), "argument --levels: must be an integer from 2 to 256, got '1'"),
    (("--clusters", "x"), "argument --clusters: 'x' is not an integer"),
    (("--load", "jogging", "--devices", "nordic-nrf5340"), "has no load 'jogging'")])
def test_cli_bad_input_exits_2(tmp_path, args, message):
    done = run_cli("crossover", "har-cnn", *args, "--out", str(tmp_path / "page"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "page").exists()


def test_a_style_the_core_cannot_run_is_named_not_fatal():
    data = {**TINY, "integer": {"accumulator_bits": 32, "table_entry_bits": 32}}
    wide = workload_from_data(data, "<wide tables>")
    found = crossover_map(wide, [find_device("msp430fr5969"), find_device("samd21")], (2,), (4,))
    msp430, samd21 = found.columns
    assert "wider than the 16-bit word" in msp430.unavailable["lut"]
    assert msp430.cells[0].lut is None and "wider" in msp430.cells[0].note
    assert msp430.ratio(2, 4) is None and samd21.ratio(2, 4) is not None
    row = crossover_rows(found)[0]
    assert row["lut_cycles"] is None and row["lut_cycles_grid"] == [[None]]
    assert row["winner_cycles"] in BASELINES
    check_results(results_document(crossover=crossover_rows(found)), "x.json")


def test_artifacts_and_model_files_are_networks_too(tmp_path):
    import copy

    import numpy as np

    from hwsim.artifact.save import save_artifact
    from hwsim.specs.workload import load_workload
    from hwsim.train.pipeline import run_training
    from tests.test_import_tflite import kws_like_model
    data = copy.deepcopy(load_workload("digits-mlp").data)
    data["training"].update(epochs=1, finetune_epochs=1)
    data["discretization"].update(activation_levels=4, weight_clusters=8)
    artifact = save_artifact(run_training(workload_from_data(data, "<short>")), tmp_path / "mlp")
    done = run_cli("crossover", str(artifact), "--devices", "samd21", "--levels", "4",
                   "--clusters", "8,16", "--json")
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)["crossover"][0]
    assert (row["workload"], row["activation_levels"], row["weight_clusters"]) == ("digits-mlp", 4, 8)
    assert row["lut_cycles"] == row["lut_cycles_grid"][0][0]       # the own point is in the grid
    model = tmp_path / "kws_like.tflite"
    model.write_bytes(kws_like_model(np.random.default_rng(7)))
    done = run_cli("crossover", str(model), "--devices", "ch32v003", "--levels", "32",
                   "--clusters", "256")
    assert done.returncode == 0, done.stderr
    assert "kws_like (own L32 K256)" in done.stdout and "conv2d" in done.stdout


def test_cli_refuses_an_output_path_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_cli("crossover", "har-cnn", "--devices", "samd21", "--out", str(blocker))
    assert done.returncode == 2 and "exists and is not a directory" in done.stderr
    assert blocker.read_text() == "x"
