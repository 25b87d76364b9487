"""Fail-closed veto: a figure that is not finite or lies outside its credible range sends the run to a human.

The words tell the two apart ("could not be computed (not a number)" against "is 306,465,710.9%, outside the
credible range of ±100,000,000%") and read as the figures do elsewhere: money with separators, ratios in percent.

A comparison such as `nan < threshold` is false, so without this guard an overflowed forecast would pass
the veto. Every measured figure is checked here, before any policy looks at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

from vetoflow.formatting import money, pct
from vetoflow.state import Decision, Distribution, Financials, Forecast, Outcomes

MAX_MONEY = 1e15
"""Largest credible money figure (revenue, profit, NPV) in currency units, either sign."""
MAX_RATIO = 1e6
"""Largest credible ratio (ROI, IRR), either sign: 100,000,000%."""


def _bad(value: float, bound: float) -> bool:
    return not math.isfinite(value) or abs(value) > bound


def _first_bad(values: Iterable[float], bound: float) -> float | None:
    return next((v for v in values if _bad(v, bound)), None)


def _not_finite(value: float) -> str:
    return "not a number" if math.isnan(value) else "infinite"


def _money(value: float) -> str:
    """A money figure as read, with separators; past 1e18, where every digit would say nothing more, 3.2e+20."""
    return money(value) if abs(value) < 1e18 else f"{value:.3g}"


MONEY_RANGE = f"the credible range of ±{MAX_MONEY:,.0f}"
RATIO_RANGE = f"the credible range of ±{MAX_RATIO:,.0%}"
OUTSIDE = "outside"
"""Every problem with a figure that was computed but is not credible says it is `outside` a range; every other
problem says the figure could not be computed (not a number, infinite, missing)."""


def _why(value: float, shown: str, bound: str) -> str:
    """ "could not be computed (not a number)" for a value that is not finite, else "is `shown`, outside `bound`"."""
    if not math.isfinite(value):
        return f"could not be computed ({_not_finite(value)})"
    return f"is {shown}, {OUTSIDE} {bound}"


def _forecast_problems(forecast: Forecast) -> Iterator[str]:
    bands = {"total revenue": forecast.revenue, "total profit": forecast.profit}
    bands |= {f"revenue of segment {name}": band for name, band in forecast.segments.items()}
    for label, band in bands.items():
        bad = _first_bad([*band.p10, *band.p50, *band.p90], MAX_MONEY)
        if bad is not None and not math.isfinite(bad):
            yield f"the forecast of {label} could not be computed (a value is {_not_finite(bad)})"
        elif bad is not None:
            yield f"the forecast of {label} holds {_money(bad)}, {OUTSIDE} {MONEY_RANGE}"


def _outcome_problems(out: Outcomes) -> Iterator[str]:
    dists: dict[str, tuple[Distribution | None, bool]] = {  # (the distribution, whether it is money)
        "simulated NPV": (out.npv, True),
        "simulated total profit": (out.total_profit, True),
        "simulated ROI": (out.roi, False),
        "simulated IRR": (out.irr, False),
    }
    for label, (dist, is_money) in dists.items():
        bad = None if dist is None else _first_bad(dist.model_dump().values(), MAX_MONEY if is_money else MAX_RATIO)
        if bad is not None and not math.isfinite(bad):
            yield f"the {label} distribution could not be computed (a value is {_not_finite(bad)})"
        elif bad is not None:
            shown, bound = (_money(bad), MONEY_RANGE) if is_money else (pct(bad), RATIO_RANGE)
            yield f"the {label} distribution holds {shown}, {OUTSIDE} {bound}"
    yield from _money_problems({"expected shortfall": out.expected_shortfall})
    if out.payback_p50 is not None and not math.isfinite(out.payback_p50):
        yield f"the median payback could not be computed ({_not_finite(out.payback_p50)})"
    bad = _first_bad(out.npv_histogram.edges, MAX_MONEY)
    if bad is not None or not out.npv_histogram.counts:
        yield "the NPV histogram could not be computed"
    yield from _share_problems(
        {
            "the probability of loss": out.loss_probability,
            "P(ROI below the threshold)": out.roi_below_threshold,
            "the share of paths without an IRR": out.irr_missing_share,
            "the share of paths never paying back": out.never_payback_share,
        }
    )


def _money_problems(values: dict[str, float | None]) -> Iterator[str]:
    for label, value in values.items():
        if value is not None and _bad(value, MAX_MONEY):
            yield f"{label} {_why(value, _money(value), MONEY_RANGE)}"


def _share_problems(values: dict[str, float | None]) -> Iterator[str]:
    for label, value in values.items():
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            yield f"{label} {_why(value, pct(value), 'the range of 0-100%')}"


def _financial_problems(numbers: Financials, horizon: int) -> Iterator[str]:
    yield from _money_problems(
        {
            "investment": numbers.investment,
            "P50 profit": numbers.profit_p50,
            "P10 profit": numbers.profit_p10,
            "NPV": numbers.npv,
            "NPV (P10)": numbers.npv_p10,
            "NPV (P90)": numbers.npv_p90,
            "expected shortfall": numbers.expected_shortfall,
        }
    )
    ratios = {"ROI (P50)": numbers.roi, "downside ROI (P10)": numbers.downside_roi, "IRR (P50)": numbers.irr}
    for label, value in ratios.items():
        if value is not None and _bad(value, MAX_RATIO):
            yield f"{label} {_why(value, pct(value), RATIO_RANGE)}"
    yield from _share_problems(
        {
            "the probability of loss": numbers.loss_probability,
            "the share of paths without an IRR": numbers.irr_missing_share,
            "the share of paths never paying back": numbers.never_payback_share,
        }
    )
    payback = numbers.payback_period
    if payback is not None and (not math.isfinite(payback) or not 0 <= payback <= horizon):
        yield f"the payback period {_why(payback, f'{payback:,.1f} periods', f'the horizon of 0-{horizon} periods')}"


def problems(forecast: Forecast | None, numbers: Financials | None, horizon: int) -> list[str]:
    """Every reason the figures cannot be trusted; empty when all of them are finite and in range."""
    if forecast is None or numbers is None:
        return ["the forecast or the financial figures are missing"]
    found = [*_forecast_problems(forecast), *_financial_problems(numbers, horizon)]
    if forecast.outcomes:
        found += _outcome_problems(forecast.outcomes)
    if forecast.sensitivity:
        bars = forecast.sensitivity.bars
        ends = (v for b in bars for v in (b.low, b.high, b.npv_low, b.npv_high, b.swing))
        bad = _first_bad([forecast.sensitivity.npv_p50, *ends], MAX_MONEY)
        if bad is not None and not math.isfinite(bad):
            found.append(f"the sensitivity analysis (tornado) could not be computed ({_not_finite(bad)})")
        elif bad is not None:
            found.append(f"the sensitivity analysis holds {_money(bad)}, {OUTSIDE} {MONEY_RANGE}")
    return list(dict.fromkeys(found))  # a figure both Financials and Outcomes carry is named once


def unmeasurable(found: list[str], policy: str, threshold: float, flags: Sequence[str] = ()) -> Decision:
    """The veto when figures could not be computed or are not credible: a human decides, told exactly what went
    wrong, in words that tell the two apart (a $1 plan's ROI was computed: it is outside the credible range).
    Plausibility flags (`flags`, their messages) come first: they say what to check in the inputs."""
    outside = [p for p in found if f" {OUTSIDE} " in p]
    if not outside:
        head = "The figures could not be computed"
    elif len(outside) == len(found):
        head = "Some figures are outside the credible range"
    else:
        head = "Some figures could not be computed and others are outside the credible range"
    reasons = [
        *(f"{flag}." for flag in flags),
        f"{head}: the veto cannot be decided on them, so a human must review.",
        *(f"{p[0].upper()}{p[1:]}." for p in found),
    ]
    return Decision(veto=True, policy=policy, threshold=threshold, measured=math.nan, reasons=reasons)
