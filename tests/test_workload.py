"""Workload specs: bundled ones validate; every kind of bad spec is reported with its path."""
from __future__ import annotations

import copy

import pytest

from hwsim.specs.bundled import bundled_names
from hwsim.errors import SpecError
from hwsim.specs.yaml_reader import read_yaml
from hwsim.ir import layers as L
from hwsim.specs.workload import load_workload, workload_from_data
from tests.conftest import REPO


@pytest.fixture
def mlp() -> dict:
    return copy.deepcopy(read_yaml(REPO / "workloads" / "digits-mlp.yaml"))


@pytest.mark.parametrize("name", bundled_names("workloads"))
def test_bundled_workloads_validate(name):
    workload = load_workload(name)
    assert workload.name == name
    assert workload.layers


def test_shapes_chain(mlp):
    w = workload_from_data(mlp)
    assert isinstance(w.layers[1], L.Dense) and w.layers[1].in_features == 64
    assert w.output_shape == (10,)


def test_har_cnn_geometry():
    w = load_workload("har-cnn")
    assert isinstance(w.layers[0], L.Conv1D) and w.layers[0].in_channels == 3
    assert w.output_shape == (7,)


def test_unknown_layer(mlp):
    mlp["layers"][1]["type"] = "lstm"
    with pytest.raises(SpecError, match=r"layers\[1\]\.type: must be one of dense, conv1d"):
        workload_from_data(mlp)


def test_shapes_that_do_not_chain(mlp):
    del mlp["layers"][0]  # dense straight after an (8, 8, 1) input
    with pytest.raises(SpecError, match=r"layers\[0\]: dense needs a flat input, got shape "
                                        r"\[8, 8, 1\]; add a flatten layer"):
        workload_from_data(mlp)


def test_kernel_too_large():
    data = copy.deepcopy(read_yaml(REPO / "workloads" / "har-cnn.yaml"))
    data["layers"][2]["kernel"] = 40
    with pytest.raises(SpecError, match=r"layers\[2\]: Conv1D: length kernel 40 does not fit"):
        workload_from_data(data)


@pytest.mark.parametrize("field,value,message", [
    ("activation_levels", 1, r"activation_levels: must be an integer from 2 to 256 or "
                             r"'continuous', got 1"),
    ("weight_clusters", 1, r"weight_clusters: must be an integer from 2 to 4096"),
    ("activation_levels", 300, r"activation_levels: must be an integer from 2 to 256"),
])
def test_levels_and_clusters_range(mlp, field, value, message):
    mlp["discretization"][field] = value
    with pytest.raises(SpecError, match=rf"discretization\.{message}"):
        workload_from_data(mlp)


def test_continuous_is_allowed(mlp):
    mlp["discretization"]["activation_levels"] = "continuous"
    mlp["discretization"]["weight_clusters"] = "continuous"
    w = workload_from_data(mlp)
    assert not w.discretization.is_discrete


def test_widths(mlp):
    mlp["integer"]["accumulator_bits"] = 24
    mlp["integer"]["table_entry_bits"] = 12
    with pytest.raises(SpecError) as info:
        workload_from_data(mlp)
    text = str(info.value)
    assert "integer.accumulator_bits: must be 16 or 32, got 24" in text
    assert "integer.table_entry_bits: must be 8, 16 or 32, got 12" in text


def test_negative_epochs(mlp):
    mlp["training"]["epochs"] = -3
    with pytest.raises(SpecError, match=r"training\.epochs: must be >= 0, got -3"):
        workload_from_data(mlp)


def test_deadline_after_period(mlp):
    mlp["realtime"]["deadline_ms"] = 50
    with pytest.raises(SpecError, match=r"realtime\.deadline_ms: must not exceed frame_period_ms"):
        workload_from_data(mlp)


def test_output_layer_must_be_weighted(mlp):
    mlp["layers"].append({"type": "flatten"})
    with pytest.raises(SpecError, match=r"layers: must end with a dense or convolution layer"):
        workload_from_data(mlp)


def test_autoencoder_output_size():
    data = copy.deepcopy(read_yaml(REPO / "workloads" / "digits-ae.yaml"))
    data["layers"][-1]["units"] = 63
    with pytest.raises(SpecError, match=r"an autoencoder must output as many values as its "
                                        r"input \(64\), got 63"):
        workload_from_data(data)


def test_every_problem_listed_at_once(mlp):
    mlp["layers"][1]["type"] = "lstm"
    mlp["discretization"]["activation_levels"] = 1
    mlp["integer"]["accumulator_bits"] = 8
    mlp["training"]["epochs"] = -1
    mlp["colour"] = "red"
    with pytest.raises(SpecError) as info:
        workload_from_data(mlp, "w.yaml")
    paths = {p.path for p in info.value.problems}
    assert {"layers[1].type", "discretization.activation_levels", "integer.accumulator_bits",
            "training.epochs", "colour"} <= paths


def test_overrides_are_validated(mlp):
    w = workload_from_data(mlp)
    assert w.with_overrides(levels=4, clusters=8, seed=3).discretization.activation_levels == 4
    with pytest.raises(SpecError, match=r"activation_levels: must be an integer from 2"):
        w.with_overrides(levels=1)


def test_hash_changes_with_content(mlp):
    a = workload_from_data(mlp)
    assert a.sha256 == workload_from_data(copy.deepcopy(mlp)).sha256
    assert a.with_overrides(seed=9).sha256 != a.sha256


def test_classification_needs_a_flat_output():
    data = copy.deepcopy(read_yaml(REPO / "workloads" / "har-cnn.yaml"))
    data["layers"] = data["layers"][:3]
    with pytest.raises(SpecError, match=r"layers: a classification must end with a dense layer"):
        workload_from_data(data)


def test_layer_paths_stay_aligned_after_a_bad_item(mlp):
    mlp["layers"] = [{"type": "flatten"}, 5, {"type": "max_pool1d", "size": 2}]
    with pytest.raises(SpecError) as info:
        workload_from_data(mlp)
    text = str(info.value)
    assert "layers[1]: must be a mapping, got integer" in text


def test_exponent_without_dot_gets_a_hint(mlp):
    mlp["training"]["learning_rate"] = "3e-3"
    with pytest.raises(SpecError, match=r"training\.learning_rate: must be a number, got string "
                                        r"'3e-3' \(YAML reads this exponent form as text"):
        workload_from_data(mlp)


def _residual(**overrides) -> dict:
    data = {
        "schema_version": 1, "name": "tiny-res", "description": "residual block",
        "task": "classification", "dataset": "none",
        "input": {"shape": [8, 8, 4], "levels": 16},
        "layers": [
            {"name": "c1", "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
            {"name": "c2", "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
            {"name": "sum", "type": "add", "inputs": ["c2", "c1"]},
            {"type": "avg_pool2d", "size": 8},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
        "discretization": {"activation_levels": 8, "weight_clusters": 16},
        "integer": {"accumulator_bits": 32, "table_entry_bits": 16},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8, "learning_rate": 0.01,
                     "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 10, "deadline_ms": 10},
    }
    data.update(overrides)
    return data


def test_residual_workload():
    w = workload_from_data(_residual())
    assert not w.is_chain
    assert w.inputs[2] == (1, 0)
    assert isinstance(w.layers[2], L.Add) and w.layers[2].arity == 2
    assert w.names[:3] == ("c1", "c2", "sum")
    assert w.output_shape == (3,)


def test_dangling_reference():
    data = _residual()
    data["layers"][2]["inputs"] = ["c2", "c9"]
    with pytest.raises(SpecError, match=r"layers\[2\]\.inputs\[1\]: names no layer: 'c9' "
                                        r"\(dangling reference from 'sum'\)"):
        workload_from_data(data)


def test_cycle_names_the_layers():
    data = _residual()
    data["layers"][0]["inputs"] = ["sum"]
    with pytest.raises(SpecError, match=r"layers: the layers form a cycle: .*c1.*c2.*sum"):
        workload_from_data(data)


def test_later_reference():
    data = _residual()
    data["layers"][1]["inputs"] = ["sum2"]
    data["layers"].insert(3, {"name": "sum2", "type": "flatten", "inputs": ["c1"]})
    with pytest.raises(SpecError, match=r"'sum2' comes later"):
        workload_from_data(data)


def test_add_shapes_must_agree():
    data = _residual()
    data["layers"][1]["filters"] = 5
    with pytest.raises(SpecError, match=r"layers\[2\]\.inputs: add inputs must have one shape"):
        workload_from_data(data)


def test_branches_take_a_dataset():
    """The trainer runs graphs: a residual workload may name a dataset."""
    w = workload_from_data(_residual(dataset="digits"))
    assert w.graph_inputs == w.inputs and w.inputs[2] == (1, 0)
    assert workload_from_data(_residual()).graph_inputs is not None


def test_single_output_layer():
    data = _residual()
    data["layers"].insert(3, {"name": "dead", "type": "max_pool2d", "size": 2, "inputs": ["c1"]})
    data["layers"][4]["inputs"] = ["sum"]
    with pytest.raises(SpecError, match=r"must have exactly one output layer"):
        workload_from_data(data)


def test_activation_override_on_an_add_input():
    data = _residual()
    data["layers"][1]["activation"] = True        # c2 feeds the add as levels
    flags = workload_from_data(data).activation_flags
    assert flags[:3] == [True, True, True]
    assert workload_from_data(_residual()).activation_flags[:3] == [True, False, True]


def test_activation_false_needs_an_add_consumer():
    data = _residual()
    data["layers"][0]["activation"] = False       # c1 feeds c2, a table lookup
    with pytest.raises(SpecError, match=r"layers\[0\]\.activation: false, but c2 reads its output"):
        workload_from_data(data)


def test_activation_only_on_weighted_layers_and_adds():
    data = _residual()
    data["layers"][3]["activation"] = True
    with pytest.raises(SpecError, match=r"layers\[3\]\.activation: only dense, convolution and add"):
        workload_from_data(data)


def test_classification_output_has_no_activation(mlp):
    mlp["layers"][-1]["activation"] = True
    with pytest.raises(SpecError, match=r"layers\[2\]\.activation: the output layer of a "
                                        r"classification has no activation"):
        workload_from_data(mlp)
