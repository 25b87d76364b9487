"""Run-time dependencies injected into nodes (LangGraph `context_schema`); never checkpointed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vetoflow.forecasting.budget import SizeBudget
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.llm.base import SummaryClient
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.rag.retrieval import RetrieverClient
from vetoflow.scenario import Scenario
from vetoflow.state import Forecast


@dataclass(frozen=True)
class Context:
    synthesizer: SummaryClient = field(default_factory=OfflineSynthesizer)
    forecast: Callable[[Scenario], Forecast] = run_forecast
    retriever: RetrieverClient | None = None  # None: summaries are written without a knowledge base
    budget: SizeBudget = field(default_factory=SizeBudget)  # one per process: shared by its runs
