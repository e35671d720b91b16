"""The integer executor: no multiplication and no float on the inference path, exact
action counts, placement, accumulator overflow, and clear errors for bad graphs
and bad inputs."""
from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from hwsim.ir.graph import replace_op
from hwsim.execute import counters
from hwsim.execute import host as execute_host
from hwsim.execute import ops as execute_ops
from hwsim.execute import grouped as execute_grouped
from hwsim.execute import packed as execute_packed
from hwsim.execute import plan as execute_plan
from hwsim.execute import executor as execute_module
from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.execute.counters import Counts, Placement
from hwsim.datasets import load_dataset
from hwsim.errors import HwsimError
from hwsim.execute.executor import build_plan, execute, run_plan
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.execute.reference import reference_run
from hwsim.ir.integer import integer_forward
from hwsim.train.network import quantize_input
from hwsim.train.pipeline import run_training
from tests.test_graph import CONV, RESIDUAL, shape_only, tiny

INFERENCE_MODULES = (execute_module, execute_ops, execute_packed, execute_host, counters)
FORBIDDEN_CALLS = {"matmul", "dot", "einsum", "multiply", "prod", "inner", "outer", "tensordot",
                   "vdot", "kron", "divide", "true_divide", "mean", "average", "sqrt", "exp",
                   "log", "tanh", "ldexp", "float", "float16", "float32", "float64", "double",
                   "floating", "longdouble", "single", "half"}
FLOAT_NAMES = {"float16", "float32", "float64", "double", "floating", "longdouble", "single",
               "half", "float_"}
FLOAT_STRINGS = {"float", "float16", "float32", "float64", "f2", "f4", "f8", "d", "double"}


def arithmetic_violations(source: str) -> list[str]:
    """Multiplications, divisions, powers and floats in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(
                node.op, (ast.Mult, ast.MatMult, ast.Div, ast.Pow)):
            found.append(f"{where}: {type(node.op).__name__}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"{where}: call {name}()")
            if name == "astype" and any(isinstance(a, ast.Name) and a.id == "float"
                                        for a in node.args):
                found.append(f"{where}: astype(float)")
        elif (isinstance(node, ast.Attribute) and node.attr in FLOAT_NAMES
              and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy")):
            found.append(f"{where}: {node.attr}")
        elif isinstance(node, ast.Name) and node.id in ("float", "complex"):
            found.append(f"{where}: {node.id}")
        elif isinstance(node, ast.Constant) and (isinstance(node.value, float)
                                                 or node.value in FLOAT_STRINGS):
            found.append(f"{where}: constant {node.value!r}")
    return found


@pytest.mark.parametrize("module", INFERENCE_MODULES, ids=lambda m: m.__name__)
def test_inference_code_has_no_multiplication_and_no_float(module):
    assert arithmetic_violations(inspect.getsource(module)) == []


def test_the_ast_check_catches_violations():
    bad = ("def f(a, b):\n    c = a * b\n    c *= 2\n    d = a @ b\n    e = np.dot(a, b)\n"
           "    g = np.prod(a)\n    h = a.astype(float)\n    i = np.float64(1)\n    j = a / b\n"
           "    k = a.astype('float32')\n    return 0.5\n")
    flagged = {int(v.split()[1].rstrip(":")) for v in arithmetic_violations(bad)}
    assert flagged == set(range(2, 12))             # every line but the def


def _imports_from(module, source: str) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module == source for alias in node.names}


def test_setup_code_is_apart_from_the_inference_code():
    """Shape arithmetic (multiplications included) lives in execute_plan, run once per
    graph; the inference modules take only the plan type and the builder from it."""
    assert arithmetic_violations(inspect.getsource(execute_plan))    # it does multiply
    assert _imports_from(execute_ops, "hwsim.execute.plan") == set()
    assert _imports_from(execute_module, "hwsim.execute.plan") == {"ExecutionPlan", "build_plan"}


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("artifacts") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    artifact = load_artifact(path)
    x = quantize_input(load_dataset("digits").x_test[:100], 17)
    return artifact, graph_from_artifact(artifact), x


def _graphs(mlp):
    yield "mlp", mlp[1], mlp[2]
    rng = np.random.default_rng(0)
    for name, w in (("conv", shape_only((6, 5, 2), CONV)),
                    ("residual", shape_only((5,), RESIDUAL, task="classification")),
                    ("avg1d", shape_only((9, 2), [
                        {"type": "conv1d", "filters": 3, "kernel": 3, "padding": "same"},
                        {"type": "avg_pool1d", "size": 2}, {"type": "flatten"},
                        {"type": "dense", "units": 18}], task="autoencoder"))):
        yield name, graph_from_workload(w, 1), rng.integers(0, 5, (7, *w.input_shape))


def test_no_float_array_on_the_inference_path(mlp):
    for name, g, x in _graphs(mlp):
        seen = []
        execute(g, x, probe=lambda node, label, array: seen.append((node, label, array)))
        labels = {label for _, label, _ in seen}
        assert {"entries", "index", "search.level", "output"} <= labels, name
        floats = [(node, label, a.dtype) for node, label, a in seen if a.dtype.kind not in "iub"]
        assert floats == [], name
        assert all(isinstance(a, np.ndarray) for _, _, a in seen)


def test_no_float_array_on_the_checked_path():
    """The checked (partial sums) path and saturation, on a graph whose static bound
    exceeds the accumulator, make no float either."""
    g = _dense16()
    g.graph["tables"] = {**g.graph["tables"], "input": np.full((6, 4), 30000)}
    seen = []
    run = execute(g, np.zeros((3, 8), dtype=np.int64), overflow="saturate",
                  probe=lambda node, label, array: seen.append((label, array.dtype)))
    assert run.saturated and ("partials", np.dtype(np.int64)) in seen
    assert all(dtype.kind in "iub" for _, dtype in seen)


def test_bit_exact_with_the_trainer(mlp):
    artifact, g, x = mlp
    run = execute(g, x)
    trace = integer_forward(artifact.integer_model, x)
    np.testing.assert_array_equal(run.outputs, trace.outputs)
    np.testing.assert_array_equal(run.nodes["L1.threshold"].output, trace.per_layer[1])
    np.testing.assert_array_equal(run.nodes["L2.dense"].output, trace.sums)
    assert run.batch == 100 and list(run.nodes) == ["input", "L0.flatten", "L1.dense",
                                                    "L1.threshold", "L2.dense", "output"]


def test_counts_per_inference(mlp):
    _, g, x = mlp
    run = execute(g, x)
    lut = run.node_per_inference("L1.dense")
    assert lut.adds == lut.activation_loads == 64 * 128
    assert lut.table_loads == lut.index_loads == 64 * 128 + 128       # connections + biases
    assert lut.stores == 128 and lut.loads_16bit == lut.table_loads
    assert lut.loads_8bit == lut.index_loads + lut.activation_loads   # uint8 indices, levels
    th = run.node_per_inference("L1.threshold")
    assert th.compares == th.branches == th.threshold_loads == 128 * 5     # ceil(log2 32)
    assert th.loads_32bit == 128 + 128 * 5 and th.stores == 128
    out = run.node_per_inference("output")
    assert (out.compares, out.activation_loads, out.stores) == (9, 10, 1)
    total = run.per_inference
    assert total.multiplies == total.float_ops == 0
    assert total.loads == total.loads_8bit + total.loads_16bit + total.loads_32bit
    assert total.loads == (total.index_loads + total.table_loads + total.activation_loads
                           + total.threshold_loads)
    assert total.loads_sram == total.activation_loads
    assert run.counts.adds == 100 * total.adds
    assert run.node_per_inference("L0.flatten") == Counts()


def test_placement_moves_loads_between_memories(mlp):
    _, g, x = mlp
    everything = execute(g, x, placement=Placement("sram", "sram", "sram", "sram")).per_inference
    assert everything.loads_flash == 0 and everything.loads_sram == everything.loads
    default = execute(g, x).per_inference
    assert default.loads == everything.loads
    weights = execute(g, x, placement=Placement(weights="sram")).per_inference
    assert weights.loads_sram == default.loads_sram + default.index_loads
    with pytest.raises(HwsimError, match="placement.tables must be 'sram' or 'flash', got 'rom'"):
        Placement(tables="rom")


def test_counts_do_not_depend_on_the_batch(mlp):
    _, g, x = mlp
    assert execute(g, x[:1]).per_inference == execute(g, x).per_inference


@pytest.mark.parametrize("setting", ["direct", "chunks"])
def test_gather_paths_agree(mlp, monkeypatch, setting):
    graphs = list(_graphs(mlp))
    before = [execute(g, x) for _, g, x in graphs]
    if setting == "direct":
        monkeypatch.setattr(execute_plan, "COLUMN_TABLE_MAX_ENTRIES", 0)
        monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
    else:
        monkeypatch.setattr(execute_plan, "CHUNK_ELEMENTS", 1)
    for (name, g, x), first in zip(graphs, before):
        plan = build_plan(g)
        if setting == "direct":
            assert any(getattr(s.plan, "mode", None) == "direct" for s in plan.steps), name
        again = run_plan(plan, x)
        for node, node_run in first.nodes.items():
            np.testing.assert_array_equal(node_run.output, again.nodes[node].output)
            assert node_run.counts == again.nodes[node].counts, (name, node)


# --------------------------------------------------------------------------- overflow

def _dense16():
    w = shape_only((8,), [{"type": "dense", "units": 4}, {"type": "dense", "units": 3}],
                   accumulator_bits=16, table_entry_bits=16)
    return graph_from_workload(w, 0)


def test_overflow_raises_naming_node_unit_and_sample():
    g = _dense16()
    g.graph["tables"] = {**g.graph["tables"], "input": np.full((6, 4), 30000)}
    x = np.zeros((3, 8), dtype=np.int64)
    with pytest.raises(HwsimError, match=r"node 'L0.dense': accumulator overflow: a sum of "
                                         r"unit 0 of sample 0 leaves the 16-bit signed range "
                                         r"\[-32768, 32767\]"):
        execute(g, x)


def test_overflow_saturates_when_asked():
    g = _dense16()
    g.graph["tables"] = {**g.graph["tables"], "input": np.full((6, 4), 30000)}
    x = np.zeros((3, 8), dtype=np.int64)
    run = execute(g, x, overflow="saturate")
    node = run.nodes["L0.dense"]
    assert node.saturated == 3 * 4 and run.saturated >= 12
    assert np.all(node.output == 32767)
    with pytest.raises(HwsimError, match="overflow must be 'raise' or 'saturate'"):
        execute(g, x, overflow="wrap")


def test_overflow_reported_like_the_reference():
    g = _dense16()
    table = g.graph["tables"]["input"]
    g.graph["tables"] = {**g.graph["tables"], "input": np.clip(table * 200, -32767, 32767)}
    x = np.random.default_rng(3).integers(0, 5, (6, 8))
    with pytest.raises(HwsimError) as ours:
        execute(g, x)
    with pytest.raises(HwsimError) as theirs:
        reference_run(g, x)
    assert str(ours.value) == str(theirs.value)


def test_add_overflow_is_reported():
    w = shape_only((5,), RESIDUAL, accumulator_bits=16, table_entry_bits=16)
    g = graph_from_workload(w, 0)
    g.graph["value_tables"] = {"activation": np.full(4, 32767)}
    replace_op(g, "L1.dense", bias_index=np.zeros(6, dtype=np.int64))
    table = g.graph["tables"]["hidden"]
    g.graph["tables"] = {**g.graph["tables"], "hidden": np.abs(table) + 1}
    x = np.ones((2, 5), dtype=np.int64)
    with pytest.raises(HwsimError, match=r"node 'L2.add': accumulator overflow: a sum of unit 0 "
                                         r"of sample 0"):
        execute(g, x)
    assert execute(g, x, overflow="saturate").nodes["L2.add"].saturated == 12


# --------------------------------------------------------------------------- bad input

def _modified(g, node=None, **attrs):
    h = g.copy()
    h.graph = dict(g.graph)
    if node is not None:
        replace_op(h, node, **attrs)
    return h


@pytest.mark.parametrize("change, message", [
    (lambda g: _modified(g, "L1.threshold", thresholds=g.nodes["L1.threshold"]["op"].thresholds[::-1]),
     r"node 'L1.threshold': thresholds must be sorted ascending"),
    (lambda g: _modified(g, "L1.threshold", thresholds=g.nodes["L1.threshold"]["op"].thresholds[:5]),
     r"node 'L1.threshold': thresholds has 5 entries, 32 levels need 31"),
    (lambda g: _modified(g, "L1.threshold",
                         thresholds=g.nodes["L1.threshold"]["op"].thresholds + (1 << 40)),
     r"thresholds must fit the 32-bit accumulator"),
    (lambda g: _modified(g, "L1.dense", weight_index=g.nodes["L1.dense"]["op"].weight_index
                         + 40), r"node 'L1.dense': weight_index must lie in 0..31"),
    (lambda g: _modified(g, "L1.dense", bias_index=np.zeros(5, dtype=np.int64)),
     r"bias_index has shape \[5\], the layer needs \[128\]"),
    (lambda g: _modified(g, "L1.dense", weight_index=np.zeros((64, 128))),
     r"weight_index must be an integer array"),
    (lambda g: _modified(g, "L1.dense", table="hidden"),
     r"table 'hidden' has 33 rows, 17 input levels need 18"),
    (lambda g: _modified(g, "L2.dense", table="missing"),
     r"node 'L2.dense': table 'missing' does not exist"),
    (lambda g: _modified(g, "L1.dense", output_shape=(7,)),
     r"node 'L1.dense': output_shape is \[7\], its inputs make \[128\]"),
    (lambda g: _modified(g, "L1.dense", levels_in=32),
     r"levels_in is 32, its input has 17 levels"),
    (lambda g: _modified(g, "L1.dense", input_shape=(63,)),
     r"node 'L1.dense': input_shape is \[63\], its inputs make \[64\]"),
    (lambda g: _modified(g, "L1.threshold", order=None),
     r"node 'L1.threshold': needs an integer 'order'"),
])
def test_inconsistent_graph_is_refused_before_running(mlp, change, message):
    _, g, x = mlp
    with pytest.raises(HwsimError, match=message):
        execute(change(g), x)


def test_inconsistent_graph_attributes_are_refused(mlp):
    _, g, x = mlp
    h = _modified(g)
    h.graph["accumulator_bits"] = 24
    with pytest.raises(HwsimError, match="accumulator_bits must be 16 or 32, got 24"):
        build_plan(h)
    h = _modified(g)
    h.graph["tables"] = {**g.graph["tables"], "input": g.graph["tables"]["input"] + 40000}
    with pytest.raises(HwsimError, match=r"tables\['input'\] has entries that do not fit 16-bit"):
        build_plan(h)
    h = _modified(g)
    h.graph["tables"] = {**g.graph["tables"], "input": np.zeros((18, 32))}
    with pytest.raises(HwsimError, match=r"tables\['input'\] must be a non-empty 2-D integer"):
        build_plan(h)
    h = _modified(g)
    h.remove_edge("L2.dense", "output")
    with pytest.raises(HwsimError, match="exactly one output node"):
        build_plan(h)


def test_add_needs_its_value_table():
    g = graph_from_workload(shape_only((5,), RESIDUAL), 0)
    g.graph["value_tables"] = {}
    with pytest.raises(HwsimError, match=r"node 'L2.add': input 'L0.threshold' holds level "
                                         r"indices but graph.value_tables has no 'activation'"):
        build_plan(g)


@pytest.mark.parametrize("x, message", [
    (np.zeros((2, 8, 8, 1)), r"inputs must be integer level indices, got dtype float64"),
    (np.zeros((2, 64), dtype=np.int64), r"inputs have shape \[2, 64\], graph 'digits-mlp' "
                                        r"expects \[N, 8, 8, 1\]"),
    (np.zeros((0, 8, 8, 1), dtype=np.int64), r"with N >= 1"),
    (np.full((2, 8, 8, 1), 17), r"input levels must lie in 0..16, found 17..17"),
    (np.full((2, 8, 8, 1), -1), r"input levels must lie in 0..16, found -1..-1"),
])
def test_bad_inputs(mlp, x, message):
    with pytest.raises(HwsimError, match=message):
        execute(mlp[1], x)


def test_levels_a_byte_each_sum_their_pool_windows_beyond_a_byte():
    """Levels come out of a search a byte each (up to 255 thresholds); an average pool
    sums its window in intp, so four taps of levels up to 255 do not wrap at 256."""
    w = shape_only((6, 6, 2), [{"type": "conv2d", "filters": 3, "kernel": 1},
                               {"type": "avg_pool2d", "size": 2}, {"type": "flatten"},
                               {"type": "dense", "units": 2}], levels=256)
    g = graph_from_workload(w, 3)
    x = np.random.default_rng(3).integers(0, 5, (40, 6, 6, 2))
    run, reference = execute(g, x), reference_run(g, x)
    levels = [n for n, r in run.nodes.items() if r.op == "threshold"]
    assert levels and all(run.nodes[n].output.dtype == np.uint8 for n in levels)
    assert max(int(run.nodes[n].output.max()) for n in levels) > 64   # windows beyond 255
    for node, node_run in run.nodes.items():
        np.testing.assert_array_equal(node_run.output, reference.nodes[node], err_msg=node)
