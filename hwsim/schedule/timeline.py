"""The schedule's timeline as rows, written as CSV or JSON."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hwsim.io import write_files_atomically
from hwsim.errors import HwsimError

TIMELINE_FIELDS = ("frame", "node", "kind", "core", "start_cycle", "end_cycle", "work_cycles",
                   "start_ms", "end_ms")


def timeline_rows(result) -> list[dict]:
    """The timeline of a ScheduleResult as plain rows (one per event) for CSV or JSON."""
    hz = result.clock_hz
    return [{"frame": e.frame, "node": e.node, "kind": e.kind, "core": e.core,
             "start_cycle": e.start_cycle, "end_cycle": e.end_cycle,
             "work_cycles": e.work_cycles, "start_ms": e.start_cycle * 1000 / hz,
             "end_ms": e.end_cycle * 1000 / hz} for e in result.events]


def write_timeline(result, path: str | Path) -> Path:
    """Write the timeline as CSV (.csv) or JSON (.json, a list of rows), atomically."""
    path = Path(path)
    rows = timeline_rows(result)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=TIMELINE_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        text = buffer.getvalue()
    elif suffix == ".json":
        text = json.dumps(rows, indent=1, allow_nan=False) + "\n"
    else:
        raise HwsimError(f"{path}: timeline format must be .csv or .json, got {suffix or 'none'!r}")
    write_files_atomically(path.parent, {path.name: text.encode("utf-8")})
    return path
