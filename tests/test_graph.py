"""The op graph: built from a trained artifact and from a shape-only workload, its
node and edge attributes, totals, non-chain graphs with adds, and the errors a
hand-built graph can have (cycles, dangling references)."""
from __future__ import annotations

import copy
import math

import networkx as nx
import numpy as np
import pytest

from hwsim.ir.ops import ShapeOp, WeightedOp
from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.errors import HwsimError
from hwsim.ir.graph import (replace_op, OPS, check_graph, execution_order, graph_from_artifact,
                         graph_from_workload, level_bits, totals)
from hwsim.specs.yaml_reader import read_yaml
from hwsim.ir import layers as L
from hwsim.train.pipeline import run_training
from hwsim.specs.workload import workload_from_data
from tests.conftest import REPO


def tiny(name: str, **changes):
    """A bundled workload on a tiny training budget (epochs 2, fine-tune 1);
    changes as section__field=value."""
    data = copy.deepcopy(read_yaml(REPO / "workloads" / f"{name}.yaml"))
    data["training"].update(epochs=2, finetune_epochs=1)
    for key, value in changes.items():
        section, field = key.split("__")
        data[section][field] = value
    return workload_from_data(data)


def shape_only(input_shape, layers, *, task="classification", levels=4, clusters=4,
               input_levels=5, accumulator_bits=32, table_entry_bits=16, scope="global"):
    """A shape-only workload (dataset: none) from a list of layer mappings."""
    return workload_from_data({
        "schema_version": 1, "name": "shape-only", "description": "test network",
        "task": task, "dataset": "none",
        "input": {"shape": list(input_shape), "levels": input_levels}, "layers": layers,
        "discretization": {"activation_levels": levels, "weight_clusters": clusters,
                           "cluster_scope": scope},
        "integer": {"accumulator_bits": accumulator_bits, "table_entry_bits": table_entry_bits},
        "training": {"epochs": 1, "batch_size": 8, "learning_rate": 0.01,
                     "cluster_interval_steps": 10, "finetune_epochs": 1, "seed": 0},
        "realtime": {"frame_period_ms": 10, "deadline_ms": 10}})


RESIDUAL = [{"type": "dense", "units": 6, "name": "a"},
            {"type": "dense", "units": 6, "name": "b"},
            {"type": "add", "inputs": ["a", "b"], "name": "sum"},
            {"type": "dense", "units": 3, "name": "out"}]

CONV = [{"type": "conv2d", "filters": 3, "kernel": [3, 2], "stride": [2, 1], "padding": "same"},
        {"type": "depthwise_conv2d", "kernel": 2},
        {"type": "max_pool2d", "size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 4}]


@pytest.fixture(scope="module")
def mlp_artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("artifacts") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    return load_artifact(path)


def test_graph_from_artifact_nodes_and_edges(mlp_artifact):
    g = graph_from_artifact(mlp_artifact)
    assert execution_order(g) == ["input", "L0.flatten", "L1.dense", "L1.threshold",
                                  "L2.dense", "output"]
    assert g.graph["source"] == "artifact" and g.graph["accumulator_bits"] == 32
    assert set(g.graph["tables"]) == {"input", "hidden"}
    lut = g.nodes["L1.dense"]["op"]
    layer = lut.layer
    assert lut.kind == "dense" and lut.layer_index == 1
    assert (lut.fan_in, lut.outputs, lut.connections) == (64, 128, 64 * 128)
    assert (lut.weights, lut.biases, lut.params) == (8192, 128, L.num_params(layer))
    assert lut.table == "input" and lut.table_shape == (18, 32) and lut.levels_in == 17
    assert lut.clusters == 32 and lut.index_bits == 5
    assert lut.weight_index.shape == (64, 128) and lut.bias_index.shape == (128,)
    th = g.nodes["L1.threshold"]["op"]
    assert th.input_shape == th.output_shape == (128,)
    assert th.levels == 32 and th.thresholds.shape == (31,)
    assert th.units == 128 and th.compares_per_unit == 5
    assert g.nodes["output"]["op"].kind == "argmax" and g.nodes["output"]["op"].classes == 10
    sums = g.edges["L1.dense", "L1.threshold"]
    assert (sums["kind"], sums["levels"], sums["bits"], sums["elements"]) == ("sums", None, 32, 128)
    assert sums["packed_bytes"] == sums["unpacked_bytes"] == 512
    levels = g.edges["L1.threshold", "L2.dense"]
    assert (levels["kind"], levels["levels"], levels["bits"]) == ("levels", 32, 5)
    assert levels["packed_bytes"] == 80 and levels["unpacked_bytes"] == 128
    assert g.edges["input", "L0.flatten"]["shape"] == (8, 8, 1)


def test_totals_match_layer_params_and_macs(mlp_artifact):
    g = graph_from_artifact(mlp_artifact)
    w = mlp_artifact.workload
    shapes = [w.input_shape, *w.shapes]
    assert totals(g) == {"params": sum(L.num_params(layer) for layer in w.layers),
                         "weights": 64 * 128 + 128 * 10, "biases": 138,
                         "connections": sum(layer.macs(shapes[i])
                                            for i, layer in enumerate(w.layers))}


def test_graph_from_workload_conv_totals_and_seed():
    w = shape_only((6, 5, 2), CONV)
    g = graph_from_workload(w, seed=1)
    shapes = [w.input_shape, *w.shapes]
    assert totals(g)["params"] == sum(L.num_params(layer) for layer in w.layers)
    assert totals(g)["connections"] == sum(layer.macs(shapes[i])
                                           for i, layer in enumerate(w.layers))
    ops = [g.nodes[n]["op"].kind for n in execution_order(g)]
    assert ops == ["input", "conv2d", "threshold", "depthwise_conv2d", "threshold",
                   "max_pool2d", "flatten", "dense", "argmax"]
    assert g.graph["source"] == "random"
    assert g.nodes["L0.conv2d"]["op"].padding == "same"
    assert g.nodes["L2.max_pool2d"]["op"].window == 4
    for node in execution_order(g):
        a = g.nodes[node]["op"]
        if a.kind.startswith("lut_"):
            assert 0 <= a.weight_index.min() and a.weight_index.max() < a.clusters
            assert a.table_shape == g.graph["tables"][a.table].shape
    again, other = graph_from_workload(w, seed=1), graph_from_workload(w, seed=2)
    node = "L0.conv2d"
    np.testing.assert_array_equal(g.nodes[node]["op"].weight_index, again.nodes[node]["op"].weight_index)
    assert not np.array_equal(g.nodes[node]["op"].weight_index, other.nodes[node]["op"].weight_index)


def test_non_chain_graph_with_add():
    w = shape_only((5,), RESIDUAL)
    assert w.activation_flags == [True, False, True, False]
    g = graph_from_workload(w)
    assert execution_order(g) == ["input", "L0.dense", "L0.threshold", "L1.dense",
                                  "L2.add", "L2.threshold", "L3.dense", "output"]
    assert list(g.predecessors("L2.add")) == ["L0.threshold", "L1.dense"]
    assert set(g.successors("L0.threshold")) == {"L1.dense", "L2.add"}
    assert g.edges["L0.threshold", "L2.add"]["kind"] == "levels"
    assert g.edges["L1.dense", "L2.add"]["kind"] == "sums"
    assert g.edges["L2.add", "L2.threshold"]["kind"] == "sums"
    assert g.nodes["L2.add"]["op"].layer == L.Add(2)
    assert len(g.graph["value_tables"]["activation"]) == 4
    assert g.nodes["L2.threshold"]["op"].thresholds.shape == (3,)


def test_execution_order_is_stable():
    w = shape_only((5,), RESIDUAL)
    orders = {tuple(execution_order(graph_from_workload(w, seed))) for seed in range(3)}
    assert len(orders) == 1
    g = nx.DiGraph()
    for i, name in enumerate(["z", "b", "a", "c"]):
        g.add_node(name, op=_shape_op("input" if name == "z" else "flatten", i))
    g.add_edges_from([("z", "b"), ("z", "a"), ("a", "c"), ("b", "c")])
    assert execution_order(g) == ["z", "b", "a", "c"]      # ties: construction order


def _shape_op(kind: str, order: int) -> ShapeOp:
    return ShapeOp(kind=kind, order=order, output_shape=(1,), outputs=1, levels=None)


def _hand_graph(edges) -> nx.DiGraph:
    g = nx.DiGraph(name="hand")
    for i, name in enumerate(["x", "y", "z"]):
        g.add_node(name, op=_shape_op("flatten", i))
    g.add_edges_from(edges)
    return g


def test_cycle_is_an_error_naming_the_nodes():
    with pytest.raises(HwsimError, match=r"graph 'hand': cycle (x -> y -> z -> x|y -> z -> x -> y|"
                                         r"z -> x -> y -> z)"):
        check_graph(_hand_graph([("x", "y"), ("y", "z"), ("z", "x")]))


def test_dangling_reference_is_an_error_naming_the_nodes():
    g = _hand_graph([("x", "y"), ("y", "ghost")])
    with pytest.raises(HwsimError, match=r"node 'ghost' is referenced \(by y\) but never defined"):
        check_graph(g)
    g = _hand_graph([("x", "y")])
    replace_op(g, "z", kind="conv3d")
    with pytest.raises(HwsimError, match=r"node 'z': unknown op 'conv3d'"):
        check_graph(g)
    g = _hand_graph([("x", "y")])
    g.nodes["z"]["op"] = WeightedOp(
        kind="dense", order=2, output_shape=(1,), outputs=1, fan_in=1, connections=1, weights=1,
        biases=1, params=2, clusters=2, index_bits=1, table="nowhere", table_shape=(2, 2),
        levels_in=2, padding="valid", weight_index=np.zeros((1, 1)), bias_index=np.zeros(1))
    with pytest.raises(HwsimError, match=r"node 'z': table 'nowhere' does not exist"):
        check_graph(g)


def test_every_op_is_listed():
    assert set(OPS) >= {"input", "dense", "conv1d", "conv2d", "depthwise_conv2d",
                        "threshold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
                        "flatten", "add", "argmax", "output_table"}
    assert [level_bits(n) for n in (2, 3, 4, 17, 32, 256)] == [1, 2, 2, 5, 5, 8]


def test_autoencoder_graph_ends_with_output_table():
    w = shape_only((4, 2), [{"type": "flatten"}, {"type": "dense", "units": 3},
                            {"type": "dense", "units": 8}], task="autoencoder")
    g = graph_from_workload(w)
    out = g.nodes["output"]["op"]
    assert out.kind == "output_table" and out.levels == 4 and out.outputs == 8
    assert g.edges["L2.threshold", "output"]["kind"] == "levels"
    assert math.isclose(g.graph["output_values"][-1], 1.0)


def test_continuous_artifact_has_no_graph(tmp_path):
    result = run_training(tiny("digits-mlp", discretization__activation_levels="continuous",
                               discretization__weight_clusters="continuous"))
    save_artifact(result, tmp_path / "cont")
    with pytest.raises(HwsimError, match="no integer model"):
        graph_from_artifact(load_artifact(tmp_path / "cont"))
