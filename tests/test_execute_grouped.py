"""The executor's fast paths equal its plain ones bit for bit: grouped lookups (one
gather per g input channels, hwsim/execute/grouped.py) against per-connection
gathers, and the bucket search (hwsim/execute/search.py) against the binary search;
the counters do not move."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.execute import grouped as execute_grouped
from hwsim.execute import host
from hwsim.execute import search as execute_search
from hwsim.execute.executor import build_plan, execute, run_plan
from hwsim.execute.measure import measured_run
from hwsim.execute.ops import search
from hwsim.execute.search import make_search
from hwsim.ir.graph import graph_from_workload
from hwsim.specs.bundled import bundled_names
from hwsim.specs.workload import load_workload
from tests.test_graph import shape_only


@pytest.fixture(autouse=True)
def numpy_gathers():
    """Grouped tables and lane packing are the numpy gathers' representations (the
    compiled row sums, hwsim/execute/host.py, add per connection): built here with
    the compiled sums turned off."""
    with host.numpy_only():
        yield


# (input shape, layers, input levels, activation levels, clusters): odd sizes, L and K
# from 2 to 256 (powers of two and not), "same" and "valid" convolutions, short last groups
LAYERS = [
    ((7,), [{"type": "dense", "units": 5}, {"type": "dense", "units": 3}], 2, 3, 2),
    ((9,), [{"type": "dense", "units": 11}, {"type": "dense", "units": 7}], 17, 5, 7),
    ((6,), [{"type": "dense", "units": 3}, {"type": "dense", "units": 2}], 256, 256, 256),
    ((13,), [{"type": "dense", "units": 1}], 3, 2, 3),
    ((6, 5, 3), [{"type": "conv2d", "filters": 5, "kernel": [3, 2], "stride": [2, 1],
                  "padding": "same"},
                 {"type": "conv2d", "filters": 3, "kernel": 2, "padding": "valid"},
                 {"type": "flatten"}, {"type": "dense", "units": 4}], 5, 4, 16),
    ((11, 3), [{"type": "conv1d", "filters": 7, "kernel": 3, "padding": "same"},
               {"type": "conv1d", "filters": 5, "kernel": 5, "stride": 2, "padding": "same"},
               {"type": "avg_pool1d", "size": 2}, {"type": "flatten"},
               {"type": "dense", "units": 3}], 7, 6, 100),
    ((5, 4, 6), [{"type": "depthwise_conv2d", "kernel": 3, "padding": "same"},
                 {"type": "conv2d", "filters": 9, "kernel": 1},
                 {"type": "max_pool2d", "size": 2}, {"type": "flatten"},
                 {"type": "dense", "units": 5}], 3, 8, 4),
]


def _case(index):
    shape, layers, input_levels, levels, clusters = LAYERS[index]
    workload = shape_only(shape, layers, input_levels=input_levels, levels=levels,
                          clusters=clusters)
    x = np.random.default_rng(index).integers(0, input_levels, (9, *shape))
    return graph_from_workload(workload, index), x


def _sizes(plan):
    return {s.node: s.plan.grouping.size for s in plan.steps
            if getattr(s.plan, "grouping", None) is not None}


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_grouped_plan_equals_the_ungrouped_plan(monkeypatch, index):
    g, x = _case(index)
    grouped_plan = build_plan(g)
    assert _sizes(grouped_plan), "nothing grouped"
    grouped = run_plan(grouped_plan, x)
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
    plain_plan = build_plan(g)
    assert _sizes(plain_plan) == {}
    plain = run_plan(plain_plan, x)
    for node, run in plain.nodes.items():
        assert grouped.nodes[node].output.dtype == run.output.dtype, node
        np.testing.assert_array_equal(grouped.nodes[node].output, run.output, err_msg=node)
        assert grouped.nodes[node].counts == run.counts, node


@pytest.mark.parametrize("name", bundled_names("workloads"))
def test_every_bundled_workload_grouped_equals_per_connection(monkeypatch, name):
    workload = load_workload(name)
    g = graph_from_workload(workload, 1)
    x = np.random.default_rng(2).integers(0, workload.input_levels, (2, *workload.input_shape))
    grouped = run_plan(build_plan(g), x)
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
    plain = run_plan(build_plan(g), x)
    for node, run in plain.nodes.items():
        np.testing.assert_array_equal(grouped.nodes[node].output, run.output, err_msg=node)
        assert grouped.nodes[node].counts == run.counts, node


def test_the_size_cap_picks_a_smaller_group_then_none(monkeypatch):
    g, x = _case(1)                      # first layer: 9 inputs of 17 levels, 11 units
    size = execute_grouped.group_size
    assert size(17, 9, 11, 1) == 3       # g = 4: 3 groups x 17^4 x 11 = 2.76 M > 2^21
    assert size(17, 9, 11, 1, entries_shift=1) == 3        # twice the entries: g = 2 only
    assert _sizes(build_plan(g))["L0.dense"] == 3
    runs = [run_plan(build_plan(g), x)]
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 3 * 17 ** 3 * 11 - 1)
    assert size(17, 9, 11, 1) == 1       # g = 2: 5 groups of 9 inputs, less than half saved
    assert size(17, 8, 11, 1) == 2 and size(17, 8, 11, 4) == 2
    assert "L0.dense" not in _sizes(build_plan(g))
    runs.append(run_plan(build_plan(g), x))
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 4 * 17 ** 2 * 11 - 1)
    assert size(17, 8, 11, 1) == 1 and size(17, 8, 11, 1, entries_shift=1) == 2
    monkeypatch.setattr(execute_grouped, "GROUPED_TABLE_MAX_ENTRIES", 0)
    assert size(17, 8, 11, 1) == 1 and _sizes(build_plan(g)) == {}
    runs.append(run_plan(build_plan(g), x))
    for run in runs[1:]:
        np.testing.assert_array_equal(run.outputs, runs[0].outputs)
        assert run.counts == runs[0].counts


def test_a_known_small_batch_is_not_grouped_a_large_one_is():
    g, x = _case(1)      # L0.dense: 9 inputs of 17 levels; g = 3: 3 x 17^3 = 14,739 rows
    assert _sizes(build_plan(g, samples=len(x))) == {}               # 9 x 9 rows gathered
    assert "L0.dense" not in _sizes(build_plan(g, samples=1637))     # 14,733 rows
    assert _sizes(build_plan(g, samples=1638))["L0.dense"] == 3       # 14,742 rows
    np.testing.assert_array_equal(execute(g, x).outputs, run_plan(build_plan(g), x).outputs)


@pytest.mark.parametrize("index", [1, 4, 5])
def test_grouped_inference_measures_no_multiply_and_no_float(index):
    g, x = _case(index)
    plan = build_plan(g)
    seen = []
    run_plan(plan, x, probe=lambda node, label, array: seen.append((label, array.dtype)))
    assert ("combined", np.dtype(np.intp)) in seen
    assert all(dtype.kind in "iub" for _, dtype in seen)
    _, measured = measured_run(plan, x)
    assert all(m.clean for m in measured.values()), measured


def test_grouped_columns_are_the_sums_of_the_group_entries():
    rng = np.random.default_rng(3)
    levels, channels, units, taps = 5, 7, 4, 2
    table = rng.integers(-50, 50, (levels, 6))
    w = rng.integers(0, 6, (taps * channels, units))
    plan = execute_grouped.grouping(levels, channels, 3)
    columns = execute_grouped.grouped_columns(table, w, taps, channels, plan)
    assert columns.shape == (taps * 3 * 125, units)
    for t in range(taps):
        for j in range(plan.groups):
            for digits in ((0, 0, 0), (4, 1, 3), (2, 3, 1)):
                row = (t * plan.groups + j) * plan.rows + sum(
                    int(r[d]) for r, d in zip(plan.radix, digits[1:])) + digits[0]
                real = [(k, d) for k, d in enumerate(digits) if k * plan.groups + j < channels]
                want = sum(table[d, w[t * channels + k * plan.groups + j]] for k, d in real)
                np.testing.assert_array_equal(columns[row], want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_fast_searches_equal_the_binary_search(monkeypatch, dtype):
    rng = np.random.default_rng(5)
    cases = [np.array([7]), np.array([-3, -3, 0, 0, 0, 9]), np.arange(-40, 40, 3),
             np.sort(rng.integers(-100000, 100000, 31)), np.array([1, 2, 4, 8, 16, 1024]),
             np.sort(rng.integers(-(1 << 21), 1 << 21, 31)),
             np.arange(-6000, 6000, 50)]     # at most 255 values: L <= 256
    for values in cases:
        x = np.concatenate([rng.integers(values.min() - 3000, values.max() + 3000, 500),
                            values, values - 1, values + 1, [-(1 << 31), (1 << 31) - 2]])
        x = x.astype(dtype)[None]     # int32 sums stay below the int32 sentinel (plan.py)
        s = make_search(values, 32, "flash")
        wide = np.ptp(values) >= execute_search.DIRECT_MAX
        assert (s.direct is None) == wide and (s.bucket_shift is None) == (not wide)
        with monkeypatch.context() as patch:
            patch.setattr(execute_search, "DIRECT_MAX", 0)
            buckets = make_search(values, 32, "flash")      # no per-value table: buckets
        plain = execute_search.Search(s.padded, s.padded32, s.shifts, s.bits, s.memory,
                                      levels=s.levels)
        levels = [search(x, t, "n", None) for t in (s, buckets, plain)]
        for level, steps in levels:
            np.testing.assert_array_equal(level, np.searchsorted(values, x, side="right"))
            assert steps == x.size * len(s.shifts) and level.dtype == np.uint8
        assert buckets.direct is None and buckets.bucket_shift is not None


def test_wide_ranges_take_buckets_and_uneven_ones_the_binary_search(monkeypatch):
    wide = make_search(np.array([-(1 << 20), 0, 1 << 20]), 32, "flash")
    assert wide.direct is None and wide.bucket_shift == 20
    values = np.array([0, 1, 1 << 20])
    uneven = make_search(values, 32, "flash")
    assert uneven.direct is None and uneven.bucket_shift is None
    monkeypatch.setattr(execute_search, "BUCKETS_MAX", 1 << 21)
    assert make_search(values, 32, "flash").bucket_shift == 0


def test_levels_are_the_narrowest_unsigned_type_that_holds_them():
    assert [execute_search.level_dtype(n) for n in (1, 255, 256, 65535, 65536)] == [
        np.uint8, np.uint8, np.uint16, np.uint16, np.uint32]
    values = np.arange(300)                       # 300 values: levels 0..300
    s = make_search(values, 32, "flash")
    level, _ = search(np.array([[-5, 0, 150, 299, 400]]), s, "n", None)
    assert level.dtype == np.uint16 and level.tolist() == [[0, 1, 151, 300, 300]]
