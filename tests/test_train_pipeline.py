"""Training end to end on small budgets: clustering leaves exactly K values, the
integer network tracks the float-simulated one, the export is sound."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, strategies as st

from hwsim.datasets import load_dataset
from hwsim.specs.yaml_reader import read_yaml
from hwsim.train import activations as act
from hwsim.train import layers as L
from hwsim.ir.levels import avg_pool_bounds, integer_thresholds
from hwsim.ir.integer import count_reached, integer_forward, layer_sums
from hwsim.ir.levels import input_values, quantize_input
from hwsim.train.pipeline import run_training
from hwsim.specs.workload import Workload, workload_from_data
from tests.conftest import REPO


def small(name: str, **changes) -> Workload:
    data = copy.deepcopy(read_yaml(REPO / "workloads" / f"{name}.yaml"))
    data["training"].update(epochs=3, finetune_epochs=2)
    for key, value in changes.items():
        section, field = key.split("__")
        data[section][field] = value
    return workload_from_data(data)


@pytest.fixture(scope="module")
def mlp_result():
    return run_training(small("digits-mlp", discretization__activation_levels=8,
                              discretization__weight_clusters=16))


def test_metrics_reported(mlp_result):
    m = mlp_result.metrics
    assert m["metric"] == "accuracy"
    for key in ("continuous", "discretized", "integer", "agreement"):
        assert 0.0 <= m[key] <= 1.0
    assert m["continuous"] > 0.85 and m["integer"] > 0.8
    assert m["agreement"] > 0.95


def test_exactly_k_unique_weights(mlp_result):
    values = np.concatenate([p[k].ravel() for p in mlp_result.discrete_params for k in p])
    assert len(np.unique(values)) == 16
    assert len(mlp_result.clustering.codebooks["global"]) == 16


def _conv_net_result():
    data = copy.deepcopy(read_yaml(REPO / "workloads" / "digits-ae.yaml"))
    data["training"].update(epochs=2, finetune_epochs=1)
    data["layers"] = [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
                      {"type": "depthwise_conv2d", "kernel": [3, 2], "stride": [2, 1],
                       "padding": "same"},
                      {"type": "avg_pool2d", "size": 2},
                      {"type": "flatten"}, {"type": "dense", "units": 64}]
    return run_training(workload_from_data(data))


@pytest.fixture(scope="module")
def conv_result():
    return _conv_net_result()


@pytest.mark.parametrize("which", ["mlp_result", "conv_result"])
def test_integer_sums_track_scaled_float_sums(which, request):
    """Each unit's integer sum is its float pre-activation times 2^s, up to the
    rounding of the table entries it added (at most half a unit each); "same"
    padding contributes nothing in both."""
    result = request.getfixturevalue(which)
    model, params = result.integer_model, result.discrete_params
    x = np.asarray(load_dataset("digits").x_test[:40], dtype=np.float64)
    levels = quantize_input(x, model.input_levels)
    trace = integer_forward(model, levels)
    inputs = [levels] + list(trace.per_layer[:-1])
    checked = 0
    for i, spec in enumerate(model.layers):
        if spec.table is None:
            continue
        values = (input_values(model.input_levels) if spec.levels_in == model.input_levels
                  and i == next(j for j, s in enumerate(model.layers) if s.table) else
                  act.level_values(model.activation_levels))[inputs[i]]
        z, _ = L.forward(spec.layer, params[i], values)
        sums = layer_sums(model, spec, inputs[i])
        tolerance = (spec.layer.fan_in + 1) / 2
        assert np.all(np.abs(sums - np.ldexp(z, model.scale_bits)) <= tolerance), i
        checked += 1
    assert checked >= 2


def test_no_overflow_and_binding_bound():
    result = run_training(small("digits-mlp", integer__accumulator_bits=16,
                                integer__table_entry_bits=16,
                                discretization__weight_clusters=16))
    assert result.scale.binding == "accumulator"
    assert result.scale.scale_bits == result.scale.accumulator_limit_bits
    x = load_dataset("digits").x_test
    trace = integer_forward(result.integer_model, quantize_input(x, 17))
    assert np.abs(trace.sums).max() <= 2 ** 15 - 1


def test_per_layer_scope():
    result = run_training(small("digits-mlp", discretization__cluster_scope="per_layer",
                                discretization__weight_clusters=8))
    assert set(result.clustering.codebooks) == {"layer1", "layer2"}
    assert set(result.integer_model.tables) == {"layer1", "layer2"}
    assert all(len(c) == 8 for c in result.clustering.codebooks.values())
    assert result.integer_model.tables["layer1"].shape == (18, 8)   # 17 input levels + bias
    assert result.integer_model.tables["layer2"].shape == (33, 8)   # 32 levels + bias


def test_autoencoder_with_same_padding_and_avg_pool(conv_result):
    m = conv_result.metrics
    assert m["metric"] == "mse" and m["integer"] < 0.2
    assert m["agreement"] > 0.9
    pool = conv_result.integer_model.layers[2]
    assert len(pool.pool_bounds) == conv_result.integer_model.activation_levels - 1


def test_continuous_only_workload():
    result = run_training(small("digits-mlp", discretization__activation_levels="continuous",
                                discretization__weight_clusters="continuous"))
    assert result.integer_model is None
    assert set(result.metrics) == {"metric", "continuous"}


def test_deterministic(mlp_result):
    again = run_training(small("digits-mlp", discretization__activation_levels=8,
                               discretization__weight_clusters=16))
    assert again.metrics == mlp_result.metrics
    for a, b in zip(again.integer_model.tables.values(), mlp_result.integer_model.tables.values()):
        np.testing.assert_array_equal(a, b)


@given(st.integers(2, 256), st.integers(0, 20), st.integers(-(2 ** 20), 2 ** 20))
def test_integer_thresholds_agree_with_real_thresholds(levels, scale, acc):
    theta = integer_thresholds(levels, scale, bound=2 ** 40)
    real = np.ldexp(act.thresholds(levels), scale)
    assert count_reached(np.array([acc]), theta)[0] == np.count_nonzero(acc >= real)


@given(st.integers(2, 12), st.integers(2, 64))
def test_avg_pool_bounds_round_the_mean_half_up(window, levels):
    bounds = avg_pool_bounds(window, levels)
    sums = np.arange(0, window * (levels - 1) + 1)
    expected = np.floor(sums / window + 0.5).astype(int)
    np.testing.assert_array_equal(count_reached(sums, bounds), expected)
