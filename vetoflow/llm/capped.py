"""The Synthesizer's LLM client behind the global in-flight cap (VETOFLOW_LLM_MAX_IN_FLIGHT, db.llm_slots)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vetoflow.llm.base import SummaryClient
from vetoflow.state import RunState, Summary

if TYPE_CHECKING:  # psycopg only loads when a cap is configured
    from vetoflow.db.llm_slots import LlmSlots


class CappedSynthesizer:
    """Holds one of the database-wide slots for the length of each call: a batch stays inside the quota."""

    def __init__(self, inner: SummaryClient, slots: LlmSlots) -> None:
        self.inner, self.slots = inner, slots
        self.name = inner.name

    def summarize(self, state: RunState) -> Summary:
        with self.slots.held():
            return self.inner.summarize(state)
