"""Fail-closed veto: a figure that is not finite or lies outside its credible range sends the run to a human.

A comparison such as `nan < threshold` is false, so without this guard an overflowed forecast would pass
the veto. Every measured figure is checked here, before any policy looks at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

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


def _why(value: float, bound: str) -> str:
    """ "could not be computed (not a number)" for a value that is not finite, else how it is out of range."""
    return (
        f"could not be computed ({_not_finite(value)})"
        if not math.isfinite(value)
        else f"is {value:.3g}, outside {bound}"
    )


def _money_range() -> str:
    return f"the credible range of ±{MAX_MONEY:.0e}"


def _forecast_problems(forecast: Forecast) -> Iterator[str]:
    bands = {"total revenue": forecast.revenue, "total profit": forecast.profit}
    bands |= {f"revenue of segment {name}": band for name, band in forecast.segments.items()}
    for label, band in bands.items():
        bad = _first_bad([*band.p10, *band.p50, *band.p90], MAX_MONEY)
        if bad is not None and not math.isfinite(bad):
            yield f"the forecast of {label} could not be computed (a value is {_not_finite(bad)})"
        elif bad is not None:
            yield f"the forecast of {label} holds {bad:.3g}, outside {_money_range()}"


def _outcome_problems(out: Outcomes) -> Iterator[str]:
    dists: dict[str, tuple[Distribution | None, float]] = {
        "simulated NPV": (out.npv, MAX_MONEY),
        "simulated total profit": (out.total_profit, MAX_MONEY),
        "simulated ROI": (out.roi, MAX_RATIO),
        "simulated IRR": (out.irr, MAX_RATIO),
    }
    for label, (dist, bound) in dists.items():
        bad = None if dist is None else _first_bad(dist.model_dump().values(), bound)
        if bad is not None and not math.isfinite(bad):
            yield f"the {label} distribution could not be computed (a value is {_not_finite(bad)})"
        elif bad is not None:
            yield f"the {label} distribution holds {bad:.3g}, outside the credible range of ±{bound:.0e}"
    yield from _money_problems({"expected shortfall": out.expected_shortfall})
    if out.payback_p50 is not None and not math.isfinite(out.payback_p50):
        yield f"the median payback {_why(out.payback_p50, '')}"
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
            yield f"{label} {_why(value, _money_range())}"


def _share_problems(values: dict[str, float | None]) -> Iterator[str]:
    for label, value in values.items():
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            yield f"{label} {_why(value, '0-1')}"


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
            yield f"{label} {_why(value, f'the credible range of ±{MAX_RATIO:.0e}')}"
    yield from _share_problems(
        {
            "the probability of loss": numbers.loss_probability,
            "the share of paths without an IRR": numbers.irr_missing_share,
            "the share of paths never paying back": numbers.never_payback_share,
        }
    )
    payback = numbers.payback_period
    if payback is not None and (not math.isfinite(payback) or not 0 <= payback <= horizon):
        yield f"the payback period {_why(payback, f'0-{horizon} periods')}"


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
            found.append(f"the sensitivity analysis holds {bad:.3g}, outside {_money_range()}")
    return list(dict.fromkeys(found))  # a figure both Financials and Outcomes carry is named once


def unmeasurable(found: list[str], policy: str, threshold: float) -> Decision:
    """The veto when figures could not be computed: a human decides, told exactly what went wrong."""
    reasons = [
        "The figures could not be computed: the veto cannot be decided on them, so a human must review.",
        *(f"{p[0].upper()}{p[1:]}." for p in found),
    ]
    return Decision(veto=True, policy=policy, threshold=threshold, measured=math.nan, reasons=reasons)
