"""The veto fails closed: figures that are not finite or not credible always go to a human (issue 12, item 1)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import CountingSynthesizer
from tests.test_graph import compile_graph, start
from vetoflow.errors import VetoflowError
from vetoflow.forecasting.montecarlo import forecast_from_paths, run_forecast, simulate_assumptions, simulate_history
from vetoflow.graph import Context
from vetoflow.nodes.approval import why_waiting
from vetoflow.risk import guard
from vetoflow.scenario import Scenario, validate_scenario
from vetoflow.state import Band, Financials, Forecast, RunState

ATTACK_HISTORY = [1e155, 1e155, 2, 1e155]
ATTACK_SEGMENT: dict[str, Any] = {"name": "a", "base_revenue": 100, "margin": 0.3, "history": ATTACK_HISTORY}
ATTACK: dict[str, Any] = {
    "name": "overflow",
    "investment": 1000,
    "horizon": 12,
    "discount_rate": 0.01,
    "veto_threshold": 10,
    "segments": [ATTACK_SEGMENT],
}


def run(scenario: Scenario, context: Context) -> tuple[RunState, tuple[str, ...]]:
    graph = compile_graph()
    snapshot = graph.get_state(start(graph, scenario, context))
    return RunState.model_validate(snapshot.values), snapshot.next


def test_history_values_beyond_the_documented_bound_are_refused_by_name() -> None:
    with pytest.raises(VetoflowError) as info:
        validate_scenario(ATTACK)
    assert "segments[0].history[0]: Input should be less than or equal to 1000000000000 (got 1e+155)" in str(info.value)


def run_forecast_paths(scenario: Scenario) -> Any:
    return simulate_assumptions(scenario.segments, scenario.horizon, scenario.paths, np.random.default_rng(0))


def overflowing(scenario: Scenario) -> Forecast:
    """The real fitted-history forecast of the attack history, as if its bound had not stopped it."""
    revenue = run_forecast_paths(scenario)
    revenue[0] = simulate_history(ATTACK_HISTORY, scenario.horizon, scenario.paths, scenario.seed)
    return forecast_from_paths(scenario, revenue, {"a": "exponential_smoothing"}, "exponential_smoothing")


def test_an_overflowing_history_forecast_pauses_for_a_human_with_the_reason() -> None:
    scenario = validate_scenario({**ATTACK, "paths": 500, "segments": [ATTACK_SEGMENT | {"history": None}]})
    llm = CountingSynthesizer()
    state, waiting = run(scenario, Context(synthesizer=llm, forecast=overflowing))
    assert waiting == ("approval",)
    assert llm.calls == 0
    assert state.decision is not None
    assert state.decision.veto
    assert state.decision.reasons[0].startswith("The figures could not be computed")
    assert "could not be computed (a value is not a number)" in state.decision.reasons[1]


def test_figures_beyond_the_credible_range_pause_even_from_valid_inputs() -> None:
    scenario = validate_scenario(
        {
            "name": "absurd growth",
            "investment": 1,
            "horizon": 120,
            "discount_rate": 0,
            "veto_threshold": -1,
            "paths": 100,
            "segments": [{"name": "a", "base_revenue": 1e12, "growth_mean": 5, "volatility": 2, "margin": 1}],
        }
    )
    state, waiting = run(scenario, Context(synthesizer=CountingSynthesizer()))
    assert waiting == ("approval",)
    assert state.decision is not None
    flags = [f"{flag.message}." for flag in state.plausibility]
    assert flags, "a plan growing 500% a period is flagged"
    assert state.decision.reasons[: len(flags)] == flags, "first what to check in the inputs"
    head, *found = state.decision.reasons[len(flags) :]
    assert head == (
        "Some figures could not be computed and others are outside the credible range: "
        "the veto cannot be decided on them, so a human must review."
    )
    assert "The NPV histogram could not be computed." in found
    assert any(p.endswith(", outside the credible range of ±1,000,000,000,000,000.") for p in found)


def test_a_one_dollar_plan_reads_as_outside_the_credible_range_not_as_not_computed(profitable: Scenario) -> None:
    """Its figures were computed (and are displayed): they are not credible. The words say so, in numbers people
    read, after the plausibility flag that says what to check."""
    state, waiting = run(profitable.model_copy(update={"investment": 1}), Context(synthesizer=CountingSynthesizer()))
    assert waiting == ("approval",)
    assert state.decision is not None
    flag, head, *found = state.decision.reasons
    assert re.fullmatch(r"ROI \(P50\) of [1-9][\d,]+\.\d% is above 1,000\.0%: check the inputs\.", flag)
    assert head == (
        "Some figures are outside the credible range: the veto cannot be decided on them, so a human must review."
    )
    roi = r"[1-9]\d{0,2}(,\d{3})+\.\d%"
    assert re.fullmatch(rf"ROI \(P50\) is {roi}, outside the credible range of ±100,000,000%\.", found[0])
    assert not [reason for reason in state.decision.reasons if "could not be computed" in reason or "e+" in reason]
    assert why_waiting(state) == state.decision.reasons, "the flag is named once"


def poisoned(where: str, value: float) -> Any:
    """A forecaster (as injected through the context) whose output carries one bad value."""

    def forecast(scenario: Scenario) -> Forecast:
        good = run_forecast(scenario)
        bands: dict[str, Band] = {"revenue": good.revenue, "profit": good.profit}
        band = bands.get(where) or next(iter(good.segments.values()))
        band.p10[len(band.p10) // 2] = value
        return good

    return forecast


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(["revenue", "profit", "segment"]),
    value=st.sampled_from([math.nan, math.inf, -math.inf, 2e15, -2e15]),
)
def test_any_non_finite_or_incredible_forecast_value_vetoes(where: str, value: float) -> None:
    scenario = validate_scenario(
        {**ATTACK, "veto_threshold": -1, "paths": 100, "segments": [ATTACK_SEGMENT | {"history": None}]}
    )
    llm = CountingSynthesizer()
    state, waiting = run(scenario, Context(synthesizer=llm, forecast=poisoned(where, value)))
    assert waiting == ("approval",)
    assert llm.calls == 0
    assert state.decision is not None
    assert state.decision.veto


segments: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    base_revenue=st.floats(0, 1e12),
    growth_mean=st.floats(-1, 5),
    volatility=st.floats(0, 2),
    margin=st.floats(-1, 1),
    history=st.none() | st.lists(st.floats(0, 1e12), min_size=4, max_size=12),
)


rules = st.sampled_from(["roi", "downside_roi", "loss_probability", "npv"])
policies = st.one_of(
    rules,
    st.builds(
        lambda kind, items: {kind: items},
        st.sampled_from(["any_of", "all_of"]),
        st.lists(rules, min_size=1, max_size=4),
    ),
)
inputs = st.fixed_dictionaries(
    {
        "investment": st.floats(1, 1e12),
        "horizon": st.integers(1, 120),
        "discount_rate": st.floats(0, 1),
        "veto_threshold": st.floats(-1, 10),
        "veto_policy": policies,
        "loss_limit": st.floats(0, 1),
        "npv_floor": st.floats(-1e12, 1e12),
        "seed": st.integers(0, 2**32 - 1),
        "segments": st.lists(segments, min_size=1, max_size=3),
    }
)


def passes(policy: Any, numbers: Financials, scenario: Scenario) -> bool:
    """The documented policy semantics, computed here from the recorded figures."""
    if isinstance(policy, dict):
        ((kind, items),) = policy.items()
        votes = [passes(item, numbers, scenario) for item in items]
        return all(votes) if kind == "any_of" else any(votes)
    measured = {
        "roi": numbers.roi,
        "downside_roi": numbers.downside_roi,
        "loss_probability": numbers.loss_probability,
        "npv": numbers.npv,
    }[policy]
    assert measured is not None
    assert math.isfinite(measured)
    if policy == "loss_probability":
        return measured <= scenario.loss_limit
    return measured >= (scenario.npv_floor if policy == "npv" else scenario.veto_threshold)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs)
def test_no_run_reaches_the_synthesizer_without_a_human_unless_every_figure_is_finite_and_passes(
    data: dict[str, Any],
) -> None:
    parts = [{"name": f"s{i}", **part} for i, part in enumerate(data["segments"])]
    scenario = validate_scenario({**data, "name": "property", "paths": 100, "segments": parts})
    llm = CountingSynthesizer()
    state, waiting = run(scenario, Context(synthesizer=llm))
    if waiting == ("approval",):
        assert llm.calls == 0
        return
    assert llm.calls == 1
    assert state.outcome == "completed"
    assert guard.problems(state.forecast, state.financials, scenario.horizon) == []
    assert state.decision is not None
    assert state.financials is not None
    assert passes(data["veto_policy"], state.financials, scenario)
