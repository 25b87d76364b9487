from __future__ import annotations

from pathlib import Path

import numpy as np

from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.scenario import Scenario, load_scenario


def test_same_seed_same_numbers_and_another_seed_differs(profitable: Scenario) -> None:
    first, second = run_forecast(profitable), run_forecast(profitable)
    assert first == second
    other = run_forecast(profitable.model_copy(update={"seed": profitable.seed + 1}))
    assert other.revenue.p50 != first.revenue.p50


def test_bands_are_ordered_and_shaped(profitable: Scenario) -> None:
    forecast = run_forecast(profitable)
    assert set(forecast.segments) == {s.name for s in profitable.segments}
    for band in [forecast.revenue, forecast.profit, *forecast.segments.values()]:
        assert len(band.p10) == len(band.p50) == len(band.p90) == profitable.horizon
        assert all(lo <= mid <= hi for lo, mid, hi in zip(band.p10, band.p50, band.p90, strict=True))


def test_median_tracks_the_growth_assumption(profitable: Scenario) -> None:
    segment = profitable.segments[0].model_copy(update={"volatility": 0.0, "growth_mean": 0.05})
    scenario = profitable.model_copy(update={"segments": [segment]})
    forecast = run_forecast(scenario)
    expected = [segment.base_revenue * 1.05**t for t in range(1, scenario.horizon + 1)]
    assert np.allclose(forecast.revenue.p50, expected, rtol=1e-6)
    assert np.allclose(forecast.profit.p50, np.array(expected) * segment.margin, rtol=1e-6)


def test_history_is_fitted_with_exponential_smoothing(examples: Path) -> None:
    scenario = load_scenario(examples / "with_history.yaml")
    forecast = run_forecast(scenario)
    assert forecast.segment_methods == {"Subscriptions": "exponential_smoothing", "Wholesale": "monte_carlo"}
    history = scenario.segments[0].history
    assert history is not None
    fitted = forecast.segments["Subscriptions"].p50
    # an upward-trending history continues upward, starting near its last value
    assert fitted[-1] > fitted[0] > 0.8 * history[-1]
    assert run_forecast(scenario) == forecast


def test_forecast_is_plain_json_data(profitable: Scenario) -> None:
    dumped = run_forecast(profitable).model_dump(mode="json")
    assert isinstance(dumped["revenue"]["p50"][0], float)
