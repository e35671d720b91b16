"""A sweep's rows as files: sweep.csv and sweep.json (the hwsim-results document
the dashboards read), written together and atomically."""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from hwsim.io import write_files_atomically
from hwsim.errors import HwsimError
from hwsim.results.document import results_document

CSV_NAME, JSON_NAME = "sweep.csv", "sweep.json"


def default_out_dir(workload_name: str) -> Path:
    return Path("runs") / f"sweep-{workload_name}"


def json_bytes(rows) -> bytes:
    return (json.dumps(results_document(sweep=list(rows)), indent=1, allow_nan=False) + "\n").encode()


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_bytes(rows, columns: tuple[str, ...] = ()) -> bytes:
    """One line per row; None is an empty cell, booleans are true/false."""
    rows = list(rows)
    fields = list(rows[0]) if rows else list(columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue().encode()


def prepare_output_dir(directory: str | Path) -> bool:
    """Create the output directory if needed and check a file can be written in it,
    before hours of work go into results that could not be saved. Returns whether
    the directory was created (so that a caller who fails later can remove it)."""
    directory = Path(directory)
    created = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise HwsimError(f"{directory}: cannot write the sweep results there "
                         f"({exc.strerror or exc})") from None
    return created


def write_results(rows, directory: str | Path, columns: tuple[str, ...] = ()
                  ) -> tuple[Path, Path]:
    """Write sweep.csv and sweep.json (each atomically: temporary file, then rename)."""
    directory = Path(directory)
    write_files_atomically(directory, {CSV_NAME: csv_bytes(rows, columns),
                                       JSON_NAME: json_bytes(rows)})
    return directory / CSV_NAME, directory / JSON_NAME
