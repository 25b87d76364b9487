"""TEST-ONLY graph clients for worker processes, loaded by `vetoflow worker --context-factory`.

The real clients from the settings (the Bedrock synthesizer pointed at the loopback server), with the
Forecaster slowed by VETOFLOW_TEST_SLOW_SECONDS (and the Evidence node's search by
VETOFLOW_TEST_SLOW_EVIDENCE) so a test can signal a worker mid-run; every Forecaster entry and exit is
appended to $VETOFLOW_HOME/forecaster.log as `start NAME` / `end NAME`. With
VETOFLOW_TEST_PERIODIC set, a periodic job appends `PID SECOND` to ticks.log every second.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.rag.retrieval import RetrieverClient
from vetoflow.runtime import make_context as real_context
from vetoflow.scenario import Scenario
from vetoflow.state import Forecast, Retrieval, RunState
from vetoflow.workers.app import register_periodic


def _record_tick(settings: Settings) -> None:
    with (settings.home / "ticks.log").open("a") as out:
        out.write(f"{os.getpid()} {int(time.time())}\n")


if os.environ.get("VETOFLOW_TEST_PERIODIC"):  # what another feature does at import time
    register_periodic("test.tick", "* * * * * *", _record_tick)


def ticks(home: Path) -> list[tuple[int, int]]:
    path = home / "ticks.log"
    lines = path.read_text().split() if path.exists() else []
    return [(int(pid), int(second)) for pid, second in zip(lines[::2], lines[1::2], strict=True)]


def forecaster_log(home: Path) -> list[str]:
    path = home / "forecaster.log"
    return path.read_text().splitlines() if path.exists() else []


def make_context(settings: Settings) -> Context:
    seconds = float(os.environ.get("VETOFLOW_TEST_SLOW_SECONDS", "0"))
    log = settings.home / "forecaster.log"

    def slow_forecast(scenario: Scenario) -> Forecast:
        with log.open("a") as out:
            out.write(f"start {scenario.name}\n")
        time.sleep(seconds)
        forecast = run_forecast(scenario)
        with log.open("a") as out:
            out.write(f"end {scenario.name}\n")
        return forecast

    clients = real_context(settings.model_copy(update={"context_factory": None}))  # not this factory again
    if float(os.environ.get("VETOFLOW_TEST_SLOW_EVIDENCE", "0")) > 0:
        clients = replace(clients, retriever=SlowRetriever(clients.retriever))
    return replace(clients, forecast=slow_forecast)


@dataclass(frozen=True)
class SlowRetriever:
    """The real retriever, after VETOFLOW_TEST_SLOW_EVIDENCE seconds (the Evidence node is where it is asked)."""

    inner: RetrieverClient | None

    def retrieve(self, state: RunState) -> Retrieval | None:
        time.sleep(float(os.environ.get("VETOFLOW_TEST_SLOW_EVIDENCE", "0")))
        return self.inner.retrieve(state) if self.inner else None
