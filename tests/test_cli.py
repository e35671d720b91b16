"""The CLI through the real console script, as a user runs it."""
from __future__ import annotations

import json

from hwsim.specs.bundled import bundled_names
from tests.conftest import REPO, run_cli


def test_help_lists_commands(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "devices" in result.stdout


def test_devices_table_from_installed_package(tmp_path):
    # Run outside the checkout: the bundled devices must come with the package.
    result = run_cli("devices", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "core", "clock", "SRAM"]
    for name in bundled_names("devices"):
        assert any(line.startswith(name + " ") for line in lines), name


def test_devices_json(tmp_path):
    result = run_cli("devices", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows if "soc" not in r] == bundled_names("devices")
    assert {r["soc"] for r in rows if "soc" in r} >= {"airoha-ab1585", "onsemi-ezairo7100"}
    row = next(r for r in rows if r["name"] == "nrf52840")
    assert row["clock_hz"] == 64_000_000 and row["sram_bytes"] == 262_144
    assert row["fpu"] == "single" and row["battery_mah"] == 50


def test_devices_show_by_name_and_path(tmp_path):
    by_name = run_cli("devices", "show", "nrf52840", cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    assert "Cortex-M4F" in by_name.stdout and "sources" in by_name.stdout
    assert "fetch       hidden by cache: +0 cycles/instruction" in by_name.stdout
    samd21 = run_cli("devices", "show", "samd21", cwd=tmp_path).stdout
    assert "fetch       1 wait state, hidden by cache" in samd21
    assert "fetch       not stated (nothing charged)" in run_cli(
        "devices", "show", "ch32v003", cwd=tmp_path).stdout
    by_path = run_cli("devices", "show", str(REPO / "devices" / "nrf52840.yaml"), "--json")
    assert by_path.returncode == 0
    assert json.loads(by_path.stdout)["core"]["clock_hz"] == 64_000_000


def test_devices_show_unknown_name(tmp_path):
    result = run_cli("devices", "show", "pentium", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("hwsim: error: unknown device 'pentium'; bundled: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_devices_check_good_file():
    result = run_cli("devices", "check", str(REPO / "devices" / "nrf52840.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok (nrf52840)")


def test_devices_check_broken_file_lists_every_problem(tmp_path):
    text = (REPO / "devices" / "nrf52840.yaml").read_text()
    text = text.replace("clock_hz: 64000000", "clock_hz: -64000000")
    text = text.replace("multiplier: single_cycle", "multiplier: none")
    text = text.replace("  sram_bytes: 262144\n", "")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    result = run_cli("devices", "check", str(broken))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for expected in ("core.clock_hz: must be > 0, got -64000000",
                     "cycles.mul: given, but core.multiplier is none",
                     "memory.sram_bytes: required field is missing",
                     "soft_multiply: required when core.multiplier is none"):
        assert expected in result.stderr, result.stderr
    assert f"{broken}: " in result.stderr


def test_devices_check_malformed_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("core: {clock_hz: [1\n")
    result = run_cli("devices", "check", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}: line" in result.stderr and "invalid YAML" in result.stderr


def test_devices_check_missing_file(tmp_path):
    result = run_cli("devices", "check", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "missing.yaml: no such file" in result.stderr


def test_unknown_command_is_a_usage_error(tmp_path):
    result = run_cli("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
