"""Emulation (hwsim.machine.emulate): the generated machine code computes exactly what the
integer executor and the trainer's integer pass compute, the block-hook counts
equal a per-instruction hook's, and the per-node attribution adds up."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.artifact.load import load_artifact
from hwsim.specs.catalog import find_device
from hwsim.machine.codegen import TARGETS, generate
from hwsim.machine.codegen.int8 import int8_forward, quantize_input
from hwsim.machine.emulate import HARNESS, RUNTIME, emulate, price
from hwsim.errors import HwsimError
from hwsim.execute.executor import execute
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.machine.toolchain import build_program
from hwsim.ir.integer import integer_forward
from hwsim.machine.validate import sample_inputs
from tests.test_codegen import shape_workload, small_artifact

SAMPLES = 4


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return load_artifact(small_artifact(tmp_path_factory.mktemp("art")))


@pytest.fixture(scope="module")
def runs(artifact, tmp_path_factory):
    """The small artifact's lut program emulated on every target, 4 test digits, with
    the per-instruction cross-check on the first: the per-layer loops, whose threshold
    is a function called per unit (the lut library's call: tests/test_lut_library.py)."""
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, SAMPLES)
    root = tmp_path_factory.mktemp("emu")
    return {t: emulate(build_program(generate(g, t, "lut", lut_kernels="loops"), root / t), x,
                       check_instructions=True)
            for t in TARGETS}


@pytest.mark.parametrize("target", TARGETS)
def test_bit_exact_against_the_executor_and_the_trainer(artifact, runs, target):
    run = runs[target]
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, SAMPLES)
    executor = execute(g, x)
    trainer = integer_forward(artifact.integer_model, x)
    assert np.array_equal(run.classes, executor.outputs)
    assert np.array_equal(run.classes, trainer.outputs)
    assert np.array_equal(run.node_outputs["L2.dense"], trainer.sums)      # raw sums
    assert np.array_equal(run.node_outputs["L1.threshold"],
                          executor.nodes["L1.threshold"].output)
    assert np.array_equal(run.node_outputs["L1.threshold"], trainer.per_layer[1])


@pytest.mark.parametrize("target", TARGETS)
def test_block_counts_equal_per_instruction_counts(runs, target):
    check = runs[target].check
    assert check is not None and check.agrees, check
    assert check.block_total > 10_000
    if target != "cortex-m4":
        assert check.it_skipped == 0                  # only Thumb-2 has IT blocks
    assert check.block_total == check.instruction_total + check.it_skipped


@pytest.mark.parametrize("target", TARGETS)
def test_per_node_attribution_adds_up(runs, target):
    profile = runs[target].profile
    device = find_device(TARGETS[target].example_device)
    cost = price(profile, device)
    assert sum(n.instructions for n in cost.nodes.values()) == pytest.approx(
        profile.instructions / profile.samples)
    assert cost.total_cycles == pytest.approx(
        sum(n.cycles for owner, n in cost.nodes.items() if owner != HARNESS))
    assert set(cost.nodes) == {HARNESS, RUNTIME, "L1.dense", "L1.threshold",
                               "L2.dense", "output"}
    threshold = cost.nodes["L1.threshold"]
    assert threshold.actions["call_return"] == 128    # one call per unit, charged to it
    assert "mul" not in threshold.actions and "mul" not in cost.nodes["L1.dense"].actions
    dense = cost.nodes["L1.dense"]
    assert dense.actions["load_16"] == 64 * 128 + 128       # table entries, bias included
    flash = device.memory.flash_load_extra_cycles
    if flash:
        assert dense.actions["flash_wait"] >= 2 * 64 * 128  # index and table loads in flash


def test_one_profile_priced_for_two_devices(artifact, tmp_path):
    """samd21 and its 32-cycle-multiplier twin run the same Cortex-M0 int8 code: the
    difference is 31 cycles per executed MULS."""
    g = graph_from_artifact(artifact)
    x = sample_inputs(artifact, 2)
    build = build_program(generate(g, "cortex-m0", "int8"), tmp_path)
    run = emulate(build, quantize_input(g, x))
    fast = price(run.profile, find_device("samd21"))
    slow = price(run.profile, find_device("cm0plus-iterative-mul"))
    muls = sum(n.actions.get("mul", 0) for n in fast.nodes.values())
    assert muls >= 64 * 128 + 10 * 128
    assert slow.total_cycles - fast.total_cycles == pytest.approx(31 * muls)
    reference = int8_forward(g, x)
    assert np.array_equal(run.classes, reference["output"])


@pytest.mark.parametrize("kind, target, style", [
    *((kind, target, style) for kind, target in (("2d", "cortex-m4"), ("2d", "rv32i"),
                                                 ("1d", "cortex-m0"), ("1d", "rv32im"),
                                                 ("big", "cortex-m0"), ("valid2d", "cortex-m4"))
      for style in ("lut", "int8")),
    ("residual", "cortex-m0", "lut"), ("residual", "cortex-m4", "lut"),
    ("residual", "rv32i", "lut")])
def test_every_kernel_bit_exact(kind, target, style, tmp_path):
    """'same' padding, strides, depthwise, pools, residual adds (lut), K not a power of
    two: every node's emulated output equals the executor's (lut) or the int8
    reference's."""
    g = graph_from_workload(shape_workload(kind), seed=3)
    x = np.random.default_rng(1).integers(0, 17, size=(2, *g.graph["input_shape"]))
    build = build_program(generate(g, target, style), tmp_path)
    run = emulate(build, quantize_input(g, x) if style == "int8" else x)
    if style == "lut":
        expected = {n: r.output.reshape(2, -1) for n, r in execute(g, x).nodes.items()}
    else:
        expected = {n: np.asarray(v).reshape(2, -1) for n, v in int8_forward(g, x).items()}
    compared = 0
    for node, got in run.node_outputs.items():
        assert np.array_equal(got.astype(np.int64), expected[node].astype(np.int64)), node
        compared += 1
    assert compared >= 5


def test_bad_inputs_are_errors(runs, artifact, tmp_path):
    g = graph_from_artifact(artifact)
    build = build_program(generate(g, "rv32im", "lut"), tmp_path)
    with pytest.raises(HwsimError, match="10 elements per sample, the program expects 64"):
        emulate(build, np.zeros((2, 10), dtype=np.int64))
    with pytest.raises(HwsimError, match="batch"):
        emulate(build, np.zeros(64, dtype=np.int64))
    with pytest.raises(HwsimError, match="fit uint8_t"):
        emulate(build, np.full((1, 64), 300))
