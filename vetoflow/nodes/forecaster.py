"""Forecaster: revenue bands per segment from the scenario's assumptions, history or a remote model."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetoflow.context import Context
from vetoflow.state import RunState


def forecaster(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    with runtime.context.budget.hold(state.scenario):  # refuses an oversized run; waits for room in flight
        forecast = runtime.context.forecast(state.scenario)
    return {"forecast": forecast.model_dump(mode="json")}
