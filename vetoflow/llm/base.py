"""The one interface the Synthesizer node talks to; Bedrock and offline clients both implement it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from vetoflow.state import RunState, Summary


@runtime_checkable
class SummaryClient(Protocol):
    """Writes the executive summary of a decided run. Raise TransientLLMError for retryable failures."""

    name: str

    def summarize(self, state: RunState) -> Summary: ...
