"""The executor's input check (one pass: the levels viewed as unsigned, so a negative
level is beyond every level) over every integer layout a caller may hand it."""
from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.execute.executor import build_plan, run_plan
from hwsim.ir.graph import graph_from_workload
from tests.test_graph import shape_only

LEVELS = 17


@pytest.fixture(scope="module")
def plan():
    w = shape_only((6,), [{"type": "dense", "units": 5}], input_levels=LEVELS, levels=4,
                   clusters=3)
    return build_plan(graph_from_workload(w, 0))


def _layouts(x):
    yield x.astype(np.int64)
    yield x.astype(np.uint8)
    yield x.astype(np.int8)
    yield x.astype(">i4")                                    # big-endian
    yield np.asfortranarray(x.astype(np.int16))             # not C-contiguous
    yield np.repeat(x.astype(np.int32), 2, axis=1)[:, ::2]  # strided


def test_valid_levels_in_any_layout_run_alike(plan):
    x = np.random.default_rng(0).integers(0, LEVELS, (9, 6))
    x[0] = 0
    x[1] = LEVELS - 1
    want = run_plan(plan, x)
    for a in _layouts(x):
        got = run_plan(plan, a)
        np.testing.assert_array_equal(got.outputs, want.outputs, err_msg=str(a.dtype))


@pytest.mark.parametrize("bad, found", [(-1, "-1..16"), (LEVELS, "0..17"), (-128, "-128..16")])
def test_levels_outside_the_range_are_refused_in_any_layout(plan, bad, found):
    x = np.random.default_rng(1).integers(0, LEVELS, (9, 6))
    x[0] = 0
    x[1] = LEVELS - 1
    x[4, 3] = bad
    for a in _layouts(x):
        if a.dtype.kind == "u" and bad < 0:
            continue                                         # not representable
        with pytest.raises(HwsimError, match=rf"input levels must lie in 0\.\.16, found {found}"):
            run_plan(plan, a)
