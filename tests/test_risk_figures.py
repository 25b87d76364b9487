"""Path-wise risk figures against an independent numpy computation from the same simulated paths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest
from numpy.typing import NDArray

from vetoflow.finance import financials, payback_period
from vetoflow.forecasting.montecarlo import run_forecast, simulate_history
from vetoflow.risk.outcomes import irr, path_outcomes
from vetoflow.risk.summary import summarize
from vetoflow.scenario import Scenario, load_scenario, validate_scenario
from vetoflow.state import Financials, Forecast, RunState

Paths = NDArray[np.float64]


def independent_profit(scenario: Scenario) -> Paths:
    """(paths, horizon) profit, derived here from the documented model rather than through vetoflow's code."""
    rng = np.random.default_rng(scenario.seed)
    shape = (len(scenario.segments), scenario.paths, scenario.horizon)
    draws = rng.standard_normal(shape)
    profit = np.zeros(shape[1:])
    for i, seg in enumerate(scenario.segments):
        growth = np.maximum(1.0 + seg.growth_mean + seg.volatility * draws[i], 0.0)
        revenue = seg.base_revenue * np.cumprod(growth, axis=1)
        if seg.history:
            revenue = simulate_history(seg.history, scenario.horizon, scenario.paths, (scenario.seed + i) % 2**32)
        profit += revenue * seg.margin
    return profit


def mixed(examples: Path) -> Scenario:
    data = load_scenario(examples / "with_history.yaml").model_dump(mode="json")
    data["segments"].append(
        {"name": "Launch", "base_revenue": 20000, "growth_mean": 0.05, "volatility": 0.4, "margin": -0.2}
    )
    return validate_scenario(data | {"paths": 2000, "seed": 11})


SCENARIOS = ["borderline.yaml", "profitable.yaml", "vetoed.yaml", "with_history.yaml", "mixed"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_reported_figures_equal_the_statistics_of_the_simulated_paths(name: str, examples: Path) -> None:
    scenario = mixed(examples) if name == "mixed" else load_scenario(examples / name)
    forecast = run_forecast(scenario)
    numbers = financials(forecast, scenario.investment, scenario.discount_rate)
    profit = independent_profit(scenario)
    discount = np.array([(1 + scenario.discount_rate) ** -t for t in range(1, scenario.horizon + 1)])
    npv = profit @ discount - scenario.investment
    roi = (profit.sum(axis=1) - scenario.investment) / scenario.investment

    assert numbers.method == "path_wise"
    assert numbers.downside_roi == pytest.approx(np.percentile(roi, 10), abs=1e-6)
    assert numbers.roi == pytest.approx(np.median(roi), abs=1e-6)
    assert numbers.npv == pytest.approx(np.median(npv), abs=0.01)
    assert numbers.npv_p10 == pytest.approx(np.percentile(npv, 10), abs=0.01)
    assert numbers.npv_p90 == pytest.approx(np.percentile(npv, 90), abs=0.01)
    assert numbers.loss_probability == pytest.approx(np.mean(npv < 0), abs=1e-6)
    worst = np.sort(npv)[: scenario.paths // 10]
    assert numbers.expected_shortfall == pytest.approx(worst.mean(), abs=0.01)
    out = forecast.outcomes
    assert out is not None
    assert out.roi_below_threshold == pytest.approx(np.mean(roi < scenario.veto_threshold), abs=1e-6)
    assert sum(out.npv_histogram.counts) == scenario.paths
    assert len(out.npv_histogram.counts) == 30

    paybacks = [payback_period(list(row), scenario.investment) for row in profit]
    never = sum(p is None for p in paybacks) / scenario.paths
    assert numbers.never_payback_share == pytest.approx(never, abs=1e-9)
    median = np.median([math.inf if p is None else p for p in paybacks])  # a path that never pays back ranks last
    if math.isinf(median):
        assert numbers.payback_period is None
    else:
        assert numbers.payback_period == pytest.approx(median, abs=1e-9)


def test_the_borderline_plan_reads_as_the_issue_measured_it(examples: Path) -> None:
    scenario = load_scenario(examples / "borderline.yaml")
    numbers = financials(run_forecast(scenario), scenario.investment, scenario.discount_rate)
    assert round(numbers.downside_roi, 3) == -0.367  # the per-period band method said -43.4%
    assert round(numbers.roi, 3) == 0.058
    assert numbers.loss_probability is not None
    assert round(numbers.loss_probability, 2) == 0.55


def test_irr_matches_numpy_financial_on_known_cash_flows() -> None:
    known = [[-100, 39, 59, 55, 20], [-100, 0, 0, 74], [-100, 100, 0, 7], [-1000, 300, 300, 300, 300, 300]]
    width = max(map(len, known))
    padded = np.array([row + [0] * (width - len(row)) for row in known], dtype=float)
    assert irr(padded) == pytest.approx([npf.irr(row) for row in known], abs=1e-9)
    assert irr(padded)[:2] == pytest.approx([0.28095, -0.0955], abs=1e-5)

    rng = np.random.default_rng(5)
    flows = np.concatenate([-rng.uniform(500, 5000, (200, 1)), rng.uniform(0, 400, (200, 24))], axis=1)
    assert irr(flows) == pytest.approx([npf.irr(row) for row in flows], abs=1e-9)


def test_paths_that_earn_nothing_have_no_irr_and_rank_below_every_rate() -> None:
    flows = np.array([[-100.0, -5, -5, -5], [-100, 120, -50, 40], [-100, 60, 60, 0]])
    got = irr(flows)
    assert np.isnan(got[0])  # no sign change: no IRR (numpy-financial agrees)
    assert np.isnan(npf.irr(flows[0]))
    assert np.isnan(got[1])  # three sign changes: the cash-flow function alone does not choose
    assert got[2] == pytest.approx(npf.irr(flows[2]), abs=1e-9)
    outcomes = path_outcomes(flows[:, 1:], 100.0, 0.0)
    assert outcomes.never_earns.tolist() == [True, False, False]
    # -100 + 120x - 50x^2 + 40x^3 rises monotonically in x = 1/(1+r): one root, agreeing with NPV 10 > 0 at 0%
    assert outcomes.irr[1] == pytest.approx(npf.irr(flows[1]), abs=1e-9)
    assert outcomes.irr[1] > 0
    assert np.isnan(outcomes.irr[0])
    summary = summarize(outcomes, 0.0, 100.0, 0.0)
    assert summary.irr is not None
    ranked = sorted([-1.0, *outcomes.irr[1:]])  # the losing path without an IRR ranks as -100%, below every IRR
    assert summary.irr.p50 == pytest.approx(ranked[1], abs=1e-6)
    assert summary.irr.p5 == pytest.approx(np.percentile(ranked, 5), abs=1e-6)
    assert summary.irr_missing_share == pytest.approx(1 / 3, abs=1e-6)


def extreme_irr_plan() -> Scenario:
    """Wild growth: a third of the paths earn nothing, many change sign often (from an audit of the release)."""
    segment = {"name": "Bet", "base_revenue": 100_000, "growth_mean": -0.3, "volatility": 1.5, "margin": 1}
    plan = {"name": "wild", "investment": 200_000, "horizon": 8, "discount_rate": 0.02, "seed": 5, "paths": 2000}
    return validate_scenario(plan | {"segments": [segment]})


def growing_costs_plan() -> Scenario:
    """A steady business beside a cost line growing 15% a period: most paths change sign twice and have no
    IRR agreeing with their NPV; they are mostly the losing ones (from an audit of the release)."""
    sales = {"name": "Sales", "base_revenue": 10_000, "growth_mean": 0.0, "volatility": 0.0, "margin": 0.2}
    costs = {"name": "Costs", "base_revenue": 6_000, "growth_mean": 0.15, "volatility": 0.3, "margin": -0.2}
    plan = {"name": "costs", "investment": 1000, "horizon": 10, "discount_rate": 0.05, "seed": 1, "paths": 2000}
    return validate_scenario(plan | {"segments": [sales, costs]})


def plan(name: str, examples: Path) -> Scenario:
    if name == "extreme":
        return extreme_irr_plan()
    if name == "growing costs":
        return growing_costs_plan()
    return mixed(examples) if name == "mixed" else load_scenario(examples / name)


@pytest.mark.parametrize("name", [*SCENARIOS, "extreme", "growing costs"])
def test_the_median_irr_tells_what_the_median_npv_tells(name: str, examples: Path) -> None:
    scenario = plan(name, examples)
    numbers = financials(run_forecast(scenario), scenario.investment, scenario.discount_rate)
    assert numbers.irr is not None
    assert (numbers.irr > scenario.discount_rate) == (numbers.npv > 0), (numbers.irr, numbers.npv)


@pytest.mark.parametrize("name", [*SCENARIOS, "extreme"])
def test_the_histogram_bins_left_of_zero_hold_exactly_the_losing_paths(name: str, examples: Path) -> None:
    scenario = plan(name, examples)
    out = run_forecast(scenario).outcomes
    assert out is not None
    bins = out.npv_histogram
    losing = sum(count for count, right in zip(bins.counts, bins.edges[1:], strict=True) if right <= 0)
    straddling = [left for left, right in zip(bins.edges, bins.edges[1:], strict=False) if left < 0 < right]
    assert straddling == [], "no bin holds losses and gains together"
    assert losing / scenario.paths == pytest.approx(out.loss_probability, abs=1e-9)


def test_a_band_only_forecast_keeps_the_older_method_and_says_so(profitable: Scenario) -> None:
    forecast = run_forecast(profitable).model_copy(update={"outcomes": None})
    numbers = financials(forecast, profitable.investment, profitable.discount_rate)
    assert numbers.method == "per_period_bands"
    assert numbers.loss_probability is None
    assert numbers.roi == pytest.approx(sum(forecast.profit.p50) / profitable.investment - 1, abs=1e-6)


def test_checkpoints_of_the_previous_release_still_load(profitable: Scenario) -> None:
    """State as the previous release wrote it: the same fields, without any of the new ones."""
    forecast = run_forecast(profitable)
    numbers = financials(forecast.model_copy(update={"outcomes": None}), profitable.investment, 0.05)
    old = {
        "run_id": "old",
        "scenario": profitable.model_dump(mode="json", exclude={"loss_limit", "npv_floor"}),
        "forecast": forecast.model_dump(mode="json", exclude={"outcomes"}),
        "financials": numbers.model_dump(mode="json", exclude=set(Financials.model_fields) - OLD_FINANCIALS),
    }
    state = RunState.model_validate(old)
    assert state.financials is not None
    assert state.financials.method == "per_period_bands"
    assert state.financials.loss_probability is None
    assert isinstance(state.forecast, Forecast)
    assert state.forecast.outcomes is None


OLD_FINANCIALS = {"investment", "profit_p50", "profit_p10", "roi", "downside_roi", "npv", "payback_period"}


def test_checkpoint_state_stays_small(profitable: Scenario) -> None:
    with_outcomes = run_forecast(profitable)
    before = len(with_outcomes.model_copy(update={"outcomes": None}).model_dump_json())
    after = len(with_outcomes.model_dump_json())
    assert after - before < 4000  # summaries, never the paths (which would be paths x horizon floats)


def test_outcomes_made_for_another_investment_are_not_reused(profitable: Scenario) -> None:
    """A replay from the Accountant with a new investment keeps the old forecast: its outcomes are stale."""
    forecast = run_forecast(profitable)
    fresh = financials(forecast, profitable.investment, profitable.discount_rate)
    moved = financials(forecast, 100_000.0, profitable.discount_rate)
    rate = financials(forecast, profitable.investment, profitable.discount_rate + 0.01)
    assert fresh.method == "path_wise"
    assert moved.method == "per_period_bands"
    assert moved.loss_probability is None
    assert moved.roi == pytest.approx(sum(forecast.profit.p50) / 100_000 - 1, abs=1e-6)
    assert rate.method == "per_period_bands"


def test_paths_without_an_irr_rank_by_their_npv() -> None:
    # flows -100, 300, -210: NPV at 0% is -10 (losing), two sign changes; -100, 300, -150: NPV +50 (winning)
    # and -100, 150: one sign change, IRR 50%
    profit = np.array([[300.0, -210.0], [300.0, -150.0], [150.0, 0.0]])
    outcomes = path_outcomes(profit, 100.0, 0.0)
    kept = outcomes.irr[np.isfinite(outcomes.irr)]
    summary = summarize(outcomes, 0.0, 100.0, 0.0)
    assert summary.irr is not None
    missing = 1 - kept.size / 3
    assert summary.irr_missing_share == pytest.approx(missing)
    ranked = sorted(
        [*kept, *([-1.0] if np.isnan(outcomes.irr[0]) else []), *([max(kept)] * int(np.isnan(outcomes.irr[1])))]
    )
    assert summary.irr.p50 == pytest.approx(float(np.median(ranked)))
    assert summary.irr.p50 > 0, "two of three paths make money at 0%: the median IRR beats the rate"


def test_a_plan_whose_later_losses_undo_its_payback_is_counted_as_never_paying_back() -> None:
    sales = {"name": "Sales", "base_revenue": 150_000, "growth_mean": 0.0, "volatility": 0.0, "margin": 1.0}
    costs = {"name": "Costs", "base_revenue": 10_000, "growth_mean": 1.0, "volatility": 0.0, "margin": -1.0}
    plan = {"name": "undone", "investment": 100_000, "horizon": 6, "discount_rate": 0.0, "paths": 100}
    scenario = validate_scenario(plan | {"segments": [sales, costs]})
    numbers = financials(run_forecast(scenario), scenario.investment, scenario.discount_rate)
    assert numbers.roi < 0
    assert numbers.payback_period is None
    assert numbers.never_payback_share == 1.0
