"""`hwsim compare`: the fit matrix."""
from __future__ import annotations

import json

from hwsim.specs.catalog import find_device
from hwsim.evaluate.compare import compare
from hwsim.evaluate.simulate import load_subject
from tests.conftest import run_cli


def test_matrix_rows_sorted_and_complete():
    subjects = [load_subject("har-cnn"), load_subject("digits-mlp")]
    devices = [find_device("samd21"), find_device("msp430fr5969")]
    result = compare(subjects, devices, frames=3,
                     detail=lambda w, d, s: (w, d, s) == ("har-cnn", "samd21", "lut"))
    assert len(result.rows) == 2 * 2 * 3
    keys = [(r["workload"], r["device"], r["style"]) for r in result.rows]
    assert keys[:3] == [("digits-mlp", "msp430fr5969", s) for s in ("lut", "int8", "float32")]
    assert len(result.details) == 1 and result.details[0]["timeline"]
    har_msp = {r["style"]: r for r in result.rows
               if (r["workload"], r["device"]) == ("har-cnn", "msp430fr5969")}
    assert har_msp["float32"]["fits_ram"] is False and har_msp["float32"]["ram_margin_bytes"] < 0
    # MSP430 has no int8 library build: the plain loops run, with no scratch buffer
    assert har_msp["int8"]["fits_ram"] is True and har_msp["int8"]["ram_margin_bytes"] >= 0
    again = compare(subjects, devices, frames=3)
    assert again.rows == result.rows


def test_cli_table_and_json():
    result = run_cli("compare", "har-cnn", "--devices", "samd21,nrf52840", "--frames", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["workload", "device", "lut", "int8", "float32"]
    assert any(line.startswith("har-cnn") and "samd21" in line for line in lines)
    as_json = run_cli("compare", "har-cnn", "--devices", "samd21", "--styles", "lut",
                      "--frames", "2", "--json")
    doc = json.loads(as_json.stdout)
    assert doc["format"] == "hwsim-results" and len(doc["compare"]) == 1


def test_cli_bad_input():
    for args, message in ((["--devices", "pentium"], "unknown device 'pentium'"),
                          (["--styles", "fp64"], "unknown style fp64"),
                          (["--devices", " , "], "--devices")):
        result = run_cli("compare", "har-cnn", *args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr
