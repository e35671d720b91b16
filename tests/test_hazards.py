"""Pipeline hazards as priced actions (hwsim.machine.emulate_price.hazards): a load whose
result the next instruction reads (load_use) and a jalr reading the previous instruction's
result (jalr_dependency), counted from a hand-written RISC-V sequence, priced by
CV32E40P's documented table and 0 on a core whose table does not state them."""
from __future__ import annotations

import struct

from hwsim.cost.prices import action_prices
from hwsim.machine.disasm import decode
from hwsim.machine.emulate_price import hazards, instruction_cycles
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
