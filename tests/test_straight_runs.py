"""The emulator's blocks joined into the code's straight runs
(hwsim.machine.emulate_profile.StraightRuns): a block the emulator ends where nothing
transfers control (at a 4 KiB page boundary) and the block after it are one run, so that
the fetch-wait actions and hazards counted within a run do not depend on where the code
lies (tests/test_lut_library.py: a hot loop across a page boundary of the test firmware)."""
from __future__ import annotations

from types import SimpleNamespace

from hwsim.machine.emulate_profile import StraightRuns

ADDI = (0x00150513).to_bytes(4, "little")     # addi a0, a0, 1
RET = (0x00008067).to_bytes(4, "little")      # ret


def _runs() -> StraightRuns:
    image = SimpleNamespace(segments=(SimpleNamespace(address=0x1000,
                                                      data=ADDI * 3 + RET + ADDI),))
    return StraightRuns(image, "riscv")


def test_a_block_cut_without_a_control_transfer_grows_into_the_next():
    runs = _runs()
    state = {"prev": (0x1000, 8, "L0.dense")}
    flash = {(0x1000, 8, "L0.dense"): 3, (0x2000, 4, "L1.dense"): 1}
    assert runs.joined(state, flash, 0x1008, 8)
    assert state["prev"] == (0x1000, 16, "L0.dense")
    assert flash == {(0x1000, 16, "L0.dense"): 3, (0x2000, 4, "L1.dense"): 1}


def test_other_blocks_stay_apart():
    runs = _runs()
    state = {"prev": (0x1008, 8, "n")}             # addi, ret: a control transfer ends it
    assert not runs.joined(state, {}, 0x1010, 4)
    state = {"prev": (0x1000, 8, "n")}             # the next block is elsewhere
    assert not runs.joined(state, {}, 0x100c, 4)
    assert state["prev"] == (0x1000, 8, "n")
    assert not runs.joined({"prev": None}, {}, 0x1000, 4)
