"""Helpers shared by the RAG tests: a store in a temp home, a state after the Accountant."""

from __future__ import annotations

from pathlib import Path

from vetoflow.config import Settings
from vetoflow.finance import decide, financials
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.store import KnowledgeStore, open_store
from vetoflow.scenario import Scenario
from vetoflow.state import RunState

KNOWLEDGE = Path(__file__).resolve().parent.parent / "vetoflow" / "examples" / "knowledge"


def store_in(home: Path, embeddings: LocalEmbeddings, **overrides: object) -> tuple[Settings, KnowledgeStore]:
    settings = Settings(home=home, database_url=None, **overrides)  # type: ignore[arg-type]
    return settings, open_store(settings, embeddings)


def decided_state(scenario: Scenario) -> RunState:
    """The state the Synthesizer sees: forecast, financials and decision filled in."""
    forecast = run_forecast(scenario)
    numbers = financials(forecast, scenario.investment, scenario.discount_rate)
    decision = decide(numbers, scenario)
    return RunState(run_id="t", scenario=scenario, forecast=forecast, financials=numbers, decision=decision)
