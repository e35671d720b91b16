"""CV32E40P's load stalls that cost a fetch at one wait state, counted from a straight
run of executed RISC-V instructions (docs/rtl.md, "Priced: Ibex and CV32E40P at one
wait state"; measured on the RTL, tests/test_rtl.py).

At one wait state CV32E40P is fetch-bound (a fetch every 2 cycles) and a load's data wait
overlaps the next fetch, so its load-use stall is mostly hidden. Three sequences are
not (a per-cycle trace of the instruction and data ports shows where the fetch waits):

- self_base_load: a load whose destination is its own base register (`lh t4, 0(t4)`,
  a lookup table's entry loaded over its address), not right after a load or store nor
  right after an instruction that read the load before it. After the load leaves
  decode, the decode stage still holds its instruction while the next one is fetched;
  the stall logic (cv32e40p_controller.sv, "Stall because of load operation") compares
  that stale instruction's rs1 with the load's rd and stalls; the prefetch buffer fills
  and the fetch port idles a cycle. After a load or store (or a load-use stall) the
  phase of fetch and decode differs and the stall is hidden.
- chained_load_use: a load or store whose address or data is the result of the load
  right before it, that load itself right after a load or store (`lw a5, 52(sp);
  lw a4, 12(a5)` after another access): the data port is busy back to back, and the
  load-use stall delays every access after it.
- jalr_load_use: a jalr (jr, ret, a call through a register) reading the result of the
  load right before it (a switch's `lw a5, 0(a2); jr a5`): the jump waits for the data.
  A load or store right before a jalr that does not read it costs nothing more on
  CV32E40P (memory_before_jalr 0), unlike one right before a taken branch.

Priced by cv32e40p-ws1 (devices/rtl/cv32e40p-ws1.yaml: 1, 1 and 2 cycles), 0 elsewhere.
"""
from __future__ import annotations

from hwsim.specs.device import LOAD_STALL_ACTIONS

JALR = ("jalr", "jr", "ret")          # RISC-V jumps through a register


def _load(i) -> bool:
    """A RISC-V load (Arm instructions carry no registers)."""
    return bool(i.reads) and i.action.startswith("load_")


def _memory(i) -> bool:
    return bool(i.reads) and i.action.startswith(("load_", "store_"))


def _reads_load(before, after) -> bool:
    return _load(before) and before.writes is not None and before.writes in after.reads


def load_stalls(instructions) -> dict[str, float]:
    """self_base_load, chained_load_use and jalr_load_use counts of a straight run (module
    doc); an instruction whose predecessors lie before the run is not counted."""
    instructions = list(instructions)
    counts = dict.fromkeys(LOAD_STALL_ACTIONS, 0)
    for k in range(1, len(instructions)):
        i, before = instructions[k], instructions[k - 1]
        if (_load(i) and i.writes is not None and i.writes == i.reads[0]
                and not _memory(before)
                and not (k >= 2 and _reads_load(instructions[k - 2], before))):
            counts["self_base_load"] += 1
        if (k >= 2 and _memory(i) and _reads_load(before, i)
                and _memory(instructions[k - 2])):
            counts["chained_load_use"] += 1
        if i.mnemonic in JALR and _reads_load(before, i):
            counts["jalr_load_use"] += 1
    return {a: float(n) for a, n in counts.items() if n}
