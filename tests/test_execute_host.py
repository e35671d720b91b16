"""The compiled row sums (hwsim/execute/host.py, host_rows.c): the same sums and counts
as numpy's gathers on every kind of layer they take, every entry and digit type and
layout; built once into a keyed cache; without a compiler, or turned off, the executor
runs on numpy's gathers alone."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from hwsim.execute import host, host_build
from hwsim.execute import packed as execute_packed
from hwsim.execute import plan as execute_plan
from hwsim.execute.executor import build_plan, run_plan
from hwsim.ir.graph import graph_from_workload
from hwsim.execute.reference import reference_run
from tests.test_execute_grouped import LAYERS
from tests.test_graph import shape_only


# beyond tests/test_execute_grouped.py's LAYERS: 1 x 1 convolutions (stride 1 and 2),
# 256 levels, int8 and int32 entries (levels are a byte each: wider digits are the
# loop's own test below)
MORE = [
    ((6, 5, 4), [{"type": "conv2d", "filters": 7, "kernel": 1},
                 {"type": "conv2d", "filters": 3, "kernel": 1, "stride": 2},
                 {"type": "flatten"}, {"type": "dense", "units": 2}], 5, 4, 4, 16),
    ((10,), [{"type": "dense", "units": 9}, {"type": "dense", "units": 4}], 256, 256, 64, 16),
    ((12,), [{"type": "dense", "units": 17}, {"type": "dense", "units": 3}], 3, 4, 3, 8),
    ((40,), [{"type": "dense", "units": 33}, {"type": "dense", "units": 5}], 16, 16, 16, 32),
]


def _graphs():
    for index, (shape, layers, input_levels, levels, clusters) in enumerate(LAYERS):
        yield (f"layers{index}", shape_only(shape, layers, input_levels=input_levels,
                                            levels=levels, clusters=clusters), input_levels)
    for index, (shape, layers, input_levels, levels, clusters, bits) in enumerate(MORE):
        yield (f"more{index}", shape_only(shape, layers, input_levels=input_levels,
                                          levels=levels, clusters=clusters,
                                          table_entry_bits=bits), input_levels)


@pytest.fixture
def calls(monkeypatch):
    """The compiled row sums' calls: (entry type, digit type) per call."""
    seen = []
    real = host.sum_rows

    def counting(table, offsets, rows, digits, groups_first, units, out):
        seen.append((table.dtype.name, digits.dtype.name))
        return real(table, offsets, rows, digits, groups_first, units, out)

    monkeypatch.setattr(host, "sum_rows", counting)
    return seen


@pytest.mark.parametrize("batch", [1, 9])
def test_compiled_sums_equal_numpy_gathers(calls, batch):
    used = set()
    for seed, (name, workload, input_levels) in enumerate(_graphs()):
        g = graph_from_workload(workload, seed)
        x = np.random.default_rng(seed).integers(0, input_levels, (batch, *workload.input_shape))
        with host.numpy_only():
            reference = run_plan(build_plan(g), x)
        before = len(calls)
        run = run_plan(build_plan(g), x)
        assert len(calls) > before, f"{name}: nothing summed by the compiled loop"
        used.update(calls[before:])
        for node, node_run in reference.nodes.items():
            np.testing.assert_array_equal(run.nodes[node].output, node_run.output,
                                          err_msg=f"{name} {node}")
            assert run.nodes[node].output.dtype == node_run.output.dtype, (name, node)
            assert run.nodes[node].counts == node_run.counts, (name, node)
        expected = reference_run(g, x)                  # Python ints, node by node
        for node, values in expected.nodes.items():
            np.testing.assert_array_equal(run.nodes[node].output, values,
                                          err_msg=f"{name} {node}")
    assert {entries for entries, _ in used} >= {"int8", "int16", "int32"}
    assert {digits for _, digits in used} == {"uint8"}


@pytest.mark.parametrize("pack", [False, True])
def test_compiled_sums_over_numpy_grouped_tables(calls, monkeypatch, pack):
    """A plan built for numpy's gathers (grouped tables: combined digits of uint8 and
    uint16, centred rows, the bias in the first group's rows; lane-packed words) and run
    where the loop is there sums those tables in C (benchmarks/executor_speed.py
    compares the two): the same outputs as on numpy's gathers."""
    if pack:                             # small layers: packed anyway
        monkeypatch.setattr(execute_packed, "MIN_GROUPS", 0)
        monkeypatch.setattr(execute_plan, "KEEP_FASTER_ROWS", False)
    used = set()
    for seed, (name, workload, input_levels) in enumerate(_graphs()):
        g = graph_from_workload(workload, seed)
        x = np.random.default_rng(seed).integers(0, input_levels, (9, *workload.input_shape))
        with host.numpy_only():
            plan = build_plan(g)
            reference = run_plan(plan, x)
        before = len(calls)
        run = run_plan(plan, x)
        used.update(calls[before:])
        for node, node_run in reference.nodes.items():
            np.testing.assert_array_equal(run.nodes[node].output, node_run.output,
                                          err_msg=f"{name} {node}")
            assert run.nodes[node].counts == node_run.counts, (name, node)
    assert {digits for _, digits in used} >= {"uint8", "uint16"}
    if pack:
        assert "int64" in {entries for entries, _ in used}


@pytest.mark.parametrize("entries", sorted(host.ENTRY_TYPES, key=str))
@pytest.mark.parametrize("digit", sorted(host.DIGIT_TYPES, key=str))
@pytest.mark.parametrize("groups_first", [False, True])
def test_the_loop_adds_the_rows_it_is_given(entries, digit, groups_first):
    """Every loop, the narrow ones (rows of 2 to 32 entries) and the general one (rows
    of other widths), group counts around its blocks of eight, rows wider than the
    units (their padding never stored), strided digits either way round: the rows its
    offsets name, added to the start values; int64 words wrap modulo 2^64 as numpy's
    do."""
    rng = np.random.default_rng(entries.itemsize + digit.itemsize)
    info = np.iinfo(entries)
    name = host.ENTRY_TYPES[np.dtype(entries)]
    for stride in (*host.NARROW_WIDTHS[name], 6, 40):
        for groups in (1, 7, 8, 9, 17, 24):
            rows, units, samples = 5, max(1, min(stride - 1, 6)), 11
            table = rng.integers(info.min, info.max, (groups * rows, stride), dtype=entries,
                                 endpoint=True)
            if entries != np.int64:      # int32 sums: entries small enough not to overflow
                table >>= max(0, entries.itemsize * 8 - 24)
            offsets = np.arange(groups * rows, dtype=np.intp) * stride
            wide = rng.integers(0, rows, (samples, 2 * groups)).astype(digit)
            digits = wide.T[::2] if groups_first else wide[:, ::2]   # strided either way
            start = rng.integers(-1000, 1000, (samples, units)).astype(host.SUM_TYPES[name])
            out = start.copy()
            assert host.sum_rows(table, offsets, rows, digits, groups_first, units, out)
            by_sample = (digits.T if groups_first else digits).astype(np.intp)
            picked = table.reshape(groups, rows, stride)[np.arange(groups), by_sample]
            expected = start + picked[..., :units].sum(axis=1, dtype=out.dtype)
            np.testing.assert_array_equal(out, expected,
                                          err_msg=f"rows of {stride}, {groups} groups")


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """host's loader forgotten before and after: builds into tmp_path."""
    monkeypatch.setenv("HWSIM_CACHE", str(tmp_path))
    monkeypatch.delenv(host.SWITCH, raising=False)
    host_build.load.cache_clear()
    yield tmp_path
    host_build.load.cache_clear()


def test_built_once_into_the_keyed_cache(fresh):
    status = host.status()
    assert status.available, status.reason
    built = list((fresh / "host").iterdir())
    assert [p.name for p in built] == [os.path.basename(status.library)]
    assert built[0].name.startswith("host_rows-") and built[0].suffix == ".so"
    stamp = built[0].stat().st_mtime_ns
    host_build.load.cache_clear()
    assert host.status().library == status.library
    assert built[0].stat().st_mtime_ns == stamp                    # loaded, not rebuilt


def _runs_right(graph_seed=3):
    """A small dense network run and checked against the plain-Python reference,
    whichever sums are in use; its plan."""
    workload = shape_only((12,), [{"type": "dense", "units": 17}, {"type": "dense",
                                                                   "units": 3}])
    g = graph_from_workload(workload, graph_seed)
    x = np.random.default_rng(0).integers(0, 5, (6, 12))
    plan = build_plan(g)
    run = run_plan(plan, x)
    for node, values in reference_run(g, x).nodes.items():
        np.testing.assert_array_equal(run.nodes[node].output, values, err_msg=node)
    return plan


def test_no_compiler_leaves_numpy_gathers(fresh, monkeypatch):
    monkeypatch.setenv("CC", str(fresh / "no-such-compiler"))
    status = host.status()
    assert not status.available and "no C compiler" in status.reason
    _runs_right()
    assert not (fresh / "host").exists()


def test_a_failing_compiler_leaves_numpy_gathers_and_no_file(fresh, monkeypatch):
    script = fresh / "cc-that-fails"
    script.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo broken 1.0; exit 0; }\n"
                      "echo 'error: broken compiler' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CC", str(script))
    status = host.status()
    assert not status.available and "error: broken compiler" in status.reason
    _runs_right()
    assert list((fresh / "host").iterdir()) == []                 # no half-written library


def test_a_compiler_with_arguments(fresh, monkeypatch):
    monkeypatch.setenv("CC", "cc -O2")
    status = host.status()
    assert status.available, status.reason
    _runs_right()                                   # compiled with those arguments


def test_a_missing_source_leaves_numpy_gathers(fresh, monkeypatch):
    monkeypatch.setattr(host_build, "SOURCE", fresh / "no-such-source.c")
    status = host.status()
    assert not status.available and "no-such-source.c" in status.reason
    _runs_right()


@pytest.mark.parametrize("how", ["environment", "numpy_only"])
def test_turned_off(fresh, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv(host.SWITCH, "off")
        assert not host.available() and host.SWITCH in host.status().reason
        _runs_right()
        return
    with host.numpy_only():
        assert not host.available()
        plan = _runs_right()                     # numpy's own representation: grouped
    assert host.available()
    compiled = _runs_right()                     # per connection, for the loop
    weighted = [(s.plan, c.plan) for s, c in zip(plan.steps, compiled.steps)
                if s.op == "dense"]
    assert weighted and all(c.grouping is None and c.row_offsets is not None
                            for _, c in weighted)
    assert any(p.grouping is not None for p, _ in weighted)
