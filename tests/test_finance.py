"""Property tests of the Accountant's arithmetic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vetoflow.finance import decide, financials, npv, payback_period, roi
from vetoflow.scenario import Scenario, validate_scenario
from vetoflow.state import Band, Financials, Forecast

money = st.floats(min_value=1.0, max_value=1e9, allow_nan=False)
flows = st.lists(st.floats(min_value=-1e6, max_value=1e7, allow_nan=False), min_size=1, max_size=40)
rates = st.floats(min_value=0.0, max_value=1.0)


@given(profit=st.floats(min_value=-1e9, max_value=1e9), investment=money)
def test_roi_definition(profit: float, investment: float) -> None:
    assert math.isclose(roi(profit, investment) * investment + investment, profit, rel_tol=1e-9, abs_tol=1e-3)
    assert (roi(profit, investment) < 0) == (profit < investment)


@given(cash=flows, investment=money)
def test_npv_at_zero_rate_is_undiscounted_profit(cash: list[float], investment: float) -> None:
    assert math.isclose(npv(cash, 0.0, investment), sum(cash) - investment, rel_tol=1e-9, abs_tol=1e-3)


@given(
    cash=st.lists(st.floats(min_value=0.0, max_value=1e7), min_size=1, max_size=40),
    investment=money,
    low=rates,
    high=rates,
)
def test_npv_falls_as_the_rate_rises_for_positive_flows(
    cash: list[float], investment: float, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    assert npv(cash, high, investment) <= npv(cash, low, investment) + 1e-6


@given(cash=flows, investment=money)
def test_payback_is_when_cumulative_profit_covers_the_investment_for_good(cash: list[float], investment: float) -> None:
    period = payback_period(cash, investment)
    cumulative = [sum(cash[: t + 1]) for t in range(len(cash))]
    if period is None:
        assert cumulative[-1] < investment * (1 + 1e-12)  # not covered at the horizon
        return
    whole = math.ceil(period - 1e-9)
    assert 0 < period <= len(cash)
    assert all(c >= investment * (1 - 1e-9) for c in cumulative[whole - 1 :])  # covered from then on
    assert whole == 1 or cumulative[whole - 2] < investment * (1 + 1e-9)  # and not in the period before


def test_a_plan_whose_later_losses_undo_its_payback_never_pays_back() -> None:
    assert payback_period([130_000, 110_000, 70_000, -10_000, -170_000, -490_000], 100_000) is None
    assert payback_period([60_000, 60_000, -30_000, 50_000], 100_000) == pytest.approx(3.2)  # the second crossing


def _forecast(profits: list[float]) -> Forecast:
    band = Band(p10=[p * 0.5 for p in profits], p50=profits, p90=[p * 1.5 for p in profits])
    return Forecast(
        method="monte_carlo", periods=len(profits), paths=100, seed=0, segments={"s": band}, revenue=band, profit=band
    )


def _scenario(horizon: int, investment: float, threshold: float, policy: str) -> Scenario:
    return validate_scenario(
        {
            "name": "bands",
            "investment": investment,
            "horizon": horizon,
            "discount_rate": 0.05,
            "veto_threshold": threshold,
            "veto_policy": policy,
            "segments": [{"name": "s", "base_revenue": 1, "margin": 0.1}],
        }
    )


@given(
    cash=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=20),
    investment=money,
    threshold=st.floats(min_value=-1, max_value=10),
    policy=st.sampled_from(["roi", "downside_roi"]),
)
def test_veto_exactly_when_the_chosen_roi_is_below_the_threshold(
    cash: list[float], investment: float, threshold: float, policy: str
) -> None:
    numbers = financials(_forecast(cash), investment, 0.05)
    decision = decide(numbers, _scenario(len(cash), investment, threshold, policy))
    measured = numbers.roi if policy == "roi" else numbers.downside_roi
    assert decision.veto == (measured < threshold)
    assert decision.measured == measured
    assert decision.reasons[0].startswith("ROI (P50)" if policy == "roi" else "Downside ROI (P10)")


def test_downside_roi_uses_p10_and_reasons_are_words() -> None:
    numbers = financials(_forecast([100.0] * 10), 500.0, 0.0)
    assert numbers == Financials(
        investment=500, profit_p50=1000, profit_p10=500, roi=1.0, downside_roi=0.0, npv=500.0, payback_period=5.0
    )
    assert numbers.method == "per_period_bands"
    decision = decide(numbers, _scenario(10, 500.0, 0.5, "downside_roi"))
    assert decision.veto
    assert "Downside ROI (P10) is 0.0%, below the veto threshold of 50.0%" in decision.reasons[0]
    assert "Payback after 5.0 of 10 periods." in decision.reasons
