"""Evidence: the knowledge-base search, before the pause, so the approver sees the sources while deciding.

No LLM is called here (the design keeps every LLM call after approval): only the injected retriever. The
Synthesizer reuses what this node stored; it searches itself only for runs paused by an older release.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vetoflow.context import Context
from vetoflow.state import RunState


def evidence(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    retriever = runtime.context.retriever
    retrieval = retriever.retrieve(state) if retriever else None
    return {"retrieval": retrieval.model_dump(mode="json") if retrieval else None}
