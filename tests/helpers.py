"""Test doubles for the LLM client interface (the remote LLM is the only thing faked here)."""

from __future__ import annotations

from vetoflow.errors import TransientLLMError
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.state import RunState, Summary


class CountingSynthesizer(OfflineSynthesizer):
    """The offline synthesizer, counting calls and optionally failing the first ones."""

    name = "counting"

    def __init__(self, fail_first: int = 0, error: type[Exception] = RuntimeError) -> None:
        self.calls = 0
        self.fail_first = fail_first
        self.error = error

    def summarize(self, state: RunState) -> Summary:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise self.error(f"synthetic failure #{self.calls}")
        return super().summarize(state)


def transient(fail_first: int) -> CountingSynthesizer:
    return CountingSynthesizer(fail_first=fail_first, error=TransientLLMError)
