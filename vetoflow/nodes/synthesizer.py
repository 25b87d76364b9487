"""Synthesizer: have the injected LLM client write the summary from the figures and the evidence, check its numbers.

The Evidence node retrieved the sources before the pause; they are reused here. Only a run paused by an older
release (no evidence in its checkpoint) is searched here. What the clients returned is kept in state as plain
data (sources with scores, embedding model, tokens, cost, grounding flags). The decision is never touched.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetoflow import fencing
from vetoflow.context import Context
from vetoflow.llm import grounding
from vetoflow.state import RunState


def synthesizer(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    retriever = runtime.context.retriever
    retrieval = state.retrieval
    if retrieval is None and retriever is not None:
        retrieval = retriever.retrieve(state)
    informed = state.model_copy(update={"retrieval": retrieval})
    fencing.check()  # an executor that lost the run's lease makes no LLM call: the new holder makes it
    summary = runtime.context.synthesizer.summarize(informed)
    summary = summary.model_copy(update={"grounding": grounding.check(summary.text, state)})
    return {
        "retrieval": retrieval.model_dump(mode="json") if retrieval else None,
        "summary": summary.model_dump(mode="json"),
        "outcome": "completed",
    }
