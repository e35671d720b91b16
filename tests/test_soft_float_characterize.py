"""libgcc's soft-float routines characterized per target (hwsim.machine.
soft_float_characterize), the data the float32 cost model reads
(hwsim.cost.soft_float_library), and the float32 estimate against emulation."""
from __future__ import annotations

import json
import subprocess

import pytest

from hwsim.cost.options import CostOptions
from hwsim.cost.prices import action_prices
from hwsim.cost.soft_float_library import data_path, soft_float_data, soft_float_target
from hwsim.errors import HwsimError
from hwsim.machine.codegen.targets import find_target
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.soft_float_characterize import (
    CLASSES, FORMAT_VERSION, TARGETS, build_firmware, characterize_class)
from hwsim.machine.toolchain import CFLAGS, find_compiler
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli


@pytest.fixture(scope="session")
def m0_firmware(tmp_path_factory):
    return build_firmware("cortex-m0", tmp_path_factory.mktemp("soft-float"))


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """(artifact, graph) of a small trained digits MLP."""
    from hwsim.artifact.load import load_artifact
    from hwsim.ir.graph import graph_from_artifact
    from tests.test_codegen import small_artifact
    artifact = load_artifact(small_artifact(tmp_path_factory.mktemp("art")))
    return artifact, graph_from_artifact(artifact)


@pytest.mark.parametrize("target", TARGETS)
def test_the_data_is_current_for_the_pinned_compiler(target):
    """Every target has data made with the compiler and flags the generated float32 code
    is built with, for every operation and operand class."""
    data = soft_float_data(target)
    t = find_target(target)
    assert data["format_version"] == FORMAT_VERSION and data["target"] == target
    version = subprocess.run([find_compiler(t), "-dumpversion"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert data["compiler_version"] == version, f"{target}: re-run characterize --soft-float"
    assert data["flags"] == [*CFLAGS, *t.flags]
    assert {op: tuple(c) for op, c in data["operations"].items()} == \
        {op: tuple(sorted(c)) for op, c in CLASSES.items()}
    for classes in data["operations"].values():
        for record in classes.values():
            total = sum(n for a, n in record["actions"].items()
                        if a not in FETCH_ACTIONS)         # instructions: no fetch waits
            assert record["min"] <= total + 1e-9 and total <= record["max"] + 1e-9


@pytest.mark.parametrize("operation,kind", [("mul", "general"), ("mul", "zero"),
                                            ("compare", "general")])
def test_recharacterizing_gives_the_shipped_record(m0_firmware, operation, kind):
    shipped = json.loads(data_path("cortex-m0").read_text())["operations"][operation][kind]
    assert characterize_class(m0_firmware, operation, kind) == shipped


def test_a_zero_operand_takes_libgccs_early_return():
    for target in TARGETS:
        ops = soft_float_data(target)["operations"]
        for op in ("mul", "add"):
            assert ops[op]["zero"]["max"] < ops[op]["general"]["min"], (target, op)


def test_characterized_routines_win_over_the_device_file():
    """samd21 lists fmul 166 cycles; libgcc's __aeabi_fmul on the M0 table takes less
    (docs/codegen.md); a core with an FPU keeps its FPU prices."""
    samd21 = find_device("samd21")
    assert soft_float_target(samd21.core.isa) == "cortex-m0"
    prices = action_prices(samd21)
    assert not prices["soft_float_mul"].estimated
    assert prices["soft_float_mul"].cycles != samd21.soft_float_cycles["mul"]
    assert prices["soft_float_mul_zero"].cycles < prices["soft_float_mul"].cycles
    # without data (a serial shifter makes the counts unpriceable) the file's figures rule
    assert soft_float_target(samd21.core.isa, serial_shifter=True) is None


def test_float_zero_inputs_is_checked():
    with pytest.raises(HwsimError, match="float_zero_inputs must be a number from 0 to 1"):
        CostOptions(float_zero_inputs=1.5)


def test_zero_inputs_lower_the_first_layer_only(mlp):
    from hwsim.cost.model import cost_graph
    g = mlp[1]
    device = find_device("samd21")
    cycles = {share: {n.node: n.cycles for n in cost_graph(
        g, device, "float32", CostOptions(float_zero_inputs=share)).nodes}
        for share in (None, 0.5)}
    assert cycles[0.5]["L1.dense"] < cycles[None]["L1.dense"]
    assert cycles[0.5]["L2.dense"] == cycles[None]["L2.dense"]


def test_cli_characterize_refuses_a_target_no_library_is_built_for():
    bad = run_cli("characterize", "--target", "xtensa-lx7", "--soft-float")
    assert bad.returncode == 2 and "--target" in bad.stderr and "rv32i" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("device", ["samd21", "cm0plus-iterative-mul", "esp32-c3"])
def test_float32_estimate_matches_emulation(mlp, device, tmp_path):
    """The float32 estimate of a small trained MLP against its emulated soft-float code
    (`validate --style float32` takes the inputs' share of zeros): network within 5%,
    weighted and threshold nodes within 10% (the routines' data-dependent time)."""
    from hwsim.machine.validate import sample_inputs, validate_graph
    artifact, g = mlp
    (report,) = validate_graph(g, [find_device(device)], "float32",
                               sample_inputs(artifact, 2), workdir=tmp_path)
    assert abs(report.error) < 0.05, report.error
    for n in report.nodes:
        if n.node.endswith(("dense", "threshold")):
            assert abs(n.error) < 0.10, (n.node, n.error)


def test_docs_show_the_shipped_bounds(monkeypatch):
    """docs/codegen.md's table of the characterized routines is the data's
    (benchmarks/float32_validation.py prints it)."""
    from tests.conftest import REPO, load_benchmark
    docs = (REPO / "docs" / "codegen.md").read_text()
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))     # its sibling validation_table
    for line in load_benchmark("float32_validation").bounds_lines():
        assert line in docs, line
