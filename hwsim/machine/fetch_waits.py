"""The fetch-wait actions of Ibex and CV32E40P at one wait state (docs/rtl.md, "With wait
states"), counted from a straight run of executed RISC-V instructions (a block of
hwsim.machine.emulate_price): fetch_overlap and fetch_overlap_mul, the fetch waits
hidden behind loads', stores' and multiplies' run-ahead; memory_before_taken,
memory_before_jalr, taken_ahead_mul; CV32E40P's load stalls (hwsim.machine.load_stalls);
Ibex's fetch phase at taken branches and jumps (`odd_ahead_actions`), its slow
multiplier's run-ahead (`slow_multiply_actions`) and its single-cycle multiplier's MULH,
which keeps the fetches held ahead (`held_mulh_actions`); the fetches held ahead at a
branch that falls through, carried into the run after it (`fetches_carried`). Each rule
is measured on the RTL (tests/test_rtl.py); the device files price them (0 elsewhere)."""
from __future__ import annotations

from functools import partial

from hwsim.machine.disasm import Instruction
from hwsim.machine.load_stalls import JALR, LOAD_STALL_ACTIONS, load_stalls


# Fetch waits a pipelined RISC-V core's prefetch buffer can hide at once: Ibex at one wait
# state hides three behind a run of loads and no more (k loads then k ALU instructions,
# k = 3..6, tests/test_rtl.py).
PREFETCH_DEPTH = 3
FETCH_ACTIONS = ("fetch_overlap", "fetch_overlap_mul", "memory_before_taken",
                 "memory_before_jalr", "taken_ahead_mul", "taken_odd_ahead",
                 "taken_odd_ahead_mul", "fetch_overlap_slow_mul",
                 "taken_odd_ahead_slow_mul", "fetch_overlap_mulh",
                 "taken_odd_ahead_mulh") + LOAD_STALL_ACTIONS
_MULTIPLY_CREDITS = {"mul": 1, "mulh": 2}


def _memory(i: Instruction) -> bool:
    """A RISC-V load or store (Arm instructions carry no registers)."""
    return bool(i.reads) and i.action.startswith(("load_", "store_"))


def _memory_credits(i: Instruction) -> int:
    return int(_memory(i))


def _multiply_credits(i: Instruction) -> int:
    return int(_memory(i)) or (_MULTIPLY_CREDITS.get(i.action, 0) if i.reads else 0)


def _run_ahead(instructions, credits_of, multiplies_consume: bool,
               held: int = 0, keeping: tuple[str, ...] = ()) -> tuple[int, int]:
    """Fetch waits hidden behind multi-cycle instructions in a straight run, and the
    fetches still held ahead after it: each instruction gives credits_of(i) fetches
    ahead (at most PREFETCH_DEPTH held), each other one takes one (a multiply only when
    `multiplies_consume`; never an action in `keeping`); `held` fetches are held ahead
    when the run starts."""
    hidden = 0
    for i in instructions:
        made = credits_of(i)
        if made:
            held = min(PREFETCH_DEPTH, held + made)
        elif held and i.action not in keeping and (
                multiplies_consume or i.action not in _MULTIPLY_CREDITS):
            held, hidden = held - 1, hidden + 1
    return hidden, held


def _hidden_fetches(instructions, credits_of, multiplies_consume: bool,
                    held: int = 0) -> tuple[int, bool]:
    """_run_ahead's hidden fetch waits, and whether a fetch is still held ahead."""
    hidden, held = _run_ahead(instructions, credits_of, multiplies_consume, held)
    return hidden, held > 0


# Fetches held ahead as a run starts, per way of counting them: (loads and stores ahead,
# multiplies too (fetch_actions), the slow multiplier's (slow_multiply_actions), loads and
# stores ahead with MULHs keeping them (held_mulh_actions)).
NONE_HELD = (0, 0, 0, 0)
Held = tuple[int, int, int, int]


_JUMPS = ("jump", "jump_register", "call", "return")


def odd_ahead_actions(instructions, held: Held = NONE_HELD
                      ) -> tuple[dict[str, float], dict[str, float]]:
    """Ibex at one wait state (docs/rtl.md, "With wait states"; tests/test_rtl.py): a
    fetch takes two cycles, and a taken branch or jump waits for the one in flight when
    an odd number of fetches is held ahead at it (each held fetch is a cycle of the
    two-cycle fetch run ahead: an even number ends on a fetch boundary). A jump (jal,
    jalr, a call, a return) takes a held fetch first, as any instruction; a conditional
    branch that is taken does not. taken_odd_ahead counts them with loads and stores
    running ahead, taken_odd_ahead_mul the change when multiplies run ahead too (mul one
    fetch, mulh two). `held`: fetches held ahead as the run starts (NONE_HELD).
    Returns (the run's actions, the extra ones when its final conditional branch is
    taken)."""
    instructions = list(instructions)
    if not instructions:
        return {}, {}
    last = instructions[-1].action
    branch = last == "cond_branch"
    if not branch and last not in _JUMPS:
        return {}, {}
    body = instructions[:-1] if branch else instructions
    memory = _run_ahead(body, _memory_credits, True, held[0])[1] % 2
    with_mul = _run_ahead(body, _multiply_credits, False, held[1])[1] % 2
    actions = nonzero({"taken_odd_ahead": memory, "taken_odd_ahead_mul": with_mul - memory})
    return ({}, actions) if branch else (actions, {})


def _slow_multiply_credits(i: Instruction) -> int:
    """A load or store one fetch ahead; a multiply PREFETCH_DEPTH (an operand-timed MUL of
    m = 1 + bits(op_b) cycles runs m - 2 ahead: all of them from 4 bits of op_b on, and
    a 33-cycle MULH)."""
    return int(_memory(i)) or (PREFETCH_DEPTH if i.reads and i.action in _MULTIPLY_CREDITS
                               else 0)


def slow_multiply_actions(instructions, held: Held = NONE_HELD
                          ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Ibex's slow multiplier at one wait state (docs/rtl.md, "With wait states";
    tests/test_rtl.py): what changes against the multiply credits of fetch_actions (mul
    one fetch ahead, mulh two) when every multiply runs PREFETCH_DEPTH fetches ahead, as
    a MUL whose op_b has 4 or more significant bits and any MULH do:
    fetch_overlap_slow_mul, the further fetch waits hidden (with a final branch that
    falls through, the one it takes), taken_odd_ahead_slow_mul, the change of
    taken_odd_ahead_mul at a final jump or taken branch. Returns (the run's actions, the
    extra ones when its final conditional branch is taken, when it is not; `held` as
    odd_ahead_actions)."""
    return _changed_count(instructions, partial(_run_ahead, credits_of=_multiply_credits,
                                                multiplies_consume=False, held=held[1]),
                          partial(_run_ahead, credits_of=_slow_multiply_credits,
                                  multiplies_consume=False, held=held[2]),
                          "fetch_overlap_slow_mul", "taken_odd_ahead_slow_mul")


def _changed_count(instructions, table, changed, overlap: str, odd_ahead: str
                   ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """What changes against one way of counting the fetches held ahead (`table`) in
    another (`changed`), each a function of the run's body giving _run_ahead's (hidden,
    held): `overlap` the change of the fetch waits hidden (with a final branch that falls
    through, of the one it takes), `odd_ahead` the change of the fetch phase at a final
    jump or taken branch. Returns (the run's actions, the extra ones when its final
    conditional branch is taken, when it is not)."""
    instructions = list(instructions)
    branch = bool(instructions) and instructions[-1].action == "cond_branch"
    jump = bool(instructions) and instructions[-1].action in _JUMPS
    body = instructions[:-1] if branch else instructions
    table_hidden, table_held = table(body)
    hidden, held = changed(body)
    odd = held % 2 - table_held % 2
    run = nonzero({overlap: hidden - table_hidden, odd_ahead: odd if jump else 0})
    if not branch:
        return run, {}, {}
    return (run, nonzero({odd_ahead: odd}),
            nonzero({overlap: (held > 0) - (table_held > 0)}))


# Ibex's single-cycle multiplier at one wait state: a MULH takes two cycles, one fetch's
# time, so it neither runs a fetch ahead nor takes one held (a MUL takes one, as an ALU
# instruction does; tests/test_rtl.py).
_KEEPING = ("mulh",)


def held_mulh_actions(instructions, held: Held = NONE_HELD
                      ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Ibex's single-cycle multiplier at one wait state (docs/rtl.md, "With wait states";
    tests/test_rtl.py): what changes against fetch_overlap and taken_odd_ahead (loads and
    stores run a fetch ahead, every other instruction takes one held) when a MULH keeps
    the fetches held ahead: fetch_overlap_mulh, the change of the fetch waits hidden
    (with a final branch that falls through, of the one it takes), taken_odd_ahead_mulh,
    the change of taken_odd_ahead at a final jump or taken branch. Returns (the run's
    actions, the extra ones when its final conditional branch is taken, when it is not;
    `held` as odd_ahead_actions)."""
    return _changed_count(instructions, partial(_run_ahead, credits_of=_memory_credits,
                                                multiplies_consume=True, held=held[0]),
                          partial(_run_ahead, credits_of=_memory_credits,
                                  multiplies_consume=True, held=held[3], keeping=_KEEPING),
                          "fetch_overlap_mulh", "taken_odd_ahead_mulh")


def fetch_actions(instructions, held: Held = NONE_HELD
                  ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """The fetch-wait actions of a straight run of RISC-V instructions (docs/rtl.md, "With
    wait states"): fetch_overlap, the fetch waits hidden behind loads' and stores' data
    waits; fetch_overlap_mul, the change when multiplies run ahead of the fetch too (mul
    one fetch, mulh two; a multiply then hides its own fetch); memory_before_jalr, a
    jalr right after a load or store; CV32E40P's load stalls (hwsim.machine.load_stalls).
    Returns (the run's actions, the extra ones when its
    final conditional branch is taken, the extra ones when it is not: a taken branch
    after a load or store is memory_before_taken, and taken_ahead_mul when multiplies
    change whether fetches are held ahead at it (they are then refetched); a branch
    that falls through takes a fetch held ahead like any instruction and carries the
    others into the run after it: `held`, NONE_HELD or fetches_carried's)."""
    instructions = list(instructions)
    branch = bool(instructions) and instructions[-1].action == "cond_branch"
    body = instructions[:-1] if branch else instructions
    memory, memory_held = _hidden_fetches(body, _memory_credits, True, held[0])
    with_mul, mul_held = _hidden_fetches(body, _multiply_credits, False, held[1])
    jalrs = sum(1 for before, after in zip(body, body[1:])
                if _memory(before) and after.mnemonic in JALR)
    actions = nonzero({"fetch_overlap": memory, "fetch_overlap_mul": with_mul - memory,
                        "memory_before_jalr": jalrs}) | load_stalls(body)
    odd_run, odd_taken = odd_ahead_actions(instructions, held)
    slow_run, slow_taken, slow_not_taken = slow_multiply_actions(instructions, held)
    mulh_run, mulh_taken, mulh_not_taken = held_mulh_actions(instructions, held)
    actions |= odd_run | slow_run | mulh_run
    if not branch:
        return actions, {}, {}
    taken = nonzero({"memory_before_taken": len(body) > 0 and _memory(body[-1]),
                     "taken_ahead_mul": mul_held - memory_held}
                    ) | odd_taken | slow_taken | mulh_taken
    not_taken = nonzero({"fetch_overlap": memory_held,
                         "fetch_overlap_mul": mul_held - memory_held}
                        ) | slow_not_taken | mulh_not_taken
    return actions, taken, not_taken


def fetches_carried(instructions, held: Held = NONE_HELD) -> Held:
    """The fetches still held ahead after a run whose final conditional branch falls
    through (it took one, as any instruction), per way of counting them (NONE_HELD's):
    Ibex keeps them into the run after it (tests/test_rtl.py). A taken branch or a jump
    refetches and carries none."""
    instructions = list(instructions)
    if not instructions or instructions[-1].action != "cond_branch":
        return NONE_HELD
    return (_run_ahead(instructions, _memory_credits, True, held[0])[1],
            _run_ahead(instructions, _multiply_credits, False, held[1])[1],
            _run_ahead(instructions, _slow_multiply_credits, False, held[2])[1],
            _run_ahead(instructions, _memory_credits, True, held[3], _KEEPING)[1])


def nonzero(counts: dict) -> dict[str, float]:
    """The counts that are not 0, as floats."""
    return {action: float(count) for action, count in counts.items() if count}
