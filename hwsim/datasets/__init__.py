"""Bundled datasets for training tiny networks: `load_dataset(name)`."""
from __future__ import annotations

import functools
from typing import Callable

from hwsim.datasets._common import Dataset
from hwsim.errors import HwsimError

__all__ = ["DATASETS", "Dataset", "load_dataset"]

DATASETS: tuple[str, ...] = ("digits", "har")


def _loader(name: str) -> Callable[[], Dataset]:
    if name == "digits":
        from hwsim.datasets.digits import load_digits
        return load_digits
    from hwsim.datasets.har import load_har
    return load_har


@functools.lru_cache(maxsize=None)
def _load_cached(name: str) -> Dataset:
    return _loader(name)()


def load_dataset(name: str) -> Dataset:
    """The named dataset (cached in-process; arrays are read-only)."""
    if not isinstance(name, str) or name not in DATASETS:
        raise HwsimError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return _load_cached(name)
