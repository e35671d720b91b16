"""The executor's inference functions, one per op: integer gathers, adds, compares
and maxima over a whole batch (numpy, no Python loop per sample, unit or
connection: loops run over kernel taps, pool windows and binary-search steps).
Nothing here multiplies or touches a float; tests/test_execute.py checks that with
`ast`. Plans come from hwsim/execute/plan.py.

Each runner takes (step, input arrays, overflow mode, probe) and returns
(output, Counts, saturated). `probe`, when given, is called as
probe(node, label, array) with every array the runner makes.

Accumulator overflow (weighted layers and adds). The accumulation order is the
device's: the bias entry, then the connections in the row order of the weight
indices (kernel tap by tap, input channel by channel); an add sums its inputs in
edge order. A layer whose static bound (sum over a unit's connections of the
largest magnitude in each connection's table column, plus the bias) fits the
accumulator cannot overflow in any order: its sums are not checked at all. For
any other layer every partial sum is checked, exactly, in that order. Overflow
"raise": HwsimError naming the node and the first (sample, unit) whose sum leaves
the range. "saturate": the running sum is clamped to the range at every
checkpoint (after each kernel tap, or each group of DENSE_GROUP inputs of a dense
layer, and after each input of an add); every sum that left the range at any
partial is counted once as saturated.

Longer than 300 lines: one runner per op, kept together with the search and the
grouped index they share and the overflow checks of the weighted and add runners.
"""
from __future__ import annotations

from itertools import repeat

import numpy as np

from hwsim.execute import host
from hwsim.execute.counters import tally
from hwsim.execute.packed import unpack
from hwsim.errors import HwsimError

SHORT_GROUPS = 16        # fewer groups: the combined index is built channels first


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


def _bucket_search(values: np.ndarray, s, node: str, probe) -> np.ndarray:
    """The bucket search (hwsim/execute/search.py): clamp, shift, subtract, gather the
    bucket's value, compare, then gather the level of (bucket << 1) | reached; over a
    small range, subtract and gather the level (int32 sums: the gather's "clip" mode is the
    clamp, since clamping x to [low, high] clips x - low to the table)."""
    low, high = s.clamp
    if s.direct is not None and values.dtype == np.int32:   # x - low in intp: no overflow
        index = _see(probe, node, "search.index", np.subtract(values, low, dtype=np.intp))
        return _see(probe, node, "search.level", s.direct.take(index, mode="clip"))
    bucket = np.clip(values, low, high)
    if s.direct is not None:                 # one bucket per value: the level itself
        np.subtract(bucket, low, out=bucket)
        return _see(probe, node, "search.level", np.take(s.direct, bucket, mode="wrap"))
    np.right_shift(bucket, s.bucket_shift, out=bucket)
    np.subtract(bucket, s.first_bucket, out=bucket)
    inner = np.take(s.inner32 if values.dtype == np.int32 else s.inner, bucket, mode="wrap")
    reached = _see(probe, node, "search.reached",
                   np.greater_equal(values, _see(probe, node, "search.bound", inner)))
    np.left_shift(bucket, 1, out=bucket)
    np.bitwise_or(bucket, reached, out=bucket)
    return _see(probe, node, "search.level", np.take(s.pairs, bucket, mode="wrap"))


def search(values: np.ndarray, s, node: str, probe) -> tuple[np.ndarray, int]:
    """Number of sorted values <= each element, and the number of binary-search steps
    the device does for it (over all elements): ceil(log2(levels)) steps of one
    threshold load, one compare and a conditional step up. The executor runs the
    per-value or bucket search where the plan made one, else those steps vectorised over every
    element (branch-free here: the step is the compare's bit shifted into place).
    Every element starts at level 0, so the first step compares with one value."""
    steps = sum(repeat(values.size, len(s.shifts)))
    fast = s.direct is not None or s.bucket_shift is not None
    if fast and (values.dtype == np.int64 or s.narrow):
        return _bucket_search(values, s, node, probe), steps
    padded = s.padded32 if values.dtype == np.int32 else s.padded
    first, *rest = s.shifts
    reached = _see(probe, node, "search.reached", values >= padded[1 << first])
    level = _see(probe, node, "search.level",
                 np.left_shift(reached.view(np.uint8), first, dtype=np.intp))
    bound = np.empty(values.shape, dtype=padded.dtype)
    step_up = np.empty(values.shape, dtype=np.uint8)
    for shift in rest:
        # padded[level + step]; level + step < len(padded) always, so "wrap" never wraps
        # (numpy's fastest take into `out`: no bounds clamp, no buffer)
        np.take(padded[1 << shift:], level, out=bound, mode="wrap")
        np.greater_equal(values, _see(probe, node, "search.bound", bound), out=reached)
        np.left_shift(_see(probe, node, "search.reached", reached).view(np.uint8), shift,
                      out=step_up)
        np.add(level, _see(probe, node, "search.step", step_up), out=level)
        _see(probe, node, "search.level", level)
    return level.astype(s.levels, copy=False), steps


def _channels_first(a: np.ndarray) -> np.ndarray:
    """A view of `a` with its last axis first (np.moveaxis without its argument checks)."""
    return a.transpose((a.ndim - 1,) + tuple(range(a.ndim - 1)))


def combined_digits(grouping, part: np.ndarray) -> tuple[np.ndarray, bool]:
    """The grouped tables' index of each group of g input channels (last axis of
    `part`, digit k of the groups its k-th run of G channels): a_0 + (a_1 << log2 L)
    + ... or a_0 + radix[0][a_1] + ... (hwsim/execute/grouped.py), shifts or gathers
    and adds in the narrowest type holding L^g - 1 (levels arrive a byte each: two
    bytes move where intp moved eight). With fewer than SHORT_GROUPS groups (rows of a
    few values, where numpy's per-row cost dominates) the digits are read channels
    first: (groups, N, ...); else (N, ..., groups). Returns (index, channels first)."""
    groups = grouping.groups
    across = groups < SHORT_GROUPS
    channels = _channels_first(part) if across else part

    def run(start: int) -> np.ndarray:      # channels start .. start + G - 1
        return channels[start:start + groups] if across else channels[
            ..., start:start + groups]

    first = run(0)
    index = np.empty(first.shape, dtype=grouping.digits)   # C order either way
    index[...] = first
    term = np.empty(first.shape, dtype=grouping.digits)
    shift, start = 0, groups
    for radix in grouping.radix:           # digit k: channels k G .. k G + G - 1
        digit = run(start)
        n = digit.shape[0] if across else digit.shape[-1]
        view, out = (index[:n], term[:n]) if across else (index[..., :n], term[..., :n])
        if grouping.shift is None:
            np.take(radix, digit, out=out)
        else:
            shift += grouping.shift
            np.left_shift(digit, shift, out=out, dtype=grouping.digits, casting="unsafe")
        view += out
        start += groups
    return index, across


def combined_index(grouping, part: np.ndarray, offsets=None) -> np.ndarray:
    """combined_digits widened to intp channels first (groups, N, ...) in C order (the
    gather then reads its index in order), plus `offsets` (a single group's base rows,
    broadcast over the batch and positions) when given, in that one pass."""
    index, across = combined_digits(grouping, part)
    if not across:
        index = _channels_first(index)
    wide = np.empty(index.shape, dtype=np.intp)
    if offsets is None:
        wide[...] = index
    else:
        np.add(index, offsets, out=wide)
    return wide


def _host_sums(step, part: np.ndarray):
    """A single "rows" layer's sums by the compiled row sums (hwsim/execute/host.py),
    or None where they are not there: the digits (levels, or the grouped tables'
    combined index) of every sample and position, their rows added in C into sums that
    start at the bias (or at zero where the bias is in the first group's rows, or in
    the lane-packed words' offsets)."""
    plan = step.plan
    part = part[plan.groups[0].input_index[:-1]]   # the tap's positions (a 1 x 1 kernel)
    if plan.grouping is None:
        digits, across = part, False
    else:
        digits, across = combined_digits(plan.grouping, part)
    spots = part.shape[:-1]                # the batch and the output positions
    digits = digits.reshape((len(digits), -1) if across else (-1, digits.shape[-1]))
    if plan.packing is not None:
        words = plan.packing.words
        out = np.zeros(spots + (words,), dtype=np.int64)
    else:
        words = plan.units
        out = np.empty(spots + (words,), dtype=np.int32)
        out[...] = 0 if plan.grouping is not None else plan.bias
    flat = out.reshape(-1, words)
    if not host.sum_rows(plan.columns, plan.row_offsets, plan.group_rows, digits, across,
                         words, flat):
        return None
    if plan.packing is not None:
        return unpack(out, plan.packing)
    if plan.restore is not None:           # centred rows: the centres added back
        np.add(out, plan.restore, out=out)
    return out


def _grouped_sums(step, part: np.ndarray, overflow: str, probe):
    """Sums of one batch chunk of a single grouped layer (one group of every input
    reaching every unit; the bias entries in the first group's rows or in the packing's
    offsets): the combined index with the groups' base rows folded in, one gather of
    group rows, one sum over the groups (of lane-packed words, then unpacked)."""
    plan, node = step.plan, step.node
    part = part[plan.groups[0].input_index[:-1]]   # the tap's positions (a 1 x 1 kernel)
    index = _see(probe, node, "index", _see(probe, node, "combined", combined_index(
        plan.grouping, part, plan.groups[0].offsets)))
    entries = _see(probe, node, "entries", plan.columns.take(index, axis=0))
    if plan.packing is not None:
        sums = unpack(_see(probe, node, "words", np.add.reduce(entries, axis=0)),
                      plan.packing)
    else:
        rows = len(entries)
        for _ in range(plan.halvings):     # int16 adds first, where the plan proved them safe
            half = rows >> 1
            np.add(entries[:half], entries[rows - half:rows], out=entries[:half])
            rows -= half
            _see(probe, node, "halved", entries[:rows])
        sums = entries[:rows].sum(axis=0, dtype=plan.acc_dtype)[..., :plan.units]
        if plan.restore is not None:       # centred rows: the centres added back
            np.add(_see(probe, node, "centred", sums), plan.restore, out=sums)
    return _see(probe, node, "sums", sums)


def _lut_chunk(step, part: np.ndarray, overflow: str, probe):
    """Sums of one batch chunk, the number of connections added, and (checked path)
    the mask of sums that left the range at some partial."""
    plan, node = step.plan, step.node
    acc = None
    added = 0
    if not plan.single:
        acc = np.empty((len(part),) + plan.output_shape, dtype=plan.acc_dtype)
        acc[...] = plan.bias
    mask = None if plan.safe else np.zeros(acc.shape, dtype=bool)
    if plan.grouping is None:
        channels = _channels_first(part)                   # channels first, as the rows
    else:
        channels = _see(probe, node, "combined", combined_index(plan.grouping, part))
    for group in plan.groups:
        if plan.mode == "depthwise":
            taps = _see(probe, node, "taps", part[group.input_index])
            entries = np.take(plan.columns, _see(probe, node, "index", taps + group.offsets))
        else:                                          # channels first: (c, N, positions)
            where = (group.input_index[-1],) + group.input_index[:-1]
            taps = _see(probe, node, "taps", channels[where])
        if plan.mode == "rows":
            entries = np.take(plan.columns, _see(probe, node, "index", taps + group.offsets),
                              axis=0)
        elif plan.mode == "direct":
            index = _see(probe, node, "index", taps[..., None] + group.offsets)
            entries = np.take(plan.columns, index)
        _see(probe, node, "entries", entries)
        if plan.grouping is None:
            added += entries[..., :plan.units].size    # not the padding of narrow rows
        else:                                          # the connections the groups stand for
            added += sum(repeat(group.connections, len(part)))
        out = group.output_index
        if plan.single:                                # one group, every unit: sum + bias
            acc = entries.sum(axis=0, dtype=plan.acc_dtype)[..., :plan.units]
            acc += plan.bias
            continue
        if plan.safe:
            if plan.mode == "depthwise":
                acc[out] += entries
            else:
                acc[out] += _see(probe, node, "group_sum",
                                 entries.sum(axis=0, dtype=plan.acc_dtype)[..., :plan.units])
            continue
        if plan.mode == "depthwise":
            partials = _see(probe, node, "partials", acc[out] + entries)
            mask[out] |= _outside(partials, plan.acc_range)
            last = partials
        else:
            partials = _see(probe, node, "partials",
                            acc[out] + np.cumsum(entries[..., :plan.units], axis=0))
            mask[out] |= _outside(partials, plan.acc_range).any(axis=0)
            last = partials[-1]
        if overflow == "saturate":
            last = np.clip(last, plan.acc_range[0], plan.acc_range[1])
        acc[out] = last
    return _see(probe, node, "sums", acc), added, mask


def run_lut(step, inputs, overflow: str, probe):
    """A weighted layer over the batch, in chunks of the plan's batch_rows samples. The
    connections it adds: the entries gathered (per-connection gathers), or the
    connections the groups stand for, summed over the samples (grouped layers gather
    fewer rows than the per-connection kernel they stand for)."""
    plan = step.plan
    a = inputs[0]
    if plan.row_offsets is not None and probe is None:   # compiled row sums
        sums = _host_sums(step, a)
        if sums is not None:
            return sums, _lut_counts(plan, sums.size, sum(repeat(plan.groups[0].connections,
                                                                 len(a)))), 0
    grouped_single = plan.grouping is not None and plan.single
    if grouped_single and len(a) <= plan.batch_rows:      # one chunk: the common case
        sums = _grouped_sums(step, a, overflow, probe)
        return sums, _lut_counts(plan, sums.size,
                                 sum(repeat(plan.groups[0].connections, len(a)))), 0
    chunk = _grouped_sums if grouped_single else _lut_chunk
    parts = [chunk(step, a[start:start + plan.batch_rows], overflow, probe)
             for start in range(0, len(a), plan.batch_rows)]
    sums = [p if grouped_single else p[0] for p in parts]
    sums = sums[0] if len(sums) == 1 else np.concatenate(sums)
    if grouped_single:
        added = sum(repeat(plan.groups[0].connections, len(a)))
    else:
        added = sum(p[1] for p in parts)
    saturated = 0               # safe: the static bound keeps every sum in the range
    if not plan.safe:
        sums, saturated = _finish_sums(step.node, sums, np.concatenate([p[2] for p in parts]),
                                       overflow, plan.acc_bits, plan.acc_range)
    return sums, _lut_counts(plan, sums.size, added), saturated


def _lut_counts(plan, units: int, added: int):
    """A weighted layer's counts: one bias index and one bias entry per unit and one
    store; per connection added, its index, its table entry and its activation."""
    place = plan.placement
    return tally([("index_loads", units + added, place.weights, plan.index_bits),
                  ("table_loads", units + added, place.tables, plan.table_bits),
                  ("activation_loads", added, place.activations, plan.activation_bits)],
                 adds=added, stores=units)


def run_threshold(step, inputs, overflow: str, probe):
    plan = step.plan
    sums = inputs[0]
    level, steps = search(sums, plan.search, step.node, probe)
    s = plan.search
    counts = tally([("activation_loads", sums.size, plan.placement.activations, plan.sum_bits),
                    ("threshold_loads", steps, s.memory, s.bits)],
                   compares=steps, branches=steps, stores=level.size)
    return level, counts, 0


def _window(step, a: np.ndarray, probe, combine, dtype=None):
    """Combine the window taps of a pool: (result, values loaded, combines done);
    `dtype`: of the result (an average pool's window sums: intp, not the levels' byte)."""
    plan = step.plan
    out = a[plan.taps[0]]
    if dtype is not None:                              # a copy: the result is never a view
        out = out.astype(dtype)
    _see(probe, step.node, "window", out)
    loaded, combined = out.size, 0
    for tap in plan.taps[1:]:
        value = a[tap]
        out = _see(probe, step.node, "window", combine(out, value))
        loaded += value.size
        combined += out.size
    return (out.copy() if len(plan.taps) == 1 and dtype is None else out), loaded, combined


def run_max_pool(step, inputs, overflow: str, probe):
    out, loaded, combined = _window(step, inputs[0], probe, np.maximum)
    counts = tally([("activation_loads", loaded, step.plan.placement.activations, 8)],
                   max_ops=combined, stores=out.size)
    return out, counts, 0


def run_avg_pool(step, inputs, overflow: str, probe):
    window_sums, loaded, combined = _window(step, inputs[0], probe, np.add, np.intp)
    s = step.plan.search
    level, steps = search(window_sums, s, step.node, probe)
    counts = tally([("activation_loads", loaded, step.plan.placement.activations, 8),
                    ("threshold_loads", steps, s.memory, s.bits)],
                   adds=combined, compares=steps, branches=steps, stores=level.size)
    return level, counts, 0


def run_add(step, inputs, overflow: str, probe):
    plan, node = step.plan, step.node
    place = plan.placement
    acc, mask, loads, added = None, None, [], 0
    for array, table, bits in zip(inputs, plan.value_tables, plan.input_bits):
        loads.append(("activation_loads", array.size, place.activations, bits))
        if table is None:
            term = array.astype(np.int64)
        else:
            term = np.take(table, array)
            loads.append(("table_loads", term.size, place.tables, plan.table_bits))
        _see(probe, node, "term", term)
        if acc is None:
            acc, mask = term, np.zeros(term.shape, dtype=bool)
            continue
        acc = _see(probe, node, "partials", acc + term)
        added += acc.size
        mask |= _outside(acc, plan.acc_range)
        if overflow == "saturate":
            acc = np.clip(acc, plan.acc_range[0], plan.acc_range[1])
    acc, saturated = _finish_sums(node, acc, mask, overflow, plan.acc_bits, plan.acc_range)
    return acc, tally(loads, adds=added, stores=acc.size), saturated


def run_argmax(step, inputs, overflow: str, probe):
    flat = inputs[0].reshape(len(inputs[0]), -1)
    classes = _see(probe, step.node, "classes", np.argmax(flat, axis=1))
    steps = flat.size - len(flat)
    counts = tally([("activation_loads", flat.size, step.plan.placement.activations,
                     step.plan.input_bits)], compares=steps, branches=steps, stores=len(flat))
    return classes, counts, 0


def run_flatten(step, inputs, overflow: str, probe):
    """A C-order view: no action."""
    a = inputs[0]
    return a.reshape(len(a), -1), tally(), 0


def run_output_table(step, inputs, overflow: str, probe):
    """The output level indices, handed to the application as they are (it maps them
    to values through the graph's output_values): no action."""
    return inputs[0], tally(), 0


RUNNERS = {"dense": run_lut, "conv1d": run_lut, "conv2d": run_lut,
           "depthwise_conv2d": run_lut, "threshold": run_threshold,
           "max_pool1d": run_max_pool, "max_pool2d": run_max_pool,
           "avg_pool1d": run_avg_pool, "avg_pool2d": run_avg_pool, "add": run_add,
           "argmax": run_argmax, "flatten": run_flatten, "output_table": run_output_table}
