"""The trainer on graphs: a chain given as a graph is the chain bit for bit; the backward
pass of a residual add is the gradient (finite differences); a residual workload trains
on digits, exports an add of two level tensors (value table, thresholds) that the
executor runs bit-exactly, saves byte-identically and refuses a tampered value table."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.artifact.load import load_artifact
from hwsim.artifact.save import build_files, save_artifact
from hwsim.errors import HwsimError, SpecError
from hwsim.execute.verify import verify_artifact
from hwsim.ir import layers as IL
from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.levels import chain_inputs, level_values
from hwsim.specs.workload import workload_from_data
from hwsim.train import layers as L
from hwsim.train.network import Mode, backward, forward
from hwsim.train.pipeline import run_training

CHAIN = (IL.Conv2D(1, 4, 3, 3, 1, 1, "same"), IL.AvgPool2D(2, 2, 2, 2), IL.Flatten(),
         IL.Dense(64, 8), IL.Dense(8, 3))
BLOCK = (IL.Flatten(), IL.Dense(12, 6), IL.Dense(6, 6), IL.Add(2), IL.Dense(6, 3))
BLOCK_INPUTS = ((-1,), (0,), (1,), (2, 1), (3,))
BLOCK_FLAGS = [False, True, False, True, False]


def _params(layers, seed=0):
    rng = np.random.default_rng(seed)
    return [{k: v.astype(np.float64) for k, v in L.init_params(layer, rng).items()}
            if not isinstance(layer, IL.Add) else {} for layer in layers]


@pytest.mark.parametrize("mode", [Mode(None, None), Mode(8, 17)])
def test_a_chain_given_as_a_graph_is_the_chain_bit_for_bit(mode):
    x = np.random.default_rng(1).random((5, 8, 8, 1))
    params = _params(CHAIN)
    chain, tape = forward(CHAIN, params, x, mode, "classification")
    graph, graph_tape = forward(CHAIN, params, x, mode, "classification",
                                inputs=chain_inputs(CHAIN))
    assert np.array_equal(chain, graph)
    d = np.random.default_rng(2).normal(size=chain.shape)
    for a, b in zip(backward(CHAIN, params, tape, d, "classification", mode),
                    backward(CHAIN, params, graph_tape, d, "classification", mode,
                             chain_inputs(CHAIN))):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_residual_backward_is_the_gradient():
    """Continuous mode: d(sum(out * r))/d(w) by central differences, through both
    branches of the add and the tensor the add and the next layer both read."""
    rng = np.random.default_rng(3)
    x, r = rng.random((4, 12)), rng.normal(size=(4, 3))
    params = _params(BLOCK, seed=4)
    mode = Mode(None, None)

    def loss(p):
        out, _ = forward(BLOCK, p, x, mode, "classification", BLOCK_FLAGS, BLOCK_INPUTS)
        return float(np.sum(out * r))

    _, tape = forward(BLOCK, params, x, mode, "classification", BLOCK_FLAGS, BLOCK_INPUTS)
    grads = backward(BLOCK, params, tape, r, "classification", mode, BLOCK_INPUTS)
    for i in (1, 2, 4):
        for key in ("w", "b"):
            flat = params[i][key].reshape(-1)
            for j in range(0, flat.size, max(1, flat.size // 5)):
                saved = flat[j]
                flat[j] = saved + 1e-6
                up = loss(params)
                flat[j] = saved - 1e-6
                down = loss(params)
                flat[j] = saved
                assert grads[i][key].reshape(-1)[j] == pytest.approx((up - down) / 2e-6,
                                                                     rel=1e-5, abs=1e-8)


def residual_workload(**changes) -> dict:
    data = {
        "schema_version": 1, "name": "digits-residual", "description": "a residual MLP",
        "task": "classification", "dataset": "digits",
        "input": {"shape": [8, 8, 1], "levels": 17},
        "layers": [{"type": "flatten"},
                   {"name": "d1", "type": "dense", "units": 32},
                   {"name": "d2", "type": "dense", "units": 32},
                   {"name": "sum", "type": "add", "inputs": ["d2", "d1"]},
                   {"type": "dense", "units": 10}],
        "discretization": {"activation_levels": 16, "weight_clusters": 32},
        "integer": {"accumulator_bits": 32, "table_entry_bits": 16},
        "training": {"epochs": 6, "finetune_epochs": 3, "batch_size": 32,
                     "learning_rate": 0.003, "cluster_interval_steps": 100, "seed": 0},
        "realtime": {"frame_period_ms": 20, "deadline_ms": 20},
    }
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def trained():
    return run_training(workload_from_data(residual_workload()))


def test_a_residual_network_trains_and_its_add_reads_a_value_table(trained):
    model = trained.integer_model
    assert trained.metrics["integer"] >= 0.9 and trained.metrics["agreement"] >= 0.97
    add = model.layers[3]
    assert isinstance(add.layer, IL.Add) and add.levels_out == 16 and add.thresholds is not None
    assert model.inputs == ((-1,), (0,), (1,), (2, 1), (3,))
    values = model.value_tables[VALUE_TABLE]
    assert np.array_equal(values, np.rint(np.ldexp(level_values(16), model.scale_bits)))


def test_the_residual_artifact_verifies_bit_exactly_and_saves_byte_identically(trained,
                                                                               tmp_path):
    out = save_artifact(trained, tmp_path / "a")
    assert build_files(trained) == build_files(run_training(workload_from_data(
        residual_workload())))
    report = verify_artifact(load_artifact(out))
    assert report.passed and report.bit_exact
    assert "L3.add" in report.node_counts and report.per_inference.multiplies == 0


def test_a_tampered_value_table_is_refused(trained, tmp_path):
    out = save_artifact(trained, tmp_path / "a")
    doc = json.loads((out / "model.json").read_text())
    assert doc["value_tables"][VALUE_TABLE]["rows"] == 16
    arrays = dict(np.load(out / "model.npz"))
    arrays[f"value_tables.{VALUE_TABLE}"][0] += 1
    np.savez(out / "model.npz", **arrays)
    from hwsim.io import sha256_bytes
    doc["npz_sha256"] = sha256_bytes((out / "model.npz").read_bytes())
    (out / "model.json").write_text(json.dumps(doc))
    with pytest.raises(SpecError, match="value_tables.activation.array: is not rint"):
        load_artifact(out)


def test_an_add_of_the_input_levels_is_refused():
    from hwsim.train.export import export_integer
    from hwsim.train.loop import cluster_params
    layers = (IL.Flatten(), IL.Dense(64, 64), IL.Add(2), IL.Dense(64, 3))
    params = _params(layers)
    clustering = cluster_params(layers, params, 8, "global")
    with pytest.raises(HwsimError, match="an add of the network input's levels"):
        export_integer(layers, clustering, task="classification", input_shape=(8, 8, 1),
                       input_levels=17, levels=8, accumulator_bits=32, table_entry_bits=16,
                       flags=[False, True, True, False], inputs=((-1,), (0,), (1, 0), (2,)))
