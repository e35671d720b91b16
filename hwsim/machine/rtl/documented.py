"""The cores' documented cycle tables (documented_timing.json), with their sources.

    documented_cycles("ibex-rv32m-fast")["mul"]   # DocumentedCycles(cycles=3, source=...)

The numbers are data with a source (the document inside the pinned RTL package), kept here
so the RTL tests and the cost model's validation read one copy. They hold for the memory
each document assumes, i.e. the testbench with 0 wait states.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwsim.errors import HwsimError

TIMING_FILE = Path(__file__).resolve().parent / "documented_timing.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DocumentedCycles:
    cycles: int
    source: str


@lru_cache(maxsize=1)
def _load() -> dict:
    data = json.loads(TIMING_FILE.read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise HwsimError(f"{TIMING_FILE}: schema_version {data.get('schema_version')!r}, "
                         f"expected {SCHEMA_VERSION}")
    return data


def documented_cycles(core_name: str) -> dict[str, DocumentedCycles]:
    """Instruction class -> documented cycles for an RTL core (0 wait states)."""
    data = _load()
    if core_name not in data["cores"]:
        raise HwsimError(f"no documented timing for RTL core {core_name!r}; known: "
                         f"{', '.join(data['cores'])}")
    table: dict[str, DocumentedCycles] = {}
    for name in data["cores"][core_name]:
        entry = data["tables"][name]
        for cls, cycles in entry["cycles"].items():
            table[cls] = DocumentedCycles(cycles, entry["source"])
    return table
