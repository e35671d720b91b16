"""A device's instruction fetch from flash (`memory.instruction_fetch`, docs/devices.md):
the flash's wait states, what hides them from the core (a cache, a prefetch buffer or
nothing) and the net extra cycles of one instruction fetch, which the cost model charges
per executed instruction (hwsim.cost.prices). A device that does not state it is charged
nothing for its fetches.
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.specs.device_schema import FETCH_HIDERS, MAX_CYCLES
from hwsim.specs.yaml_reader import Reader


@dataclass(frozen=True)
class InstructionFetch:
    wait_states: int | None             # the flash's, at the device clock (None: not stated)
    hidden_by: str                      # cache, prefetch or none
    extra_cycles_per_fetch: float       # net, charged per executed instruction


def read_instruction_fetch(r: Reader | None) -> InstructionFetch | None:
    """The section's record (None when absent or wrong: the problems are in `r`)."""
    if r is None:
        return None
    wait_states = r.int("wait_states", False, minimum=0, maximum=MAX_CYCLES)
    hidden_by = r.choice("hidden_by", FETCH_HIDERS)
    extra = r.number("extra_cycles_per_fetch", minimum=0, maximum=MAX_CYCLES)
    r.finish()
    if wait_states is not None and extra is not None:
        if extra > wait_states:
            r.problem("extra_cycles_per_fetch", f"must be <= wait_states ({wait_states}): "
                      f"a fetch cannot wait longer than the flash, got {extra:g}")
            return None
        if hidden_by == "none" and extra != wait_states:
            r.problem("extra_cycles_per_fetch", f"must equal wait_states ({wait_states}) "
                      f"when hidden_by is none (every fetch waits), got {extra:g}")
            return None
    if hidden_by is None or extra is None:
        return None
    return InstructionFetch(wait_states, hidden_by, extra)
