"""Plausibility flags: inputs and figures far outside sensible ranges, found without any model.

A flag does not veto a plan: the figures may be honest. It says "a person should look at this" (a $1 plan
with a 100-digit ROI, a segment doubling every period). Fail-closed: a flagged run that passes the veto still
waits for a human, with the flags as the reason (graph/routing.py); the flags are kept in state, shown in
the approval payload and stored on the run's index row so listings can show them.
"""

from __future__ import annotations

import math

from vetoflow.formatting import money, pct
from vetoflow.scenario import Scenario
from vetoflow.state import Financials, Forecast, PlausibilityFlag

MAX_PLAUSIBLE_ROI = 10.0
"""ROI (P50) above 10.0 = 1,000% over the horizon is flagged."""
MAX_PLAUSIBLE_GROWTH = 1.0
"""Mean growth above 1.0 = 100% a period (the scenario's: a year on a yearly plan) in any segment is flagged."""
MIN_REVENUE_SHARE = 0.01
"""Total median (P50) revenue over the horizon under 1% of the investment is flagged."""
SPIKE_RATIO = 3.0
"""A history whose one value lies above 3 times the median of the others, every other value at or under it, is
flagged: the fit (Holt's trend, or the drift on 4 rows) follows that one value, so a flat history with one
spike forecasts growth it never showed (a 3x spike in 12 flat periods turned a 0% ROI into 38%)."""
SHORT_WORDS = {
    "roi_above_1000pct": f"ROI above {MAX_PLAUSIBLE_ROI:,.0%}",
    "growth_above_100pct": f"segment growth over {MAX_PLAUSIBLE_GROWTH:.0%}",
    "revenue_below_1pct": f"revenue under {MIN_REVENUE_SHARE:.0%} of the investment",
    "history_spike_over_3x": "one spike in a segment's history",
}
"""Each flag in a few words, for a listing's column (the full message is on the run)."""


def flags(scenario: Scenario, forecast: Forecast, numbers: Financials) -> list[PlausibilityFlag]:
    """Every flag that applies, in a fixed order (same input, same flags)."""
    found: list[PlausibilityFlag] = []
    if math.isfinite(numbers.roi) and numbers.roi > MAX_PLAUSIBLE_ROI:
        found.append(
            PlausibilityFlag(
                code="roi_above_1000pct",
                message=f"ROI (P50) of {pct(numbers.roi)} is above {pct(MAX_PLAUSIBLE_ROI)}: check the inputs",
            )
        )
    for segment in scenario.segments:
        if segment.growth_mean > MAX_PLAUSIBLE_GROWTH:
            found.append(
                PlausibilityFlag(
                    code="growth_above_100pct",
                    message=f"segment {segment.name} grows {pct(segment.growth_mean)} a {scenario.period_word} on "
                    f"average, above {pct(MAX_PLAUSIBLE_GROWTH)}",
                )
            )
    for segment in scenario.segments:
        spike = _single_spike(segment.history or [])
        if spike is not None:
            period, value, rest = spike
            found.append(
                PlausibilityFlag(
                    code="history_spike_over_3x",
                    message=f"segment {segment.name}'s history has one value, {money(value)} in {scenario.period_word} "
                    f"{period}, over {SPIKE_RATIO:g} times the median of the others ({money(rest)}): its forecast "
                    "follows that one value; check the history",
                )
            )
    revenue = sum(forecast.revenue.p50)
    if scenario.investment > 0 and math.isfinite(revenue) and revenue < MIN_REVENUE_SHARE * scenario.investment:
        found.append(
            PlausibilityFlag(
                code="revenue_below_1pct",
                message=f"total median revenue {money(revenue)} {scenario.currency} over the horizon is under "
                f"{pct(MIN_REVENUE_SHARE)} of the investment ({money(scenario.investment)} {scenario.currency})",
            )
        )
    return found


def _single_spike(history: list[float]) -> tuple[int, float, float] | None:
    """(period from 1, value, median of the others) of the one value above `SPIKE_RATIO` times the median of the
    others when every other value is at or under that; None otherwise (a steady rise has several high values)."""
    if len(history) < 2:
        return None
    top = max(range(len(history)), key=history.__getitem__)
    others = sorted(history[:top] + history[top + 1 :])
    middle = len(others) // 2
    rest = others[middle] if len(others) % 2 else (others[middle - 1] + others[middle]) / 2
    limit = SPIKE_RATIO * rest
    if history[top] > limit and others[-1] <= limit:
        return top + 1, history[top], rest
    return None
