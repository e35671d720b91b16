"""Shifts on a serial shifter (PicoRV32): the characterized RISC-V libraries count their
shifts and steps, a shift by a register by its recorded amount or by the call's role
(hwsim.machine.register_shifts, hwsim.cost.serial_shift), and the cost model prices them
from the device's serial_shifter (on a barrel shifter a shift is one alu instruction)."""
from __future__ import annotations

import pytest

from hwsim.cost.lut_library import covers as lut_covers
from hwsim.cost.options import CostOptions, core_traits
from hwsim.cost.prices import action_prices
from hwsim.cost.serial_shift import shift_steps, with_role_amounts
from hwsim.errors import HwsimError
from hwsim.machine.register_shifts import (UNRECORDED_BITS, recorded_correction, shift_roles,
                                           site_counts)
from hwsim.specs.catalog import find_device


def test_shift_steps_follow_the_documented_two_stages():
    # 4 + n // 4 + n % 4 cycles on PicoRV32 (docs/rtl.md): 7 -> 1 + 3, 31 -> 7 + 3
    assert shift_steps(7) == {"shift_4_bits": 1, "shift_bit": 3}
    assert shift_steps(31) == {"shift_4_bits": 7, "shift_bit": 3}
    assert shift_steps(0) == {"shift_4_bits": 0, "shift_bit": 0}


def test_roles_are_told_apart_by_the_calls_values():
    runs = [({(0x10, 4): 6, (0x20, 2): 1, (0x30, 1): 3, (0x30, 3): 1},
             {"row": 4, "search": 2}),
            ({(0x10, 5): 9, (0x20, 0): 1, (0x30, 1): 5, (0x30, 3): 2},
             {"row": 5, "search": 0}),
            ({(0x10, 1): 2, (0x20, 4): 1, (0x30, 1): 1, (0x30, 3): 1},
             {"row": 1, "search": 4})]
    # 0x30 takes two amounts in every run, following no parameter: counted as recorded
    assert shift_roles(runs) == {0x10: "row", 0x20: "search", 0x30: None}
    counts = site_counts(runs[0][0], shift_roles(runs))
    unrecorded = shift_steps(UNRECORDED_BITS)
    # role sites: their executions, no steps; 0x30: its recorded steps (3 x 1 + 1 x 3)
    assert counts["shift_by_row"] == 6 and counts["shift_by_search"] == 1
    assert counts["shift_bit"] == 3 * 1 + 1 * 3 - unrecorded["shift_bit"] * (6 + 1 + 3 + 1)
    assert counts["shift_4_bits"] == -unrecorded["shift_4_bits"] * (6 + 1 + 3 + 1)


def test_a_constant_amount_is_no_role():
    runs = [({(0x10, 4): 1}, {"row": 4}), ({(0x10, 4): 2}, {"row": 4})]
    assert shift_roles(runs) == {0x10: None}      # the row never varied: not identified


def test_recorded_amounts_replace_the_bound_in_emulation():
    correction = recorded_correction({9: 2, 0: 1})
    assert correction == {"shift_4_bits": 2 * (2 - 7) + (0 - 7), "shift_bit": 2 * (1 - 3) - 3}


def test_role_counts_take_the_calls_amounts():
    counts = {"alu": 5, "shift": 3, "shift_bit": 1, "shift_by_row": 2}
    assert with_role_amounts(counts, {"row": 9}, "x") == {
        "alu": 5, "shift": 3, "shift_bit": 1 + 2 * 1, "shift_4_bits": 2 * 2}
    with pytest.raises(HwsimError, match="no value for the shift amount 'row'"):
        with_role_amounts(counts, {}, "node L0")


def test_prices_on_a_serial_and_a_barrel_shifter():
    pico, ibex = find_device("picorv32"), find_device("ibex-rv32m-fast")
    p = action_prices(pico)
    assert (p["shift"].cycles, p["shift_4_bits"].cycles, p["shift_bit"].cycles) == (4, 1, 1)
    q = action_prices(ibex)
    assert q["shift"].cycles == q["alu"].cycles
    assert q["shift_4_bits"].cycles == q["shift_bit"].cycles == 0


def test_the_lut_library_covers_picorv32():
    """PicoRV32's rv32i build counts its shifts apart, so the library prices it (and the
    code generator calls it there: hwsim.cost.lut_library.device_lut_kernels)."""
    assert lut_covers(core_traits(find_device("picorv32")), CostOptions())
