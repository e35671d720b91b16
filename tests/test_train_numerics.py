"""tanhD, losses, Adam and 1-D k-means of the bundled trainer."""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.train import activations as act
from hwsim.train.cluster import assign_to_codebook, cluster_weights, kmeans_1d
from hwsim.train.losses import mse, softmax, softmax_cross_entropy
from hwsim.train.optim import AdamConfig, adam_init, adam_step
from tests.test_train_layers import numeric_grad


# ---------------------------------------------------------------- tanhD

finite_x = st.floats(-30, 30, allow_nan=False, allow_infinity=False)
levels_st = st.integers(2, 256)


@settings(max_examples=300, deadline=None)
@given(x=finite_x, levels=levels_st)
def test_level_index_is_threshold_count(x, levels):
    t = act.thresholds(levels)
    values, idx, _ = act.tanhd_forward(np.array([x]), levels)
    assert idx[0] == np.count_nonzero(t <= x)
    assert 0 <= idx[0] <= levels - 1
    assert values[0] == act.level_values(levels)[idx[0]]
    # the literal paper formula agrees except within rounding error of a boundary
    formula = act.tanhd_formula(np.array([x]), levels)[0]
    if abs(formula - values[0]) > 1e-9:
        assert np.min(np.abs(t - x)) < 1e-9


@pytest.mark.parametrize("levels", [2, 3, 4, 5, 16, 32, 255, 256])
def test_ties_at_thresholds_go_up(levels):
    t = act.thresholds(levels)
    k = np.arange(levels - 1)
    _, at, _ = act.tanhd_forward(t, levels)
    _, below, _ = act.tanhd_forward(np.nextafter(t, -np.inf), levels)
    _, above, _ = act.tanhd_forward(np.nextafter(t, np.inf), levels)
    np.testing.assert_array_equal(at, k + 1)
    np.testing.assert_array_equal(below, k)
    np.testing.assert_array_equal(above, k + 1)
    # count convention, element-wise, including the thresholds themselves
    xs = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), [-50, 0, 50]])
    counts = (t[None, :] <= xs[:, None]).sum(axis=1)
    np.testing.assert_array_equal(act.level_index(xs, levels), counts)
    # float32 inputs use the same float64 comparisons
    x32 = xs.astype(np.float32)
    np.testing.assert_array_equal(act.level_index(x32, levels),
                                  (t[None, :] <= x32.astype(np.float64)[:, None]).sum(axis=1))


@pytest.mark.parametrize("levels", [2, 16, 32, 33, 256])
def test_level_index_counts_and_bisection_agree_on_every_float(levels):
    # Up to 31 thresholds level_index counts them, above it bisects (searchsorted):
    # both give searchsorted's answer on a large array with infinities, NaN (L-1) and
    # float32 inputs.
    rng = np.random.default_rng(levels)
    x = rng.normal(0, 2, size=(7, 300))
    x.flat[:4] = [np.inf, -np.inf, np.nan, -0.0]
    t = act.thresholds(levels)
    expected = np.searchsorted(t, x, side="right")
    np.testing.assert_array_equal(act.level_index(x, levels), expected)
    assert act.level_index(x, levels).dtype == np.int64 and expected.flat[2] == levels - 1
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(act.level_index(x32, levels),
                                  np.searchsorted(t, x32.astype(np.float64), side="right"))


def test_two_levels_is_sign_with_zero_up():
    np.testing.assert_array_equal(act.thresholds(2), [0.0])
    v, idx, _ = act.tanhd_forward(np.array([-3.0, -1e-300, 0.0, 1e-300, 2.0]), 2)
    np.testing.assert_array_equal(idx, [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(v, [-1, -1, 1, 1, 1])


@pytest.mark.parametrize("levels", [2, 3, 8, 32, 256])
def test_levels_and_thresholds_shape(levels):
    vals = act.level_values(levels)
    t = act.thresholds(levels)
    assert vals.shape == (levels,) and t.shape == (levels - 1,)
    assert vals[0] == -1.0 and vals[-1] == 1.0
    np.testing.assert_allclose(np.diff(vals), 2 / (levels - 1))
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(t, -t[::-1], atol=1e-15)
    # threshold k sits halfway between the output values of levels k and k+1
    np.testing.assert_allclose(np.tanh(t), (vals[:-1] + vals[1:]) / 2, atol=1e-12)
    assert (0.0 in vals) == (levels % 2 == 1)


@settings(max_examples=100, deadline=None)
@given(xs=st.lists(finite_x, min_size=2, max_size=50), levels=levels_st)
def test_tanhd_monotone_and_in_level_set(xs, levels):
    x = np.sort(np.array(xs))
    v, idx, _ = act.tanhd_forward(x, levels)
    assert np.all(np.diff(v) >= 0) and np.all(np.diff(idx) >= 0)
    assert np.isin(v, act.level_values(levels)).all()
    assert idx.dtype.kind == "i"


def test_tanhd_dtype_and_backward_is_tanh_derivative():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    v, idx, cache = act.tanhd_forward(x, 32)
    assert v.dtype == np.float32 and v.shape == x.shape and idx.shape == x.shape
    dy = rng.normal(size=x.shape).astype(np.float32)
    g = act.tanhd_backward(cache, dy)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, dy * (1 - np.tanh(x) ** 2), rtol=1e-6)
    _, cache_c = act.tanh_forward(x)
    np.testing.assert_array_equal(g, act.tanh_backward(cache_c, dy))


def test_continuous_tanh_gradient():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4)) * 2
    dy = rng.normal(size=x.shape)
    y, cache = act.tanh_forward(x)
    np.testing.assert_allclose(y, np.tanh(x))
    num = numeric_grad(lambda: float(np.sum(act.tanh_forward(x)[0] * dy)), x)
    np.testing.assert_allclose(act.tanh_backward(cache, dy), num, atol=1e-8)


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "4"])
def test_bad_levels(bad):
    with pytest.raises(ValueError, match="levels"):
        act.thresholds(bad)


# ---------------------------------------------------------------- losses

def test_softmax_cross_entropy_gradient_int_labels():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    loss, grad = softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), labels])))
    num = numeric_grad(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    np.testing.assert_allclose(grad, num, atol=1e-8)


def test_softmax_cross_entropy_gradient_soft_targets():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 5))
    target = softmax(rng.normal(size=(3, 5)))
    loss, grad = softmax_cross_entropy(logits, target)
    num = numeric_grad(lambda: softmax_cross_entropy(logits, target)[0], logits)
    np.testing.assert_allclose(grad, num, atol=1e-8)
    onehot = np.eye(5)[[1, 4, 0]]
    l1, g1 = softmax_cross_entropy(logits, onehot)
    l2, g2 = softmax_cross_entropy(logits, np.array([1, 4, 0]))
    assert l1 == pytest.approx(l2) and np.allclose(g1, g2)


def test_softmax_cross_entropy_stable_and_dtype():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=np.float32)
    loss, grad = softmax_cross_entropy(logits, np.array([0, 2]))
    assert np.isfinite(loss) and np.isfinite(grad).all() and grad.dtype == np.float32
    assert loss == pytest.approx(np.log(3) / 2, rel=1e-5)
    with pytest.raises(ValueError):
        softmax_cross_entropy(logits, np.array([0, 3]))


def test_mse_gradient():
    rng = np.random.default_rng(4)
    pred = rng.normal(size=(4, 3))
    target = rng.normal(size=(4, 3))
    loss, grad = mse(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    np.testing.assert_allclose(grad, numeric_grad(lambda: mse(pred, target)[0], pred), atol=1e-8)
    with pytest.raises(ValueError):
        mse(pred, target[:2])


# ---------------------------------------------------------------- Adam

def test_adam_decreases_quadratic():
    rng = np.random.default_rng(5)
    a = np.diag(rng.uniform(0.5, 5.0, size=6))
    target = rng.normal(size=6)
    params = {"x": np.zeros(6), "nested": [{"y": np.ones((2, 2))}]}

    def loss_and_grad(p):
        d = p["x"] - target
        return 0.5 * d @ a @ d + np.sum(p["nested"][0]["y"] ** 2), \
            {"x": a @ d, "nested": [{"y": 2 * p["nested"][0]["y"]}]}

    state = adam_init(params)
    cfg = AdamConfig(lr=0.05)
    first, _ = loss_and_grad(params)
    losses = [first]
    for _ in range(400):
        _, g = loss_and_grad(params)
        params, state = adam_step(params, g, state, cfg)
        losses.append(loss_and_grad(params)[0])
    assert state.step == 400
    assert losses[-1] < 1e-3 * first
    assert losses[10] < first


def test_adam_first_step_is_lr_sign_and_in_place_float32():
    p = {"w": np.array([1.0, -2.0, 3.0], dtype=np.float32)}
    ref = p["w"]
    state = adam_init(p)
    p2, state = adam_step(p, {"w": np.array([10.0, -0.01, 0.0], dtype=np.float32)}, state,
                          AdamConfig(lr=0.1))
    assert p2 is p and p["w"] is ref and p["w"].dtype == np.float32
    np.testing.assert_allclose(p["w"], [0.9, -1.9, 3.0], rtol=1e-5)
    assert state.m[("w",)].dtype == np.float32
    with pytest.raises(ValueError):
        AdamConfig(lr=0)
    with pytest.raises(ValueError, match="gradient"):
        adam_step(p, {}, state)


# ---------------------------------------------------------------- k-means

def brute_nearest_ok(values, centroids, assign):
    v = values.astype(np.float64).ravel()[:, None]
    c = centroids.astype(np.float64)[None, :]
    d = np.abs(v - c)
    chosen = d[np.arange(d.shape[0]), assign.ravel()]
    return np.all(chosen <= d.min(axis=1) + 1e-12)


@pytest.mark.parametrize("k", [1, 2, 7, 64, 300])
def test_kmeans_exact_k_sorted_nearest(k):
    rng = np.random.default_rng(k)
    v = (rng.laplace(size=5000) * 0.1).astype(np.float32)
    c, a = kmeans_1d(v, k)
    assert c.shape == (k,) and c.dtype == np.float32
    assert np.all(np.diff(c) > 0)
    assert a.shape == v.shape and a.dtype == np.int64
    assert np.bincount(a, minlength=k).min() > 0
    assert brute_nearest_ok(v, c, a)


def test_kmeans_converged_centroids_are_means():
    rng = np.random.default_rng(9)
    v = rng.normal(size=3000)
    c, a = kmeans_1d(v, 20, iterations=10_000)
    means = np.bincount(a, weights=v) / np.bincount(a)
    np.testing.assert_allclose(c, means, atol=1e-12)


def test_kmeans_few_distinct_and_idempotent():
    v = np.array([[0.5, -1.0], [0.5, 2.0]])
    c, a = kmeans_1d(v, 8)
    np.testing.assert_array_equal(c, [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(c[a], v)
    rng = np.random.default_rng(10)
    w = rng.normal(size=20000).astype(np.float32)
    c1, a1 = kmeans_1d(w, 100)
    c2, a2 = kmeans_1d(c1[a1], 100)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(a1, a2)


def test_kmeans_heavy_duplicates_still_exact_k():
    v = np.concatenate([np.zeros(50_000), np.arange(1.0, 51.0)])
    for init in ("density", "quantile", "uniform"):
        c, a = kmeans_1d(v, 40, init=init)
        assert c.size == 40 and np.bincount(a).min() > 0 and brute_nearest_ok(v, c, a)
    c, a = kmeans_1d(v, 40, reseed=False)
    assert 1 <= c.size <= 40 and np.bincount(a, minlength=c.size).min() > 0
    assert brute_nearest_ok(v, c, a)
    c, a = kmeans_1d(v, 40, init=np.array([0.0, 25.0]))
    assert c.size == 40


@settings(max_examples=60, deadline=None)
@given(vals=st.lists(st.floats(-100, 100, allow_nan=False, width=32), min_size=1, max_size=200),
       k=st.integers(1, 40))
def test_kmeans_properties(vals, k):
    v = np.array(vals, dtype=np.float32)
    c, a = kmeans_1d(v, k)
    assert c.size == min(k, np.unique(v).size)
    assert np.all(np.diff(c) > 0)
    assert np.bincount(a, minlength=c.size).min() > 0
    assert brute_nearest_ok(v, c, a)


def test_kmeans_deterministic_and_fast_enough():
    rng = np.random.default_rng(11)
    v = (rng.laplace(size=300_000) * 0.05).astype(np.float32)
    t0 = time.perf_counter()
    c1, a1 = kmeans_1d(v, 1024)
    elapsed = time.perf_counter() - t0          # ~0.1 s; informational, not asserted
    c2, a2 = kmeans_1d(v, 1024)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(a1, a2)
    assert c1.size == 1024 and np.bincount(a1).min() > 0
    np.testing.assert_array_equal(assign_to_codebook(v, c1), a1)
    assert elapsed >= 0


def test_kmeans_bad_input():
    with pytest.raises(ValueError):
        kmeans_1d(np.array([]), 3)
    with pytest.raises(ValueError):
        kmeans_1d(np.array([1.0, np.nan]), 1)
    with pytest.raises(ValueError):
        kmeans_1d(np.arange(5.0), 0)
    with pytest.raises(ValueError):
        kmeans_1d(np.arange(50.0), 5, init="bogus")


def test_cluster_weights_global_codebook():
    rng = np.random.default_rng(12)
    params = [{"w": rng.normal(size=(20, 10)).astype(np.float32),
               "b": rng.normal(size=10).astype(np.float32)},
              {},
              {"w": rng.normal(size=(3, 3, 4)).astype(np.float32), "b": np.zeros(4, np.float32)}]
    codebook, idx = cluster_weights(params, 16)
    assert codebook.shape == (16,) and codebook.dtype == np.float32
    assert isinstance(idx, list) and idx[1] == {}
    for p, i in zip(params, idx):
        for key in p:
            assert i[key].shape == p[key].shape
            assert brute_nearest_ok(p[key], codebook, i[key])
    used = np.unique(np.concatenate([i[key].ravel() for i in idx for key in i]))
    assert used.size == 16
    cb1, idx1 = cluster_weights({"a": np.arange(4.0)}, 10)
    np.testing.assert_array_equal(cb1, np.arange(4.0))
    np.testing.assert_array_equal(idx1["a"], np.arange(4))
