"""The Accountant's arithmetic: pure functions over per-period profit, easy to property-test."""

from __future__ import annotations

from collections.abc import Sequence

from vetoflow.state import Decision, Financials, Forecast


def roi(total_profit: float, investment: float) -> float:
    return (total_profit - investment) / investment


def npv(cash_flows: Sequence[float], rate: float, investment: float) -> float:
    """Investment at t=0, profit of period t discounted by (1 + rate) ** t for t = 1..n."""
    return -investment + sum(flow / (1.0 + rate) ** t for t, flow in enumerate(cash_flows, start=1))


def payback_period(cash_flows: Sequence[float], investment: float) -> float | None:
    """Fractional periods until cumulative profit covers the investment; None if it never does."""
    cumulative = 0.0
    for t, flow in enumerate(cash_flows, start=1):
        if flow > 0 and cumulative + flow >= investment:
            return t - 1 + (investment - cumulative) / flow
        cumulative += flow
    return None


def financials(forecast: Forecast, investment: float, discount_rate: float) -> Financials:
    profit_p50 = sum(forecast.profit.p50)
    profit_p10 = sum(forecast.profit.p10)
    payback = payback_period(forecast.profit.p50, investment)
    return Financials(
        investment=investment,
        profit_p50=round(profit_p50, 2),
        profit_p10=round(profit_p10, 2),
        roi=round(roi(profit_p50, investment), 6),
        downside_roi=round(roi(profit_p10, investment), 6),
        npv=round(npv(forecast.profit.p50, discount_rate, investment), 2),
        payback_period=None if payback is None else round(payback, 4),
    )


def decide(numbers: Financials, threshold: float, policy: str, horizon: int, currency: str) -> Decision:
    measured = numbers.roi if policy == "roi" else numbers.downside_roi
    label = "ROI (P50)" if policy == "roi" else "Downside ROI (P10)"
    veto = measured < threshold
    reasons = [
        f"{label} is {measured:.1%}, {'below' if veto else 'at or above'} the veto threshold of {threshold:.1%}.",
    ]
    if numbers.npv < 0:
        reasons.append(f"NPV is negative ({numbers.npv:,.0f} {currency}): the plan destroys value at this rate.")
    else:
        reasons.append(f"NPV is {numbers.npv:,.0f} {currency}.")
    if numbers.payback_period is None:
        reasons.append(f"The investment is not paid back within the {horizon}-period horizon.")
    else:
        reasons.append(f"Payback after {numbers.payback_period:.1f} of {horizon} periods.")
    if policy == "roi" and numbers.downside_roi < 0 <= numbers.roi:
        reasons.append(f"Downside ROI (P10) is {numbers.downside_roi:.1%}: a bad year loses money.")
    return Decision(veto=veto, policy=policy, threshold=threshold, measured=measured, reasons=reasons)
