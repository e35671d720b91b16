"""Every bundled device validates, and the required kinds of core are present."""
from __future__ import annotations

import pytest

from hwsim.specs.bundled import bundled_dir, bundled_names, rtl_configuration_names
from hwsim.specs.catalog import find_device, load_bundled_devices
from hwsim.specs.device import load_device

NAMES = bundled_names("devices")


@pytest.mark.parametrize("name", NAMES)
def test_bundled_device_validates(name):
    device = load_device(bundled_dir("devices") / f"{name}.yaml")
    assert device.name == name, "file stem and name field must agree"
    assert device.battery.capacity_mah > 0
    assert device.sources


def test_at_least_ten_devices():
    assert len(NAMES) >= 10, NAMES


def test_required_kinds_of_core_are_bundled():
    devices = load_bundled_devices()

    def has(predicate) -> bool:
        return any(predicate(d) for d in devices)

    m0plus = [d for d in devices if d.core.isa == "armv6-m"]
    assert any(d.core.multiplier == "single_cycle" and d.core.fpu == "none" for d in m0plus)
    assert any(d.core.multiplier == "iterative" and d.cycles["mul"] == 32 for d in m0plus)
    assert has(lambda d: d.core.isa == "armv7e-m" and d.core.fpu == "single")
    assert has(lambda d: d.core.isa == "armv8-m.main")
    assert has(lambda d: d.core.isa == "rv32imc" and d.core.fpu == "none")
    assert has(lambda d: d.core.isa in ("rv32i", "rv32e") and d.core.multiplier == "none")
    assert has(lambda d: d.core.isa == "msp430x" and d.core.word_bits == 16
               and d.core.multiplier == "peripheral")
    assert has(lambda d: d.core.isa == "xtensa-hifi4" or "dsp" in d.core.name.lower())
    classes = {d.product_class for d in devices}
    assert classes == {"earbud", "hearing_aid", "watch_band"}


def test_names_unique():
    devices = load_bundled_devices()
    assert len({d.name for d in devices}) == len(devices)


RTL_NAMES = rtl_configuration_names()


def test_rtl_configurations_are_apart_from_the_catalog():
    # The simulated cores of docs/rtl.md: found by name, not compared in reports.
    assert set(RTL_NAMES) >= {"ibex-rv32m-slow", "ibex-rv32m-fast", "ibex-rv32m-single-cycle",
                              "ibex-rv32i", "picorv32", "picorv32-mul", "cv32e40p"}
    assert not set(RTL_NAMES) & set(NAMES)


@pytest.mark.parametrize("name", RTL_NAMES)
def test_rtl_configuration_validates(name):
    device = find_device(name)
    assert device.name == name
    assert device.memory.flash_load_extra_cycles == 0      # the testbench's flat RAM
    assert "jump" in device.cycles
    assert device.core.multiplier == "none" or "mulh" in device.cycles


def test_cortex_m33_has_its_own_table_not_the_m4s():
    """The M33's pipeline starts address generation a stage earlier than the M4's, so its
    loads and stores are priced at 1 cycle (a secondary source, named in the file)."""
    m4 = find_device("nrf52840")
    m33s = [d for d in load_bundled_devices() if d.core.isa == "armv8-m.main"]
    assert len(m33s) >= 3
    for d in m33s:
        cycles = d.cycles
        assert (cycles["load_32"], cycles["store_32"]) == (1, 1), d.name
        assert cycles["load_32"] < m4.cycles["load_32"]
        loads = [s for s in d.sources if "cycles.load_32" in s.fields]
        assert [s.kind for s in loads] == ["secondary"], d.name


def test_cortex_m_devices_state_their_instruction_fetch():
    """Every bundled Cortex-M device states how its code is fetched from flash
    (memory.instruction_fetch); their sources say a cache or prefetch buffer hides the
    wait states for loop code, so none is charged for its fetches."""
    arm = [d for d in load_bundled_devices() if d.core.isa.startswith("armv")]
    assert len(arm) >= 10
    for device in arm:
        fetch = device.memory.instruction_fetch
        assert fetch is not None, device.name
        assert fetch.hidden_by in ("cache", "prefetch"), device.name
        assert fetch.extra_cycles_per_fetch == 0, device.name
