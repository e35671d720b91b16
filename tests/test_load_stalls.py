"""CV32E40P's load stalls at one wait state (hwsim.machine.load_stalls) counted from
hand-written RISC-V sequences, and priced by cv32e40p-ws1's table only
(tests/test_rtl.py checks the table against the RTL)."""
from __future__ import annotations

from hwsim.cost.prices import action_prices
from hwsim.machine.emulate_price import fetch_actions, instruction_cycles
from hwsim.machine.load_stalls import load_stalls
from hwsim.specs.catalog import find_device
from hwsim.specs.device import LOAD_STALL_ACTIONS
from tests.test_hazards import _decode      # hand-written RV32 words


def test_a_load_over_its_own_base_register():
    """After an ALU instruction it stalls the fetch; right after a load or store, after an
    instruction that read the load before it, or at the start of a run it is not
    counted."""
    assert load_stalls(_decode("add a3, a5, a3", "lh a3, 0(a3)")) == {"self_base_load": 1.0}
    assert load_stalls(_decode("lw a5, 4(sp)", "lh a3, 0(a3)")) == {}
    assert load_stalls(_decode("sw a5, 4(sp)", "lh a3, 0(a3)")) == {}
    assert load_stalls(_decode("lbu a3, 0(a5)", "add a3, a3, a5", "lh a3, 0(a3)")) == {}
    assert load_stalls(_decode("lh a3, 0(a3)")) == {}
    assert load_stalls(_decode("add a3, a5, a3", "lw a4, 12(a5)")) == {}


def test_an_access_reading_the_load_right_before_it():
    """chained_load_use when that load itself came right after a load or store."""
    assert load_stalls(_decode("sw a5, 4(sp)", "lw a5, 4(sp)", "lw a4, 12(a5)")) == {
        "chained_load_use": 1.0}
    assert load_stalls(_decode("lw a4, 12(a5)", "lw a5, 4(sp)", "sw a4, 0(a5)")) == {
        "chained_load_use": 1.0}
    assert load_stalls(_decode("addi a5, a5, 1", "lw a5, 4(sp)", "lw a4, 12(a5)")) == {}
    assert load_stalls(_decode("sw a5, 4(sp)", "lw a5, 4(sp)", "addi a5, a5, 1")) == {}


def test_a_jalr_reading_the_load_right_before_it():
    assert load_stalls(_decode("lw a5, 0(a2)", "jr a5")) == {"jalr_load_use": 1.0}
    assert load_stalls(_decode("lw ra, 12(sp)", "ret")) == {"jalr_load_use": 1.0}
    assert load_stalls(_decode("sw a5, 4(sp)", "ret")) == {}
    assert load_stalls(_decode("lw a5, 0(a2)", "addi a5, a5, 1", "jr a5")) == {}
    # fetch_actions carries them, beside memory_before_jalr
    assert fetch_actions(_decode("lw a5, 0(a2)", "jr a5"))[0] == {
        "fetch_overlap": 1.0, "memory_before_jalr": 1.0, "jalr_load_use": 1.0}


def test_priced_by_the_cv32e40p_one_wait_state_table_only():
    cv32e40p = find_device("cv32e40p-ws1")
    # every instruction 2 (fetch-bound), the self load 1 more, as the RTL takes
    assert instruction_cycles(_decode("add a3, a5, a3", "lh a3, 0(a3)"), cv32e40p) == 5
    assert instruction_cycles(_decode("sw a5, 4(sp)", "lw a5, 4(sp)", "lw a4, 12(a5)"),
                              cv32e40p) == 7
    # lw 2, jr 4, and 2 waiting for the load; a store before a ret costs nothing more
    assert instruction_cycles(_decode("lw a5, 0(a2)", "jr a5"), cv32e40p) == 8
    assert instruction_cycles(_decode("sw a5, 4(sp)", "ret"), cv32e40p) == 2
    for name in ("cv32e40p", "ibex-rv32m-fast-ws1", "ibex-rv32m-fast"):
        prices = action_prices(find_device(name))
        assert {a: prices[a].cycles for a in LOAD_STALL_ACTIONS} == dict.fromkeys(
            LOAD_STALL_ACTIONS, 0.0)
    # Ibex prices a load or store before a jalr as before a taken branch: nothing, its
    # fetch phase (taken_odd_ahead) is what a taken branch or jump waits for
    ibex = action_prices(find_device("ibex-rv32m-fast-ws1"))
    assert ibex["memory_before_jalr"].cycles == ibex["memory_before_taken"].cycles == 0
    assert ibex["taken_odd_ahead"].cycles == 1

