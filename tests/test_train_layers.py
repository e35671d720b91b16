"""Layers and im2col of the bundled trainer: shapes, costs, forward semantics, gradients."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hwsim.ir import geometry as im2col
from hwsim.train.layers import (
    AvgPool1D, AvgPool2D, Conv1D, Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool1D,
    MaxPool2D, backward, forward, init_params, num_params,
)


def numeric_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of scalar f() w.r.t. arr (modified in place, restored)."""
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + eps
        fp = f()
        arr[i] = old - eps
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def assert_close_grad(analytic, numeric, tol=1e-6):
    scale = max(1.0, float(np.abs(numeric).max()))
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=tol * scale)


CASES = [
    (Dense(5, 3), (5,)),
    (Conv1D(3, 4, 3), (7, 3)),
    (Conv1D(2, 3, 4, stride=2, padding="same"), (9, 2)),
    (Conv1D(2, 3, 3, stride=3), (10, 2)),
    (Conv1D(1, 2, 5, stride=2, padding="same"), (3, 1)),        # kernel > input, 'same'
    (Conv2D(2, 3, 3, 2, stride_h=2, stride_w=1, padding="same"), (7, 5, 2)),
    (Conv2D(2, 3, 2, 3, stride_h=2, stride_w=2), (6, 7, 2)),
    (Conv2D(1, 2, 4, 2, stride_h=2, stride_w=2, padding="same"), (6, 4, 1)),
    (DepthwiseConv2D(3, 3, 3, padding="same"), (5, 4, 3)),
    (DepthwiseConv2D(2, 2, 3, stride_h=2, stride_w=2, padding="same"), (5, 6, 2)),
    (DepthwiseConv2D(2, 3, 2, stride_h=1, stride_w=2), (5, 6, 2)),
    (MaxPool1D(2), (8, 3)),
    (MaxPool1D(3, stride=2), (9, 2)),                            # overlapping windows
    (AvgPool1D(3, stride=1), (7, 2)),
    (MaxPool2D(2, 2), (4, 6, 2)),
    (MaxPool2D(3, 3, 2, 2), (7, 7, 2)),
    (AvgPool2D(2, 3, 1, 2), (5, 7, 2)),
    (Flatten(), (3, 4, 2)),
]


@pytest.mark.parametrize("layer,in_shape", CASES, ids=lambda v: repr(v))
def test_gradients_match_finite_differences(layer, in_shape):
    rng = np.random.default_rng(1)
    params = {k: rng.normal(size=v) for k, v in layer.param_shapes().items()}
    x = rng.normal(size=(2,) + in_shape)
    y, cache = forward(layer, params, x)
    assert y.shape[1:] == layer.output_shape(in_shape)
    dy = rng.normal(size=y.shape)
    dx, grads = backward(layer, params, cache, dy)
    assert dx.shape == x.shape
    assert set(grads) == set(params)

    def loss():
        return float(np.sum(forward(layer, params, x)[0] * dy))

    assert_close_grad(dx, numeric_grad(loss, x))
    for name, p in params.items():
        assert grads[name].shape == p.shape
        assert_close_grad(grads[name], numeric_grad(loss, p))


@pytest.mark.parametrize("layer,in_shape", CASES, ids=lambda v: repr(v))
def test_dtype_preserved(layer, in_shape):
    rng = np.random.default_rng(2)
    params = init_params(layer, rng, dtype=np.float32)
    x = rng.normal(size=(3,) + in_shape).astype(np.float32)
    y, cache = forward(layer, params, x)
    dx, grads = backward(layer, params, cache, np.ones_like(y))
    assert y.dtype == np.float32 and dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


# ---------------------------------------------------------------- forward semantics

def naive_conv2d(x, w4, b, sh, sw, pad_h, pad_w):
    """Direct convolution (TF cross-correlation), w4 (kh, kw, C, O)."""
    xp = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)))
    kh, kw = w4.shape[:2]
    oh = (xp.shape[1] - kh) // sh + 1
    ow = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, w4.shape[-1]))
    for p in range(oh):
        for q in range(ow):
            win = xp[:, p * sh:p * sh + kh, q * sw:q * sw + kw, :]
            y[:, p, q, :] = np.einsum("nijc,ijco->no", win, w4) + b
    return y


def test_conv2d_matches_direct_convolution_and_tf_same_padding():
    rng = np.random.default_rng(3)
    layer = Conv2D(3, 4, 3, 2, stride_h=2, stride_w=2, padding="same")
    x = rng.normal(size=(2, 6, 5, 3))
    w4 = rng.normal(size=(3, 2, 3, 4))
    b = rng.normal(size=4)
    # documented layout: row (i * kw + j) * C + c
    y, _ = forward(layer, {"w": w4.reshape(-1, 4), "b": b}, x)
    # TF 'same': H 6, k 3, s 2 -> out 3, total pad 1 -> (0, 1); W 5, k 2, s 2 -> out 3, pad 1 -> (0, 1)
    np.testing.assert_allclose(y, naive_conv2d(x, w4, b, 2, 2, (0, 1), (0, 1)), atol=1e-12)


def test_conv1d_and_depthwise_match_direct():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 7, 3))
    w3 = rng.normal(size=(3, 3, 5))               # (k, C, O)
    b = rng.normal(size=5)
    y, _ = forward(Conv1D(3, 5, 3, padding="same"), {"w": w3.reshape(-1, 5), "b": b}, x)
    ref = naive_conv2d(x[:, :, None, :], w3[:, None], b, 1, 1, (1, 1), (0, 0))[:, :, 0, :]
    np.testing.assert_allclose(y, ref, atol=1e-12)

    x = rng.normal(size=(2, 5, 6, 3))
    wd = rng.normal(size=(3, 3, 3))               # (kh, kw, C)
    bd = rng.normal(size=3)
    y, _ = forward(DepthwiseConv2D(3, 3, 3, stride_h=2, stride_w=2),
                   {"w": wd.reshape(9, 3), "b": bd}, x)
    ref = np.stack([naive_conv2d(x[..., c:c + 1], wd[:, :, c:c + 1, None], bd[c:c + 1], 2, 2,
                                 (0, 0), (0, 0))[..., 0] for c in range(3)], axis=-1)
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_pools_forward_values():
    x = np.arange(2 * 4 * 4 * 1, dtype=float).reshape(2, 4, 4, 1)
    y, _ = forward(MaxPool2D(2, 2), {}, x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 7], [13, 15]])
    y, _ = forward(AvgPool2D(2, 2), {}, x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    y, _ = forward(MaxPool1D(3, 1), {}, np.array([[[1.0], [3.0], [2.0], [0.0]]]))
    np.testing.assert_array_equal(y[0, :, 0], [3, 3])


def test_maxpool_ties_route_gradient_once():
    x = np.zeros((1, 4, 1))
    y, cache = forward(MaxPool1D(2), {}, x)
    dx, _ = backward(MaxPool1D(2), {}, cache, np.ones_like(y))
    assert dx.sum() == 2 and dx.max() == 1


@pytest.mark.parametrize("size", [2, 3, 4])
def test_maxpool_is_argmax_and_gather_ties_and_nan_included(size):
    # The max pool walks the window's taps; it must pick what np.argmax picks (the first
    # maximum, the first NaN) and route the gradient there.
    rng = np.random.default_rng(size)
    x = rng.integers(0, 3, size=(5, 4 * size, 3)).astype(np.float64)   # many ties
    for case in (x, np.where(rng.random(x.shape) < 0.1, np.nan, x)):
        y, cache = forward(MaxPool1D(size), {}, case)
        windows = case.reshape(5, 4, size, 3)
        arg = np.argmax(windows, axis=2)
        np.testing.assert_array_equal(y, np.take_along_axis(windows, arg[:, :, None], 2)[:, :, 0])
        np.testing.assert_array_equal(cache[0][..., 0, :], arg)
        dx, _ = backward(MaxPool1D(size), {}, cache, np.ones_like(y))
        routed = np.zeros_like(windows)
        np.put_along_axis(routed, arg[:, :, None], 1.0, axis=2)
        np.testing.assert_array_equal(dx, routed.reshape(case.shape))


def test_flatten_is_c_order():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    y, _ = forward(Flatten(), {}, x)
    np.testing.assert_array_equal(y[0], np.arange(24.0))


# ---------------------------------------------------------------- shapes, costs, init

def test_mlperf_kws_costs():
    conv = Conv2D(1, 64, 10, 4, stride_h=2, stride_w=2, padding="same")
    assert conv.output_shape((49, 10, 1)) == (25, 5, 64)
    assert conv.macs((49, 10, 1)) == 320_000
    assert conv.fan_in == 40
    assert num_params(conv) == 40 * 64 + 64
    dw = DepthwiseConv2D(64, 3, 3, padding="same")
    assert dw.output_shape((25, 5, 64)) == (25, 5, 64)
    assert dw.macs((25, 5, 64)) == 72_000
    assert dw.fan_in == 9
    assert num_params(dw) == 9 * 64 + 64
    pw = Conv2D(64, 64, 1, 1)
    assert pw.macs((25, 5, 64)) == 125 * 64 * 64
    assert AvgPool2D(25, 5).output_shape((25, 5, 64)) == (1, 1, 64)
    assert AvgPool2D(25, 5).macs((25, 5, 64)) == 0
    assert Flatten().output_shape((1, 1, 64)) == (64,)
    fc = Dense(64, 12)
    assert fc.macs((64,)) == 768 and fc.fan_in == 64 and num_params(fc) == 780


def test_costs_other_layers():
    c1 = Conv1D(8, 16, 5, stride=2)
    assert c1.output_shape((40, 8)) == (18, 16)
    assert c1.macs((40, 8)) == 18 * 16 * 40
    assert c1.param_shapes() == {"w": (40, 16), "b": (16,)}
    assert Conv1D(8, 16, 5, stride=2, padding="same").output_shape((40, 8)) == (20, 16)
    assert Dense(10, 3).param_shapes() == {"w": (10, 3), "b": (3,)}
    assert MaxPool1D(2).param_shapes() == {} and num_params(Flatten()) == 0
    assert MaxPool1D(2).stride == 2 and MaxPool2D(3, 2).stride_h == 3


@pytest.mark.parametrize("length,kernel,stride,out,pads", [
    (5, 3, 2, 3, (1, 1)), (6, 3, 2, 3, (0, 1)), (49, 10, 2, 25, (4, 5)), (10, 4, 2, 5, (1, 1)),
    (4, 1, 2, 2, (0, 0)), (3, 5, 1, 3, (2, 2)),
])
def test_same_padding_tf_rule(length, kernel, stride, out, pads):
    assert im2col.output_length(length, kernel, stride, "same") == out
    assert im2col.same_padding(length, kernel, stride) == pads
    idx, before, after = im2col.patch_indices_1d(length, kernel, stride, "same")
    assert idx.shape == (out, kernel) and (before, after) == pads
    assert idx.max() < length + before + after


@pytest.mark.parametrize("layer,shape,match", [
    (Conv2D(3, 4, 5, 5), (4, 4, 3), "does not fit"),
    (Conv2D(3, 4, 5, 5), (8, 8, 2), "channels"),
    (Conv2D(3, 4, 3, 3), (8, 3), r"\(H, W, C\)"),
    (DepthwiseConv2D(4, 3, 3), (8, 8, 3), "channels"),
    (Conv1D(2, 4, 9), (8, 2), "does not fit"),
    (Conv1D(2, 4, 3), (8, 3), "channels"),
    (Dense(10, 2), (9,), "features"),
    (Dense(10, 2), (2, 5), "Flatten"),
    (MaxPool2D(3, 3), (2, 5, 1), "does not fit"),
    (MaxPool1D(4), (3, 1), "does not fit"),
    (AvgPool1D(2), (4, 4, 1), r"\(L, C\)"),
    (Flatten(), (), "non-empty"),
])
def test_bad_shapes_raise(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer.output_shape(shape)


def test_bad_inputs_and_configs_raise():
    with pytest.raises(ValueError, match="channels"):
        forward(Conv1D(2, 3, 3), {"w": np.zeros((6, 3)), "b": np.zeros(3)}, np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match="batched"):
        forward(Dense(3, 2), {"w": np.zeros((3, 2)), "b": np.zeros(2)}, np.zeros(3))
    with pytest.raises(ValueError, match="padding"):
        Conv2D(1, 1, 3, 3, padding="full")
    with pytest.raises(ValueError, match="kernel"):
        Conv1D(1, 1, 0)
    with pytest.raises(ValueError, match="stride"):
        MaxPool1D(2, stride=-1)
    with pytest.raises(TypeError):
        forward("dense", {}, np.zeros((1, 2)))


@pytest.mark.parametrize("layer", [Dense(30, 20), Conv1D(4, 8, 3), Conv2D(3, 16, 3, 3),
                                   DepthwiseConv2D(8, 3, 3), MaxPool2D(2, 2), Flatten()])
def test_init_params(layer):
    params = init_params(layer, np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == layer.param_shapes()
    if params:
        assert params["w"].dtype == np.float32
        assert not params["b"].any()
        assert np.abs(params["w"]).max() <= math.sqrt(6 / layer.fan_in) + 1e-6
        assert params["w"].std() > 0
    again = init_params(layer, np.random.default_rng(0), dtype=np.float64)
    for k in params:
        np.testing.assert_allclose(params[k], again[k], rtol=1e-6)


# ---------------------------------------------------------------- im2col helpers

def test_extract_patches_integer_levels_and_fill():
    levels = np.arange(2 * 5 * 3, dtype=np.int8).reshape(2, 5, 3)
    p = im2col.extract_patches_1d(levels, 3, 2, "same", fill=-7)
    assert p.dtype == np.int8 and p.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(p[:, 0, 0, :], -7)          # leading pad
    np.testing.assert_array_equal(p[:, 0, 1, :], levels[:, 0, :])
    img = np.arange(4 * 3 * 2, dtype=np.uint8).reshape(1, 4, 3, 2)
    p2 = im2col.extract_patches(img, (3, 3), 1, "same", fill=255)
    assert p2.dtype == np.uint8 and p2.shape == (1, 4, 3, 3, 3, 2)
    np.testing.assert_array_equal(p2[0, 1, 1, :, :, 0], img[0, 0:3, 0:3, 0])
    assert (p2[0, 0, 0, 0, :, :] == 255).all()
    rows, cols, ph, pw = im2col.patch_indices_2d(4, 3, 3, 3, 1, 1, "same")
    assert rows.shape == (4, 3) and cols.shape == (3, 3) and ph == (1, 1) and pw == (1, 1)
    with pytest.raises(ValueError, match="padding"):
        im2col.patch_indices_1d(5, 3, 1, "full")


@pytest.mark.parametrize("args", [(9, 3, 2, "same"), (10, 4, 3, "valid"), (5, 5, 1, "same")])
def test_fold_is_adjoint_of_extract_1d(args):
    length, k, s, pad = args
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, length, 3))
    p = im2col.extract_patches_1d(x, k, s, pad)
    q = rng.normal(size=p.shape)
    lhs = np.sum(p * q)
    rhs = np.sum(x * im2col.fold_patches_1d(q, length, k, s, pad))
    assert lhs == pytest.approx(rhs)


def test_fold_is_adjoint_of_extract_2d():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 6, 3))
    p = im2col.extract_patches_2d(x, 3, 2, 2, 3, "same")
    q = rng.normal(size=p.shape)
    rhs = np.sum(x * im2col.fold_patches_2d(q, 7, 6, 3, 2, 2, 3, "same"))
    assert np.sum(p * q) == pytest.approx(rhs)
