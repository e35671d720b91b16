"""The vectorised executor against the plain-Python reference (and, for chains,
the trainer's integer pass) on random small networks: every node's output bit for
bit and every action count number for number."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from hwsim.ir.graph import replace_op
from hwsim.errors import HwsimError
from hwsim.execute.executor import execute
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.random_model import random_integer_model
from hwsim.execute.reference import count_reached, reference_run, search_steps
from hwsim.ir.integer import integer_forward
from tests.test_graph import CONV, RESIDUAL, shape_only

PADDING = st.sampled_from(["valid", "same"])
WIDTHS = st.sampled_from([(16, 8), (16, 16), (32, 8), (32, 16), (32, 32)])


def _pool(draw, dims: int):
    kind = draw(st.sampled_from(["max", "avg"]))
    if dims == 1:
        return {"type": f"{kind}_pool1d", "size": draw(st.integers(1, 2))}
    return {"type": f"{kind}_pool2d", "size": [draw(st.integers(1, 2)), draw(st.integers(1, 2))]}


@st.composite
def networks(draw):
    """(workload, seed, inputs) of a small random network of one of five families."""
    family = draw(st.sampled_from(["dense", "conv1d", "conv2d", "residual", "residual_conv"]))
    task = draw(st.sampled_from(["classification", "autoencoder"]))
    if family == "dense":
        shape = (draw(st.integers(1, 6)),)
        layers = [{"type": "dense", "units": draw(st.integers(1, 5))}
                  for _ in range(draw(st.integers(0, 2)))]
    elif family == "conv1d":
        shape = (draw(st.integers(3, 8)), draw(st.integers(1, 3)))
        layers = [{"type": "conv1d", "filters": draw(st.integers(1, 3)),
                   "kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
                   "padding": draw(PADDING)}]
        if draw(st.booleans()):
            layers.append(_pool(draw, 1))
        layers.append({"type": "flatten"})
    elif family == "conv2d":
        shape = (draw(st.integers(3, 5)), draw(st.integers(3, 5)), draw(st.integers(1, 2)))
        layers = [{"type": "conv2d", "filters": draw(st.integers(1, 3)),
                   "kernel": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                   "stride": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
                   "padding": draw(PADDING)}]
        if draw(st.booleans()):
            layers.append({"type": "depthwise_conv2d", "kernel": draw(st.integers(1, 2)),
                           "stride": draw(st.integers(1, 2)), "padding": draw(PADDING)})
        if draw(st.booleans()):
            layers.append(_pool(draw, 2))
        layers.append({"type": "flatten"})
    elif family == "residual":
        shape = (draw(st.integers(1, 5)),)
        units = draw(st.integers(1, 4))
        layers = [{"type": "dense", "units": units, "name": "a"},
                  {"type": "dense", "units": units, "name": "b"},
                  {"type": "add", "inputs": ["a", "b"], "name": "ab"}]
        if draw(st.booleans()):             # b's sums reach the add as levels instead
            layers[1]["activation"] = True
        if draw(st.booleans()):
            layers += [{"type": "dense", "units": units, "name": "c"},
                       {"type": "add", "inputs": ["ab", "c", "a"], "name": "abc"}]
    else:
        shape = (draw(st.integers(2, 4)), draw(st.integers(2, 4)), draw(st.integers(1, 2)))
        filters = draw(st.integers(1, 2))
        layers = [{"type": "conv2d", "filters": filters, "kernel": 2, "padding": "same",
                   "name": "a"},
                  {"type": "depthwise_conv2d", "kernel": draw(st.integers(1, 2)),
                   "padding": "same", "name": "b"},
                  {"type": "add", "inputs": ["a", "b"], "name": "ab"},
                  {"type": "flatten", "name": "flat"}]
    outputs = int(np.prod(shape)) if task == "autoencoder" else draw(st.integers(2, 4))
    layers.append({"type": "dense", "units": outputs, "name": "out"})
    accumulator_bits, table_entry_bits = draw(WIDTHS)
    try:
        workload = shape_only(shape, layers, task=task, levels=draw(st.integers(2, 9)),
                              clusters=draw(st.integers(2, 6)),
                              input_levels=draw(st.integers(2, 9)),
                              accumulator_bits=accumulator_bits,
                              table_entry_bits=table_entry_bits,
                              scope=draw(st.sampled_from(["global", "per_layer"])))
    except HwsimError:
        assume(False)
    seed = draw(st.integers(0, 2 ** 16))
    batch = draw(st.integers(1, 3))
    x = np.random.default_rng(seed).integers(0, workload.input_levels, (batch, *shape))
    return workload, seed, x


def assert_same(graph, x):
    """Executor and reference agree on every node's output and action counts."""
    ours, theirs = execute(graph, x), reference_run(graph, x)
    assert list(ours.nodes) == list(theirs.nodes)
    for node, run in ours.nodes.items():
        np.testing.assert_array_equal(run.output, theirs.nodes[node], err_msg=node)
        counts = run.counts.as_dict()
        expected = {name: theirs.counts[node].get(name, 0) for name in
                    ("index_loads", "table_loads", "activation_loads", "threshold_loads", "adds",
                     "compares", "branches", "max_ops", "stores")}
        assert {k: counts[k] for k in expected} == expected, node
        assert counts["multiplies"] == counts["float_ops"] == 0
    np.testing.assert_array_equal(ours.outputs, theirs.outputs)
    return ours


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_executor_matches_the_reference(network):
    workload, seed, x = network
    try:
        graph = graph_from_workload(workload, seed)
    except HwsimError:                 # no scale fits these widths: not a network to run
        assume(False)
    assert_same(graph, x)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_chains_match_the_trainers_integer_pass(network):
    workload, seed, x = network
    assume(workload.is_chain)
    try:
        model = random_integer_model(workload, seed)
    except HwsimError:
        assume(False)
    graph = graph_from_workload(workload, seed)
    run = execute(graph, x)
    trace = integer_forward(model, x)
    np.testing.assert_array_equal(run.outputs, trace.outputs)
    for i, expected in enumerate(trace.per_layer):
        node = next(n for n in reversed(list(run.nodes)) if graph.nodes[n]["op"].layer_index == i)
        np.testing.assert_array_equal(run.nodes[node].output, expected, err_msg=node)


@pytest.mark.parametrize("workload", [
    shape_only((6, 5, 2), CONV),
    shape_only((3,), RESIDUAL, task="autoencoder", levels=5, accumulator_bits=16,
               table_entry_bits=8),
    shape_only((7, 3), [{"type": "conv1d", "filters": 4, "kernel": 3, "stride": 2,
                         "padding": "same"}, {"type": "avg_pool1d", "size": 2},
                        {"type": "flatten"}, {"type": "dense", "units": 3}], scope="per_layer"),
], ids=["conv2d-depthwise-maxpool", "residual-autoencoder", "conv1d-same-avgpool"])
def test_examples(workload):
    x = np.random.default_rng(0).integers(0, workload.input_levels, (3, *workload.input_shape))
    run = assert_same(graph_from_workload(workload, 7), x)
    assert run.per_inference.adds > 0


def test_same_padding_taps_contribute_nothing():
    """conv1d, kernel 3, 'same' on a length-3 signal: the first and the last output
    each have one padded tap, which adds nothing (worked by hand)."""
    w = shape_only((3, 1), [{"type": "conv1d", "filters": 1, "kernel": 3, "padding": "same"},
                            {"type": "flatten"}, {"type": "dense", "units": 2}],
                   clusters=3, input_levels=3)
    g = graph_from_workload(w, 0)
    table = np.array([[0, 1, 2], [10, 11, 12], [20, 21, 22], [100, 101, 102]])
    g.graph["tables"] = {**g.graph["tables"], "input": table}
    replace_op(g, "L0.conv1d", weight_index=np.array([[0], [1], [2]]), bias_index=np.array([0]))
    x = np.array([[[1], [2], [0]]])
    # p0: 100 + T[1, 1] + T[2, 2]    p1: 100 + T[1, 0] + T[2, 1] + T[0, 2]
    # p2: 100 + T[2, 0] + T[0, 1]
    expected = [[[133], [133], [121]]]
    run = assert_same(g, x)
    np.testing.assert_array_equal(run.nodes["L0.conv1d"].output, expected)
    assert run.nodes["L0.conv1d"].counts.adds == 7          # 9 taps, 2 padded


def test_reference_building_blocks():
    assert [search_steps(n) for n in (2, 3, 4, 5, 8, 9, 32, 256)] == [1, 2, 2, 3, 3, 4, 5, 8]
    assert [count_reached(v, [-3, 0, 0, 5]) for v in (-4, -3, 0, 4, 5, 99)] == [0, 1, 3, 3, 4, 4]
