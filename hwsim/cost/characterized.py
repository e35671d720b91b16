"""The characterization data files the cost model reads (hwsim/cost/data/<kind>_<target>.json:
the int8 and lut kernel libraries' and libgcc's soft-float routines' executed actions,
each written by `hwsim characterize` with its provenance inside)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from hwsim.errors import HwsimError

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT_VERSION = 1


def data_path(kind: str, target: str) -> Path:
    return DATA_DIR / f"{kind}_{target}.json"


@lru_cache(maxsize=None)
def characterization_data(kind: str, target: str) -> dict | None:
    """The data of one build (`kind`: int8, lut, soft_float) for `target`, or None when
    there is none."""
    path = data_path(kind, target)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format_version") != FORMAT_VERSION:
        raise HwsimError(f"{path.name}: format_version must be {FORMAT_VERSION}, got "
                         f"{data.get('format_version')!r}")
    return data
