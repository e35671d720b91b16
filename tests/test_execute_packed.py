"""Lane-packed group sums (hwsim/execute/packed.py): several units added by one int64
add equal the plain sums bit for bit, on random tables (L and K from 2 to 256, odd
unit counts, extreme rows), inside grouped plans, and where the proven lane width
does not fit the plan falls back to int16/int32 rows with the same outputs."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.execute import grouped as execute_grouped
from hwsim.execute import packed as execute_packed
from hwsim.execute import plan as execute_plan
from hwsim.execute.executor import build_plan, run_plan
from hwsim.execute.measure import measured_run
from hwsim.execute.grouped import (group_sum_ranges, grouped_columns, grouping,
                                   narrow_halvings)
from hwsim.execute.packed import pack_lanes, plan_packing, unpack
from hwsim.ir.graph import graph_from_workload
from tests.test_execute_grouped import LAYERS, _case, numpy_gathers  # noqa: F401 (autouse)
from tests.test_graph import shape_only


@pytest.fixture(autouse=True)
def _pack_few_groups(monkeypatch):
    """The small layers here sum fewer than MIN_GROUPS group rows, in rows short enough
    to copy without memmove: pack them anyway (the rules themselves:
    test_layers_with_few_groups_keep_int_rows, test_packing_keeps_int_rows_it_cannot_beat)."""
    monkeypatch.setattr(execute_packed, "MIN_GROUPS", 0)
    monkeypatch.setattr(execute_plan, "KEEP_FASTER_ROWS", False)


@pytest.mark.parametrize("levels, clusters, connections, units, entry", [
    (2, 2, 3, 3, 100), (17, 7, 64, 128, 15000), (32, 16, 128, 10, 7000),
    (256, 256, 5, 13, 1000), (3, 256, 200, 6, 2000), (5, 3, 1, 64, 1 << 19)])
def test_packed_sums_equal_the_plain_sums(levels, clusters, connections, units, entry):
    rng = np.random.default_rng(levels + units)
    table = rng.integers(-entry, entry + 1, (levels, clusters))
    w = rng.integers(0, clusters, (connections, units))
    bias = rng.integers(-entry, entry + 1, units)
    p = plan_packing(table, w, bias)
    assert p is not None and p.lanes >= execute_packed.MIN_LANES
    assert p.width * p.lanes <= execute_packed.WORD_BITS
    rows = table[:, w]                                             # (L, connections, units)
    words = pack_lanes(rows, p.lows[w][None], p)                   # (L, connections, words)
    # random rows, then every connection at its largest and at its smallest entry
    highest = np.take_along_axis(rows, rows.argmax(axis=0)[None], 0)[0]
    lowest = np.take_along_axis(rows, rows.argmin(axis=0)[None], 0)[0]
    for pick in rng.integers(0, levels, (50, connections)):
        want = rows[pick, np.arange(connections)].sum(axis=0) + bias
        got = unpack((words[pick, np.arange(connections)].sum(axis=0) + p.fold)[None], p)[0]
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.int32
    for extreme in (highest, lowest):
        packed_sum = p.fold.copy()                      # the first group's rows hold it
        for c in range(connections):
            packed_sum += pack_lanes(extreme[c][None], p.lows[w[c]][None], p)[0]
        np.testing.assert_array_equal(unpack(packed_sum[None], p)[0], extreme.sum(axis=0) + bias)


def _packing(table, units, connections=1, bias=0):
    return plan_packing(np.array(table), np.zeros((connections, units), dtype=np.intp),
                        np.full(units, bias, dtype=np.int64))


def test_too_wide_or_too_few_lanes_are_not_packed():
    assert _packing([[-(1 << 21)], [1 << 21]], 8) is None     # spread 2^22: 23-bit lanes
    assert _packing([[0], [5]], 2, 4) is None                 # two units
    assert _packing([[0], [5]], 3, 4).lanes == 3
    assert _packing([[0], [(1 << 20) - 1]], 4) is None        # 20 bits: 3 lanes, 4 units fill 2


def test_a_top_lane_sum_too_wide_for_its_bits_is_offset_like_the_others():
    rng = np.random.default_rng(1)
    table = rng.integers(-(1 << 19), 1 << 19, (4, 3))
    w = rng.integers(0, 3, (2, 7))
    for bias, signed in ((0, True), (1 << 30, False)):      # 21-bit lanes: 22 bits above
        p = plan_packing(table, w, np.full(7, bias, dtype=np.int64))
        assert p.width == 21 and p.lanes == 3 and p.signed_top == signed
        assert (p.fold != 0).any() == signed
        for levels in rng.integers(0, 4, (20, 2)):
            rows = table[levels[:, None], w]                    # (connections, units)
            words = pack_lanes(rows, p.lows[w], p).sum(axis=0) + p.fold
            np.testing.assert_array_equal(unpack(words[None], p)[0], rows.sum(axis=0) + bias)


def _packed_nodes(plan):
    return {s.node for s in plan.steps if getattr(s.plan, "packing", None) is not None}


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_packed_plan_equals_unpacked_and_ungrouped(monkeypatch, index):
    g, x = _case(index)
    plan = build_plan(g)
    runs = [run_plan(plan, x)]
    with monkeypatch.context() as patch:
        patch.setattr(execute_packed, "MIN_LANES", 1 << 10)
        unpacked = build_plan(g)
        assert _packed_nodes(unpacked) == set()
        runs.append(run_plan(unpacked, x))
        patch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
        runs.append(run_plan(build_plan(g), x))
    for run in runs[1:]:
        for node, other in run.nodes.items():
            mine = runs[0].nodes[node]
            assert mine.output.dtype == other.output.dtype, node
            np.testing.assert_array_equal(mine.output, other.output, err_msg=node)
            assert mine.counts == other.counts, node


def test_some_layers_are_packed_and_measure_no_multiply():
    packed = {index: _packed_nodes(build_plan(_case(index)[0])) for index in range(len(LAYERS))}
    assert packed[1] == {"L0.dense", "L1.dense"}      # 11 and 7 units
    assert packed[3] == set()                          # one unit: nothing to pack
    g, x = _case(1)
    seen = []
    run_plan(build_plan(g), x, probe=lambda node, label, array: seen.append((label, array.dtype)))
    assert ("words", np.dtype(np.int64)) in seen and all(d.kind in "iub" for _, d in seen)
    _, measured = measured_run(build_plan(g), x)
    assert all(m.clean for m in measured.values()), measured


def test_a_layer_too_wide_for_three_lanes_keeps_plain_rows(monkeypatch):
    """Entries of +-2^23 over 9 connections need 28-bit lanes: only two fit a word, so the
    grouped layer keeps int32 rows, with the same outputs as per-connection gathers."""
    w = shape_only((9,), [{"type": "dense", "units": 11}], input_levels=17, levels=5,
                   clusters=7, table_entry_bits=32)
    g = graph_from_workload(w, 0)
    name = next(iter(g.graph["tables"]))
    rng = np.random.default_rng(0)
    g.graph["tables"] = {**g.graph["tables"],
                         name: rng.integers(-(1 << 23), 1 << 23, g.graph["tables"][name].shape)}
    x = rng.integers(0, 17, (20, 9))
    plan = build_plan(g)
    lut = plan.steps[[s.node for s in plan.steps].index("L0.dense")].plan
    assert lut.grouping is not None and lut.packing is None and lut.columns.dtype == np.int32
    grouped = run_plan(plan, x)
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
    plain = run_plan(build_plan(g), x)
    np.testing.assert_array_equal(grouped.nodes["L0.dense"].output, plain.nodes["L0.dense"].output)
    assert grouped.counts == plain.counts


def test_a_plan_for_a_small_known_batch_is_not_packed(monkeypatch):
    g, x = _case(1)
    big = 1 << 20                          # the batch rule of grouping keeps both grouped
    assert _packed_nodes(build_plan(g)) == {"L0.dense", "L1.dense"}
    assert _packed_nodes(build_plan(g, samples=big)) == {"L0.dense", "L1.dense"}
    monkeypatch.setattr(execute_packed, "MIN_SAMPLES", big + 1)
    plan = build_plan(g, samples=big)
    assert _packed_nodes(plan) == set()
    assert {s.node for s in plan.steps if getattr(s.plan, "grouping", None)} >= {"L0.dense"}


def _dense_step(plan):
    return next(s for s in plan.steps if s.op == "dense")


def _dense(inputs, units, input_levels, seed):
    w = shape_only((inputs,), [{"type": "dense", "units": units}], input_levels=input_levels,
                   levels=4, clusters=7)
    return graph_from_workload(w, seed)


def test_layers_with_few_groups_keep_int_rows(monkeypatch):
    """A grouped dense layer is lane-packed exactly when it sums at least MIN_GROUPS group
    rows per output (and its lanes fit), with the same outputs and counts either way."""
    monkeypatch.setattr(execute_packed, "MIN_GROUPS", 32)
    seen = {}
    for inputs, units in ((64, 128), (66, 9), (40, 33), (12, 5)):
        g = _dense(inputs, units, 17, inputs)
        x = np.random.default_rng(inputs).integers(0, 17, (37, inputs))
        lut = _dense_step(build_plan(g)).plan
        assert lut.grouping is not None
        seen[inputs] = lut.packing is not None
        assert seen[inputs] == (lut.grouping.groups >= 32), (inputs, lut.grouping.groups)
        with monkeypatch.context() as patch:
            patch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
            plain = run_plan(build_plan(g), x)
        run = run_plan(build_plan(g), x)
        np.testing.assert_array_equal(run.outputs, plain.outputs)
        assert run.counts == plain.counts
    assert seen[64] and not seen[12]


@pytest.mark.parametrize("batch", [1, 2, 7, 300])
def test_single_grouped_layers_are_exact_across_batch_chunks(monkeypatch, batch):
    """Packed and int-row grouped dense layers, batch 1 and odd batches, cut into chunks
    of a few samples (CHUNK_ELEMENTS): the per-connection sums, bit for bit."""
    rng = np.random.default_rng(batch)
    for inputs, units, levels in ((33, 7, 5), (64, 40, 17), (10, 3, 256)):
        g = _dense(inputs, units, levels, units)
        x = rng.integers(0, levels, (batch, inputs))
        with monkeypatch.context() as patch:
            patch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
            want = run_plan(build_plan(g), x)
        for chunk in (1 << 22, 1):                 # one chunk; a few samples a chunk
            for lanes in (execute_packed.MIN_LANES, 1 << 10):
                with monkeypatch.context() as patch:
                    patch.setattr(execute_plan, "CHUNK_ELEMENTS", chunk)
                    patch.setattr(execute_packed, "MIN_LANES", lanes)
                    plan = build_plan(g)
                lut = _dense_step(plan).plan
                assert lut.grouping is not None and lut.single
                assert (lut.packing is None) == (lanes > execute_packed.MIN_LANES)
                assert (lut.batch_rows < batch) == (chunk == 1 and batch > 1)
                got = run_plan(plan, x)
                node = _dense_step(plan).node
                np.testing.assert_array_equal(got.nodes[node].output, want.nodes[node].output)
                assert got.nodes[node].output.dtype == want.nodes[node].output.dtype
                assert got.counts == want.counts


def test_packing_keeps_int_rows_it_cannot_beat():
    """The plan keeps a dense layer's int rows where they copy without memmove and the
    words would not, or where their sum (halvings included) costs no more than the
    words' sum and unpacking (SUM_COSTS); the choices of the digits layers measured."""
    beat = execute_plan._rows_beat_words           # (groups, units, words, itemsize, halvings)
    assert beat(32, 16, 6, 2, 0)                   # 32-byte rows, 48-byte words
    assert not beat(64, 10, 4, 2, 0)               # digits-mlp L2.dense: words
    assert beat(32, 128, 43, 2, 2)                 # digits-mlp L1.dense: halved twice
    assert not beat(32, 128, 43, 2, 0)             # the same, not halved: words
    assert beat(32, 32, 11, 2, 1)                  # digits-ae L1.dense, centred, halved
    assert not beat(32, 48, 16, 4, 0)              # int32 rows of 48 units: words
    assert beat(32, 32, 11, 4, 0)                  # int32 rows of 32 units
    assert [execute_plan.row_bytes(n, 2) for n in (1, 3, 10, 16, 17)] == [2, 8, 32, 32, 34]


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_the_group_sum_ranges_are_the_built_tables_ranges(index):
    """The ranges the plan reads off each digit's largest and smallest entries are the
    ranges of the grouped tables it would build, per tap, group and unit, bias
    included."""
    g, _ = _case(index)
    for step in build_plan(g).steps:
        lut = step.plan
        if getattr(lut, "grouping", None) is None:
            continue
        a = g.nodes[step.node]["op"]
        table = g.graph["tables"][a.table].astype(np.int64)
        w = a.weight_index.astype(np.intp)
        channels = a.input_shape[-1]
        taps = w.shape[0] // channels
        plan = grouping(table.shape[0] - 1, channels, lut.grouping.size)
        built = grouped_columns(table[:-1], w, taps, channels, plan).astype(np.int64)
        bias = table[-1, a.bias_index.astype(np.intp)]
        built[:plan.rows] += bias
        built = built.reshape(taps, plan.groups, plan.rows, -1)
        lows, highs = group_sum_ranges(table[:-1], w, taps, channels, plan, bias)
        np.testing.assert_array_equal(lows, built.min(axis=2))
        np.testing.assert_array_equal(highs, built.max(axis=2))


def _labels_of_a_run_equal_to_per_connection_gathers(monkeypatch, g, x) -> list[str]:
    """The probe labels of a run of `g` on `x`, after checking its outputs and counts
    against the same graph's per-connection gathers."""
    seen = []
    run = run_plan(build_plan(g), x, probe=lambda node, label, array: seen.append(label))
    with monkeypatch.context() as patch:
        patch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
        plain = run_plan(build_plan(g), x)
    for node, node_run in plain.nodes.items():
        np.testing.assert_array_equal(run.nodes[node].output, node_run.output)
    assert run.counts == plain.counts
    return seen


def test_int16_rows_are_halved_only_where_every_pair_fits(monkeypatch):
    """Halvings in int16 count while every pair sum fits; a layer whose rows can be
    halved is summed exactly (outputs and counts as the per-connection gathers), and
    is not lane-packed."""
    assert narrow_halvings(np.full((8, 3), -4000), np.full((8, 3), 4000)) == 3
    assert narrow_halvings(np.full((8, 3), -4000), np.full((8, 3), 9000)) == 1
    assert narrow_halvings(np.full((5, 1), 0), np.full((5, 1), 20000)) == 0
    lows, highs = np.zeros((5, 2), dtype=np.int64), np.full((5, 2), 10000)
    highs[4] = 30000                       # row 4 pairs with row 1 first: too much
    assert narrow_halvings(lows, highs) == 0
    highs[4], highs[2] = 10000, 30000      # rows 0+3 and 1+4 fit; then 0+3 with 2 does not
    assert narrow_halvings(lows, highs) == 1
    monkeypatch.setattr(execute_plan, "KEEP_FASTER_ROWS", True)
    g = _dense(64, 40, 17, 3)
    g.graph["tables"] = {name: t >> 2 for name, t in g.graph["tables"].items()}  # pairs fit
    x = np.random.default_rng(3).integers(0, 17, (50, 64))
    lut = _dense_step(build_plan(g)).plan
    assert lut.columns.dtype == np.int16 and lut.halvings > 0 and lut.packing is None
    assert "halved" in _labels_of_a_run_equal_to_per_connection_gathers(monkeypatch, g, x)


def test_centred_int_rows_are_exact(monkeypatch):
    """Rows whose ranges are skewed (every entry positive here) are centred: stored in
    int16 and halved where the plain rows would not be, the centres added back to the
    sums; outputs and counts equal the per-connection gathers'."""
    monkeypatch.setattr(execute_plan, "KEEP_FASTER_ROWS", True)
    g = _dense(64, 24, 17, 5)
    g.graph["tables"] = {name: (t >> 2) + 3000 for name, t in g.graph["tables"].items()}
    lut = _dense_step(build_plan(g)).plan
    assert lut.restore is not None and lut.columns.dtype == np.int16 and lut.halvings >= 1
    assert lut.packing is None
    x = np.random.default_rng(5).integers(0, 17, (40, 64))
    seen = _labels_of_a_run_equal_to_per_connection_gathers(monkeypatch, g, x)
    assert "centred" in seen and "halved" in seen
    lows, highs = np.array([[0, 9000], [-100, 20000]]), np.array([[30000, 30000], [100, 30000]])
    assert execute_grouped.centred_rows(lows, highs)[0] is True      # centred: int16
    assert execute_grouped.centred_rows(lows, highs)[2] is not None
    assert execute_grouped.centred_rows(-highs, highs)[2] is None     # symmetric: as is
