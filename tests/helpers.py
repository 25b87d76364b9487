"""Test doubles for the LLM client interface (the remote LLM is the only thing faked here)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from vetoflow.errors import TransientLLMError
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.state import RunState, Summary

if TYPE_CHECKING:
    from vetoflow.runs.service import RunService


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


class HeldSynthesizer(CountingSynthesizer):
    """Holds the Synthesizer until the test lets it go, so the run is seen `running` mid-graph."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def summarize(self, state: RunState) -> Summary:
        self.entered.set()
        assert self.release.wait(30)
        return super().summarize(state)


def wait_for_start(service: RunService, run_id: str, node: str, timeout: float = 5.0) -> float:
    """Seconds until `node`'s start is in the run's event log (the executor writes it a moment after)."""
    began = time.monotonic()
    while not any(e.kind == "node_started" and e.node == node for e in service.events_since(run_id)):
        assert time.monotonic() - began < timeout, f"{node}'s start was not written within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - began
