"""A trained artifact's int8 input statistics (hwsim.machine.operand_statistics,
docs/model-format.md section 2.13): recorded from the training data, loaded back into the
graph, checked on load, and used by the cost model for a multiplier whose time follows its
operand (Ibex's slow multiplier); an artifact without them loads and keeps the stated
assumption (inputs uniform over their int8 values)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hwsim.artifact.load import OPERAND_BITS, load_artifact
from hwsim.cost.mul_operands import histogram_bits, significant_bits
from hwsim.cost.model import cost_graph
from hwsim.errors import SpecError
from hwsim.ir.graph import INT8_INPUT_BITS, graph_from_artifact
from hwsim.machine.codegen.int8_reference import int8_forward
from hwsim.machine.operand_statistics import record_int8_input_statistics, training_levels
from hwsim.machine.validate import codegen_options
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli
from tests.test_codegen import small_artifact


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A trained digits-mlp artifact as save_artifact writes it (no statistics)."""
    return small_artifact(tmp_path_factory.mktemp("plain") / "model")


@pytest.fixture(scope="module")
def recorded(plain, tmp_path_factory):
    target = tmp_path_factory.mktemp("recorded") / "model"
    shutil.copytree(plain, target)
    record_int8_input_statistics(target)
    return target


def test_statistics_round_trip(recorded, tmp_path):
    artifact = load_artifact(recorded)
    g = graph_from_artifact(artifact)
    x = training_levels(artifact)
    values = int8_forward(g, x)
    assert set(g.graph[INT8_INPUT_BITS]) == {"L1.dense", "L2.dense"}
    for node, histogram in g.graph[INT8_INPUT_BITS].items():
        (source,) = g.predecessors(node)
        assert len(histogram) == OPERAND_BITS
        assert sum(histogram) == values[source].size == len(x) * values[source][0].size
        assert histogram_bits(histogram) == pytest.approx(significant_bits(values[source]))
    # the network input's int8 values are 0..127 (8 bits at most, half the digit zeros);
    # hidden activations take either sign, a negative one read as 32 bits
    first, hidden = g.graph[INT8_INPUT_BITS]["L1.dense"], g.graph[INT8_INPUT_BITS]["L2.dense"]
    assert sum(first[8:]) == 0 and first[0] > 0.4 * sum(first)
    assert hidden[31] > 0 and sum(hidden[8:31]) == 0
    # deterministic: recording again writes the same bytes
    again = tmp_path / "again"
    shutil.copytree(recorded, again)
    record_int8_input_statistics(again)
    assert (again / "model.json").read_bytes() == (recorded / "model.json").read_bytes()


def test_artifact_without_statistics_loads(plain):
    artifact = load_artifact(plain)
    assert artifact.int8_input_bits is None
    assert INT8_INPUT_BITS not in graph_from_artifact(artifact).graph


@pytest.mark.parametrize("change, field, message", [
    (lambda s: s["layers"].update({"0": [1] * 32}), "int8_input_statistics.layers.0",
     "index of a weighted layer"),
    (lambda s: s["layers"].update({"1": [1] * 31}), "int8_input_statistics.layers.1",
     "list of 32 non-negative integers"),
    (lambda s: s["layers"].update({"2": [-1] + [1] * 31}), "int8_input_statistics.layers.2",
     "non-negative"),
    (lambda s: s["layers"].update({"2": [0] * 32}), "int8_input_statistics.layers.2",
     "not all 0"),
    (lambda s: s.update(samples=0), "int8_input_statistics.samples", ">= 1"),
    (lambda s: s.update(layers=[]), "int8_input_statistics.layers", "must be dict"),
])
def test_bad_statistics_named(recorded, tmp_path, change, field, message):
    target = tmp_path / "bad"
    shutil.copytree(recorded, target)
    doc = json.loads((target / "model.json").read_text())
    change(doc["int8_input_statistics"])
    (target / "model.json").write_text(json.dumps(doc))
    with pytest.raises(SpecError) as caught:
        load_artifact(target)
    assert field in str(caught.value) and message in str(caught.value)


def test_bad_statistics_exit_2(recorded, tmp_path):
    """Through the CLI: one clear error naming model.json and the field, exit 2."""
    target = tmp_path / "bad"
    shutil.copytree(recorded, target)
    doc = json.loads((target / "model.json").read_text())
    doc["int8_input_statistics"]["layers"]["1"] = "many"
    (target / "model.json").write_text(json.dumps(doc))
    result = run_cli("simulate", str(target), "--device", "ibex-rv32m-slow", timeout=60)
    assert result.returncode == 2, result.stderr
    assert "model.json" in result.stderr and "int8_input_statistics.layers.1" in result.stderr
    assert "Traceback" not in result.stderr


def test_cost_prices_operand_multiplier_from_statistics(plain, recorded):
    """Ibex's slow multiplier: the first layer's input muls priced from the measured bits
    (digit images are about half zeros: fewer bits than the uniform assumption), so the
    estimate is lower; a fixed-time multiplier's estimate does not change."""
    slow, fast = find_device("ibex-rv32m-slow"), find_device("ibex-rv32m-fast")
    options = codegen_options()
    with_stats = graph_from_artifact(load_artifact(recorded))
    without = graph_from_artifact(load_artifact(plain))
    measured = cost_graph(with_stats, slow, "int8", options)
    assumed = cost_graph(without, slow, "int8", options)
    assert measured.nodes[2].cycles < assumed.nodes[2].cycles      # L1.dense
    assert any("int8 input statistics" in note for note in measured.notes)
    assert not any("int8 input statistics" in note for note in assumed.notes)
    assert (cost_graph(with_stats, fast, "int8", options).total_cycles
            == cost_graph(without, fast, "int8", options).total_cycles)
