"""`hwsim simulate`: cost + memory + schedule glued, through the library and the CLI."""
from __future__ import annotations

import csv
import json

import pytest
import yaml

from hwsim.specs.catalog import find_device
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.specs.yaml_reader import read_yaml
from tests.conftest import REPO, run_cli


@pytest.fixture(scope="module")
def har():
    return load_subject("har-cnn")


def test_har_fits_an_earbud_core(har):
    result = simulate(har, find_device("nrf52840"), "lut")
    assert result.fits_all
    fits = {f.check: f for f in result.fits}
    assert fits["ram"].margin == result.memory.ram_margin_bytes > 0
    assert fits["deadline"].margin > 0
    cycles = sum(n.cycles for n in result.cost.nodes)
    assert result.cost.total_cycles == pytest.approx(cycles)
    assert result.schedule.deadline_misses == 0
    summary = result.summary()
    assert summary["battery_life_hours"] > 0 and summary["energy_per_inference_uj"] > 0


def test_styles_ordered_on_a_core_without_multiplier(har):
    device = find_device("ch32v003")
    cycles = {style: simulate(har, device, style).cost.total_cycles
              for style in ("lut", "int8", "float32")}
    assert cycles["lut"] < cycles["int8"] < cycles["float32"]


def test_not_fitting_is_a_result_not_an_error():
    result = simulate(load_subject("vww-mobilenet"), find_device("msp430fr5969"), "int8")
    fits = {f.check: f for f in result.fits}
    assert not fits["ram"].fits and fits["ram"].margin < 0
    assert not result.fits_all


def test_cli_text_json_and_timeline(tmp_path):
    timeline = tmp_path / "events.csv"
    result = run_cli("simulate", "har-cnn", "--device", "nrf52840", "--frames", "5",
                     "--timeline", str(timeline))
    assert result.returncode == 0, result.stderr
    for word in ("ram", "flash", "deadline", "latency", "cycles", "energy", "battery life",
                 "L2.conv1d"):
        assert word in result.stdout
    with open(timeline, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["frame"] for row in rows} == {"0", "1", "2", "3", "4"}
    as_json = run_cli("simulate", "har-cnn", "--device", "samd21", "--style", "int8",
                      "--frames", "3", "--json")
    data = json.loads(as_json.stdout)
    assert data["style"] == "int8" and data["device"] == "samd21"
    assert set(data["fits"]) == {"ram", "flash", "deadline"}
    assert data["nodes"] and data["memory"]["ram"]


def test_cli_simulates_a_trained_artifact(tmp_path):
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["training"].update(epochs=1, finetune_epochs=1)
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(data))
    assert run_cli("train", str(path), "--out", str(tmp_path / "model")).returncode == 0
    result = run_cli("simulate", str(tmp_path / "model"), "--device", "cc2340r5", "--frames", "3")
    assert result.returncode == 0, result.stderr
    assert "trained artifact" in result.stdout


def test_table_wider_than_the_word_is_an_error(tmp_path):
    data = read_yaml(REPO / "workloads" / "digits-mlp.yaml")
    data["integer"]["table_entry_bits"] = 32
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_cli("simulate", str(path), "--device", "msp430fr5969")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "16-bit" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["har-cnn", "--device", "pentium"], "unknown device 'pentium'"),
    (["nosuch", "--device", "samd21"], "unknown workload 'nosuch'"),
    (["har-cnn", "--device", "samd21", "--frames", "0"], "frames must be an integer from 1 to 100000"),
    (["har-cnn", "--device", "samd21", "--frames", str(10 ** 12)], "frames must be an integer from 1"),
    (["har-cnn", "--device", "samd21", "--firmware-share", "1.5"], "firmware_share"),
])
def test_cli_user_errors(args, message):
    result = run_cli("simulate", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
