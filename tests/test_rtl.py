"""Cycle-exact RTL of Ibex, CV32E40P and PicoRV32 (Verilator) against the cores' documents.

Each core is built once per session (and cached on disk under $HWSIM_CACHE/rtl, default
.hwsim-cache/rtl). A measurement is one firmware with many regions, each between two MARK
writes; a block's cost is its region's clocks minus those of an empty region, so the MARK
stores cancel. Expected cycles come from hwsim/machine/rtl/documented_timing.json (the
cores' own documents); the few places where the RTL and the document differ are asserted
as measured, with the RTL line that explains them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.cost.mul_operands import value_bits
from hwsim.errors import HwsimError
from hwsim.specs.catalog import find_device
from hwsim.machine.rtl import (
    RTL_CORES, RtlPackage, build_core, compile_snippet, documented_cycles, elf_to_words,
    rtl_core, run_firmware, write_hex,
)
from hwsim.machine.disasm import decode
from hwsim.machine.emulate_price import (NONE_HELD, fetches_carried, instruction_cycles,
                                         unit_prices)
from hwsim.machine.rtl.run import parse_output
from hwsim.machine.rtl.sources import package_root
from hwsim.machine.toolchain import read_elf

REPO = Path(__file__).resolve().parent.parent
MAX_CYCLES = 200_000
needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None,
    reason="verilator is not installed (Debian: apt-get install verilator)")


# ---- helpers -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def simulator():
    """simulator(core_name) -> the built binary, built at most once per session."""
    cache_dir = Path(os.environ.get("HWSIM_CACHE", REPO / ".hwsim-cache")) / "rtl"
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_core(rtl_core(name), cache_dir)
        return built[name]
    return get


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("rtl")


def region_clocks(simulator, scratch: Path, core_name: str,
                  regions: list[tuple[str, str]], isa: str | None = None) -> list[int]:
    """Clocks between the two MARK writes around each (setup, body) region, in one run."""
    core = rtl_core(core_name)
    isa = isa or core.isa
    parts = [f"{setup}\n    sw zero, HWSIM_MARK_OFFSET(t6)\n{body}\n"
             "    sw zero, HWSIM_MARK_OFFSET(t6)\n" for setup, body in regions]
    text = ("    .option norvc\n    .globl main\nmain:\n    addi sp, sp, -16\n"
            "    sw zero, 0(sp)\n    li t6, HWSIM_MMIO_BASE\n    li t1, 5\n    li t2, 7\n"
            + "".join(parts) + "    addi sp, sp, 16\n    li a0, 0\n    ret\n")
    name = f"{core_name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    elf = compile_snippet(text, "S", isa, scratch, name=name)
    run = run_firmware(simulator(core_name), elf_to_words(elf), max_cycles=MAX_CYCLES,
                       wait_states=core.wait_states)
    assert not run.timed_out and run.exit_code == 0, run
    clocks = run.mark_clocks()
    assert len(clocks) == 2 * len(regions)
    return [clocks[2 * i + 1] - clocks[2 * i] for i in range(len(regions))]


def repeat(body: str, count: int) -> str:
    return "\n".join(f"    {body}" for _ in range(count))


def block_costs(simulator, scratch, core_name, bodies: dict[str, str], count: int,
                setup: str = "", isa: str | None = None) -> dict[str, int]:
    """Clocks of `count` copies of each body, minus an empty region's."""
    regions = [(setup, "")] + [(setup, repeat(body, count)) for body in bodies.values()]
    clocks = region_clocks(simulator, scratch, core_name, regions, isa)
    return {name: clocks[i + 1] - clocks[0] for i, name in enumerate(bodies)}


# One straight-line body per documented class (32-bit code, word-aligned targets).
BODIES = {
    "alu": "addi t0, t0, 1",
    "alu_register": "add t0, t0, t1",
    "branch_not_taken": "bne zero, zero, 1f\n1:",
    "branch_taken": "beq zero, zero, 1f\n1:",
    "jal": "jal zero, 1f\n1:",
    "load": "lw t0, 0(sp)",
    "store": "sw t1, 4(sp)",
    "mul": "mul t0, t1, t2",
    "mulh": "mulh t0, t1, t2",
    # auipc, an independent addi, then jalr to the instruction after it
    "alu_alu_jalr": "auipc t3, 0\n    addi t4, t4, 1\n    jalr zero, 12(t3)",
    # penalties: the next instruction uses the load's result; jalr uses auipc's result
    "load_alu_dependent": "lw t0, 0(sp)\n    addi t0, t0, 1",
    "alu_jalr_dependent": "auipc t3, 0\n    jalr zero, 8(t3)",
}


def expected_cycles(table: dict[str, int]) -> dict[str, int]:
    """Documented cycles of each body in BODIES that the table covers."""
    jump = table.get("jump")
    jal, jalr = table.get("jal", jump), table.get("jalr", jump)
    out = {"alu": table["alu"], "alu_register": table["alu"],
           "branch_not_taken": table["branch_not_taken"], "branch_taken": table["branch_taken"],
           "jal": jal, "load": table["load"], "store": table["store"],
           "alu_alu_jalr": 2 * table["alu"] + jalr,
           "load_alu_dependent": table["load"] + table["alu"] + table.get("load_use_penalty", 0),
           "alu_jalr_dependent":
               table["alu"] + jalr + table.get("jalr_dependency_penalty", 0)}
    for name in ("mul", "mulh"):
        if name in table:
            out[name] = table[name]
    return out


def documented(core_name: str) -> dict[str, int]:
    return {cls: entry.cycles for cls, entry in documented_cycles(core_name).items()}


# ---- (a) straight-line ALU blocks --------------------------------------------------------

@needs_verilator
@pytest.mark.parametrize("core_name", ["ibex-rv32m-fast", "cv32e40p", "picorv32"])
def test_alu_block_costs_documented_cycles_per_instruction(simulator, scratch, core_name):
    cpi = documented(core_name)["alu"]            # Ibex, CV32E40P: 1; PicoRV32: 3
    counts = (1, 2, 8, 33)
    regions = [("", "")] + [("", repeat(BODIES[b], n)) for b in ("alu", "alu_register")
                            for n in counts]
    clocks = region_clocks(simulator, scratch, core_name, regions)
    extra = [c - clocks[0] for c in clocks[1:]]
    assert extra == [n * cpi for _ in ("alu", "alu_register") for n in counts]


# ---- (b) branches, jumps, loads, stores, multiplies against the documents ------------------

@needs_verilator
@pytest.mark.parametrize("core_name", ["ibex-rv32m-fast", "ibex-rv32m-slow",
                                       "ibex-rv32m-single-cycle", "cv32e40p", "picorv32",
                                       "picorv32-mul"])
def test_instruction_costs_match_the_documented_table(simulator, scratch, core_name):
    expected = expected_cycles(documented(core_name))
    if rtl_core(core_name).isa == "rv32i":
        expected = {k: v for k, v in expected.items() if not k.startswith("mul")}
    count = 4
    measured = block_costs(simulator, scratch, core_name,
                           {name: BODIES[name] for name in expected}, count)
    per_block = {name: clocks / count for name, clocks in measured.items()}
    source = {e.source for e in documented_cycles(core_name).values()}
    assert per_block == expected, f"{core_name} vs {sorted(source)}"


@needs_verilator
def test_taken_branches_cost_more_than_not_taken_on_every_core(simulator, scratch):
    for core_name in ("ibex-rv32m-fast", "cv32e40p", "picorv32"):
        costs = block_costs(simulator, scratch, core_name,
                            {k: BODIES[k] for k in ("branch_taken", "branch_not_taken")}, 4)
        doc = documented(core_name)
        assert doc["branch_taken"] > doc["branch_not_taken"]
        assert costs["branch_taken"] - costs["branch_not_taken"] == \
            4 * (doc["branch_taken"] - doc["branch_not_taken"]), core_name


@needs_verilator
def test_picorv32_shift_follows_its_two_stage_shifter(simulator, scratch):
    # README.md, TWO_STAGE_SHIFT: shift in units of 4 bits, then of 1 bit (table: 4-14).
    amounts = (0, 1, 3, 4, 7, 8, 31)
    bodies = {str(n): f"slli t0, t1, {n}" for n in amounts}
    costs = block_costs(simulator, scratch, "picorv32", bodies, 2)
    assert {int(n): c / 2 for n, c in costs.items()} == {n: 4 + n // 4 + n % 4
                                                           for n in amounts}
    assert min(costs.values()) / 2 == 4 and max(costs.values()) / 2 == 14


# A taken branch or jal to a 32-bit instruction at an address = 2 mod 4 (compressed code);
# each body is 12 bytes, so every copy starts word-aligned. c.nop executed: 1 cycle.
RVC_BODIES = {
    "branch_taken_misaligned": ("beq zero, zero, 1f", "c.nop", "1:", "addi t0, t0, 1", "c.nop"),
    "branch_taken_aligned": ("beq zero, zero, 1f", "c.nop", "c.nop", "1:", "addi t0, t0, 1"),
    "jal_misaligned": ("jal zero, 1f", "c.nop", "1:", "addi t0, t0, 1", "c.nop"),
    "jal_aligned": ("jal zero, 1f", "c.nop", "c.nop", "1:", "addi t0, t0, 1"),
}


def rvc_body(lines: tuple[str, ...]) -> str:
    """Assemble c.* lines compressed and the others as 32-bit instructions."""
    out = []
    for line in lines:
        if not line.endswith(":"):
            out.append("    .option rvc" if line.startswith("c.") else "    .option norvc")
        out.append(f"    {line}")
    return "\n".join(out + ["    .option norvc"])


@needs_verilator
def test_misaligned_32_bit_targets_cost_one_more_cycle(simulator, scratch):
    count = 4
    bodies = {name: rvc_body(lines) for name, lines in RVC_BODIES.items()}
    measured = {}
    for core_name in ("cv32e40p", "ibex-rv32m-fast"):
        costs = block_costs(simulator, scratch, core_name, bodies, count, isa="rv32imc")
        measured[core_name] = {name: c / count for name, c in costs.items()}
    doc = documented("cv32e40p")           # docs/source/pipeline.rst: jump 3, branch 4
    alu = doc["alu"]
    assert measured["cv32e40p"] == {
        "branch_taken_misaligned": doc["branch_taken_misaligned_target"] + 2 * alu,
        "branch_taken_aligned": doc["branch_taken"] + alu,
        "jal_misaligned": doc["jump_misaligned_target"] + 2 * alu,
        "jal_aligned": doc["jump"] + alu}
    # Ibex's pipeline_details.rst does not mention it, but its RTL pays the same extra
    # cycle (the prefetch buffer needs two fetches for the target).
    assert measured["ibex-rv32m-fast"] == measured["cv32e40p"]


# ---- (c) Ibex multipliers ----------------------------------------------------------------

def clog2(value: int) -> int:
    return (value - 1).bit_length()


def mul_cycles_by_op_b(simulator, scratch, core_name: str, values) -> dict[int, float]:
    regions = []
    for value in values:
        setup = f"    li t2, {value}"
        regions += [(setup, ""), (setup, repeat("mul t0, t1, t2", 2))]
    clocks = region_clocks(simulator, scratch, core_name, regions)
    return {v: (clocks[2 * i + 1] - clocks[2 * i]) / 2 for i, v in enumerate(values)}


@needs_verilator
def test_ibex_slow_multiplier_depends_on_op_b_and_fast_does_not(simulator, scratch):
    not_powers_of_two = (3, 5, 7, 100, 255, 1000, 0x7FFF_FFFF)
    powers_of_two = (1, 2, 4, 256, 0x4000_0000)
    negative = (-1, -256)
    values = not_powers_of_two + powers_of_two + negative + (0,)
    slow = mul_cycles_by_op_b(simulator, scratch, "ibex-rv32m-slow", values)
    fast = mul_cycles_by_op_b(simulator, scratch, "ibex-rv32m-fast", values)
    # doc/03_reference/instruction_decode_execute.rst: clog2(op_b) + 1 cycles ...
    assert {v: slow[v] for v in not_powers_of_two} == {v: clog2(v) + 1 for v in not_powers_of_two}
    # ... but the RTL stops when the shifted op_b is 0 (rtl/ibex_multdiv_slow.sv, MD_OP_MULL):
    # bit_length(op_b) + 1, one more than the formula for a power of two, and 2 for op_b 0.
    assert {v: slow[v] for v in values if v >= 0} == {v: max(v.bit_length(), 1) + 1
                                                      for v in values if v >= 0}
    # a negative op_b has all 32 bits: 33 cycles, like MULH (documented: 33)
    assert {v: slow[v] for v in negative} == {v: documented("ibex-rv32m-slow")["mulh"]
                                              for v in negative}
    assert set(fast.values()) == {documented("ibex-rv32m-fast")["mul"]}
    assert slow[1] < fast[1] < slow[255]


@needs_verilator
def test_ibex_slow_mul_takes_what_the_cost_model_prices_for_every_int8_op_b(simulator,
                                                                           scratch):
    """rtl/ibex_multdiv_slow.sv, MD_OP_MULL without data-independent timing: MD_IDLE, one
    MD_COMP per significant bit of op_b (unsigned) above the first, MD_LAST, so a MUL takes
    1 + max(bit_length(op_b), 1) cycles: 2 for op_b 0 and 1, 3 for 2 and 3, 4 for 4 (the
    documented clog2(op_b) + 1 is 3), 33 for any negative op_b. The cost model prices a
    MUL by op_b at mul_base + mul_operand_bit x value_bits(op_b) (the unit its operand
    statistics count in, hwsim.cost.int8_library): exact for every int8 operand and the
    shapes' small values, so a histogram of bits prices the multiplier as exactly as one of
    values would."""
    values = tuple(range(-128, 128)) + (128, 255, 256, 1000, 0x7FFF_FFFF, -0x8000_0000)
    measured = mul_cycles_by_op_b(simulator, scratch, "ibex-rv32m-slow", values)
    prices = unit_prices(find_device("ibex-rv32m-slow"))
    priced = {v: prices["mul_base"] + prices["mul_operand_bit"] * int(bits)
              for v, bits in zip(values, value_bits(values))}
    assert measured == priced
    assert [measured[v] for v in (0, 1, 2, 3, 4, 5, 7, 8, 127, 128, -1, -128)] == [
        2, 2, 3, 3, 4, 4, 4, 5, 8, 9, 33, 33]


# ---- (d) one wait state per memory access ------------------------------------------------

def marginal_costs(simulator, scratch, core_name, names, count=16,
                   bodies: dict[str, str] = BODIES, setup: str = "") -> dict[str, float]:
    """Cycles per instruction in steady state: (2*count copies - count copies) / count.

    With wait states the prefetcher's phase at a MARK depends on the code before it; a
    jump before each region (after `setup`) flushes the prefetcher so every region starts
    alike."""
    flush = f"{setup}\n    j 1f\n1:"
    regions = [(flush, repeat(bodies[n], k)) for n in names for k in (count, 2 * count)]
    clocks = region_clocks(simulator, scratch, core_name, regions)
    return {n: (clocks[2 * i + 1] - clocks[2 * i]) / count for i, n in enumerate(names)}


@needs_verilator
@pytest.mark.parametrize("core_name,data_accesses_share_the_fetch_port", [
    ("ibex-rv32m-fast", False), ("cv32e40p", False), ("picorv32", True)])
def test_one_wait_state_adds_a_cycle_per_fetch_and_per_data_access(
        simulator, scratch, core_name, data_accesses_share_the_fetch_port):
    names = ("alu", "load", "store")
    at_0 = marginal_costs(simulator, scratch, core_name, names)
    at_1 = marginal_costs(simulator, scratch, f"{core_name}-ws1", names)
    doc = documented(core_name)
    assert at_0 == {n: doc[n] for n in names}
    # Straight-line code is fetch-bound: every fetch waits one more cycle.
    assert at_1["alu"] == doc["alu"] + 1
    # Ibex/CV32E40P: the data port waits once, the next fetch overlaps it. PicoRV32 has one
    # port: the fetch and the data access each wait.
    per_access = 2 if data_accesses_share_the_fetch_port else 1
    assert at_1["load"] == doc["load"] + per_access
    assert at_1["store"] == doc["store"] + per_access


@needs_verilator
def test_cv32e40p_jalr_waits_for_a_load_two_instructions_before(simulator, scratch):
    """CV32E40P: a jalr whose address a load wrote two instructions before stalls the
    documented jalr penalty (a load's result is ready a cycle after an ALU's; a function
    epilogue `lw ra; addi sp; ret` does it), as hwsim.machine.emulate_price.hazards
    counts; an ALU result two before or a load three before does not stall."""
    def body(spacing: int, dependent: bool, load: bool = True) -> str:
        produce = "lw t4, 4(sp)" if load else "addi t4, t3, 0"
        fill = ["addi t5, t5, 1"] * spacing
        lines = ["auipc t3, 0", "sw t3, 4(sp)", produce, *fill]
        lines.append(f"jalr zero, {4 * (len(lines) + 1)}({'t4' if dependent else 't3'})")
        return "\n    ".join(lines)
    bodies = {(s, d, ld): body(s, d, ld) for s in (1, 2) for d in (True, False)
              for ld in (True, False)}
    costs = block_costs(simulator, scratch, "cv32e40p",
                        {str(k): v for k, v in bodies.items()}, 4)
    penalty = documented("cv32e40p")["jalr_dependency_penalty"]
    assert penalty == 1
    assert costs[str((1, True, True))] - costs[str((1, False, True))] == 4 * penalty
    assert costs[str((1, True, False))] == costs[str((1, False, False))]
    assert costs[str((2, True, True))] == costs[str((2, False, True))]
    assert costs[str((2, True, False))] == costs[str((2, False, False))]


@needs_verilator
def test_picorv32_ws1_device_table_is_what_the_rtl_does(simulator, scratch):
    """devices/rtl/picorv32-ws1.yaml: the steady-state cost of every documented class on
    PicoRV32 with one wait state (one port: the fetch and each data access wait)."""
    cycles = find_device("picorv32-ws1").cycles
    jalr = cycles["call_return"] - cycles["jump"]
    # a jump through a register that is not a return (jr) is a jalr too, here as at W = 0
    assert cycles["jump_register"] == jalr
    assert find_device("picorv32").cycles["jump_register"] == documented("picorv32")["jalr"]
    expected = {"alu": cycles["alu"], "alu_register": cycles["alu"],
                "branch_not_taken": cycles["branch_not_taken"],
                "branch_taken": cycles["branch_taken"], "jal": cycles["jump"],
                "load": cycles["load_32"], "store": cycles["store_32"],
                "alu_alu_jalr": 2 * cycles["alu"] + jalr,
                "load_alu_dependent": cycles["load_32"] + cycles["alu"],
                "alu_jalr_dependent": cycles["alu"] + jalr}
    assert marginal_costs(simulator, scratch, "picorv32-ws1", tuple(expected)) == expected


# Ibex and CV32E40P at one wait state (devices/rtl/*-ws1.yaml): bodies and the actions
# hwsim.machine.emulate_price counts per copy (tests/test_hazards.py checks the counting).
_INT8_LOOP = ("add a2, a5, t2", "lb t0, 0(sp)", "lb a0, 1(sp)", "lb a2, 2(sp)",
              "addi a4, a4, 1", "mul a0, a0, t0", "addi a5, a5, 1", "mul a2, a2, t0",
              "add t3, t3, a0", "add t4, t4, a2", "beq zero, zero, 1f\n1:")
WS1_BODIES = {
    "alu": (BODIES["alu"], {"alu": 1}),
    "branch_not_taken": (BODIES["branch_not_taken"], {"branch_not_taken": 1}),
    "branch_taken": (BODIES["branch_taken"], {"branch_taken": 1}),
    "jal": (BODIES["jal"], {"jump": 1}),
    "alu_alu_jalr": (BODIES["alu_alu_jalr"], {"alu": 2, "jump": 1}),
    "load": (BODIES["load"], {"load_32": 1}),
    "store": (BODIES["store"], {"store_32": 1}),
    "mul": (BODIES["mul"], {"mul": 1}),
    "mulh": (BODIES["mulh"], {"mulh": 1}),
    # a load runs one fetch ahead: the next instruction's fetch wait is hidden (Ibex)
    "load_alu_dependent": (BODIES["load_alu_dependent"],
                           {"load_32": 1, "alu": 1, "load_use": 1, "fetch_overlap": 1}),
    # ... at most three (PREFETCH_DEPTH)
    "4_loads_4_alu": ("\n    ".join(["lw t0, 0(sp)"] * 4 + ["addi t4, t4, 1"] * 4),
                      {"load_32": 4, "alu": 4, "fetch_overlap": 3}),
    # a multi-cycle multiply runs ahead too: one fetch (mul), two (mulh)
    "mul_alu_alu": ("mul t0, t1, t2\n    addi t4, t4, 1\n    addi t4, t4, 1",
                    {"mul": 1, "alu": 2, "fetch_overlap_mul": 1}),
    "mulh_3_alu": ("mulh t0, t1, t2\n" + "\n".join(["    addi t4, t4, 1"] * 3),
                   {"mulh": 1, "alu": 3, "fetch_overlap_mul": 2}),
    # a taken branch right after a load; after an ALU instruction; a branch not taken
    "load_branch_taken": ("lw t0, 0(sp)\n    " + BODIES["branch_taken"],
                          {"load_32": 1, "branch_taken": 1, "memory_before_taken": 1,
                           "taken_odd_ahead": 1}),
    "load_alu_branch_taken": ("lw t0, 0(sp)\n    addi t4, t4, 1\n    " + BODIES["branch_taken"],
                              {"load_32": 1, "alu": 1, "branch_taken": 1, "fetch_overlap": 1}),
    "load_branch_not_taken": ("lw t0, 0(sp)\n    " + BODIES["branch_not_taken"],
                              {"load_32": 1, "branch_not_taken": 1, "fetch_overlap": 1}),
    # the int8 dense kernel's inner loop on rv32im (two outputs per weight load)
    "int8_loop": ("\n    ".join(_INT8_LOOP),
                  {"load_8": 3, "alu": 5, "mul": 2, "branch_taken": 1, "fetch_overlap": 3,
                   "fetch_overlap_mul": 1, "taken_ahead_mul": 1, "taken_odd_ahead_mul": 1}),
}


@needs_verilator
@pytest.mark.parametrize("core_name,device_name", [
    ("ibex-rv32m-fast-ws1", "ibex-rv32m-fast-ws1"),
    ("ibex-rv32m-single-cycle-ws1", "ibex-rv32m-single-cycle-ws1"),
    ("cv32e40p-ws1", "cv32e40p-ws1"), ("ibex-rv32m-none-ws1", "ibex-rv32i-ws1")])
def test_pipelined_ws1_device_tables_are_what_the_rtl_does(simulator, scratch, core_name,
                                                           device_name):
    """devices/rtl/<core>-ws1.yaml: every body's steady-state clocks equal its counted
    actions priced with the file's table (straight-line code is fetch-bound at 2 cycles
    per instruction; loads, stores and multi-cycle multiplies run fetches ahead, which the
    prefetch buffer spends on the instructions after them; a taken branch right after a
    load or store waits for the fetch in flight). Without a multiplier, the bodies
    without multiplies."""
    device = find_device(device_name)
    prices = unit_prices(device)
    chosen = {name: (body, counts) for name, (body, counts) in WS1_BODIES.items()
              if device.core.multiplier != "none" or "mul" not in body}
    expected = {name: sum(n * prices[a] for a, n in counts.items())
                for name, (_, counts) in chosen.items()}
    bodies = {name: body for name, (body, _) in chosen.items()}
    assert marginal_costs(simulator, scratch, core_name, tuple(bodies),
                          bodies=bodies) == expected


@needs_verilator
def test_ibex_slow_ws1_device_table_is_what_the_rtl_does(simulator, scratch):
    """devices/rtl/ibex-rv32m-slow-ws1.yaml: the fast multiplier's one-wait-state table
    with the slow multiplier's MUL (1 + 1 per significant bit of op_b, at one wait state
    as at none: it hides its own fetch) and MULH (33), every multiply running
    PREFETCH_DEPTH fetches ahead (fetch_overlap_slow_mul, taken_odd_ahead_slow_mul): a MUL
    of m cycles runs m - 2 ahead, so every body is priced exactly from 4 bits of op_b on
    (here 15 and -1), and a MUL by 0 to 7 runs 3 - max(bits - 1, 0) fewer fetches ahead
    than priced: the stated gap (docs/rtl.md, "Not modelled"), measured here."""
    device = find_device("ibex-rv32m-slow-ws1")
    prices = unit_prices(device)
    bodies = {name: lines for name, lines in PHASE_BODIES.items()
              if any("mul" in x for x in lines)}
    bodies |= {name: [body] for name, (body, _) in WS1_BODIES.items()}
    priced = {}
    for name, lines in bodies.items():
        instructions = body_instructions(scratch, "\n".join(f"    {x}" for x in lines), "rv32im")
        taken = (instructions[-1].mnemonic.startswith("beq")
                 if instructions[-1].action == "cond_branch" else None)
        muls = sum(1 for i in instructions if i.action == "mul")
        priced[name] = (instruction_cycles(instructions, device, taken), muls)
    text = {name: "\n    ".join(lines) for name, lines in bodies.items()}
    gaps = {}
    for value in (15, -1, 7, 3, 0):                # op_b: t2, and the byte int8_loop loads
        bits = max(value.bit_length(), 1) if value >= 0 else 32
        per_mul = prices["mul_base"] + bits * prices["mul_operand_bit"] - prices["mul"]
        measured = marginal_costs(simulator, scratch, "ibex-rv32m-slow-ws1", tuple(text),
                                  bodies=text, setup=f"    li t2, {value}\n    sw t2, 0(sp)\n"
                                                     "    addi a1, sp, -512")
        gaps[value] = {n: measured[n] - cycles - muls * per_mul
                       for n, (cycles, muls) in priced.items()
                       if measured[n] != cycles + muls * per_mul}
    assert gaps[15] == gaps[-1] == {}
    # fewer bits: a MUL of m = 1 + bits cycles runs m - 2 ahead where 3 are priced: a fetch
    # wait more per fetch it does not run ahead (+1, +2), and the other fetch phase at a
    # taken branch or jump (+1, or -1 when it meets an even number held where the price
    # has an odd one); the int8 loop's loads hold 3 fetches ahead whatever its MULs do
    assert gaps[7] == {"mul, taken": -1, "mul, alu, taken": 1, "mul, jal": 1, "mul, jalr": 1}
    assert gaps[3] == {"lw, mul, taken": -1, "mul, lw, taken": -1, "mul_alu_alu": 1}
    assert gaps[0] == {"mul, taken": -1, "mul, alu, taken": 1, "mul, jal": 1, "mul, jalr": 1,
                       "mul_alu_alu": 2}


def body_instructions(scratch: Path, body: str, isa: str) -> list:
    """The decoded instructions of an assembly body: what hwsim.machine.emulate_price
    counts its actions from."""
    text = (".option norvc\n.globl main\nmain:\nbody_start:\n" + body
            + "\nbody_end:\n    ret\n")
    name = f"body-{hashlib.sha256((isa + text).encode()).hexdigest()[:12]}"
    elf = read_elf(compile_snippet(text, "S", isa, scratch, name=name))
    start, end = elf.address_of("body_start"), elf.address_of("body_end")
    segment = next(s for s in elf.segments if s.address <= start < s.address + len(s.data))
    return decode("riscv", segment.data[start - segment.address:end - segment.address], start)


# Taken branches and jumps after runs of loads, ALU instructions and multiplies (one
# copy of each line list is a body; `beq zero, zero` is taken, `bne zero, zero` not).
_LW, _ALU, _MUL, _MULH = "lw t0, 0(a1)", "addi t4, t4, 1", "mul t0, t1, t2", "mulh t0, t1, t2"
_TAKEN, _NOT_TAKEN, _JAL = ("beq zero, zero, 1f\n1:", "bne zero, zero, 1f\n1:",
                            "jal zero, 1f\n1:")


def _jalr(lines: list[str]) -> list[str]:
    """auipc, the lines, then a jalr to the instruction after it."""
    lines = ["auipc t3, 0", *lines]
    return lines + [f"jalr zero, {4 * (len(lines) + 1)}(t3)"]


PHASE_BODIES = {
    **{f"{k} lw, {a} alu, taken": [_LW] * k + [_ALU] * a + [_TAKEN]
       for k in range(1, 6) for a in range(3)},
    **{f"{k} lw, {a} alu, jal": [_LW] * k + [_ALU] * a + [_JAL]
       for k in range(1, 4) for a in range(2)},
    **{f"{k} lw, {a} alu, jalr": _jalr([_LW] * k + [_ALU] * a)
       for k in range(4) for a in range(2)},
    "2 lw, not taken": [_LW, _LW, _NOT_TAKEN],
    "lbu, 3 alu, lb, sb, taken (table_v8)": [
        "lbu a5, 0(a1)", "addi a2, a2, 1", "addi a1, a1, 1", "add a5, a3, a5",
        "lb a5, 0(a5)", "sb a5, -1(a2)", _TAKEN],
    "mul, taken": [_MUL, _TAKEN], "mul, alu, taken": [_MUL, _ALU, _TAKEN],
    "mulh, taken": [_MULH, _TAKEN], "mulh, alu, taken": [_MULH, _ALU, _TAKEN],
    "mulh, 2 alu, taken": [_MULH, _ALU, _ALU, _TAKEN], "lw, mul, taken": [_LW, _MUL, _TAKEN],
    "mul, lw, taken": [_MUL, _LW, _TAKEN], "lw, mulh, taken": [_LW, _MULH, _TAKEN],
    "mulh, jal": [_MULH, _JAL], "mul, jal": [_MUL, _JAL],
    "mul, jalr": _jalr([_MUL]), "mulh, jalr": _jalr([_MULH]),
}


@needs_verilator
@pytest.mark.parametrize("core_name,device_name", [
    ("ibex-rv32m-fast-ws1", "ibex-rv32m-fast-ws1"),
    ("ibex-rv32m-single-cycle-ws1", "ibex-rv32m-single-cycle-ws1"),
    ("ibex-rv32m-none-ws1", "ibex-rv32i-ws1")])
def test_ibex_ws1_taken_branches_and_jumps_meet_the_fetch_phase(simulator, scratch,
                                                                core_name, device_name):
    """Ibex at one wait state: a fetch takes two cycles, loads, stores and multi-cycle
    multiplies run fetches ahead, and a taken branch or a jump waits a cycle for the fetch
    in flight when an odd number of fetches is held ahead at it (a jump takes a held
    fetch first; taken_odd_ahead, taken_odd_ahead_mul). Every body's steady-state clocks
    equal what hwsim.machine.emulate_price counts from its decoded instructions, priced
    with the device file (the single-cycle multiplier's MULH keeping the fetches held
    ahead: test_ibex_single_cycle_ws1_mulh_keeps_the_fetches_held_ahead)."""
    device = find_device(device_name)
    isa = rtl_core(core_name).isa
    chosen = {name: lines for name, lines in PHASE_BODIES.items()
              if device.core.multiplier != "none" or not any("mul" in x for x in lines)}
    expected = {}
    for name, lines in chosen.items():
        instructions = body_instructions(scratch, "\n".join(f"    {x}" for x in lines), isa)
        taken = lines[-1] == _TAKEN if instructions[-1].action == "cond_branch" else None
        expected[name] = instruction_cycles(instructions, device, taken)
    bodies = {name: "\n    ".join(lines) for name, lines in chosen.items()}
    measured = marginal_costs(simulator, scratch, core_name, tuple(bodies), bodies=bodies,
                              setup="    addi a1, sp, -512\n    addi a2, sp, -256\n"
                                    "    addi a3, sp, -128\n    li a5, 0")
    assert {n: measured[n] - expected[n] for n in bodies} == dict.fromkeys(bodies, 0)


# A MULH (mulh, mulhu, mulhsu) after loads and stores, reading the load or not, beside a
# MUL, before ALU instructions, a taken branch, a jal, a jalr or a branch that falls
# through (the carry), on the single-cycle and the fast multiplier.
_MULH_LOAD = "mulh t4, t0, t2"
MULH_BODIES = {
    "lw, mulh, taken": [_LW, _MULH, _TAKEN],
    "lw, mulh reading it, taken": [_LW, _MULH_LOAD, _TAKEN],
    "lw, mulhu, taken": [_LW, "mulhu t0, t1, t2", _TAKEN],
    "lw, mulhsu, taken": [_LW, "mulhsu t0, t1, t2", _TAKEN],
    "sw, mulh, taken": ["sw t1, 4(sp)", _MULH, _TAKEN],
    "lw, mulh": [_LW, _MULH], "lw, mulh reading it": [_LW, _MULH_LOAD],
    "lw, mulh, alu": [_LW, _MULH, _ALU], "lw, mulh, 2 alu, taken": [_LW, _MULH, _ALU, _ALU, _TAKEN],
    "2 lw, mulh, alu, taken": [_LW, _LW, _MULH, _ALU, _TAKEN],
    "lw, mulh, mulh, taken": [_LW, _MULH, _MULH, _TAKEN],
    "3 lw, mulh, mulh, 3 alu": [_LW] * 3 + [_MULH, _MULH] + [_ALU] * 3,
    "lw, mulh, mul, alu, taken": [_LW, _MULH, _MUL, _ALU, _TAKEN],
    "lw, mul, mulh, taken": [_LW, _MUL, _MULH, _TAKEN],
    "lw, mulh, jal": [_LW, _MULH, _JAL], "2 lw, mulh, jal": [_LW, _LW, _MULH, _JAL],
    "lw, mulh, jalr": _jalr([_LW, _MULH]), "2 lw, mulh, mul, jalr": _jalr([_LW, _LW, _MULH, _MUL]),
    "lw, mulh, not taken": [_LW, _MULH, _NOT_TAKEN],
    "2 lw, mulh, not taken, jal": [_LW, _LW, _MULH, _NOT_TAKEN, _JAL],
    "2 lw, mulh, not taken, mulh, alu, taken": [_LW, _LW, _MULH, _NOT_TAKEN, _MULH, _ALU,
                                                _TAKEN],
}


@needs_verilator
@pytest.mark.parametrize("core_name", ["ibex-rv32m-single-cycle-ws1", "ibex-rv32m-fast-ws1"])
def test_ibex_ws1_mulh_after_loads_is_what_the_rtl_does(simulator, scratch, core_name):
    """Ibex at one wait state: the single-cycle multiplier's MULH takes 2 cycles, one
    fetch's time, so it neither runs a fetch ahead nor takes one held (a MUL takes one,
    as an ALU instruction does), counted by fetch_overlap_mulh and taken_odd_ahead_mulh
    (hwsim.machine.fetch_waits.held_mulh_actions); the fast multiplier's runs two ahead
    (fetch_overlap_mul). Every body's clocks equal the runs priced with the device file,
    with the carry at a branch that falls through; without the two actions the
    single-cycle multiplier's lw, mulh, taken would be priced 2 clocks low (8, not 10)."""
    device = find_device(core_name)
    expected, without = {}, {}
    table = [entry for entry in device.cycles if entry.endswith("_mulh")]
    plain = replace(device, cycles={a: c for a, c in device.cycles.items() if a not in table})
    for name, lines in MULH_BODIES.items():
        instructions = body_instructions(scratch, "\n".join(f"    {x}" for x in lines), "rv32im")
        outcomes = [x == _TAKEN for x in lines if x in (_TAKEN, _NOT_TAKEN)]
        expected[name] = stream_cycles(instructions, device, outcomes)
        without[name] = stream_cycles(instructions, plain, outcomes)
    bodies = {name: "\n    ".join(lines) for name, lines in MULH_BODIES.items()}
    assert len(bodies) == 21                                                # docs/rtl.md
    measured = marginal_costs(simulator, scratch, core_name, tuple(bodies), bodies=bodies,
                              setup="    addi a1, sp, -512")
    assert {n: measured[n] - expected[n] for n in bodies} == dict.fromkeys(bodies, 0)
    if core_name == "ibex-rv32m-single-cycle-ws1":
        assert sorted(table) == ["fetch_overlap_mulh", "taken_odd_ahead_mulh"]
        assert (measured["lw, mulh, taken"], without["lw, mulh, taken"]) == (10, 8)
    else:
        assert table == [] and without == expected


# CV32E40P's load stalls that its fetch wait does not hide (hwsim.machine.load_stalls):
# bodies and the actions counted per copy (tests/test_load_stalls.py checks the counting).
_SELF_LOAD = "add t4, sp, zero\n    lh t4, 0(t4)"
CV32E40P_WS1_LOAD_BODIES = {
    # a load over its own base register, after an ALU instruction: one cycle
    "self_base_load": (_SELF_LOAD, {"alu": 1, "load_16": 1, "self_base_load": 1}),
    # the same load with another destination: none
    "other_destination": ("add t4, sp, zero\n    lh t3, 0(t4)", {"alu": 1, "load_16": 1}),
    # a second one right after it: hidden (as in the lut kernels' runs of table loads)
    "two_self_loads": ("add t4, sp, zero\n    add t3, sp, zero\n    lh t4, 0(t4)\n"
                       "    lh t3, 0(t3)", {"alu": 2, "load_16": 2, "self_base_load": 1}),
    # after a store: hidden
    "store_self_load": ("add t4, sp, zero\n    sw t1, 4(sp)\n    lh t4, 0(t4)",
                        {"alu": 1, "store_32": 1, "load_16": 1}),
    # after an instruction that waited for the load before it: hidden
    "load_alu_self_load": ("lbu t4, 0(sp)\n    add t4, sp, t4\n    lh t4, 0(t4)",
                           {"load_8": 1, "alu": 1, "load_16": 1, "load_use": 1}),
    # a load's result as the next access's address, that load right after a store
    "chained_load_use": ("sw sp, 4(sp)\n    lw t4, 4(sp)\n    lw t0, 0(t4)",
                         {"store_32": 1, "load_32": 2, "load_use": 1, "chained_load_use": 1}),
    # ... right after an ALU instruction: hidden
    "load_use_after_alu": ("sw sp, 4(sp)\n    addi t5, t5, 1\n    lw t4, 4(sp)\n"
                           "    lw t0, 0(t4)", {"store_32": 1, "alu": 1, "load_32": 2,
                                                "load_use": 1}),
    # a jalr reading the load right before it (a switch's jump table): two cycles
    "jalr_load_use": ("auipc t3, 0\n    sw t3, 4(sp)\n    lw t4, 4(sp)\n    jalr zero, 16(t4)",
                      {"alu": 1, "store_32": 1, "load_32": 1, "jump": 1,
                       "memory_before_jalr": 1, "jalr_dependency": 1, "jalr_load_use": 1}),
    # a jalr right after a load or a store that it does not read: nothing more
    "load_jalr": ("auipc t3, 0\n    sw t3, 4(sp)\n    lw t4, 4(sp)\n    jalr zero, 16(t3)",
                  {"alu": 1, "store_32": 1, "load_32": 1, "jump": 1, "memory_before_jalr": 1}),
    "store_jalr": ("auipc t3, 0\n    sw t1, 4(sp)\n    jalr zero, 12(t3)",
                   {"alu": 1, "store_32": 1, "jump": 1, "memory_before_jalr": 1}),
}


@needs_verilator
def test_cv32e40p_ws1_load_stalls_are_what_the_rtl_does(simulator, scratch):
    """devices/rtl/cv32e40p-ws1.yaml: a load over its own base register after an ALU
    instruction (self_base_load), a load feeding the next access right after another
    access (chained_load_use) and a jalr reading the load right before it (jalr_load_use)
    cost what the table prices; the sequences around them that hide the stall cost
    nothing more, and a load or store before a jalr that does not read it is free."""
    prices = unit_prices(find_device("cv32e40p-ws1"))
    assert (prices["self_base_load"], prices["chained_load_use"],
            prices["jalr_load_use"], prices["memory_before_jalr"]) == (1, 1, 2, 0)
    expected = {name: sum(n * prices[a] for a, n in counts.items())
                for name, (_, counts) in CV32E40P_WS1_LOAD_BODIES.items()}
    bodies = {name: body for name, (body, _) in CV32E40P_WS1_LOAD_BODIES.items()}
    assert marginal_costs(simulator, scratch, "cv32e40p-ws1", tuple(bodies),
                          bodies=bodies) == expected
    # priced 0 where the device does not give them; a jalr after a load or store on Ibex
    # is memory_before_taken's (its table gives no memory_before_jalr): 0, its fetch phase
    # being taken_odd_ahead's
    assert unit_prices(find_device("cv32e40p"))["self_base_load"] == 0
    ibex = unit_prices(find_device("ibex-rv32m-fast-ws1"))
    assert ibex["memory_before_jalr"] == ibex["memory_before_taken"] == 0


# Fetches held ahead at a branch that falls through, then what follows it (each body
# but the first ends in a taken branch or a jump, which drops what is still held).
CARRY_BODIES = {
    "3 lw, not taken, 2 alu": [_LW] * 3 + [_NOT_TAKEN] + [_ALU] * 2,
    "3 lw, not taken, 2 alu, taken": [_LW] * 3 + [_NOT_TAKEN] + [_ALU] * 2 + [_TAKEN],
    "3 lw, not taken, 3 alu, taken": [_LW] * 3 + [_NOT_TAKEN] + [_ALU] * 3 + [_TAKEN],
    "2 lw, not taken, taken": [_LW] * 2 + [_NOT_TAKEN, _TAKEN],
    "3 lw, not taken, taken": [_LW] * 3 + [_NOT_TAKEN, _TAKEN],
    "3 lw, not taken, alu, taken": [_LW] * 3 + [_NOT_TAKEN, _ALU, _TAKEN],
    "3 lw, not taken, lw, alu, taken": [_LW] * 3 + [_NOT_TAKEN, _LW, _ALU, _TAKEN],
    "2 lw, not taken, 2 lw, taken": [_LW] * 2 + [_NOT_TAKEN] + [_LW] * 2 + [_TAKEN],
    "4 lw, not taken, not taken, alu, taken": [_LW] * 4 + [_NOT_TAKEN] * 2 + [_ALU, _TAKEN],
    "3 lw, not taken, alu, jal": [_LW] * 3 + [_NOT_TAKEN, _ALU, _JAL],
    "2 lw, not taken, alu, jalr": _jalr([_LW] * 2 + [_NOT_TAKEN, _ALU]),
    "mul, lw, not taken, alu, taken": [_MUL, _LW, _NOT_TAKEN, _ALU, _TAKEN],
    "lw, mulh, not taken, 2 alu, taken": [_LW, _MULH, _NOT_TAKEN, _ALU, _ALU, _TAKEN],
}


def stream_cycles(instructions, device, outcomes: list[bool], carry: bool = True) -> float:
    """Cycles of instructions with conditional branches anywhere (`outcomes`: taken or not,
    in order), priced run by run as hwsim.machine.emulate_price.price prices the blocks,
    the fetches held ahead at a branch that falls through carried into the next run
    (`carry`)."""
    total, held, run, outcomes = 0.0, NONE_HELD, [], list(outcomes)
    for i in instructions:
        run.append(i)
        if i.action == "cond_branch":
            taken = outcomes.pop(0)
            total += instruction_cycles(run, device, taken, held)
            held = NONE_HELD if taken or not carry else fetches_carried(run, held)
            run = []
    return total + (instruction_cycles(run, device, None, held) if run else 0.0)


@needs_verilator
@pytest.mark.parametrize("core_name,device_name", [
    ("ibex-rv32m-fast-ws1", "ibex-rv32m-fast-ws1"),
    ("ibex-rv32m-single-cycle-ws1", "ibex-rv32m-single-cycle-ws1"),
    ("ibex-rv32m-none-ws1", "ibex-rv32i-ws1")])
def test_ibex_ws1_fetches_held_ahead_cross_a_branch_that_falls_through(
        simulator, scratch, core_name, device_name):
    """Ibex at one wait state keeps the fetches loads (and multiplies) ran ahead across a
    conditional branch that falls through: the instructions after it hide their fetch
    waits as in one straight run (3 loads, a branch not taken and 2 ALU instructions: 12
    clocks, 14 priced as two runs that start with nothing held). Every body's clocks
    equal the runs priced with fetches_carried's carry, as price counts the blocks."""
    device = find_device(device_name)
    isa = rtl_core(core_name).isa
    chosen = {name: lines for name, lines in CARRY_BODIES.items()
              if device.core.multiplier != "none" or not any("mul" in x for x in lines)}
    expected, uncarried = {}, {}
    for name, lines in chosen.items():
        instructions = body_instructions(scratch, "\n".join(f"    {x}" for x in lines), isa)
        outcomes = [x == _TAKEN for x in lines if x in (_TAKEN, _NOT_TAKEN)]
        expected[name] = stream_cycles(instructions, device, outcomes)
        uncarried[name] = stream_cycles(instructions, device, outcomes, carry=False)
    bodies = {name: "\n    ".join(lines) for name, lines in chosen.items()}
    assert len(bodies) == (11 if device.core.multiplier == "none" else 13)   # docs/rtl.md
    measured = marginal_costs(simulator, scratch, core_name, tuple(bodies), bodies=bodies,
                              setup="    addi a1, sp, -512\n    addi a2, sp, -256\n"
                                    "    addi a3, sp, -128\n    li a5, 0")
    assert {n: measured[n] - expected[n] for n in bodies} == dict.fromkeys(bodies, 0)
    assert (measured["3 lw, not taken, 2 alu"], uncarried["3 lw, not taken, 2 alu"]) == (12, 14)


@needs_verilator
def test_wait_state_variants_share_one_simulator_binary(simulator):
    assert simulator("cv32e40p-ws1") == simulator("cv32e40p")
    assert simulator("ibex-rv32m-fast") != simulator("ibex-rv32m-slow")


# ---- (e) bounded runs and the testbench registers ----------------------------------------

@needs_verilator
@pytest.mark.parametrize("core_name", ["ibex-rv32m-fast", "picorv32"])
def test_a_run_that_never_exits_stops_at_max_cycles(simulator, scratch, core_name):
    text = ".globl main\nmain:\n    j main\n"
    elf = compile_snippet(text, "S", rtl_core(core_name).isa, scratch, name="spin")
    run = run_firmware(simulator(core_name), elf_to_words(elf), max_cycles=5_000)
    assert run.timed_out and run.clocks == 5_000 and run.exit_code is None


@needs_verilator
def test_ibex_without_m_extension_traps_on_mul(simulator, scratch):
    # RV32MNone: mul is an illegal instruction; the trap vector (boot_addr, outside the RAM)
    # holds no code, so the run never reaches the second MARK or EXIT.
    text = (".option norvc\n.globl main\nmain:\n    li t6, HWSIM_MMIO_BASE\n"
            "    sw zero, HWSIM_MARK_OFFSET(t6)\n    .insn r 0x33, 0, 1, t0, t1, t2\n"
            "    sw zero, HWSIM_MARK_OFFSET(t6)\n    li a0, 0\n    ret\n")
    elf = compile_snippet(text, "S", "rv32i", scratch, name="mul-on-rv32i")
    words = elf_to_words(elf)
    assert len(run_firmware(simulator("ibex-rv32m-fast"), words, max_cycles=2_000).marks) == 2
    run = run_firmware(simulator("ibex-rv32m-none"), words, max_cycles=2_000)
    assert run.timed_out and len(run.marks) == 1


C_PROGRAM = """
#include "hwsim_rtl.h"
static volatile int data[8] = {3, 1, 4, 1, 5, 9, 2, 6};
int main(void) {
    int sum = 0;
    HWSIM_MARK(0x1234);
    for (int i = 0; i < 8; i++) sum += data[i];
    HWSIM_MARK(0xABCDEF01);
    HWSIM_RESULT(sum);
    return 7;
}
"""


@needs_verilator
@pytest.mark.parametrize("core_name", ["ibex-rv32m-fast", "ibex-rv32m-none", "cv32e40p",
                                       "picorv32"])
def test_c_firmware_reports_marks_results_and_exit_code(simulator, scratch, tmp_path,
                                                        core_name):
    elf = compile_snippet(C_PROGRAM, "c", rtl_core(core_name).isa, tmp_path, name="sum")
    hex_path = write_hex(elf_to_words(elf), tmp_path / "sum.hex")
    run = run_firmware(simulator(core_name), hex_path, max_cycles=MAX_CYCLES)
    assert not run.timed_out and run.exit_code == 7
    assert [m.value for m in run.marks] == [0x1234, 0xABCDEF01]
    assert [r.value for r in run.results] == [31]
    assert 0 < run.marks[0].clock < run.marks[1].clock < run.results[0].clock <= run.clocks


@needs_verilator
def test_an_image_without_code_at_the_reset_vector_is_refused(simulator, tmp_path):
    with pytest.raises(HwsimError, match="holds 0 at the reset vector"):
        run_firmware(simulator("picorv32"), [0, 0x13], max_cycles=1_000)


@needs_verilator
def test_the_build_is_cached_on_disk(simulator, tmp_path):
    binary = simulator("picorv32")
    started = time.monotonic()
    again = build_core(rtl_core("picorv32"), binary.parent.parent)
    assert again == binary and time.monotonic() - started < 2.0
    assert (binary.parent / "build.json").is_file()


# ---- without Verilator -------------------------------------------------------------------

def test_every_registered_core_has_a_documented_table():
    for core in RTL_CORES.values():
        table = documented(core.base_name)
        assert {"alu", "load", "store", "branch_taken"} <= set(table), core.name
        if core.isa != "rv32i" and core.family == "ibex":
            assert "mulh" in table, core.name


def test_wait_state_variants_are_named_after_their_base():
    fast = rtl_core("ibex-rv32m-fast")
    assert rtl_core("ibex-rv32m-fast-ws1") == fast.with_wait_states(1)
    assert fast.with_wait_states(1).with_wait_states(2).name == "ibex-rv32m-fast-ws2"
    assert fast.with_wait_states(2).with_wait_states(0) == fast
    assert fast.with_wait_states(3).base_name == "ibex-rv32m-fast"
    assert fast.with_wait_states(3).build_identity() == fast.build_identity()
    with pytest.raises(HwsimError, match="wait_states must be 0..255"):
        fast.with_wait_states(256)


def test_unknown_names_give_clear_errors():
    with pytest.raises(HwsimError, match="unknown RTL core 'ibex-turbo'.*ibex-rv32m-fast"):
        rtl_core("ibex-turbo")
    with pytest.raises(HwsimError, match="no documented timing"):
        documented_cycles("ibex-turbo")


def test_missing_verilator_is_a_clear_error(monkeypatch, tmp_path):
    import hwsim.machine.rtl.build as build
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(HwsimError, match="verilator is not installed"):
        build_core(rtl_core("picorv32"), tmp_path)


def test_missing_or_unpinned_rtl_package_is_a_clear_error():
    with pytest.raises(HwsimError, match="not installed.*pip install pythondata-cpu-nothing==1"):
        package_root(RtlPackage("pythondata-cpu-nothing", "pythondata_cpu_nothing", "1"))
    with pytest.raises(HwsimError, match="pinned to 0.0"):
        package_root(RtlPackage("pytest", "pytest", "0.0"))


def test_memory_image_from_elf_checks_the_entry_and_the_words(tmp_path):
    elf = compile_snippet(".globl main\nmain:\n    li a0, 0\n    ret\n", "S", "rv32i", tmp_path)
    words = elf_to_words(elf)
    assert words[0] != 0 and len(words) < 16
    assert write_hex(words, tmp_path / "a.hex").read_text().splitlines()[0] == f"{words[0]:08x}"
    with pytest.raises(HwsimError, match="32-bit unsigned"):
        write_hex([1 << 32], tmp_path / "b.hex")
    with pytest.raises(HwsimError, match="not an ELF"):
        elf_to_words(tmp_path / "a.hex")


def test_simulator_output_is_parsed_and_errors_are_raised():
    run = parse_output("noise\nHWSIM MARK 10 1\nHWSIM RESULT 12 5\nHWSIM MARK 15 2\n"
                       "HWSIM EXIT 20 0\nHWSIM END 20 exit\n", 0)
    assert run.clocks_between_marks() == (5,) and run.exit_code == 0 and not run.timed_out
    assert parse_output("HWSIM END 99 timeout\n", 1).timed_out
    with pytest.raises(HwsimError, match="no firmware"):
        parse_output("HWSIM ERROR no firmware: pass +firmware=FILE.hex\nHWSIM END 0 finish\n", 0)
    with pytest.raises(HwsimError, match="no END line"):
        parse_output("HWSIM MARK 1 1\n", 0)
