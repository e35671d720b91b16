"""The executor's inference functions, one per op: integer gathers, adds, compares
and maxima over a whole batch (numpy, no Python loop per sample, unit or
connection: loops run over kernel taps, pool windows and binary-search steps).
Nothing here multiplies or touches a float; tests/test_execute.py checks that with
`ast`. Plans come from hwsim/execute_plan.py.

Each runner takes (step, input arrays, overflow mode, probe) and returns
(output, Counts, saturated). `probe`, when given, is called as
probe(node, label, array) with every array the runner makes.

Accumulator overflow (weighted layers and adds). The accumulation order is the
device's: the bias entry, then the connections in the row order of the weight
indices (kernel tap by tap, input channel by channel); an add sums its inputs in
edge order. A layer whose static bound (sum over a unit's connections of the
largest magnitude in each connection's table column, plus the bias) fits the
accumulator cannot overflow in any order: only its final sums are checked. For
any other layer every partial sum is checked, exactly, in that order. Overflow
"raise": HwsimError naming the node and the first (sample, unit) whose sum leaves
the range. "saturate": the running sum is clamped to the range at every
checkpoint (after each kernel tap, or each group of DENSE_GROUP inputs of a dense
layer, and after each input of an add); every sum that left the range at any
partial is counted once as saturated.
"""
from __future__ import annotations

import numpy as np

from hwsim.counters import Counts, load
from hwsim.errors import HwsimError


def _see(probe, node: str, label: str, array: np.ndarray) -> np.ndarray:
    if probe is not None:
        probe(node, label, array)
    return array


def _overflowed(node: str, mask: np.ndarray, bits: int, value_range) -> HwsimError:
    sample, unit = np.argwhere(mask.reshape(len(mask), -1))[0]
    lo, hi = value_range
    return HwsimError(f"node {node!r}: accumulator overflow: a sum of unit {int(unit)} of sample "
                      f"{int(sample)} leaves the {bits}-bit signed range [{lo}, {hi}]")


def _outside(values: np.ndarray, value_range) -> np.ndarray:
    return (values < value_range[0]) | (values > value_range[1])


def _finish_sums(node: str, sums: np.ndarray, mask, overflow: str, bits: int, value_range):
    """Apply the overflow mode to a node's sums; `mask` marks sums that left the range
    at some partial (None: only the final sums are checked here)."""
    if mask is None:
        if sums.size == 0 or (sums.min() >= value_range[0] and sums.max() <= value_range[1]):
            return sums, 0
        mask = _outside(sums, value_range)
    if not mask.any():
        return sums, 0
    if overflow == "raise":
        raise _overflowed(node, mask, bits, value_range)
    return np.clip(sums, value_range[0], value_range[1]), int(np.count_nonzero(mask))


def search(values: np.ndarray, s, node: str, probe) -> tuple[np.ndarray, Counts]:
    """Number of sorted values <= each element: ceil(log2(levels)) compare-and-branch
    steps over the padded array, vectorised over every element."""
    level = np.zeros(values.shape, dtype=np.intp)
    counts = Counts()
    for step in s.steps:
        cand = _see(probe, node, "search.candidate", level + step)
        bound = _see(probe, node, "search.bound", np.take(s.padded, cand))
        reached = _see(probe, node, "search.reached", values >= bound)
        level = _see(probe, node, "search.level", np.where(reached, cand, level))
        counts = counts + load("threshold_loads", bound.size, s.memory, s.bits) + Counts(
            compares=reached.size, branches=reached.size)
    return level, counts


def _lut_chunk(step, part: np.ndarray, overflow: str, probe):
    plan, node = step.plan, step.node
    place = plan.placement
    acc = np.empty((len(part),) + plan.output_shape, dtype=plan.acc_dtype)
    acc[...] = plan.bias
    counts = (load("index_loads", acc.size, place.weights, plan.index_bits)
              + load("table_loads", acc.size, place.tables, plan.table_bits))
    mask = None if plan.safe else np.zeros(acc.shape, dtype=bool)
    for group in plan.groups:
        taps = _see(probe, node, "taps", part[group.input_index])
        if plan.mode == "depthwise":
            entries = np.take(plan.columns, _see(probe, node, "index", taps + group.offsets))
        elif plan.mode == "rows":
            index = _see(probe, node, "index", np.moveaxis(taps, -1, 0) + group.offsets)
            entries = np.take(plan.columns, index, axis=0)
        else:
            index = np.moveaxis(taps, -1, 0)[..., None] + group.offsets
            entries = np.take(plan.columns, _see(probe, node, "index", index))
        _see(probe, node, "entries", entries)
        n = entries.size
        counts = (counts + load("activation_loads", n, place.activations, plan.activation_bits)
                  + load("index_loads", n, place.weights, plan.index_bits)
                  + load("table_loads", n, place.tables, plan.table_bits) + Counts(adds=n))
        out = group.output_index
        if plan.safe:
            if plan.mode == "depthwise":
                acc[out] += entries
            else:
                acc[out] += _see(probe, node, "group_sum",
                                 entries.sum(axis=0, dtype=plan.acc_dtype))
            continue
        if plan.mode == "depthwise":
            partials = _see(probe, node, "partials", acc[out] + entries)
            mask[out] |= _outside(partials, plan.acc_range)
            last = partials
        else:
            partials = _see(probe, node, "partials", acc[out] + np.cumsum(entries, axis=0))
            mask[out] |= _outside(partials, plan.acc_range).any(axis=0)
            last = partials[-1]
        if overflow == "saturate":
            last = np.clip(last, plan.acc_range[0], plan.acc_range[1])
        acc[out] = last
    return _see(probe, node, "sums", acc), counts, mask


def run_lut(step, inputs, overflow: str, probe):
    plan = step.plan
    a = inputs[0]
    sums = np.empty((len(a),) + plan.output_shape, dtype=plan.acc_dtype)
    mask = None if plan.safe else np.zeros(sums.shape, dtype=bool)
    counts = Counts()
    for start in range(0, len(a), plan.batch_rows):
        rows = slice(start, start + plan.batch_rows)
        acc, c, chunk_mask = _lut_chunk(step, a[rows], overflow, probe)
        sums[rows] = acc
        if mask is not None:
            mask[rows] = chunk_mask
        counts = counts + c
    sums, saturated = _finish_sums(step.node, sums, mask, overflow, plan.acc_bits, plan.acc_range)
    counts = counts + Counts(stores=sums.size)
    return sums, counts, saturated


def run_threshold(step, inputs, overflow: str, probe):
    plan = step.plan
    sums = inputs[0]
    level, counts = search(sums, plan.search, step.node, probe)
    counts = (counts + load("activation_loads", sums.size, plan.placement.activations,
                            plan.sum_bits) + Counts(stores=level.size))
    return level, counts, 0


def _window(step, a: np.ndarray, probe, combine, counter: str):
    plan = step.plan
    out = _see(probe, step.node, "window", a[plan.taps[0]])
    counts = load("activation_loads", out.size, plan.placement.activations, 8)
    for tap in plan.taps[1:]:
        value = a[tap]
        out = _see(probe, step.node, "window", combine(out, value))
        counts = (counts + load("activation_loads", value.size, plan.placement.activations, 8)
                  + Counts(**{counter: out.size}))
    return (out.copy() if len(plan.taps) == 1 else out), counts


def run_max_pool(step, inputs, overflow: str, probe):
    out, counts = _window(step, inputs[0], probe, np.maximum, "max_ops")
    return out, counts + Counts(stores=out.size), 0


def run_avg_pool(step, inputs, overflow: str, probe):
    total, counts = _window(step, inputs[0], probe, np.add, "adds")
    level, more = search(total, step.plan.search, step.node, probe)
    return level, counts + more + Counts(stores=level.size), 0


def run_add(step, inputs, overflow: str, probe):
    plan, node = step.plan, step.node
    place = plan.placement
    acc, mask, counts = None, None, Counts()
    for array, table, bits in zip(inputs, plan.value_tables, plan.input_bits):
        counts = counts + load("activation_loads", array.size, place.activations, bits)
        if table is None:
            term = array.astype(np.int64)
        else:
            term = np.take(table, array)
            counts = counts + load("table_loads", term.size, place.tables, plan.table_bits)
        _see(probe, node, "term", term)
        if acc is None:
            acc, mask = term, np.zeros(term.shape, dtype=bool)
            continue
        acc = _see(probe, node, "partials", acc + term)
        counts = counts + Counts(adds=acc.size)
        mask |= _outside(acc, plan.acc_range)
        if overflow == "saturate":
            acc = np.clip(acc, plan.acc_range[0], plan.acc_range[1])
    acc, saturated = _finish_sums(node, acc, mask, overflow, plan.acc_bits, plan.acc_range)
    return acc, counts + Counts(stores=acc.size), saturated


def run_argmax(step, inputs, overflow: str, probe):
    flat = inputs[0].reshape(len(inputs[0]), -1)
    classes = _see(probe, step.node, "classes", np.argmax(flat, axis=1))
    steps = flat.size - len(flat)
    counts = (load("activation_loads", flat.size, step.plan.placement.activations,
                   step.plan.input_bits) + Counts(compares=steps, branches=steps,
                                                  stores=len(flat)))
    return classes, counts, 0


def run_reshape(step, inputs, overflow: str, probe):
    """flatten and output_table: a C-order view, no action (output_table hands the
    output level indices to the application, which maps them to values)."""
    a = inputs[0]
    return a.reshape(len(a), -1), Counts(), 0


RUNNERS = {"lut_dense": run_lut, "lut_conv1d": run_lut, "lut_conv2d": run_lut,
           "lut_depthwise_conv2d": run_lut, "threshold": run_threshold,
           "max_pool1d": run_max_pool, "max_pool2d": run_max_pool,
           "avg_pool1d": run_avg_pool, "avg_pool2d": run_avg_pool, "add": run_add,
           "argmax": run_argmax, "flatten": run_reshape, "output_table": run_reshape}
