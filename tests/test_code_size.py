"""The memory planner's code line (hwsim.memory.code_bytes) against the machine code the
generated programs really have, and the code records' provenance (hwsim.machine.code_size)."""
from __future__ import annotations

import json
import shutil

import pytest

from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.heldout import heldout_workloads
from hwsim.machine.code_size import DESIGNED, TARGETS, _library_sha256, planner_check
from hwsim.memory import code_bytes
from hwsim.specs.bundled import bundled_names
from hwsim.specs.workload import load_workload

needs_compilers = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("riscv64-unknown-elf-gcc") is None,
    reason="needs the cross-compilers (tools/system-packages.sh)")

TOLERANCE = 0.05          # docs/memory.md "Code size"; benchmarks/code_size.py prints all
# The lut per-layer loops: held out within 7.2% (44 of 48 programs within 5%; the rest
# under, on small programs whose network_run and pool loops the fit misses by 10-15 B).
LUT_LOOPS_TOLERANCE = 0.08


@needs_compilers
@pytest.mark.parametrize("target", TARGETS)
def test_planner_code_is_the_elf_code_within_tolerance(target, tmp_path):
    # Held out: neither network is one the records are made from.
    checked = []
    residual = heldout_workloads(11, 5)[4]                  # 'same' conv2d, add, max pool
    depthwise = heldout_workloads(11, 4)[3]                 # depthwise, avg pool, L = 256
    for workload, styles in ((load_workload("digits-ae"), ("lut", "int8", "float32",
                                                           "lut_loops")),
                             (load_workload("har-cnn"), ("lut", "int8", "float32", "lut_loops")),
                             (residual, ("float32", "lut_loops")), (depthwise, ("lut_loops",))):
        assert workload.name not in DESIGNED
        g = graph_from_workload(workload)
        for style in styles:
            row = planner_check(g, target, style, tmp_path / f"{workload.name}-{style}")
            assert row["measured"]
            error = row["planner_bytes"] / row["elf_bytes"] - 1
            checked.append((workload.name, style, round(error, 3)))
            limit = LUT_LOOPS_TOLERANCE if style == "lut_loops" else TOLERANCE
            assert abs(error) <= limit, (workload.name, style, row)
    assert len(checked) == 11


@pytest.mark.parametrize("program, style, unpriced", [
    ("float32", "float32", ("input", "flatten", "output_table")),
    ("lut_loops", "lut", ("input", "flatten"))])
def test_every_loop_of_the_held_out_networks_is_measured(program, style, unpriced):
    # The designed loop networks cover every class of every constant loop (in the lut
    # style at every entry width and search length): each node function of the bundled
    # and random workloads is priced by its own signature.
    from hwsim.memory.loop_shapes import loop_signature
    graphs = [graph_from_workload(w) for w in heldout_workloads(11, 8)]
    graphs += [graph_from_workload(load_workload(n)) for n in bundled_names("workloads")]
    for target in TARGETS:
        loops = code_bytes.code_record(target)["styles"][program]["loop_node_bytes"]
        for g in graphs:
            for node, op in g.nodes(data="op"):
                if op.kind in unpriced:
                    continue
                signature = loop_signature(g, node, code_bytes.node_keys(op)[0], style)
                assert signature in loops, (target, g.graph["name"], node, signature)


def test_loop_signatures_follow_the_generated_loops():
    from hwsim.memory.loop_shapes import constant_trips, loop_constants, loop_signature, \
        trip_class
    assert [trip_class(n) for n in (0, 1, 2, 3, 500)] == [1, 1, 2, 3, 3]
    g = graph_from_workload(heldout_workloads(11, 5)[4])
    ops = {n: op for n, op in g.nodes(data="op")}
    # conv2d 'same' on 11x8x3, 3 filters: rows, columns, units (the taps run from tables)
    assert constant_trips(ops["L0.conv2d"]) == ([11, 8, 3], "")
    assert loop_signature(g, "L0.conv2d", "conv2d/same") == "conv2d/same 3.3.3 fused"
    assert loop_signature(g, "L1.conv2d", "conv2d/same") == "conv2d/same 3.3.3"   # to the add
    assert loop_signature(g, "L3.max_pool2d", "max_pool2d") == "max_pool2d 3.3.3 w4"
    assert loop_signature(g, "output", "argmax") == "argmax 3"
    # trip counts, then pointer steps in bytes: units, rows, taps (its positions: tables)
    assert loop_constants(g, "L0.conv2d") == [11, 8, 3, 12, 96, 12]
    # the lut style's loops: the table entry width, search steps, what is read
    assert g.graph["table_entry_bits"] == 16 and len(ops["L0.threshold"].thresholds) == 31
    assert loop_signature(g, "L0.conv2d", "conv2d/same", "lut") == "conv2d/same 3.3.3 e16 fused"
    assert loop_signature(g, "L0.threshold", "threshold", "lut") == "threshold - s5"
    assert loop_signature(g, "L2.add", "add", "lut") == "add 3 x2 ls e16 fused"   # levels, sums
    assert loop_signature(g, "L3.max_pool2d", "max_pool2d", "lut") == "max_pool2d 3.3.3 w4 l"
    assert loop_signature(g, "output", "argmax", "lut") == "argmax 3 s"
    # levels and weight indices a byte each; the bias row's offset into the table: the
    # 101st row (100 input levels) of 2 clusters, 2-byte entries
    assert ops["L0.conv2d"].table_shape == (101, 2)
    assert loop_constants(g, "L0.conv2d", "lut") == [11, 8, 3, 3, 24, 3, 100 * 2 * 2]


def test_the_loop_constants_are_the_generated_codes():
    # Every constant the planner sizes immediates by is a literal of the node's C.
    import re
    from hwsim.machine.codegen.float32 import emit_float32
    from hwsim.memory.loop_shapes import constant_trips, loop_constants
    for workload in (*heldout_workloads(11, 8), load_workload("kws-dscnn")):
        g = graph_from_workload(workload)
        codes, _ = emit_float32(g)
        for code in codes:
            op = g.nodes[code.node]["op"]
            if not code.function or op.kind in ("threshold", "argmax"):
                continue
            literals = {int(v) for v in re.findall(r"\b\d+\b", code.code)}
            elements = [v // 4 for v in
                        loop_constants(g, code.node)[len(constant_trips(op)[0]):]]
            assert set(constant_trips(op)[0]) <= literals, (workload.name, code.node)
            assert set(elements) - {0} <= literals, (workload.name, code.node, elements)


def test_the_lut_loop_constants_are_the_generated_codes():
    # The lut loops' trip counts, pointer steps and bias row offsets (in elements) are
    # literals of the node's C.
    import re
    from hwsim.machine.codegen.lut import emit_lut
    from hwsim.memory.loop_shapes import constant_trips, loop_constants
    from hwsim.memory.lut_layout import storage_bytes
    for workload in (*heldout_workloads(11, 8), load_workload("kws-dscnn")):
        g = graph_from_workload(workload)
        entry = storage_bytes(g.graph["table_entry_bits"])
        for code in emit_lut(g):
            op = g.nodes[code.node]["op"]
            if not code.function or op.kind in ("threshold", "argmax", "add"):
                continue
            literals = {int(v) for v in re.findall(r"\b\d+\b", code.code)}
            trips = constant_trips(op)[0]
            constants = loop_constants(g, code.node, "lut")[len(trips):]
            if op.kind in WEIGHTED:
                constants[-1] //= entry
            elif code.code.count("int32_t *restrict x"):
                constants = [v // 4 for v in constants]                  # sums
            assert set(trips) <= literals, (workload.name, code.node)
            assert set(constants) - {0} <= literals, (workload.name, code.node, constants)


def test_lut_loops_are_measured_where_a_record_is():
    from hwsim.specs.catalog import find_device
    g = graph_from_workload(load_workload("har-cnn"))
    measured = code_bytes.code_size(g, "lut", find_device("nrf52840"), lut_kernels="loops")
    library = code_bytes.code_size(g, "lut", find_device("nrf52840"))
    assert measured.measured and not any("library" in name for name, _ in measured.parts)
    assert any("lut library" in name for name, _ in library.parts)
    # a core without a library target keeps the labelled estimate
    other = code_bytes.code_size(g, "lut", find_device("msp430fr5969"), lut_kernels="loops")
    assert not other.measured and other.bytes == code_bytes.estimate_bytes(
        g, "lut", find_device("msp430fr5969"))


def test_a_loop_of_one_or_two_changes_the_code():
    # gcc drops a loop of 1 and peels a loop of 2 (docs/memory.md "Code size"): the units
    # loop of a dense layer and of a 'same' convolution, each target's measured bytes.
    for target in TARGETS:
        loops = code_bytes.code_record(target)["styles"]["float32"]["loop_node_bytes"]
        for one, two, more in (("dense 1.3", "dense 2.3", "dense 3.3"),
                               ("conv2d/same 3.3.1 fused", "conv2d/same 3.3.2 fused",
                                "conv2d/same 3.3.3 fused")):
            assert loops[one] < loops[more] < loops[two], (target, one)


def test_records_carry_provenance_of_the_current_libraries():
    for target in TARGETS:
        record = code_bytes.code_record(target)
        assert record["target"] == target and record["schema_version"] == code_bytes.SCHEMA_VERSION
        provenance = record["provenance"]
        assert provenance["compiler_version"] and "-O2" in provenance["flags"]
        # A changed kernel library must be measured again (hwsim characterize --code-size).
        assert provenance["library_sha256"] == _library_sha256(), target
        assert set(record["styles"]) == {"lut", "int8", "float32", "lut_loops"}
        assert record["libraries"]["lut.c"]["functions"]


def test_only_the_functions_the_program_calls_count():
    from hwsim.specs.catalog import find_device
    device = find_device("nrf52840")
    g = graph_from_workload(load_workload("digits-mlp"))         # dense only
    parts = dict(code_bytes.code_size(g, "lut", device).parts)
    record = code_bytes.code_record("cortex-m4")
    lut = record["libraries"]["lut.c"]
    # one lut kernel function is called: far less than the library compiled whole
    assert parts["lut library: lut.c"] < sum(lut["functions"].values()) / 3
    int8 = dict(code_bytes.code_size(g, "int8", device).parts)
    assert not any("conv_soft" in name for name in int8)          # optional sources


def test_a_bad_record_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "code_cortex-m0.json").write_text(json.dumps({"schema_version": 99}))
    monkeypatch.setattr(code_bytes, "DATA_DIR", tmp_path)
    code_bytes.code_record.cache_clear()
    try:
        with pytest.raises(HwsimError, match="code_cortex-m0.json: schema_version must be 1"):
            code_bytes.code_record("cortex-m0")
        (tmp_path / "code_cortex-m0.json").write_text("{")
        code_bytes.code_record.cache_clear()
        with pytest.raises(HwsimError, match="code_cortex-m0.json: unreadable"):
            code_bytes.code_record("cortex-m0")
    finally:
        code_bytes.code_record.cache_clear()


@needs_compilers
def test_the_record_is_made_again_byte_for_byte(tmp_path):
    # The shipped record is what `hwsim characterize --code-size` measures today, and the
    # measurement is deterministic.
    from hwsim.machine.code_size import code_size_data, dumps
    shipped = (code_bytes.DATA_DIR / "code_cortex-m0.json").read_text()
    assert dumps(code_size_data("cortex-m0", directory=tmp_path)) == shipped


@needs_compilers
@pytest.mark.parametrize("device, style, kernels", [
    ("nrf52840", "int8", {"conv_scalar"}),             # an optional int8 source
    ("esp32-c3", "lut", {"grouped_g2"}),               # the grouped lut sources
    ("ch32v003", "int8", {"conv_soft"}),               # rv32i's soft kernels
    ("ch32v003", "lut", {"conv_s16p4"})])              # packed weight codes
def test_the_cost_models_kernel_choices_are_what_the_code_line_counts(device, style, kernels,
                                                                       tmp_path):
    from hwsim.cost.model import cost_graph
    from hwsim.machine.validate import resolve_target
    from hwsim.specs.catalog import find_device
    d = find_device(device)
    g = graph_from_workload(load_workload("har-cnn"))
    report = cost_graph(g, d, style)
    chosen = dict(report.int8_kernels if style == "int8" else report.lut_chosen).values()
    assert kernels <= set(chosen)
    row = planner_check(g, resolve_target(d).name, style, tmp_path, device=d)
    assert abs(row["planner_bytes"] / row["elf_bytes"] - 1) <= TOLERANCE, row


def test_the_designed_loop_networks_are_the_documented_ones():
    # docs/memory.md "Code size" counts them; every one is a valid workload.
    from hwsim.machine.loop_code_size import (_designed_graphs, designed_networks,
                                              lut_designed_networks, lut_wide_networks,
                                              wide_networks)
    assert sum(1 for _ in _designed_graphs(designed_networks(), "d")) == 1459
    assert sum(1 for _ in _designed_graphs(wide_networks(), "w")) == 71
    assert sum(1 for _ in _designed_graphs(lut_designed_networks(), "d")) == 7174
    assert sum(1 for _ in _designed_graphs(lut_wide_networks(), "w")) == 119
