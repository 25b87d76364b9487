"""What each simulated path earns: total profit, NPV, ROI, payback and IRR, vectorised over paths.

The Accountant's headline figures are percentiles of these per-path outcomes. Summing per-period
percentiles instead would assume every period is bad at once, which overstates the downside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyxirr
from numpy.typing import NDArray

Vector = NDArray[np.float64]


@dataclass(frozen=True)
class PathOutcomes:
    """One value per simulated path. `payback` and `irr` are NaN where a path has none."""

    total_profit: Vector
    npv: Vector
    roi: Vector
    payback: Vector
    irr: Vector


def npv(profit: Vector, rate: float, investment: float) -> Vector:
    """Investment at t=0, profit of period t discounted by (1 + rate) ** t, for every path at once."""
    discount = (1.0 + rate) ** -np.arange(1, profit.shape[1] + 1, dtype=np.float64)
    result: Vector = profit @ discount - investment
    return result


def payback(profit: Vector, investment: float) -> Vector:
    """Fractional periods until cumulative profit covers the investment (linear within the period)."""
    cumulative = np.cumsum(profit, axis=1)
    covered = cumulative >= investment
    reached = covered.any(axis=1)
    first = covered.argmax(axis=1)
    rows = np.arange(profit.shape[0])
    flow = profit[rows, first]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflowed paths: the guard reports them
        before = cumulative[rows, first] - flow
        fraction = (investment - before) / flow
    result: Vector = np.where(reached, first + fraction, np.nan)
    return result


def sign_changes(cash_flows: Vector) -> NDArray[np.int64]:
    """Sign changes per row, ignoring zero flows (Descartes: one change means exactly one IRR)."""
    signs = np.sign(cash_flows)
    columns = np.arange(cash_flows.shape[1])
    last_nonzero = np.maximum.accumulate(np.where(signs != 0, columns, 0), axis=1)
    carried = np.take_along_axis(signs, last_nonzero, axis=1)
    changes: NDArray[np.int64] = (carried[:, 1:] != carried[:, :-1]).sum(axis=1)
    return changes


def irr(cash_flows: Vector) -> Vector:
    """IRR per row of cash flows (t = 0..n) by pyxirr (numpy-financial's definition, compiled).

    Only rows with exactly one sign change have a single IRR; the others (no sign change: no IRR;
    several: more than one) get NaN and are counted as paths without an IRR.
    """
    result = np.full(cash_flows.shape[0], np.nan)
    finite = np.isfinite(cash_flows).all(axis=1)
    for row in np.flatnonzero(finite & (sign_changes(cash_flows) == 1)):
        value = pyxirr.irr(cash_flows[row], silent=True)
        if value is not None:
            result[row] = value
    return result


def path_outcomes(profit: Vector, investment: float, rate: float) -> PathOutcomes:
    """Outcomes of a (paths, periods) array of profit for an up-front investment."""
    total = profit.sum(axis=1)
    flows = np.concatenate([np.full((profit.shape[0], 1), -investment), profit], axis=1)
    return PathOutcomes(
        total_profit=total,
        npv=npv(profit, rate, investment),
        roi=(total - investment) / investment,
        payback=payback(profit, investment),
        irr=irr(flows),
    )
