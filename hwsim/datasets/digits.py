"""UCI optical recognition of handwritten digits (8x8, grey levels 0..16)."""
from __future__ import annotations

import gzip
import importlib.resources

import numpy as np

from hwsim.datasets._common import Dataset, frozen_array

SPLIT_SEED = 0
TRAIN_FRACTION = 0.8
LEVELS = 17  # grey levels 0..16

CITATION = (
    "E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits, "
    "UCI Machine Learning Repository, 1998. https://doi.org/10.24432/C50P49"
)
LICENCE = (
    "CC BY 4.0 (data); file copied from scikit-learn's bundled copy "
    "(BSD-3-Clause package); see hwsim/datasets/data/DIGITS-LICENCE.txt"
)


def read_raw() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images as int64 (N, 64) grey levels 0..16 and labels (N,)."""
    resource = importlib.resources.files("hwsim.datasets") / "data" / "digits.csv.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64, ndmin=2)
    return table[:, :64], table[:, 64]


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified 80/20 split: per class, the first floor(0.8 n) in a seed-0 permutation."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    is_train = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = order[labels[order] == label]  # class members in permutation order
        is_train[members[: int(TRAIN_FRACTION * len(members))]] = True
    return order[is_train[order]], order[~is_train[order]]


def load_digits() -> Dataset:
    """The digits dataset, x = level / 16 as float32 (N, 8, 8, 1)."""
    pixels, labels = read_raw()
    train, test = split_indices(labels)
    images = (pixels.astype(np.float32) / np.float32(16)).reshape(-1, 8, 8, 1)
    return Dataset(
        name="digits",
        x_train=frozen_array(images[train], np.float32),
        y_train=frozen_array(labels[train], np.int64),
        x_test=frozen_array(images[test], np.float32),
        y_test=frozen_array(labels[test], np.int64),
        input_shape=(8, 8, 1),
        class_names=tuple(str(d) for d in range(10)),
        raw_levels=LEVELS,
        citation=CITATION,
        licence=LICENCE,
        normalisation="x = grey level (0..16) / 16",
    )
