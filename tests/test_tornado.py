"""Sensitivity (tornado): ranked by swing in median NPV, with common random numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from vetoflow.errors import VetoflowError
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.risk.tornado import DISCOUNT_STEP, moved
from vetoflow.scenario import Scenario, apply_overrides, load_scenario, validate_scenario


def test_a_dominant_input_is_ranked_first() -> None:
    scenario = validate_scenario(
        {
            "name": "one big lever",
            "investment": 1_000_000,
            "horizon": 6,
            "discount_rate": 0.01,
            "seed": 9,
            "segments": [
                {"name": "Core", "base_revenue": 50_000, "growth_mean": 0.01, "volatility": 0.05, "margin": 0.2},
                {"name": "Big", "base_revenue": 400_000, "growth_mean": 0.0, "volatility": 0.02, "margin": 0.9},
                {"name": "Side", "base_revenue": 10_000, "growth_mean": 0.3, "volatility": 0.5, "margin": 0.1},
            ],
        }
    )
    sensitivity = run_forecast(scenario).sensitivity
    assert sensitivity is not None
    assert sensitivity.bars[0].input == "segments.Big.base_revenue"
    assert sensitivity.bars[0].swing > 2 * sensitivity.bars[2].swing
    swings = [bar.swing for bar in sensitivity.bars]
    assert swings == sorted(swings, reverse=True)
    assert len(sensitivity.bars) == 3 * 4 + 1


@pytest.mark.parametrize(
    "key", ["segments.Enterprise.growth_mean", "segments.SMB.volatility", "segments.SMB.margin", "discount_rate"]
)
def test_each_bar_equals_a_full_rerun_with_the_same_seed(examples: Path, key: str) -> None:
    scenario = load_scenario(examples / "profitable.yaml").model_copy(update={"paths": 2000})
    sensitivity = run_forecast(scenario).sensitivity
    assert sensitivity is not None
    bar = next(b for b in sensitivity.bars if b.input == key)
    for value, npv in ((bar.low, bar.npv_low), (bar.high, bar.npv_high)):
        rerun = run_forecast(apply_overrides(scenario, {key: value}))
        assert rerun.outcomes is not None
        assert npv == pytest.approx(rerun.outcomes.npv.p50, abs=0.02)


def test_steps_are_the_documented_ones_and_stay_in_range(profitable: Scenario) -> None:
    assert moved(100.0, "base_revenue") == pytest.approx((80.0, 120.0))
    assert moved(0.05, "growth_mean") == pytest.approx((0.03, 0.07))
    assert moved(0.2, "volatility") == pytest.approx((0.15, 0.25))
    assert moved(0.98, "margin") == pytest.approx((0.93, 1.0))
    sensitivity = run_forecast(profitable.model_copy(update={"discount_rate": 0.01})).sensitivity
    assert sensitivity is not None
    rate = next(b for b in sensitivity.bars if b.input == "discount_rate")
    assert (rate.low, rate.high) == pytest.approx((0.0, 0.01 + DISCOUNT_STEP))


def test_a_segment_forecast_from_its_history_gets_only_the_bars_that_move_it(examples: Path) -> None:
    scenario = load_scenario(examples / "with_history.yaml")
    fitted = [s.name for s in scenario.segments if s.history]
    assert fitted
    sensitivity = run_forecast(scenario).sensitivity
    assert sensitivity is not None
    inputs = {bar.input for bar in sensitivity.bars}
    for name in fitted:
        assert f"segments.{name}.margin" in inputs
        assert not inputs & {f"segments.{name}.{field}" for field in ("base_revenue", "growth_mean", "volatility")}
    for bar in sensitivity.bars:  # every bar is what a rerun with the moved input gives
        for value, npv in ((bar.low, bar.npv_low), (bar.high, bar.npv_high)):
            rerun = run_forecast(apply_overrides(scenario, {bar.input: value})).outcomes
            assert rerun is not None
            assert npv == pytest.approx(rerun.npv.p50, abs=0.02), bar.input
    with pytest.raises(VetoflowError, match=rf"segments\.{fitted[0]}\.base_revenue: segment .* its history"):
        apply_overrides(scenario, {f"segments.{fitted[0]}.base_revenue": 1.0})
