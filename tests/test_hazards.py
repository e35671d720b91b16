"""Pipeline hazards as priced actions (hwsim.machine.emulate_price.hazards): a load whose
result the next instruction reads (load_use) and a jalr reading the previous instruction's
result (jalr_dependency), counted from a hand-written RISC-V sequence, priced by
CV32E40P's documented table and 0 on a core whose table does not state them. The same for
the fetch-wait actions of the one-wait-state tables (hwsim.machine.fetch_waits.
fetch_actions; tests/test_rtl.py checks the tables against the RTL)."""
from __future__ import annotations

import struct

from hwsim.cost.prices import action_prices
from hwsim.machine.disasm import decode
from hwsim.machine.emulate_price import (NONE_HELD, fetch_actions, fetches_carried, hazards,
                                         instruction_cycles, price)
from hwsim.machine.emulate_profile import Block, Profile
from hwsim.machine.fetch_waits import held_mulh_actions
from hwsim.specs.catalog import find_device

# RV32 words and what they are (objdump of riscv64-unknown-elf-as -march=rv32im).
WORDS = {
    "lw a5, 0(a4)": 0x00072783,
    "add a0, a5, a1": 0x00B78533,      # reads a5: a load-use hazard after the lw
    "nop": 0x00000013,
    "sw a5, 4(sp)": 0x00F12223,        # stores a5: reads it
    "addi a5, a5, 1": 0x00178793,
    "jalr a5": 0x000780E7,             # a call through a5: reads a5
    "jr a5": 0x00078067,
    "lw ra, 12(sp)": 0x00C12083,
    "ret": 0x00008067,                 # reads ra
    "addi sp, sp, 16": 0x01010113,
    "addi a5, a5, 4": 0x00478793,
    "lw zero, 0(a4)": 0x00072003,      # writes nothing
    "beq a0, a5, 8": 0x00F50463,
    "mul a0, a1, a2": 0x02C58533,
    "mulh a0, a1, a2": 0x02C59533,
    "lbu a3, 1(sp)": 0x00114683,
    # CV32E40P's load stalls (tests/test_load_stalls.py)
    "lh a3, 0(a3)": 0x00069683,        # a load over its own base register
    "add a3, a5, a3": 0x00D786B3,
    "lbu a3, 0(a5)": 0x0007C683,
    "add a3, a3, a5": 0x00F686B3,      # reads the lbu's a3
    "lw a5, 4(sp)": 0x00412783,
    "lw a4, 12(a5)": 0x00C7A703,       # its address is the lw's a5
    "sw a4, 0(a5)": 0x00E7A023,        # so is this store's
    "lw a5, 0(a2)": 0x00062783,
}


def _decode(*texts: str):
    code = b"".join(struct.pack("<I", WORDS[t]) for t in texts)
    instructions = decode("riscv", code, 0x100)
    assert [i.mnemonic for i in instructions] == [t.split()[0] for t in texts]
    return instructions


def test_registers_read_and_written():
    lw, add, sw, jalr, ret, beq = _decode("lw a5, 0(a4)", "add a0, a5, a1", "sw a5, 4(sp)",
                                          "jalr a5", "ret", "beq a0, a5, 8")
    assert (lw.reads, lw.writes) == (("a4",), "a5")
    assert (add.reads, add.writes) == (("a5", "a1"), "a0")
    assert (sw.reads, sw.writes) == (("a5", "sp"), None)
    assert (jalr.reads, jalr.writes) == (("a5",), "ra")
    assert (ret.reads, ret.writes) == (("ra",), None)
    assert (beq.reads, beq.writes) == (("a0", "a5"), None)


def test_hazards_of_a_hand_written_sequence():
    assert hazards(_decode("lw a5, 0(a4)", "add a0, a5, a1")) == {"load_use": 1.0}
    assert hazards(_decode("lw a5, 0(a4)", "nop", "add a0, a5, a1")) == {}
    assert hazards(_decode("lw a5, 0(a4)", "sw a5, 4(sp)")) == {"load_use": 1.0}
    assert hazards(_decode("lw a5, 0(a4)", "beq a0, a5, 8")) == {"load_use": 1.0}
    assert hazards(_decode("lw zero, 0(a4)", "add a0, a5, a1")) == {}
    assert hazards(_decode("addi a5, a5, 1", "jalr a5")) == {"jalr_dependency": 1.0}
    assert hazards(_decode("addi a5, a5, 1", "jr a5")) == {"jalr_dependency": 1.0}
    assert hazards(_decode("addi a5, a5, 1", "nop", "jr a5")) == {}
    assert hazards(_decode("lw ra, 12(sp)", "ret")) == {"load_use": 1.0, "jalr_dependency": 1.0}
    # a load's result two before a jalr: one cycle (tests/test_rtl.py measures it)
    assert hazards(_decode("lw ra, 12(sp)", "addi sp, sp, 16", "ret")) == {"jalr_dependency": 1.0}
    assert hazards(_decode("lw ra, 12(sp)", "nop", "nop", "ret")) == {}
    assert hazards(_decode("lw a5, 0(a4)", "addi a5, a5, 4", "jr a5")) == {
        "load_use": 1.0, "jalr_dependency": 1.0}             # the addi's result, not the load's
    sequence = _decode("lw a5, 0(a4)", "add a0, a5, a1", "lw a5, 0(a4)", "addi a5, a5, 1",
                       "jr a5")
    assert hazards(sequence) == {"load_use": 2.0, "jalr_dependency": 1.0}


def test_hazards_are_priced_by_the_cores_that_state_them():
    sequence = _decode("lw a5, 0(a4)", "add a0, a5, a1", "addi a5, a5, 1", "jr a5")
    cv32e40p, ibex = find_device("cv32e40p"), find_device("ibex-rv32m-fast")
    assert (cv32e40p.cycles["load_use"], cv32e40p.cycles["jalr_dependency"]) == (1, 1)
    assert "load_use" not in ibex.cycles
    # CV32E40P: load 1, ALU 1 + 1, jump 2, plus one load-use and one jalr cycle.
    assert instruction_cycles(sequence, cv32e40p) == 1 + 1 + 1 + 2 + 1 + 1
    # Ibex: load 2, ALU 1 + 1, jump 2; no hazard cycles in its table.
    assert instruction_cycles(sequence, ibex) == 2 + 1 + 1 + 2
    assert action_prices(ibex)["load_use"].cycles == 0
    assert action_prices(cv32e40p)["jalr_dependency"].cycles == 1


def test_fetch_waits_hidden_behind_loads_and_multiplies():
    """Each load or store runs one fetch ahead, each mul one and each mulh two, at most
    PREFETCH_DEPTH (3) held; any other instruction takes one (a multiply only from the
    loads' pool: when multiplies run ahead they hide their own fetch)."""
    loads_then_alu = _decode(*["lbu a3, 1(sp)"] * 4, *["addi a5, a5, 1"] * 4)
    assert fetch_actions(loads_then_alu) == ({"fetch_overlap": 3.0}, {}, {})
    assert fetch_actions(_decode("addi a5, a5, 1", "lw a5, 0(a4)")) == ({}, {}, {})
    # lb, then mul and three ALU instructions: the load hides the mul's fetch wait; when
    # the mul runs ahead it hides its own and the ALU instruction's after it.
    sequence = _decode("lbu a3, 1(sp)", "mul a0, a1, a2", "addi a5, a5, 1", "addi a5, a5, 1")
    assert fetch_actions(sequence)[0] == {"fetch_overlap": 1.0, "fetch_overlap_mul": 1.0}
    sequence = _decode("mulh a0, a1, a2", *["addi a5, a5, 1"] * 3)
    assert fetch_actions(sequence)[0] == {"fetch_overlap_mul": 2.0,
                                          "fetch_overlap_slow_mul": 1.0}   # 33 cycles: 3
    # a jalr right after a load (a function's epilogue without the addi); it takes the
    # fetch the load ran ahead, like any instruction (and reads the load: jalr_load_use,
    # tests/test_load_stalls.py)
    assert fetch_actions(_decode("lw ra, 12(sp)", "ret"))[0] == {
        "fetch_overlap": 1.0, "memory_before_jalr": 1.0, "jalr_load_use": 1.0}
    # Arm instructions carry no registers: nothing counted.
    arm = decode("arm", bytes.fromhex("0068" "0068" "0130"), 0x100)     # ldr, ldr, adds
    assert fetch_actions(arm) == ({}, {}, {})


def test_a_final_branch_counts_by_its_direction():
    """Taken after a load or store: memory_before_taken (and taken_ahead_mul when a
    multiply leaves fetches held ahead); not taken: it takes a held fetch like any
    instruction."""
    run, taken, not_taken = fetch_actions(_decode("lw a5, 0(a4)", "beq a0, a5, 8"))
    assert (run, taken, not_taken) == ({}, {"memory_before_taken": 1.0, "taken_odd_ahead": 1.0},
                                       {"fetch_overlap": 1.0})
    run, taken, not_taken = fetch_actions(_decode(
        "lbu a3, 1(sp)", "addi a5, a5, 1", "mul a0, a1, a2", "beq a0, a5, 8"))
    assert run == {"fetch_overlap": 1.0}
    assert taken == {"taken_ahead_mul": 1.0, "taken_odd_ahead_mul": 1.0}
    assert not_taken == {"fetch_overlap_mul": 1.0}


def test_taken_branches_and_jumps_count_the_parity_of_the_fetches_held_ahead():
    """Ibex at one wait state (odd_ahead_actions): a taken branch or a jump meeting an odd
    number of fetches held ahead (a jump takes one first); multiplies counted apart."""
    def taken(*texts):
        return fetch_actions(_decode(*texts))[1]
    assert taken("lw a5, 0(a4)", "lw a5, 0(a4)", "beq a0, a5, 8") == {
        "memory_before_taken": 1.0}                                     # two held: even
    assert taken("lw a5, 0(a4)", "lw a5, 0(a4)", "addi a5, a5, 1", "beq a0, a5, 8") == {
        "taken_odd_ahead": 1.0}                                         # one left: odd
    assert taken("lw a5, 0(a4)", *["lw a5, 0(a4)"] * 4, "beq a0, a5, 8") == {
        "memory_before_taken": 1.0, "taken_odd_ahead": 1.0}             # at most 3 held
    assert taken("mulh a0, a1, a2", "beq a0, a5, 8") == {"taken_ahead_mul": 1.0,
                                                         "taken_odd_ahead_slow_mul": 1.0}
    assert taken("mulh a0, a1, a2", "addi a5, a5, 1", "beq a0, a5, 8") == {
        "taken_ahead_mul": 1.0, "taken_odd_ahead_mul": 1.0, "taken_odd_ahead_slow_mul": -1.0}
    # Ibex's slow multiplier: a MUL runs PREFETCH_DEPTH ahead where the fast one runs one
    assert fetch_actions(_decode("mul a0, a1, a2", *["addi a5, a5, 1"] * 3))[0] == {
        "fetch_overlap_mul": 1.0, "fetch_overlap_slow_mul": 2.0}
    # a jump takes a held fetch first: two loads, then the return meets one
    # (and the return reads the load right before it: CV32E40P's jalr_load_use)
    assert fetch_actions(_decode("lw a5, 0(a4)", "lw ra, 12(sp)", "ret"))[0] == {
        "fetch_overlap": 1.0, "memory_before_jalr": 1.0, "jalr_load_use": 1.0,
        "taken_odd_ahead": 1.0}
    assert fetch_actions(_decode("lw ra, 12(sp)", "addi sp, sp, 16", "ret"))[0] == {
        "fetch_overlap": 1.0}
    # a run that does not end in a branch or jump falls through: nothing
    assert fetch_actions(_decode("lw a5, 0(a4)", "lw a5, 0(a4)")) == ({}, {}, {})


def test_a_single_cycle_mulh_keeps_the_fetches_held_ahead():
    """Ibex's single-cycle multiplier at one wait state (held_mulh_actions): a MULH (2
    cycles, one fetch's time) neither runs a fetch ahead nor takes one held, where
    fetch_overlap counts it as an instruction that takes one; a MUL takes one."""
    load_mulh = _decode("lw a5, 0(a4)", "mulh a0, a1, a2", "beq a0, a5, 8")
    assert held_mulh_actions(load_mulh) == (
        {"fetch_overlap_mulh": -1.0}, {"taken_odd_ahead_mulh": 1.0},   # the load's fetch
        {"fetch_overlap_mulh": 1.0})                  # kept: the branch that falls through
    assert held_mulh_actions(_decode("lw a5, 0(a4)", "mul a0, a1, a2", "beq a0, a5, 8")) == (
        {}, {}, {})
    assert held_mulh_actions(_decode("mulh a0, a1, a2", "addi a5, a5, 1", "beq a0, a5, 8")
                             ) == ({}, {}, {})          # nothing held: nothing changes
    # a return takes the kept fetch: the same count
    assert held_mulh_actions(_decode("lw a5, 0(a4)", "mulh a0, a1, a2", "ret")) == ({}, {}, {})
    assert fetches_carried(load_mulh) == (0, 2, 2, 0)
    assert fetches_carried(_decode("lw a5, 0(a4)", "lw a5, 0(a4)", "mulh a0, a1, a2",
                                   "beq a0, a5, 8")) == (0, 2, 2, 1)
    # priced on the single-cycle multiplier's table (10 clocks on the RTL), 0 elsewhere
    single, fast = (find_device(n) for n in ("ibex-rv32m-single-cycle-ws1",
                                             "ibex-rv32m-fast-ws1"))
    assert instruction_cycles(load_mulh, single, True) == 3 + 2 + 4 + 1
    assert [action_prices(d)[a].cycles for d in (single, fast)
            for a in ("fetch_overlap_mulh", "taken_odd_ahead_mulh")] == [-1, 1, 0, 0]


def test_fetch_actions_are_priced_by_the_one_wait_state_tables():
    sequence = _decode("lbu a3, 1(sp)", "mul a0, a1, a2", "addi a5, a5, 1", "addi a5, a5, 1")
    fast, single, cv32e40p = (find_device(n) for n in (
        "ibex-rv32m-fast-ws1", "ibex-rv32m-single-cycle-ws1", "cv32e40p-ws1"))
    # Ibex, fast multiplier: load 3, mul 3, ALU 2 + 2; two fetch waits hidden
    assert instruction_cycles(sequence, fast) == 3 + 3 + 2 + 2 - 1 - 1
    # single-cycle multiplier: mul 2, one hidden (behind the load)
    assert instruction_cycles(sequence, single) == 3 + 2 + 2 + 2 - 1
    # CV32E40P: every instruction 2 (fetch-bound), nothing hidden
    assert instruction_cycles(sequence, cv32e40p) == 2 * 4
    # zero wait states: the actions are priced 0
    assert action_prices(find_device("ibex-rv32m-fast"))["fetch_overlap"].cycles == 0
    assert action_prices(fast)["fetch_overlap"].cycles == -1


def test_fetches_held_ahead_at_a_branch_that_falls_through_carry_into_the_next_block():
    """price walks the executed blocks: the fetches three loads hold ahead at a branch
    that falls through (one taken by the branch) hide the next block's fetch waits, as
    the RTL measures on Ibex at one wait state (tests/test_rtl.py); a taken branch
    carries none. CV32E40P and PicoRV32 price none of it: their cycles do not change."""
    words = [WORDS[t] for t in ("lw a5, 0(a4)",) * 3 + ("beq a0, a5, 8",)]
    loads = tuple(decode("riscv", b"".join(struct.pack("<I", w) for w in words), 0x100))
    after = tuple(decode("riscv", b"".join(struct.pack("<I", WORDS[t]) for t in (
        "addi a5, a5, 1", "addi a5, a5, 4", "beq a0, a5, 8")), 0x110))
    blocks = {(0x100, 16): Block(0x100, 16, "f", loads, None),
              (0x110, 12): Block(0x110, 12, "f", after, None)}
    profile = Profile("rv32im", 1, blocks, {(0x100, 16, "n"): 10, (0x110, 12, "n"): 6},
                      {(0x100, 16, "n"): 4, (0x110, 12, "n"): 6}, {},
                      runs={((0x100, 16, "n"), (0x110, 12, "n")): (6, 6)})
    assert fetches_carried(loads) == (2, 2, 2, 2) and fetches_carried(after) == NONE_HELD
    counted = price(profile, find_device("ibex-rv32m-fast-ws1")).nodes["n"].actions
    assert counted["fetch_overlap"] == 6 * 1 + 6 * 2        # the branch's, then the ALU's
    for name, carried in (("ibex-rv32m-fast-ws1", fetches_carried(loads)),
                          ("cv32e40p-ws1", NONE_HELD), ("picorv32-ws1", NONE_HELD)):
        device = find_device(name)
        expected = (4 * instruction_cycles(loads, device, True)
                    + 6 * instruction_cycles(loads, device, False)
                    + 6 * instruction_cycles(after, device, True, carried))
        assert price(profile, device).total_cycles == expected, name
    fast = find_device("ibex-rv32m-fast-ws1")
    assert instruction_cycles(after, fast, True, (2, 2, 2, 2)) == \
        instruction_cycles(after, fast, True) - 2


def test_the_carry_is_counted_on_the_executions_that_fell_through():
    """A block entered both after a branch that falls through and by a taken branch takes
    the carried fetches on the executions that fell into it only (Profile.runs, counted
    per execution by the emulator's block hook), with its own branch going as it went on
    those: here it is taken on all 6 of them and on none of its 10 other executions. Its
    overall taken share (6 of 16) would price both wrong."""
    words = [WORDS[t] for t in ("lw a5, 0(a4)",) * 3 + ("beq a0, a5, 8",)]
    loads = tuple(decode("riscv", b"".join(struct.pack("<I", w) for w in words), 0x100))
    after = tuple(decode("riscv", b"".join(struct.pack("<I", WORDS[t]) for t in (
        "addi a5, a5, 1", "beq a0, a5, 8")), 0x110))
    blocks = {(0x100, 16): Block(0x100, 16, "f", loads, None),
              (0x110, 8): Block(0x110, 8, "f", after, None)}
    first, second = (0x100, 16, "n"), (0x110, 8, "n")
    profile = Profile("rv32im", 1, blocks, {first: 10, second: 16}, {first: 4, second: 6},
                      {}, runs={(first, second): (6, 6)})
    fast = find_device("ibex-rv32m-fast-ws1")
    carried = fetches_carried(loads)
    expected = (4 * instruction_cycles(loads, fast, True)
                + 6 * instruction_cycles(loads, fast, False)
                + 6 * instruction_cycles(after, fast, True, carried)
                + 10 * instruction_cycles(after, fast, False))
    assert price(profile, fast).total_cycles == expected
    # the carry saves 2 cycles when the branch falls through, none when it is taken (one
    # fetch held at it: odd, so it waits for the fetch in flight)
    assert [instruction_cycles(after, fast, taken, carried)
            - instruction_cycles(after, fast, taken) for taken in (True, False)] == [0, -2]
