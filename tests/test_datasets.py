"""Bundled datasets: shapes, ranges, splits, determinism, read-only arrays."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from hwsim.datasets import DATASETS, Dataset, load_dataset
from hwsim.datasets.digits import read_raw, split_indices
from hwsim.datasets.har import TRAIN_SUBJECTS, generate
from hwsim.errors import HwsimError

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def digest(ds: Dataset) -> str:
    h = hashlib.sha256()
    for field in ARRAYS:
        h.update(np.ascontiguousarray(getattr(ds, field)).tobytes())
    return h.hexdigest()


@pytest.fixture(params=DATASETS)
def ds(request) -> Dataset:
    return load_dataset(request.param)


def test_known_names():
    assert DATASETS == ("digits", "har")


def test_shapes_and_dtypes(ds):
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.x_train.shape == (len(ds.y_train), *ds.input_shape)
    assert ds.x_test.shape == (len(ds.y_test), *ds.input_shape)
    assert ds.y_train.ndim == 1 and ds.y_test.ndim == 1


def test_value_and_label_ranges(ds):
    for x in (ds.x_train, ds.x_test):
        assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0
    k = len(ds.class_names)
    for y in (ds.y_train, ds.y_test):
        assert y.min() == 0 and y.max() == k - 1
        assert set(np.unique(y)) == set(range(k))


def test_class_balance(ds):
    for y in (ds.y_train, ds.y_test):
        counts = np.bincount(y, minlength=len(ds.class_names))
        assert counts.min() >= 0.9 * counts.max()


def test_arrays_read_only(ds):
    for field in ARRAYS:
        arr = getattr(ds, field)
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0


def test_dataset_is_frozen(ds):
    with pytest.raises(AttributeError):
        ds.name = "other"


def test_metadata(ds):
    assert ds.citation and ds.licence and ds.normalisation
    assert ds.num_classes == len(ds.class_names) == len(set(ds.class_names))


def test_cached_object_is_reused(ds):
    assert load_dataset(ds.name) is ds


def test_fresh_build_identical_bytes():
    from hwsim.datasets.digits import load_digits
    from hwsim.datasets.har import load_har
    assert digest(load_digits()) == digest(load_dataset("digits"))
    assert digest(load_har()) == digest(load_dataset("har"))


def test_subprocess_same_sha256():
    code = ("import hashlib, numpy as np; from hwsim.datasets import load_dataset\n"
            "for n in ('digits', 'har'):\n"
            "    d = load_dataset(n); h = hashlib.sha256()\n"
            "    for f in ('x_train', 'y_train', 'x_test', 'y_test'):\n"
            "        h.update(np.ascontiguousarray(getattr(d, f)).tobytes())\n"
            "    print(h.hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == [digest(load_dataset("digits")), digest(load_dataset("har"))]


def test_unknown_name():
    with pytest.raises(HwsimError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert "\n" not in message
    assert "'mnist'" in message and "digits" in message and "har" in message


# --- digits -------------------------------------------------------------------------------

def test_digits_sizes_and_meta():
    ds = load_dataset("digits")
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert len(ds.y_train) == 1433 and len(ds.y_test) == 364
    assert ds.input_shape == (8, 8, 1)
    assert ds.class_names == tuple("0123456789")
    assert ds.raw_levels == 17
    assert "10.24432/C50P49" in ds.citation and "CC BY 4.0" in ds.licence
    assert ds.subjects_train is None and ds.subjects_test is None


def test_digits_values_are_sixteenths():
    ds = load_dataset("digits")
    for x in (ds.x_train, ds.x_test):
        levels = x * 16
        assert np.array_equal(levels, np.round(levels))
        assert levels.max() == 16


def test_digits_split_is_a_stratified_partition_of_the_file():
    ds = load_dataset("digits")
    pixels, labels = read_raw()
    assert pixels.shape == (1797, 64) and pixels.min() == 0 and pixels.max() == 16
    train, test = split_indices(labels)
    assert not set(train.tolist()) & set(test.tolist())
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    assert np.array_equal(ds.x_train.reshape(-1, 64) * 16, pixels[train])
    assert np.array_equal(ds.x_test.reshape(-1, 64) * 16, pixels[test])
    assert np.array_equal(ds.y_train, labels[train]) and np.array_equal(ds.y_test, labels[test])
    per_class = np.bincount(labels)
    assert np.array_equal(np.bincount(ds.y_train), (0.8 * per_class).astype(int))


def test_digits_train_test_images_disjoint():
    ds = load_dataset("digits")
    train = {r.tobytes() for r in ds.x_train.reshape(len(ds.x_train), -1)}
    test = {r.tobytes() for r in ds.x_test.reshape(len(ds.x_test), -1)}
    assert not train & test  # the file holds no duplicate images


# --- har ----------------------------------------------------------------------------------

def test_har_sizes_and_meta():
    ds = load_dataset("har")
    assert ds.input_shape == (128, 3)
    assert len(ds.y_train) == 22 * 7 * 20 and len(ds.y_test) == 8 * 7 * 20
    assert ds.class_names == ("walking", "running", "stairs_up", "stairs_down",
                              "sitting", "standing", "lying")
    assert ds.raw_levels is None
    assert ds.licence == "synthetic, generated by hwsim"


def test_har_split_by_subject():
    ds = load_dataset("har")
    train, test = set(ds.subjects_train.tolist()), set(ds.subjects_test.tolist())
    assert train == set(TRAIN_SUBJECTS) == set(range(1, 23))
    assert test == set(range(23, 31))
    assert not train & test
    assert ds.subjects_train.shape == ds.y_train.shape
    assert ds.subjects_test.shape == ds.y_test.shape
    assert not ds.subjects_train.flags.writeable
    # every subject performs every activity equally often
    for subj, y in ((ds.subjects_train, ds.y_train), (ds.subjects_test, ds.y_test)):
        for s in np.unique(subj):
            assert np.array_equal(np.bincount(y[subj == s], minlength=7), np.full(7, 20))


def test_har_values_on_adc_grid():
    ds = load_dataset("har")
    # 12-bit +-8 g ADC (LSB 1/256 g) mapped by (a + 4) / 8: multiples of 2**-11
    codes = ds.x_train.astype(np.float64) * 2**11
    assert np.array_equal(codes, np.round(codes))


def test_har_generator_is_seeded_and_physical():
    a1, y1, s1 = generate(1)
    a2, _, _ = generate(1)
    a3, _, _ = generate(2)
    assert np.array_equal(a1, a2) and not np.array_equal(a1, a3)
    # static upright windows read about +1 g on the vertical axis; lying much less
    mean_vertical = np.array([a1[y1 == k, :, 0].mean() for k in range(7)])
    assert 0.85 < mean_vertical[5] < 1.1   # standing
    assert abs(mean_vertical[6]) < 0.3     # lying
    # running moves far more than standing
    assert a1[y1 == 1].std(axis=1).mean() > 5 * a1[y1 == 5].std(axis=1).mean()


def test_har_not_separable_by_a_trivial_rule():
    """Per-axis mean/std nearest-centroid on held-out subjects: useful but imperfect."""
    ds = load_dataset("har")
    feats = lambda x: np.concatenate([x.mean(1), x.std(1)], 1)
    ftr, fte = feats(ds.x_train), feats(ds.x_test)
    mu, sd = ftr.mean(0), ftr.std(0)
    ftr, fte = (ftr - mu) / sd, (fte - mu) / sd
    centroids = np.stack([ftr[ds.y_train == k].mean(0) for k in range(7)])
    pred = np.argmin(((fte[:, None] - centroids) ** 2).sum(2), axis=1)
    acc = np.mean(pred == ds.y_test)
    assert 0.6 < acc < 0.95
