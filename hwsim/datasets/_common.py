"""The `Dataset` record shared by every bundled dataset."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """A fixed train/test split; arrays are read-only, x is float32 in [0, 1]."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    raw_levels: int | None
    citation: str
    licence: str
    normalisation: str = ""
    subjects_train: np.ndarray | None = None
    subjects_test: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def frozen_array(values: np.ndarray, dtype: type) -> np.ndarray:
    """A C-contiguous copy of `values` as `dtype`, marked read-only."""
    out = np.ascontiguousarray(values, dtype=dtype).copy()
    out.flags.writeable = False
    return out
