"""Synthesizer: retrieve background, have the injected LLM client write the summary, check its numbers.

Retrieval and the LLM are clients from the context; what they returned is kept in state as plain data
(sources with scores, embedding model, tokens, cost, grounding flags). The decision is never touched.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetoflow.graph.context import Context
from vetoflow.llm import grounding
from vetoflow.state import RunState


def synthesizer(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    retriever = runtime.context.retriever
    retrieval = retriever.retrieve(state) if retriever else None
    informed = state.model_copy(update={"retrieval": retrieval})
    summary = runtime.context.synthesizer.summarize(informed)
    summary = summary.model_copy(update={"grounding": grounding.check(summary.text, state)})
    return {
        "retrieval": retrieval.model_dump(mode="json") if retrieval else None,
        "summary": summary.model_dump(mode="json"),
        "outcome": "completed",
    }
