"""The executor's multiplies, divisions and float operations are measured on the
inference itself: injecting any form of multiplication or float into a runner
makes the counts rise and verify fail."""
from __future__ import annotations

import operator

import numpy as np
import pytest

from hwsim.artifact.load import load_artifact
from hwsim.artifact.save import save_artifact
from hwsim.execute import ops
from hwsim.execute.measure import measured_run
from hwsim.execute.plan import build_plan
from hwsim.execute.verify import verify_artifact
from hwsim.ir.graph import graph_from_artifact
from hwsim.train.pipeline import run_training
from tests.test_graph import tiny


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("measure") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    return load_artifact(path)


def _inputs(artifact, n=16):
    return np.random.default_rng(0).integers(0, artifact.workload.input_levels,
                                             size=(n, *artifact.workload.input_shape))


def test_clean_inference_measures_nothing(artifact):
    run, measured = measured_run(build_plan(graph_from_artifact(artifact)), _inputs(artifact))
    assert all(m.clean for m in measured.values())
    assert set(measured) == set(run.nodes)


INJECTIONS = {
    "np.power": (lambda a: np.power(a, 2), "multiplies"),
    "operator.mul": (lambda a: operator.mul(a, a), "multiplies"),
    "__mul__": (lambda a: a.__mul__(3), "multiplies"),
    "rmul": (lambda a: 3 * a, "multiplies"),
    "np.cumprod": (lambda a: np.cumprod(a, axis=-1), "multiplies"),
    "np.prod": (lambda a: np.prod(a, axis=-1), "multiplies"),
    "np.dot": (lambda a: np.dot(a.reshape(len(a), -1), np.ones(a[0].size, dtype=np.int64)),
               "multiplies"),
    "np.einsum": (lambda a: np.einsum("ij,ij->i", a.reshape(len(a), -1),
                                      a.reshape(len(a), -1)), "multiplies"),
    "floor_divide": (lambda a: a // 3, "divisions"),
    "float_add": (lambda a: np.floor(a + np.e).astype(np.int64), "float_ops"),
    "astype_float": (lambda a: a.astype(np.float64), "float_ops"),
    "true_divide": (lambda a: a / 2, "divisions"),
}


@pytest.mark.parametrize("case", sorted(INJECTIONS))
def test_injected_arithmetic_is_counted(artifact, monkeypatch, case):
    inject, counter = INJECTIONS[case]
    node_op = "threshold"
    original = ops.RUNNERS[node_op]

    def injected(step, inputs, overflow, probe):
        inject(inputs[0])
        return original(step, inputs, overflow, probe)
    monkeypatch.setitem(ops.RUNNERS, node_op, injected)
    run, measured = measured_run(build_plan(graph_from_artifact(artifact)), _inputs(artifact))
    hit = {node: m for node, m in measured.items() if not m.clean}
    assert hit and all(run.nodes[node].op == node_op for node in hit)
    assert all(getattr(m, counter) > 0 for m in hit.values()), hit


def test_injected_multiply_fails_verify(artifact, monkeypatch):
    original = ops.RUNNERS["threshold"]

    def injected(step, inputs, overflow, probe):
        operator.mul(inputs[0], 1)
        return original(step, inputs, overflow, probe)
    clean = verify_artifact(artifact)
    assert clean.passed and clean.per_inference.multiplies == 0
    monkeypatch.setitem(ops.RUNNERS, "threshold", injected)
    report = verify_artifact(artifact)
    assert report.bit_exact and not report.passed
    assert report.per_inference.multiplies > 0
    assert "multiplies" in report.measured_problems[0]
    assert report.as_dict()["measured_problems"]
