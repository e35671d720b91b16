"""Measured, not assumed: run the executor's inference on arrays that record every
numpy operation applied to them, and count per node the multiplications, the
divisions and the operations that make or touch a float.

Every array the inference sees (the input, every node's output, every array of
the execution plan: tables, indices, thresholds, bounds) is a `Traced` view. A
ufunc or numpy function applied to one is recorded before it runs, and its
results are Traced again, so the record follows the data through the whole
inference. Forms caught: operators (`a * b`, `operator.mul`, `a.__mul__(b)`,
`a / b`, `a // b`, `a % b`, `a ** 2`), ufuncs and their methods (`np.multiply`,
`np.power`, `np.square`, `np.ldexp`, `np.cumprod` = `multiply.accumulate`,
`np.prod` = `multiply.reduce`, `np.divide`, ...), products that are not ufuncs
(`np.dot`, `np.einsum`, `np.tensordot`, ...), any operation with a float or
complex operand or result (`np.floor(x + np.e)`), and conversions to a float
array (`a.astype(float)`). Counts are elements: an elementwise product over an
(N, F) array counts N*F.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import numpy as np

from hwsim.execute.counters import Counts
from hwsim.execute.executor import Execution, NodeRun, check_inputs
from hwsim.execute.ops import RUNNERS
from hwsim.execute.plan import ExecutionPlan

MULTIPLYING_UFUNCS = frozenset({np.multiply, np.power, np.float_power, np.square, np.ldexp,
                                np.matmul})
DIVIDING_UFUNCS = frozenset({np.divide, np.true_divide, np.floor_divide, np.remainder,
                             np.fmod, np.divmod, np.reciprocal})
MULTIPLYING_FUNCTIONS = frozenset({np.dot, np.vdot, np.inner, np.outer, np.tensordot,
                                   np.einsum, np.kron, np.convolve, np.correlate, np.cross,
                                   np.polyval, np.linalg.matrix_power, np.linalg.multi_dot})
_FLOAT_KINDS = "fc"


@dataclass(frozen=True)
class Measured:
    """Operations measured on one node over the whole batch (elements)."""
    multiplies: int = 0
    divisions: int = 0
    float_ops: int = 0

    def __add__(self, other: "Measured") -> "Measured":
        return Measured(self.multiplies + other.multiplies, self.divisions + other.divisions,
                        self.float_ops + other.float_ops)

    @property
    def clean(self) -> bool:
        return not (self.multiplies or self.divisions or self.float_ops)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class _Ledger(threading.local):
    def __init__(self):
        self.node: str | None = None
        self.counts: dict[str, dict[str, int]] | None = None

    def add(self, what: str, amount: int) -> None:
        if self.counts is not None and self.node is not None and amount:
            self.counts.setdefault(self.node, {}).setdefault(what, 0)
            self.counts[self.node][what] += amount


_LEDGER = _Ledger()


def _size(values) -> int:
    sizes = [np.size(v) for v in values if isinstance(v, (np.ndarray, np.generic, int, float,
                                                          complex))]
    return max(sizes, default=1) or 1


def _is_float(value) -> bool:
    if isinstance(value, (float, complex)):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind in _FLOAT_KINDS


def _plain(value):
    if isinstance(value, Traced):
        return value.view(np.ndarray)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _traced(value):
    if isinstance(value, np.ndarray) and not isinstance(value, Traced):
        return value.view(Traced)
    if isinstance(value, tuple):
        return tuple(_traced(v) for v in value)
    return value


def _flatten(values):
    for value in values:
        if isinstance(value, (tuple, list)):
            yield from _flatten(value)
        else:
            yield value


class Traced(np.ndarray):
    """An ndarray view that records the operations applied to it (see module doc)."""

    def __array_finalize__(self, obj) -> None:
        if obj is not None and self.dtype.kind in _FLOAT_KINDS \
                and getattr(obj, "dtype", None) is not None and obj.dtype.kind not in _FLOAT_KINDS:
            _LEDGER.add("float_ops", self.size)          # an integer array made float

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [_plain(v) for v in inputs]
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        result = getattr(ufunc, method)(*args, **kwargs)
        touched = list(_flatten(args)) + list(_flatten([result]))
        size = _size(touched)
        if ufunc in MULTIPLYING_UFUNCS:
            _LEDGER.add("multiplies", size)
        if ufunc in DIVIDING_UFUNCS:
            _LEDGER.add("divisions", size)
        if any(_is_float(v) for v in touched):
            _LEDGER.add("float_ops", size)
        return _traced(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, types, args, kwargs)
        if result is NotImplemented:
            return result
        flat = list(_flatten(list(args) + [result]))
        if func in MULTIPLYING_FUNCTIONS:
            _LEDGER.add("multiplies", _size(flat))
        if func in MULTIPLYING_FUNCTIONS and any(_is_float(v) for v in flat):
            _LEDGER.add("float_ops", _size(flat))
        elif _is_float(result):
            _LEDGER.add("float_ops", _size([result]))
        return _traced(result)


def _trace_tree(value):
    """The same plan with every ndarray inside it a Traced view."""
    if isinstance(value, np.ndarray):
        return _traced(value)
    if isinstance(value, tuple):
        return tuple(_trace_tree(v) for v in value)
    if isinstance(value, list):
        return [_trace_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _trace_tree(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _trace_tree(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


def measured_run(plan: ExecutionPlan, x, *, overflow: str = "raise"
                 ) -> tuple[Execution, dict[str, Measured]]:
    """Run a prepared graph like hwsim.execute.executor.run_plan, with every array
    traced; returns the execution (plain arrays) and the measured operations of each
    node over the whole batch."""
    counts: dict[str, dict[str, int]] = {}
    saved = (_LEDGER.node, _LEDGER.counts)
    _LEDGER.counts = counts
    values, nodes = {}, {}
    try:
        for step in plan.steps:
            _LEDGER.node = step.node
            if step.op == "input":
                output, done, saturated = _traced(check_inputs(plan, x)), Counts(), 0
            else:
                output, done, saturated = RUNNERS[step.op](
                    _trace_tree(step), [values[src] for src in step.inputs], overflow, None)
                output = _traced(np.asarray(output))
            values[step.node] = output
            nodes[step.node] = NodeRun(step.node, step.op, output.view(np.ndarray), done,
                                       saturated)
    finally:
        _LEDGER.node, _LEDGER.counts = saved
    out = nodes[plan.output].output
    outputs = out if out.ndim == 1 else out.reshape(len(out), -1)
    measured = {node: Measured(**counts.get(node, {})) for node in nodes}
    return Execution(plan.name, len(out), overflow, outputs, nodes), measured
