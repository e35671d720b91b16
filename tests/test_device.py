"""Device specs: parsing, and one specific message for each kind of bad spec."""
from __future__ import annotations

import pytest

from hwsim.specs.device import Device, device_from_data, load_device
from hwsim.errors import SpecError


def test_valid_dict_loads(device_data):
    device = device_from_data(device_data)
    assert isinstance(device, Device)
    assert device.core.clock_hz == 64_000_000
    assert device.cycles["mul"] == 1
    assert device.energy.active_pj_per_cycle == pytest.approx(52 * 3.0)
    assert device.source_file is None


def test_device_is_frozen(device_data):
    device = device_from_data(device_data)
    with pytest.raises(AttributeError):
        device.name = "other"


def test_unknown_key(device_data):
    device_data["core"]["turbo"] = True
    with pytest.raises(SpecError, match=r"core\.turbo: unknown field"):
        device_from_data(device_data)


def test_unknown_top_level_key(device_data):
    device_data["colour"] = "blue"
    with pytest.raises(SpecError, match=r"colour: unknown field"):
        device_from_data(device_data)


def test_duplicate_key(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("schema_version: 1\nname: a\nname: b\n")
    with pytest.raises(SpecError, match=r"dup\.yaml: line 3, column 1: invalid YAML: "
                                        r"duplicate key 'name' \(first at line 2\)"):
        load_device(path)


def test_wrong_type(device_data):
    device_data["memory"]["sram_bytes"] = "lots"
    with pytest.raises(SpecError, match=r"memory\.sram_bytes: must be an integer, got string 'lots'"):
        device_from_data(device_data)


def test_bool_is_not_a_number(device_data):
    device_data["cycles"]["alu"] = True
    with pytest.raises(SpecError, match=r"cycles\.alu: must be a number, got boolean True"):
        device_from_data(device_data)


@pytest.mark.parametrize("section,key,value", [
    ("memory", "sram_bytes", -4),
    ("memory", "flash_bytes", 0),
    ("core", "clock_hz", 0),
    ("core", "clock_hz", -64_000_000),
    ("battery", "capacity_mah", 0),
])
def test_non_positive_sizes_and_clocks(device_data, section, key, value):
    device_data[section][key] = value
    with pytest.raises(SpecError, match=rf"{section}\.{key}: must be > 0, got {value}"):
        device_from_data(device_data)


def test_missing_required_field(device_data):
    del device_data["memory"]["sram_bytes"]
    with pytest.raises(SpecError, match=r"memory\.sram_bytes: required field is missing"):
        device_from_data(device_data)


def test_missing_section(device_data):
    del device_data["energy"]
    with pytest.raises(SpecError, match=r"energy: required field is missing"):
        device_from_data(device_data)


def test_fpu_less_core_needs_soft_float(device_data):
    device_data["core"]["fpu"] = "none"
    for action in ("float_add", "float_mul", "float_mac", "float_div", "float_convert"):
        device_data["cycles"].pop(action)
    with pytest.raises(SpecError, match=r"soft_float: required when core\.fpu is none"):
        device_from_data(device_data)


def test_fpu_less_core_with_soft_float_loads(device_data):
    device_data["core"]["fpu"] = "none"
    for action in ("float_add", "float_mul", "float_mac", "float_div", "float_convert"):
        device_data["cycles"].pop(action)
    device_data["soft_float"] = {"add": 102, "mul": 166}
    device_data["sources"].append({"ref": "Qfplib README", "kind": "verified",
                                   "fields": ["soft_float"]})
    assert device_from_data(device_data).soft_float_cycles == {"add": 102.0, "mul": 166.0}


def test_float_cycles_on_fpu_less_core(device_data):
    device_data["core"]["fpu"] = "none"
    device_data["soft_float"] = {"add": 102, "mul": 166}
    device_data["sources"].append({"ref": "x", "kind": "verified", "fields": ["soft_float"]})
    with pytest.raises(SpecError, match=r"cycles\.float_add: given, but core\.fpu is none"):
        device_from_data(device_data)


def test_mul_cost_without_multiplier(device_data):
    device_data["core"]["multiplier"] = "none"
    device_data["soft_multiply"] = {"call_cycles": 4, "cycles_per_bit": 7}
    device_data["sources"].append({"ref": "x", "kind": "estimate", "note": "n",
                                   "fields": ["soft_multiply"]})
    with pytest.raises(SpecError, match=r"cycles\.mul: given, but core\.multiplier is none"):
        device_from_data(device_data)


def test_multiplier_needs_mul_cost(device_data):
    del device_data["cycles"]["mul"]
    with pytest.raises(SpecError, match=r"cycles\.mul: required field is missing"):
        device_from_data(device_data)


def test_no_multiplier_needs_soft_multiply(device_data):
    device_data["core"]["multiplier"] = "none"
    del device_data["cycles"]["mul"]
    del device_data["cycles"]["mac"]
    with pytest.raises(SpecError, match=r"soft_multiply: required when core\.multiplier is none"):
        device_from_data(device_data)


def test_bad_choice(device_data):
    device_data["product_class"] = "toaster"
    with pytest.raises(SpecError, match=r"product_class: must be one of earbud, hearing_aid, "
                                        r"watch_band, got 'toaster'"):
        device_from_data(device_data)


def test_schema_version(device_data):
    device_data["schema_version"] = 2
    with pytest.raises(SpecError, match=r"schema_version: must be 1, got 2"):
        device_from_data(device_data)


def test_reserved_must_fit(device_data):
    device_data["memory"]["reserved_sram_bytes"] = device_data["memory"]["sram_bytes"]
    with pytest.raises(SpecError, match=r"memory\.reserved_sram_bytes: must be < sram_bytes"):
        device_from_data(device_data)


def test_every_number_needs_a_source(device_data):
    device_data["sources"] = [s for s in device_data["sources"]
                              if "energy.sleep_ua" not in s["fields"]]
    with pytest.raises(SpecError, match=r"sources: no source given for energy\.sleep_ua"):
        device_from_data(device_data)


def test_source_must_name_a_field(device_data):
    device_data["sources"][0]["fields"].append("core.warp_factor")
    with pytest.raises(SpecError, match=r"sources\[0\]\.fields\[3\]: names no field of the device schema: "
                                        r"'core\.warp_factor'"):
        device_from_data(device_data)


def test_estimate_needs_a_note(device_data):
    estimate = next(s for s in device_data["sources"] if s["kind"] == "estimate")
    del estimate["note"]
    with pytest.raises(SpecError, match=r"sources\[\d+\]\.note: required field is missing"):
        device_from_data(device_data)


def test_energy_action_names_checked(device_data):
    device_data["energy"]["pj_per_action"] = {"teleport": 3.0}
    with pytest.raises(SpecError, match=r"energy\.pj_per_action\.teleport: unknown action"):
        device_from_data(device_data)


def test_all_problems_reported_at_once(device_data, tmp_path):
    device_data["core"]["clock_hz"] = -1
    device_data["core"]["multiplier"] = "none"
    del device_data["memory"]["sram_bytes"]
    device_data["dma"]["speed"] = 3
    with pytest.raises(SpecError) as info:
        device_from_data(device_data, "broken.yaml")
    text = str(info.value)
    lines = text.splitlines()
    assert lines[0].startswith("broken.yaml: ") and "problems" in lines[0]
    for expected in ("broken.yaml: core.clock_hz: must be > 0, got -1",
                     "broken.yaml: cycles.mul: given, but core.multiplier is none",
                     "broken.yaml: soft_multiply: required when core.multiplier is none",
                     "broken.yaml: memory.sram_bytes: required field is missing",
                     "broken.yaml: dma.speed: unknown field"):
        assert any(expected in line for line in lines), (expected, text)
    assert len(info.value.problems) == len(lines) - 1


def test_not_a_mapping():
    with pytest.raises(SpecError, match=r"<dict>: must be a mapping, got list"):
        device_from_data([1, 2, 3])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(SpecError, match=r"empty\.yaml: must be a mapping, got null"):
        load_device(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.yaml: no such file"):
        load_device(tmp_path / "nope.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match=r"invalid YAML"):
        load_device(path)


def _sourced(device_data, section: str) -> None:
    device_data["sources"].append({"ref": "test", "kind": "verified", "fields": [section]})


def test_optional_jump_and_mulh_fall_back(device_data):
    from hwsim.cost.prices import action_prices
    device = device_from_data(device_data)
    prices = action_prices(device)
    assert prices["jump"].cycles == device.cycles["branch_taken"]
    assert prices["mulh"].cycles == device.cycles["mul"]
    device_data["cycles"].update({"jump": 2, "mulh": 4})
    _sourced(device_data, "cycles")
    prices = action_prices(device_from_data(device_data))
    assert (prices["jump"].cycles, prices["mulh"].cycles) == (2, 4)


def test_mulh_without_multiplier(device_data):
    device_data["core"]["multiplier"] = "none"
    device_data["cycles"]["mulh"] = 4
    _sourced(device_data, "cycles")
    with pytest.raises(SpecError, match=r"cycles\.mulh: given, but core\.multiplier is none"):
        device_from_data(device_data)


def test_serial_shifter(device_data):
    device_data["serial_shifter"] = {"base_cycles": 4, "cycles_per_4_bits": 1,
                                     "cycles_per_bit": 1}
    with pytest.raises(SpecError, match="no source given for serial_shifter.base_cycles"):
        device_from_data(device_data)
    _sourced(device_data, "serial_shifter")
    shifter = device_from_data(device_data).serial_shifter
    assert [shifter.cycles(n) for n in (0, 1, 5, 7, 31)] == [4, 5, 6, 8, 14]


def test_operand_multiplier_needs_an_iterative_multiplier(device_data):
    device_data["operand_multiplier"] = {"base_cycles": 1, "cycles_per_bit": 1}
    _sourced(device_data, "operand_multiplier")
    with pytest.raises(SpecError, match="operand_multiplier: given, but core.multiplier is "
                                        "not iterative"):
        device_from_data(device_data)
    device_data["core"]["multiplier"] = "iterative"
    multiplier = device_from_data(device_data).operand_multiplier
    assert [multiplier.cycles(b) for b in (0, 1, 8, 32)] == [2, 2, 9, 33]


def test_fetch_overlap_credits_are_not_positive(device_data):
    """fetch_overlap and fetch_overlap_mul are cycles saved (<= 0); the other fetch
    actions are extra cycles (>= 0)."""
    device_data["cycles"].update({"fetch_overlap": -1, "memory_before_taken": 2})
    _sourced(device_data, "cycles")
    cycles = device_from_data(device_data).cycles
    assert (cycles["fetch_overlap"], cycles["memory_before_taken"]) == (-1, 2)
    device_data["cycles"].update({"fetch_overlap_mul": 1, "memory_before_taken": -2})
    with pytest.raises(SpecError) as error:
        device_from_data(device_data)
    assert "cycles.fetch_overlap_mul: must be <= 0, got 1" in str(error.value)
    assert "cycles.memory_before_taken: must be >= 0, got -2" in str(error.value)


def test_instruction_fetch_model(device_data):
    """memory.instruction_fetch: a net extra cost per fetched instruction, charged on every
    action of the cycle table by its instructions (a call and return: two; composites:
    their parts), on the cost model's and emulation's prices alike."""
    from hwsim.cost.prices import action_prices
    from hwsim.cost.shapes import shape_for
    from hwsim.machine.emulate_price import unit_prices
    base = device_from_data(device_data)
    assert base.memory.instruction_fetch.hidden_by == "cache"
    assert base.memory.instruction_fetch.extra_cycles_per_fetch == 0
    device_data["memory"]["instruction_fetch"] = {"wait_states": 2, "hidden_by": "none",
                                                  "extra_cycles_per_fetch": 2}
    device = device_from_data(device_data)
    before, after = action_prices(base), action_prices(device)
    assert after["alu"].cycles == before["alu"].cycles + 2
    assert after["call_return"].cycles == before["call_return"].cycles + 4
    loop_alu = shape_for(device.core.isa).loop_alu          # loop steps, then the branch
    assert after["loop_overhead"].cycles == before["loop_overhead"].cycles + 2 * (loop_alu + 1)
    assert after["flash_wait"].cycles == before["flash_wait"].cycles
    assert after["load_use"].cycles == 0
    assert after["alu"].energy_pj > before["alu"].energy_pj
    emulated_before, emulated = unit_prices(base), unit_prices(device)
    assert emulated["alu"] == emulated_before["alu"] + 2
    assert emulated["burst_load"] == emulated_before["burst_load"]     # no extra instruction


@pytest.mark.parametrize("fetch,message", [
    ({"wait_states": 2, "hidden_by": "cache", "extra_cycles_per_fetch": 3},
     r"memory\.instruction_fetch\.extra_cycles_per_fetch: must be <= wait_states \(2\)"),
    ({"wait_states": 2, "hidden_by": "none", "extra_cycles_per_fetch": 1},
     r"memory\.instruction_fetch\.extra_cycles_per_fetch: must equal wait_states \(2\) "
     r"when hidden_by is none"),
    ({"hidden_by": "magic", "extra_cycles_per_fetch": 0},
     r"memory\.instruction_fetch\.hidden_by: must be one of cache, prefetch, none"),
    ({"hidden_by": "cache"},
     r"memory\.instruction_fetch\.extra_cycles_per_fetch: required field is missing"),
    ({"hidden_by": "cache", "extra_cycles_per_fetch": 0, "turbo": 1},
     r"memory\.instruction_fetch\.turbo: unknown field"),
])
def test_instruction_fetch_errors_name_the_field(device_data, fetch, message):
    device_data["memory"]["instruction_fetch"] = fetch
    with pytest.raises(SpecError, match=message):
        device_from_data(device_data)
