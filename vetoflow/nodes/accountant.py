"""Accountant: ROI, NPV and payback from the forecast, and the veto that sends a run to a human."""

from __future__ import annotations

from typing import Any

from vetoflow.finance import decide, financials
from vetoflow.risk import guard, plausibility
from vetoflow.risk.policy import describe
from vetoflow.state import RunState


def accountant(state: RunState) -> dict[str, Any]:
    assert state.forecast is not None, "the Forecaster runs before the Accountant"
    scenario = state.scenario
    numbers = financials(state.forecast, scenario.investment, scenario.discount_rate)
    found = guard.problems(state.forecast, numbers, scenario.horizon)
    flags = plausibility.flags(scenario, state.forecast, numbers)
    if found:  # fail closed: a figure that is not finite or not credible never passes the veto
        messages = [flag.message for flag in flags]  # first: what to check in the inputs
        decision = guard.unmeasurable(found, describe(scenario.veto_policy), scenario.veto_threshold, messages)
    else:
        decision = decide(numbers, scenario)
    return {
        "financials": numbers.model_dump(mode="json"),
        "decision": decision.model_dump(mode="json"),
        "plausibility": [flag.model_dump(mode="json") for flag in flags],
    }
