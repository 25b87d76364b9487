"""Each veto policy routes as documented, and the decision record names every rule and its value in words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CountingSynthesizer
from tests.test_graph import compile_graph, start
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.graph import Context
from vetoflow.risk.policy import describe
from vetoflow.scenario import Scenario, load_scenario, validate_scenario
from vetoflow.state import Forecast, RunState

KEYS = re.compile(r"\b(roi|downside_roi|loss_probability|npv|npv_floor|loss_limit|any_of|all_of)\b|\w_\w")


def borderline(examples: Path, **changes: Any) -> Scenario:
    """Median ROI 5.8%, downside ROI -36.7%, median NPV about -20,000 USD, 55% of paths lose money."""
    data = load_scenario(examples / "borderline.yaml").model_dump(mode="json")
    return validate_scenario(data | changes)


def run(scenario: Scenario, context: Context | None = None) -> tuple[RunState, str]:
    llm = CountingSynthesizer()
    graph = compile_graph()
    snapshot = graph.get_state(start(graph, scenario, context or Context(synthesizer=llm)))
    state = RunState.model_validate(snapshot.values)
    return state, "approval" if snapshot.next == ("approval",) else "synthesizer"


@pytest.mark.parametrize(
    ("changes", "route", "words"),
    [
        ({"veto_policy": "roi"}, "synthesizer", "ROI (P50) is 5.8%, at or above the veto threshold of 0.0%."),
        ({"veto_policy": "downside_roi"}, "approval", "Downside ROI (P10) is -36.7%, below the veto threshold"),
        (
            {"veto_policy": "loss_probability", "loss_limit": 0.3},
            "approval",
            "55% of simulated outcomes lose money (NPV below zero); the limit is 30%.",
        ),
        (
            {"veto_policy": "loss_probability", "loss_limit": 0.6},
            "synthesizer",
            "55% of simulated outcomes lose money (NPV below zero); that is within the limit of 60%.",
        ),
        ({"veto_policy": "npv"}, "approval", "Median NPV is -20,249 USD, below the floor of 0 USD."),
        ({"veto_policy": "npv", "npv_floor": -50000}, "synthesizer", "at or above the floor of -50,000 USD."),
        (
            {"veto_policy": {"any_of": ["roi", "loss_probability"]}},
            "approval",
            "Vetoed: 1 of 2 rules fail (probability of loss); the veto policy, any of (ROI (P50), probability of "
            "loss), vetoes when any rule fails.",
        ),
        (
            {"veto_policy": {"all_of": ["roi", "loss_probability"]}},
            "synthesizer",
            "Passed: 1 of 2 rules fail (probability of loss); the veto policy, all of (ROI (P50), probability of "
            "loss), vetoes only when every rule fails.",
        ),
        (
            {"veto_policy": {"all_of": ["npv", {"any_of": ["roi", "downside_roi"]}]}},
            "approval",
            "2 of 3 rules fail (median NPV, downside ROI (P10)); the veto policy, "
            "all of (median NPV, any of (ROI (P50), downside ROI (P10))), vetoes only when every rule fails.",
        ),
    ],
)
def test_each_policy_routes_as_documented(examples: Path, changes: dict[str, Any], route: str, words: str) -> None:
    state, went = run(borderline(examples, **changes))
    assert went == route
    assert state.decision is not None
    assert state.decision.veto == (route == "approval")
    assert any(words in reason for reason in state.decision.reasons), state.decision.reasons
    assert all(rule.text in state.decision.reasons for rule in state.decision.rules)
    assert not KEYS.search(" ".join(state.decision.reasons)), "operators read rule names, not the scenario's keys"
    assert state.decision.policy == describe(state.scenario.veto_policy)  # the stored key is unchanged


def test_every_rule_of_a_combination_is_recorded_with_its_measured_value(examples: Path) -> None:
    policy = {"any_of": ["roi", "downside_roi", "loss_probability", "npv"]}
    state, _ = run(borderline(examples, veto_policy=policy))
    assert state.decision is not None
    assert state.financials is not None
    measured = {rule.rule: rule.measured for rule in state.decision.rules}
    assert measured == {
        "roi": state.financials.roi,
        "downside_roi": state.financials.downside_roi,
        "loss_probability": state.financials.loss_probability,
        "npv": state.financials.npv,
    }
    assert [rule.veto for rule in state.decision.rules] == [False, True, True, True]


def band_only(scenario: Scenario) -> Forecast:
    """What a percentile-only forecaster (the SageMaker contract) gives: bands, no per-path outcomes."""
    return run_forecast(scenario).model_copy(update={"outcomes": None})


@pytest.mark.parametrize("policy", ["loss_probability", {"all_of": ["roi", "loss_probability"]}])
def test_a_probability_of_loss_that_cannot_be_computed_vetoes(examples: Path, policy: Any) -> None:
    scenario = borderline(examples, veto_policy=policy, loss_limit=1.0)
    state, went = run(scenario, Context(synthesizer=CountingSynthesizer(), forecast=band_only))
    assert went == "approval"
    assert state.decision is not None
    assert any("The probability of loss could not be computed" in r for r in state.decision.reasons)
    if not isinstance(policy, str):  # an all_of passes on one rule alone, but not when a figure is unknown
        assert "A figure it needs could not be computed, so a human must review." in state.decision.reasons[0]
    assert state.financials is not None
    assert state.financials.method == "per_period_bands"


def test_band_only_forecasts_still_decide_roi_policies_the_older_way(examples: Path) -> None:
    state, went = run(borderline(examples, veto_policy="roi"), Context(forecast=band_only))
    assert went == "synthesizer"
    assert state.decision is not None
    assert state.decision.rules[0].rule == "roi"


def test_a_veto_by_a_hair_shows_the_measured_value_apart_from_the_limit(examples: Path) -> None:
    plain, _ = run(borderline(examples, veto_policy="loss_probability"))
    assert plain.financials is not None
    loss = plain.financials.loss_probability
    assert loss is not None
    limit = loss - 0.001
    assert f"{loss:.0%}" == f"{limit:.0%}", "the same whole percentage: the case this is about"
    state, route = run(borderline(examples, veto_policy="loss_probability", loss_limit=limit))
    assert route == "approval"
    assert state.decision is not None
    [rule] = state.decision.rules
    numbers = re.findall(r"\d+(?:\.\d+)?%", rule.text)
    assert len(numbers) == 2
    assert numbers[0] != numbers[1], rule.text


def flat_plan(revenue: float, **changes: Any) -> Scenario:
    """One period, no volatility: every path earns `revenue` on an investment of 100,000."""
    segment = {"name": "Flat", "base_revenue": revenue, "growth_mean": 0.0, "volatility": 0.0, "margin": 1.0}
    plan = {"name": "flat", "investment": 100_000, "horizon": 1, "discount_rate": 0.0, "paths": 100}
    return validate_scenario(plan | {"segments": [segment]} | changes)


def test_a_return_a_hair_below_the_threshold_vetoes_however_small_the_gap() -> None:
    # ROI -0.0000004: rounded to six places it read -0.0 and passed a threshold of 0
    state, route = run(flat_plan(99_999.96, veto_policy="roi", veto_threshold=0.0))
    assert route == "approval"
    assert state.decision is not None
    assert state.decision.rules[0].text == "ROI (P50) is -0.00004%, below the veto threshold of 0%."


@pytest.mark.parametrize(
    ("revenue", "floor", "words"),
    [
        (100_999.6, 1000, "Median NPV is 999.6 USD, below the floor of 1,000 USD."),
        (99_999.996, 0, "Median NPV is -0.004 USD, below the floor of 0 USD."),
        (101_000.0, 1000, "Median NPV is 1,000 USD, at or above the floor of 1,000 USD."),
    ],
)
def test_a_median_npv_at_the_floor_reads_apart_from_it_unless_equal(revenue: float, floor: float, words: str) -> None:
    state, route = run(flat_plan(revenue, veto_policy="npv", npv_floor=floor))
    assert route == ("synthesizer" if "at or above" in words else "approval")
    assert state.decision is not None
    assert state.decision.rules[0].text == words
