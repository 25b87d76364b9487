"""A custom context factory, as an installation would plug one in with VETOFLOW_CONTEXT_FACTORY."""

from __future__ import annotations

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.state import RunState, Summary

MODEL = "house-model-v1"


class HouseSynthesizer:
    """The offline summary, labelled as the installation's own model so a test can tell who wrote it."""

    name = MODEL

    def summarize(self, state: RunState) -> Summary:
        return OfflineSynthesizer().summarize(state).model_copy(update={"model": MODEL, "offline": False})


def house_context(settings: Settings) -> Context:
    return Context(synthesizer=HouseSynthesizer())
