"""Per-path outcomes reduced to the compact figures state keeps: percentiles, probabilities, a histogram."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from vetoflow.risk.outcomes import PathOutcomes, Vector
from vetoflow.state import Distribution, Histogram, Outcomes

LEVELS = (5, 10, 25, 50, 75, 90, 95)
HISTOGRAM_BINS = 30
TOTAL_LOSS_IRR = -1.0
"""Where a losing path without an IRR ranks among the IRRs: below every rate a path can have."""
TAIL = 0.10
"""Expected shortfall is the mean NPV of this worst share of paths."""


def distribution(values: Vector) -> Distribution:
    """Unrounded: the veto compares these figures, and a rounded ROI of -0.0000004 would read 0 and pass a
    threshold of 0. Rounding is for display only."""
    p5, p10, p25, p50, p75, p90, p95 = (float(v) for v in np.percentile(values, LEVELS))
    mean = float(np.mean(values))
    return Distribution(p5=p5, p10=p10, p25=p25, p50=p50, p75=p75, p90=p90, p95=p95, mean=mean)


def histogram(values: Vector) -> Histogram:
    finite = values[np.isfinite(values)]
    with np.errstate(over="ignore"):
        if finite.size == 0 or not np.isfinite(finite.max() - finite.min()):
            return Histogram(edges=[], counts=[])  # empty: the guard reports it could not be computed
    low, high = float(finite.min()), float(finite.max())
    scale = max(1.0, abs(low), abs(high))
    if high - low < scale * 1e-6:  # (nearly) one value: widen so the bins stay distinct
        low, high = low - scale * 1e-6, high + scale * 1e-6
    counts, edges = np.histogram(finite, bins=bin_edges(low, high))
    return Histogram(edges=[round(float(e), 2) for e in edges], counts=[int(c) for c in counts])


def bin_edges(low: float, high: float) -> Vector:
    """HISTOGRAM_BINS equal bins over [low, high]; when the values straddle zero, zero is an edge, so the
    bins left of it hold exactly the losing paths (a bin across zero would show part of P(loss) as gain)."""
    if not low < 0 < high:
        return np.linspace(low, high, HISTOGRAM_BINS + 1)
    width = (high - low) / (HISTOGRAM_BINS - 1)
    start = math.floor(low / width)  # in bin widths: start * width <= low < (start + 1) * width
    edges: Vector = width * np.arange(start, start + HISTOGRAM_BINS + 1, dtype=np.float64)
    return edges


def expected_shortfall(npv: Vector, tail: float = TAIL) -> float:
    """Mean of the worst `tail` share of NPVs (at least one path)."""
    worst = np.sort(npv)[: max(1, int(np.floor(npv.size * tail)))]
    return float(np.mean(worst))


def ranked_irrs(outcomes: PathOutcomes, discount_rate: float) -> Vector:
    """The IRRs the percentiles are taken over: every path whose NPV is known, so the median IRR beats the
    discount rate exactly when the median NPV is positive. A path without a single IRR ranks by its NPV: a
    losing one below every rate (-100%), a winning one with the best IRR any path has (at least the rate).
    Leaving them out would let the paths that do have an IRR (often the winners) speak for all."""
    has_irr = np.isfinite(outcomes.irr)
    kept = outcomes.irr[has_irr]
    with np.errstate(invalid="ignore"):
        losing = ~has_irr & (outcomes.npv <= 0)
        winning = ~has_irr & (outcomes.npv > 0)
    best = max(float(kept.max()) if kept.size else discount_rate, discount_rate)
    ranked: Vector = np.concatenate(
        (kept, np.full(int(losing.sum()), TOTAL_LOSS_IRR), np.full(int(winning.sum()), best))
    )
    return ranked


def summarize(outcomes: PathOutcomes, roi_threshold: float, investment: float, discount_rate: float) -> Outcomes:
    """Percentiles, shares and the histogram of the paths' outcomes.

    A share over paths some of which have no finite outcome (a forecast that could not be computed) is
    not computable either: it is NaN, never the share of the comparisons that happen to be false
    (`nan < 0` is false, so P(loss) over NaN NPVs would read 0%). The guard reports every NaN.
    """
    paths = outcomes.npv.size
    computable = bool(
        np.isfinite(outcomes.npv).all() and np.isfinite(outcomes.roi).all() and np.isfinite(outcomes.total_profit).all()
    )

    def share(hits: NDArray[np.bool_]) -> float:
        return float(hits.mean()) if computable else math.nan

    has_irr = np.isfinite(outcomes.irr)
    ranked_irr = ranked_irrs(outcomes, discount_rate)
    never = np.isnan(outcomes.payback)
    with np.errstate(invalid="ignore"):  # the median between a finite and a never-paying path is inf
        payback_p50 = float(np.percentile(np.where(never, np.inf, outcomes.payback), 50))
    return Outcomes(
        paths=paths,
        investment=investment,
        discount_rate=discount_rate,
        npv=distribution(outcomes.npv),
        roi=distribution(outcomes.roi),
        total_profit=distribution(outcomes.total_profit),
        irr=distribution(ranked_irr) if ranked_irr.size else None,
        irr_missing_share=share(~has_irr),
        loss_probability=share(outcomes.npv < 0),
        roi_threshold=roi_threshold,
        roi_below_threshold=share(outcomes.roi < roi_threshold),
        expected_shortfall=expected_shortfall(outcomes.npv) if computable else math.nan,
        payback_p50=(payback_p50 if np.isfinite(payback_p50) else None) if computable else math.nan,
        never_payback_share=share(never),
        npv_histogram=histogram(outcomes.npv) if computable else Histogram(edges=[], counts=[]),
    )
