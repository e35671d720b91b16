"""Exact fits of characterized counts: each action's count as a linear combination of
basis monomials of the trip counts (hwsim.ir.int8_kernels.monomial_value) with small
rational coefficients and zero residual (`fit`, `predict`), shared by every kernel
library's characterization; and, for the one-wait-state fetch-wait actions
(hwsim.machine.fetch_waits.FETCH_ACTIONS), which also follow which way data-dependent
branches went and where calls return, a least-squares fit within a stated bound where no
exact function exists (`fit_fetch_within_bounds`, `prove_held_out`).
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import monomial_value
from hwsim.ir.int8_trip_counts import trip_counts
from hwsim.machine.fetch_waits import FETCH_ACTIONS


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(64)


def _solve(x: np.ndarray, y: np.ndarray) -> list[Fraction] | None:
    """Small-denominator rational c with x c == y exactly (x, y integer), or None:
    least squares on unit-norm columns, rounded, then refined on the exact residual."""
    norms = np.linalg.norm(x.astype(float), axis=0)
    scaled = x / norms
    coefficients = [Fraction(0)] * x.shape[1]
    residual = y.astype(object)
    for _ in range(4):
        step = np.linalg.lstsq(scaled, residual.astype(float), rcond=None)[0] / norms
        coefficients = [c + _rational(v) for c, v in zip(coefficients, step)]
        residual = y.astype(object) - np.array(
            [sum(c * int(v) for c, v in zip(coefficients, row) if c) for row in x], dtype=object)
        if not residual.any():
            return coefficients
    return None


def fit(monomials: list[tuple], runs: list[Measured], what: str, counts=None
        ) -> dict[str, list[Fraction]]:
    """Coefficients per action over `monomials`, exact on every run, or HwsimError.
    `counts`: each run's trip counts (default: the int8 kernels' of its call)."""
    counts = counts or [trip_counts(r.call) for r in runs]
    x = np.array([[monomial_value(m, c) for m in monomials] for c in counts], dtype=np.int64)
    keep, found = [], []            # a maximal independent set of columns, in basis order
    for j in range(x.shape[1]):     # (Gram-Schmidt, twice: a spanned column is dropped)
        v = x[:, j].astype(float)
        norm = np.linalg.norm(v)
        for _ in range(2):
            for q in found:
                v = v - (q @ v) * q
        if norm and np.linalg.norm(v) > 1e-9 * norm:
            keep.append(j)
            found.append(v / np.linalg.norm(v))
    actions = sorted({a for r in runs for a in r.counts})
    coefficients = {}
    for action in actions:
        y = np.array([r.counts.get(action, 0) for r in runs], dtype=np.int64)
        solution = _solve(x[:, keep], y)
        if solution is None:
            worst = int(np.argmax(np.abs(x[:, keep].astype(float) @ np.linalg.lstsq(
                x[:, keep].astype(float), y.astype(float), rcond=None)[0] - y)))
            raise HwsimError(f"{what}: {action} is not an exact function of the trip "
                             f"counts (worst on {runs[worst].call}, which executes "
                             f"{y[worst]})")
        full = [Fraction(0)] * len(monomials)
        for j, value in zip(keep, solution):
            full[j] = value
        coefficients[action] = full
    return coefficients


def predict(monomials, coefficients: dict[str, list], call: KernelCall, counts=None
            ) -> dict[str, Fraction]:
    """Fitted action counts of one call (coefficients as Fractions, ints or "p/q");
    `counts`: its trip counts (default: the int8 kernels')."""
    counts = counts or trip_counts(call)
    values = [monomial_value(m, counts) for m in monomials]
    return {a: sum((Fraction(c) * v for c, v in zip(cs, values) if c), Fraction(0))
            for a, cs in coefficients.items()}


def _encode(c: Fraction):
    return c.numerator if c.denominator == 1 else f"{c.numerator}/{c.denominator}"



def fit_fetch_within_bounds(monomials, runs, what: str, trips=None
                            ) -> tuple[dict, dict[str, Fraction]]:
    """`fit`'s exact coefficients per action, except for a fetch-wait action that is no
    exact function of the trip counts: least squares (coefficients as Fractions), its
    worst absolute error over the runs its bound. `trips`: each run's trip counts (default
    its own `trips`). (coefficients, bounds)."""
    trips = trips or [r.trips for r in runs]
    exact = [replace(r, counts={a: n for a, n in r.counts.items() if a not in FETCH_ACTIONS})
             for r in runs]
    coefficients = fit(monomials, exact, what, trips)
    bounds = {}
    x = np.array([[monomial_value(m, t) for m in monomials] for t in trips], dtype=float)
    for action in sorted({a for r in runs for a in r.counts} & set(FETCH_ACTIONS)):
        alone = [replace(r, counts={action: r.counts.get(action, 0)}) for r in runs]
        try:
            coefficients |= fit(monomials, alone, what, trips)
            continue
        except HwsimError:
            pass
        y = np.array([r.counts.get(action, 0) for r in runs], dtype=float)
        solution = np.linalg.lstsq(x, y, rcond=None)[0]
        coefficients[action] = [Fraction(float(v)).limit_denominator(64) for v in solution]
        bounds[action] = max(abs(predict(monomials, coefficients, None, t)[action]
                                 - r.counts.get(action, 0)) for t, r in zip(trips, runs))
    return coefficients, bounds


def prove_held_out(what: str, shape, predicted: dict, counts: dict, coefficients: dict,
                   bounds: dict | None = None) -> dict:
    """Raise (naming the kernel `what`, the held-out `shape` and the action) unless a
    held-out run's executed `counts` are the fit's `predicted` ones, action by action
    (a bounded action's: the bound widened to its error here). The bounds."""
    bounds = dict(bounds or {})
    for action in sorted(set(predicted) | set(counts)):
        if action not in coefficients:
            raise HwsimError(f"{what}: a held-out shape executes {action}, never fitted")
        if action in bounds:
            error = abs(predicted.get(action, 0) - counts.get(action, 0))
            bounds[action] = max(bounds[action], error)
        elif predicted.get(action, 0) != counts.get(action, 0):
            raise HwsimError(f"{what}: held-out {shape} executes {counts.get(action, 0)} "
                             f"{action}, the fit predicts {predicted.get(action, 0)}")
    return bounds
