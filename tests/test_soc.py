"""SoC files (schema_version 2): parsing, one error per problem with its YAML path,
memory tiers, the product battery and the network's share, and the CLI."""
from __future__ import annotations

import copy
import json

import pytest

from hwsim.errors import SpecError
from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.evaluate.soc import placed_cost_options, product_battery, simulate_soc
from hwsim.evaluate.simulate import load_subject
from hwsim.memory.tiers import place_buffers
from hwsim.specs.catalog import bundled_soc_paths, find_device_or_soc
from hwsim.specs.device import Device
from hwsim.specs.soc import Soc, load_any_device, load_soc, soc_from_data
from hwsim.specs.yaml_reader import parse_yaml, read_yaml
from tests.conftest import REPO, run_cli

SOC = REPO / "devices" / "soc" / "airoha-ab1585.yaml"


@pytest.fixture
def soc_data() -> dict:
    return copy.deepcopy(read_yaml(SOC))


def problems(data) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        soc_from_data(data)
    return [(p.path, p.message) for p in info.value.problems]


# --------------------------------------------------------------- bundled files

def test_at_least_eight_bundled_socs_load_with_every_number_sourced():
    paths = bundled_soc_paths()
    assert len(paths) >= 8
    for path in paths:
        soc = load_soc(path)
        assert soc.name == path.stem
        for core in soc.cores.values():
            assert isinstance(core.device, Device)
            assert core.device.name == f"{soc.name}.{core.name}"
        kinds = {s.kind for s in soc.sources} | {
            s.kind for c in soc.cores.values() for s in c.device.sources}
        assert kinds <= {"verified", "secondary", "estimate"}
        assert soc.default_load in soc.loads


def test_single_core_files_still_load_unchanged():
    device = load_any_device(REPO / "devices" / "nrf5340.yaml")
    assert isinstance(device, Device) and device.name == "nrf5340"
    assert isinstance(find_device_or_soc("nrf52840"), Device)
    assert isinstance(find_device_or_soc("bes2300yp"), Soc)


def test_unknown_schema_version_gets_a_migration_message(tmp_path, soc_data):
    soc_data["schema_version"] = 3
    path = tmp_path / "future.yaml"
    path.write_text(json.dumps(soc_data))
    with pytest.raises(SpecError, match=r"schema_version: 3 is not known to this hwsim \(it reads "
                                        r"1: a single-core device, 2: a SoC\)"):
        load_any_device(path)


def test_single_core_file_read_as_a_soc_says_how_to_migrate():
    data = read_yaml(REPO / "devices" / "nrf5340.yaml")
    found = problems(data)
    assert ("schema_version", found[0][1]) == found[0]
    assert "migrate it by moving its core, cycles" in found[0][1]


# --------------------------------------------------------------- one error per problem

def test_each_problem_of_a_multi_core_file_is_named_by_its_path(soc_data):
    dsp = soc_data["cores"]["dsp"]
    del dsp["cycles"]["alu"]                           # a core's own section
    dsp["core"]["clock_hz"] = -1
    dsp["tiers"] = ["dsp_iram", "nowhere", "dsp_iram"]
    dsp["name"] = "dsp"                                # set by the SoC, not per core
    soc_data["cores"]["mcu"]["tiers"] = ["dsp_iram", "sysram", "flash"]   # a tcm of the dsp
    soc_data["cores"]["mcu"]["class"] = "hifi9"
    found = problems(soc_data)
    assert ("cores.dsp.cycles.alu", "required field is missing") in found
    assert ("cores.dsp.core.clock_hz", "must be > 0, got -1") in found
    assert any(p == "cores.dsp.tiers[1]" and "names no tier of memories: 'nowhere'" in m
               for p, m in found)
    assert ("cores.dsp.tiers[2]", "tier 'dsp_iram' listed twice") in found
    assert ("cores.dsp.name", "set by the SoC file for all its cores; remove it from the core") \
        in found
    assert any(p == "cores.dsp.tiers[0]" and "private to core 'mcu'" in m for p, m in found)
    assert any(p == "cores.mcu.class" and "must be one of" in m for p, m in found)
    assert len(found) == 7, found


def test_each_problem_of_a_multi_tier_file_is_named_by_its_path(soc_data):
    tiers = soc_data["memories"]
    tiers["sysram"]["holds"] = ["weights", "stack"]
    tiers["cm4_tcm"]["reserved_bytes"] = tiers["cm4_tcm"]["size_bytes"]
    del tiers["flash"]["access_cycles"]
    tiers["dsp_iram"]["kind"] = "cache"
    found = problems(soc_data)
    assert ("memories.sysram.holds[1]",
            "must be one of code, weights, tables, activations, got 'stack'") in found
    assert ("memories.cm4_tcm.reserved_bytes", "must be < size_bytes (245760), got 245760") \
        in found
    assert ("memories.flash.access_cycles", "required field is missing") in found
    assert any(p == "memories.dsp_iram.kind" for p, _ in found)
    # the access_cycles source now names a number the file no longer has
    assert any(p.startswith("sources[") and "memories.flash.access_cycles" in m
               for p, m in found)
    assert len(found) == 5, found


def test_a_core_needs_a_tier_for_every_content(soc_data):
    soc_data["cores"]["mcu"]["tiers"] = ["flash"]
    found = problems(soc_data)
    assert found == [("cores.mcu.tiers", "no tier of this core may hold activations")]


def test_baseline_loads_and_sources_are_checked(soc_data):
    loads = soc_data["baseline"]["loads"]
    loads["le_audio"]["power_mw"] = 10.0                # both current and power
    del loads["hearing_assist"]["current_ma"]           # neither
    soc_data["baseline"]["default_load"] = "music"
    soc_data["regulator"]["efficiency"] = 1.2
    soc_data["battery"]["capacity_mah"] = 60            # still sourced
    soc_data["memories"]["flash"]["reserved_bytes"] = 1000
    soc_data["sources"] = [s for s in soc_data["sources"]
                           if "memories.flash.size_bytes" not in s["fields"]]
    found = problems(soc_data)
    assert ("baseline.loads.le_audio", "give current_ma or power_mw, not both") in found
    assert ("baseline.loads.hearing_assist", "needs current_ma or power_mw") in found
    assert any(p == "baseline.default_load" and "names no load: 'music'" in m for p, m in found)
    assert ("regulator.efficiency", "must be <= 1, got 1.2") in found
    for fact in ("memories.cm4_tcm.size_bytes", "memories.sysram.size_bytes",
                 "memories.flash.size_bytes", "memories.flash.reserved_bytes",
                 "baseline.loads.le_audio.power_mw"):
        assert ("sources", f"no source given for {fact}") in found


# --------------------------------------------------------------- the network's share

def test_share_arithmetic_from_the_sourced_baseline():
    soc = load_soc(SOC)
    load = soc.loads["a2dp_anc"]
    assert load.current_ma == 8.3 and soc.battery.voltage_v == 3.7
    assert load.battery_power_mw == pytest.approx(8.3 * 3.7)
    assert soc.regulator.core_energy_at == "core_rail"
    battery = product_battery(soc, None, network_core_mw=1.0)
    network = 1.0 / 0.88                                  # behind an 88% regulator
    assert battery.network_mw == pytest.approx(network)
    assert battery.share == pytest.approx(network / (8.3 * 3.7 + network))
    assert battery.life_without_network_hours == pytest.approx(50 * 3.7 / (8.3 * 3.7))
    assert battery.life_with_network_hours == pytest.approx(50 * 3.7 / (8.3 * 3.7 + network))


def test_core_energy_at_the_battery_is_not_divided_again():
    soc = load_soc(REPO / "devices" / "soc" / "nordic-nrf5340.yaml")
    assert soc.regulator.core_energy_at == "battery"
    battery = product_battery(soc, "le_audio", network_core_mw=2.0)
    assert battery.network_mw == 2.0
    assert battery.share == pytest.approx(2.0 / (5.0 * 3.7 + 2.0))


def test_simulated_share_uses_the_networks_own_power():
    subject = load_subject("har-cnn")
    result = simulate_soc(subject, load_soc(SOC), "int8", frames=5)
    assert {r.core for r in result.runs} == {"mcu", "dsp"}
    for run in result.runs:
        core_mw = run.simulation.schedule.network_power_uw / 1000
        battery_mw = core_mw / 0.88
        assert run.battery.network_mw == pytest.approx(battery_mw)
        assert run.battery.share == pytest.approx(battery_mw / (30.71 + battery_mw))
    fitting = [r for r in result.runs if r.fits]
    assert result.chosen == min(fitting, key=lambda r: r.battery.network_mw).core
    forced = simulate_soc(subject, load_soc(SOC), "int8", frames=5, core="dsp")
    assert forced.chosen == "dsp" and forced.reason == "given (--core)"


# --------------------------------------------------------------- tiers

def test_first_fit_in_file_order_and_why_a_buffer_does_not_fit():
    soc = load_soc(SOC)
    tiers = soc.tiers_of("mcu")          # cm4_tcm (64 KB free), sysram (76 KB free), flash
    placement = place_buffers([("arena", "activations", 40_000),
                               ("weights", "weights", 40_000),
                               ("big arena", "activations", 100_000)], tiers)
    assert [b.tier for b in placement.buffers] == ["cm4_tcm", "sysram", None]
    why = placement.buffers[2].why
    assert why == ("needs 100000 B: cm4_tcm has 25536 B free of 245760 B (180224 B reserved); "
                   "sysram has 37824 B free of 487424 B (409600 B reserved); "
                   "flash does not hold activations")
    assert not placement.fits


def test_the_placement_prices_the_loads():
    soc = load_soc(SOC)
    tiers = soc.tiers_of("mcu")
    kinds = {t.name: t.kind for t in tiers}
    # tables in the TCM, weights spilled to flash: tables read as SRAM, weights as flash
    placement = place_buffers([("product tables", "tables", 1_000),
                               ("thresholds", "tables", 100),
                               ("weights", "weights", 500_000)], tiers)
    assert [b.tier for b in placement.buffers] == ["cm4_tcm", "cm4_tcm", "flash"]
    options = placed_cost_options(placement, kinds, CostOptions(activations="packed"))
    assert (options.tables_in, options.thresholds_in, options.weights_in) == \
        ("sram", "sram", "flash")
    assert options.activations == "packed"              # the rest of the base is kept
    # a content with no placed buffer keeps the base's place
    assert placed_cost_options(place_buffers([], tiers), kinds).tables_in == "flash"
    # The simulation costs the graph with exactly those options.
    subject = load_subject("kws-dscnn")
    result = simulate_soc(subject, soc, "lut", frames=2, core="mcu")
    run = result.run
    expected = placed_cost_options(run.placement, kinds)
    assert run.simulation.cost.total_cycles == cost_graph(
        subject.graph, soc.cores["mcu"].device, "lut", expected).total_cycles
    # kws-dscnn's thresholds fit the TCM and its product tables do not: split, its layers
    # would run the per-layer loops (the kernel library's data has its constants in one
    # place), slower than the library with every constant in flash, so that is kept
    from hwsim.memory.tiers import place_in_tiers
    first_fit = place_in_tiers(plan_memory_of(subject, soc), soc.tiers_of("mcu"))
    split = {b.name: b.tier for b in first_fit.buffers}
    assert split["thresholds"] == "cm4_tcm" and split["product tables"] == "flash"
    split_options = placed_cost_options(first_fit, kinds)
    assert (split_options.thresholds_in, split_options.tables_in) == ("sram", "flash")
    tier_of = {b.name: b.tier for b in run.placement.buffers}
    assert tier_of["thresholds"] == tier_of["product tables"] == "flash"
    assert (expected.thresholds_in, expected.tables_in) == ("flash", "flash")
    device = soc.cores["mcu"].device
    assert run.simulation.cost.total_cycles < cost_graph(subject.graph, device, "lut",
                                                         split_options).total_cycles
    # the activations still take the TCM
    assert any(b.tier == "cm4_tcm" for b in run.placement.buffers)


def plan_memory_of(subject, soc):
    """The memory plan placed_on_core places on the SoC's mcu core."""
    from hwsim.evaluate.simulate import described_memory
    from hwsim.memory.planner import plan_memory
    device = soc.cores["mcu"].device
    return plan_memory(subject.graph, device, "lut", described_memory(
        cost_graph(subject.graph, device, "lut"), device, None))


# --------------------------------------------------------------- CLI

def test_cli_simulate_soc_json_reports_core_tiers_and_battery():
    result = run_cli("simulate", "har-cnn", "--device", "bes2300yp", "--frames", "5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["soc"] == "bes2300yp" and data["core"] in ("mcu", "cp")
    assert all(b["tier"] in ("sram", "flash") for b in data["tiers"]["buffers"])
    battery = data["product_battery"]
    assert battery["network_share"] == pytest.approx(
        battery["network_power_battery_mw"]
        / (battery["baseline_power_mw"] + battery["network_power_battery_mw"]))
    assert battery["battery_life_with_network_hours"] < battery["battery_life_without_network_hours"]


def test_cli_unknown_core_is_a_clear_error():
    result = run_cli("simulate", "har-cnn", "--device", "bes2300yp", "--core", "dsp")
    assert result.returncode == 2
    assert "SoC 'bes2300yp' has no core 'dsp'; cores: mcu, cp" in result.stderr


def test_cli_compare_the_cores_of_one_soc():
    result = run_cli("compare", "har-cnn", "--devices", "nxp-rt685", "--styles", "int8",
                     "--frames", "3", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    devices = {row["device"] for row in document["compare"]}
    assert devices == {"nxp-rt685.m33", "nxp-rt685.hifi4"}
    products = document["products"]                 # per core: the network's share
    assert {(r["device"], r["core"]) for r in products} == {
        ("nxp-rt685.m33", "m33"), ("nxp-rt685.hifi4", "hifi4")}
    for row in products:
        assert row["network_share"] == pytest.approx(
            row["network_power_battery_mw"]
            / (row["baseline_power_mw"] + row["network_power_battery_mw"]))


def test_cli_devices_check_reports_a_broken_soc_by_path(tmp_path):
    text = SOC.read_text().replace("capacity_mah: 50", "capacity_mah: -50")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = run_cli("devices", "check", str(path), str(SOC))
    assert result.returncode == 2
    assert f"{path}: battery.capacity_mah: must be > 0, got -50" in result.stderr
    assert "airoha-ab1585.yaml: ok (airoha-ab1585; SoC, cores mcu, dsp)" in result.stdout


# --------------------------------------------------------------- docs worked example

def test_docs_worked_example():
    """The complete SoC file in docs/devices.md loads, and every figure the page
    derives from it is what the code computes."""
    text = (REPO / "docs" / "devices.md").read_text()
    block = text.split("<!-- soc-example -->", 2)[1].split("```yaml", 1)[1].split("```", 1)[0]
    soc = soc_from_data(parse_yaml(block, "docs"))
    assert soc.loads["streaming"].battery_power_mw == pytest.approx(2.75 * 1.4)   # 3.85 mW
    assert soc.loads["processing"].battery_power_mw == pytest.approx(1.4)
    battery = product_battery(soc, "processing", network_core_mw=0.18)
    assert battery.network_mw == pytest.approx(0.2)
    assert battery.share == pytest.approx(0.2 / 1.6)                                # 12.5%
    assert battery.life_without_network_hours == pytest.approx(181.0)
    assert battery.life_with_network_hours == pytest.approx(181 * 1.4 / 1.6)        # 158.375 h
    placement = place_buffers([("arena: activations", "activations", 6000),
                               ("weight indices (packed)", "weights", 30000),
                               ("product tables", "tables", 4000)], soc.tiers_of("dsp"))
    assert [b.tier for b in placement.buffers] == ["dsp_ram", "image", "dsp_ram"]
