"""Synthesizer: the executive summary, written by whichever LLM client the context carries."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetoflow.graph.context import Context
from vetoflow.state import RunState


def synthesizer(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    summary = runtime.context.synthesizer.summarize(state)
    return {"summary": summary.model_dump(mode="json"), "outcome": "completed"}
