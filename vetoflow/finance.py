"""The Accountant's arithmetic: pure functions over per-period profit, easy to property-test."""

from __future__ import annotations

from collections.abc import Sequence

from vetoflow.formatting import money, pct, share
from vetoflow.risk import policy
from vetoflow.scenario import Scenario
from vetoflow.state import Decision, Financials, Forecast


def roi(total_profit: float, investment: float) -> float:
    return (total_profit - investment) / investment


def npv(cash_flows: Sequence[float], rate: float, investment: float) -> float:
    """Investment at t=0, profit of period t discounted by (1 + rate) ** t for t = 1..n."""
    return -investment + sum(flow / (1.0 + rate) ** t for t, flow in enumerate(cash_flows, start=1))


def payback_period(cash_flows: Sequence[float], investment: float) -> float | None:
    """Fractional periods until cumulative profit covers the investment for good (to the horizon); None if
    it never does, or falls back under it by the end (as `risk.outcomes.payback`, path by path)."""
    cumulative = [0.0]
    for flow in cash_flows:
        cumulative.append(cumulative[-1] + flow)
    if cumulative[-1] < investment:
        return None
    t = len(cash_flows)
    while t > 0 and cumulative[t - 1] >= investment:
        t -= 1
    if t == 0:  # nothing to pay back
        return 0.0
    return t - 1 + (investment - cumulative[t - 1]) / cash_flows[t - 1]


def financials(forecast: Forecast, investment: float, discount_rate: float) -> Financials:
    """Path-wise figures when the forecast carries per-path outcomes for this investment and discount rate;
    the older band method otherwise (band-only forecasters, and outcomes made for other inputs, as when a
    replay from the Accountant changes the investment without re-running the Forecaster)."""
    out = forecast.outcomes
    if out is None or (out.investment, out.discount_rate) != (investment, discount_rate):
        return band_financials(forecast, investment, discount_rate)
    return Financials(
        method="path_wise",
        investment=investment,
        profit_p50=out.total_profit.p50,
        profit_p10=out.total_profit.p10,
        roi=out.roi.p50,
        downside_roi=out.roi.p10,
        npv=out.npv.p50,
        payback_period=out.payback_p50,
        loss_probability=out.loss_probability,
        npv_p10=out.npv.p10,
        npv_p90=out.npv.p90,
        irr=None if out.irr is None else out.irr.p50,
        irr_missing_share=out.irr_missing_share,
        expected_shortfall=out.expected_shortfall,
        never_payback_share=out.never_payback_share,
    )


def band_financials(forecast: Forecast, investment: float, discount_rate: float) -> Financials:
    """The older method, from sums of per-period percentiles: for band-only forecasters (a remote endpoint).

    It assumes every period is at its P10 at once, so its downside figures are too pessimistic.
    """
    profit_p50 = sum(forecast.profit.p50)
    profit_p10 = sum(forecast.profit.p10)
    payback = payback_period(forecast.profit.p50, investment)
    return Financials(
        method="per_period_bands",
        investment=investment,
        profit_p50=profit_p50,
        profit_p10=profit_p10,
        roi=roi(profit_p50, investment),
        downside_roi=roi(profit_p10, investment),
        npv=npv(forecast.profit.p50, discount_rate, investment),
        payback_period=payback,
    )


def decide(numbers: Financials, scenario: Scenario) -> Decision:
    """The veto policy's verdict, with every rule's measured value and the other figures in words."""
    verdict, reasons = policy.decision(numbers, scenario)
    currency, horizon, unit = scenario.currency, scenario.horizon, scenario.period_word
    if numbers.method == "path_wise":
        assert numbers.npv_p10 is not None
        assert numbers.npv_p90 is not None
        spread = f"P10 {money(numbers.npv_p10)} to P90 {money(numbers.npv_p90)}"
        reasons.append(f"Median NPV is {money(numbers.npv)} {currency} ({spread}).")
        if numbers.loss_probability is not None and "loss_probability" not in {r.rule for r in verdict.rules}:
            reasons.append(f"{share(numbers.loss_probability)} of simulated outcomes lose money (NPV below zero).")
    elif numbers.npv < 0:
        reasons.append(f"NPV is negative ({money(numbers.npv)} {currency}): the plan destroys value at this rate.")
    else:
        reasons.append(f"NPV is {money(numbers.npv)} {currency}.")
    never = f"; {share(numbers.never_payback_share)} of paths never pay back" if numbers.never_payback_share else ""
    if numbers.payback_period is None:
        reasons.append(f"The investment is not paid back within the {horizon}-{unit} horizon{never}.")
    else:
        median = "Median payback" if numbers.method == "path_wise" else "Payback"
        reasons.append(f"{median} after {numbers.payback_period:.1f} of {horizon} {unit}s{never}.")
    if numbers.method == "per_period_bands":
        reasons.append("Figures by the older per-period method: no simulated outcomes exist for these inputs.")
    if numbers.downside_roi < 0 <= numbers.roi:
        reasons.append(f"Downside ROI (P10) is {pct(numbers.downside_roi)}: a bad outcome loses money.")
    return verdict.model_copy(update={"reasons": reasons})
