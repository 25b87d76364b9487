"""TEST-ONLY graph clients for the reliability suite, loaded by `vetoflow serve --context-factory`.

They slow the Forecaster and Synthesizer down (seconds from VETOFLOW_TEST_SLOW_SECONDS) so a test can
kill the server while runs are mid-graph, and mark in VETOFLOW_HOME when a node has started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.scenario import Scenario
from vetoflow.state import Forecast, RunState, Summary


def _mark(home: Path, what: str, name: str) -> None:
    (home / "marks").mkdir(parents=True, exist_ok=True)
    (home / "marks" / f"{what}-{name}").touch()


class SlowSynthesizer(OfflineSynthesizer):
    name = "slow-offline"

    def __init__(self, home: Path, seconds: float) -> None:
        self.home, self.seconds = home, seconds

    def summarize(self, state: RunState) -> Summary:
        _mark(self.home, "synthesizer", state.scenario.name)
        time.sleep(self.seconds)
        return super().summarize(state)


def make_context(settings: Settings) -> Context:
    seconds = float(os.environ.get("VETOFLOW_TEST_SLOW_SECONDS", "0"))
    home = settings.home

    def slow_forecast(scenario: Scenario) -> Forecast:
        _mark(home, "forecaster", scenario.name)
        time.sleep(seconds)
        return run_forecast(scenario)

    return Context(synthesizer=SlowSynthesizer(home, seconds), forecast=slow_forecast)
