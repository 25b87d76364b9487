"""What each simulated path earns: total profit, NPV, ROI, payback and IRR, vectorised over paths.

The Accountant's headline figures are percentiles of these per-path outcomes. Summing per-period
percentiles instead would assume every period is bad at once, which overstates the downside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyxirr
from numpy.typing import NDArray

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class PathOutcomes:
    """One value per simulated path. `payback` and `irr` are NaN where a path has none; `never_earns` marks
    the paths with no profit at all (they can have no IRR)."""

    total_profit: Vector
    npv: Vector
    roi: Vector
    payback: Vector
    irr: Vector
    never_earns: NDArray[np.bool_]


def npv(profit: Vector, rate: float, investment: float) -> Vector:
    """Investment at t=0, profit of period t discounted by (1 + rate) ** t, for every path at once."""
    discount = (1.0 + rate) ** -np.arange(1, profit.shape[1] + 1, dtype=np.float64)
    result: Vector = profit @ discount - investment
    return result


def payback(profit: Vector, investment: float) -> Vector:
    """Fractional periods until cumulative profit covers the investment for good (linear within the period).

    Paid back means covered from then on to the horizon: a path whose later losses take cumulative profit
    back under the investment has not paid back (the first crossing would report it as paid back early).
    """
    cumulative = np.cumsum(profit, axis=1)
    covered = cumulative >= investment
    for_good = np.logical_and.accumulate(covered[:, ::-1], axis=1)[:, ::-1]
    reached = for_good[:, -1]
    first = for_good.argmax(axis=1)
    rows = np.arange(profit.shape[0])
    flow = profit[rows, first]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflowed paths: the guard reports them
        before = cumulative[rows, first] - flow
        fraction = (investment - before) / flow
    result: Vector = np.where(reached, first + fraction, np.nan)
    return result


def single_sign_change(cash_flows: Vector) -> NDArray[np.bool_]:
    """Rows whose flows change sign exactly once, ignoring zeros (Descartes: exactly one IRR).

    Only boolean masks are allocated: this runs on every simulated path inside the memory budget.
    """
    pos, neg = cash_flows > 0, cash_flows < 0
    width = cash_flows.shape[1]
    has_pos, has_neg = pos.any(axis=1), neg.any(axis=1)
    first_pos, first_neg = pos.argmax(axis=1), neg.argmax(axis=1)
    last_pos = np.where(has_pos, width - 1 - pos[:, ::-1].argmax(axis=1), -1)
    last_neg = np.where(has_neg, width - 1 - neg[:, ::-1].argmax(axis=1), -1)
    starts_negative = has_neg & (~has_pos | (first_neg < first_pos))
    once: NDArray[np.bool_] = np.where(
        starts_negative, has_pos & (last_neg < first_pos), has_neg & (last_pos < first_neg)
    )
    return once


def _irr_rows(rows: NDArray[np.intp], flows_of: Callable[[int], Vector], count: int) -> Vector:
    result = np.full(count, np.nan)
    for row in rows:
        value = pyxirr.irr(flows_of(int(row)), silent=True)
        if value is not None:
            result[row] = value
    return result


def irr(cash_flows: Vector) -> Vector:
    """IRR per row of cash flows (t = 0..n) by pyxirr (numpy-financial's definition, compiled).

    Only rows with exactly one sign change have a single IRR; the others (no sign change: no IRR;
    several: more than one) get NaN and are counted as paths without an IRR.
    """
    usable = np.isfinite(cash_flows).all(axis=1) & single_sign_change(cash_flows)
    return _irr_rows(np.flatnonzero(usable), lambda row: cash_flows[row], cash_flows.shape[0])


def profit_irr(profit: Vector, investment: float) -> Vector:
    """`irr` of [-investment, profit...] per path with any profit after the investment, without building
    the (paths, periods + 1) array. A path whose flows change sign more than once gets the root pyxirr
    finds; `path_outcomes` keeps it only where it agrees with the path's NPV."""
    usable = np.isfinite(profit).all(axis=1) & (profit > 0).any(axis=1)
    head = np.array([-investment])
    return _irr_rows(np.flatnonzero(usable), lambda row: np.concatenate((head, profit[row])), profit.shape[0])


def agreeing_irr(irr: Vector, npv: Vector, rate: float) -> Vector:
    """An IRR is kept where it tells what the NPV tells (above the discount rate exactly when NPV > 0):
    always so with one sign change; with several it is one of possibly many roots, kept only then."""
    with np.errstate(invalid="ignore"):
        disagrees = np.isfinite(irr) & ((irr > rate + 1e-9) != (npv > 0)) & (np.abs(irr - rate) > 1e-9)
    result: Vector = np.where(disagrees, np.nan, irr)
    return result


def never_earns(profit: Vector) -> NDArray[np.bool_]:
    """Paths with no profit in any period: their flows never change sign, so no rate makes the NPV zero."""
    finite = np.all(np.isfinite(profit), axis=1)
    earns = np.any(profit > 0, axis=1)
    return np.asarray(finite & ~earns, dtype=np.bool_)


def path_outcomes(profit: Vector, investment: float, rate: float) -> PathOutcomes:
    """Outcomes of a (paths, periods) array of profit for an up-front investment."""
    total = profit.sum(axis=1)
    values = npv(profit, rate, investment)
    return PathOutcomes(
        total_profit=total,
        npv=values,
        roi=(total - investment) / investment,
        payback=payback(profit, investment),
        irr=agreeing_irr(profit_irr(profit, investment), values, rate),
        never_earns=never_earns(profit),
    )
