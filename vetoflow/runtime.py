"""Builds the graph context (LLM client, forecast backend) that the configured settings ask for."""

from __future__ import annotations

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.graph.context import Context
from vetoflow.llm.offline import OfflineSynthesizer


def make_context(settings: Settings, llm_model: str | None = None) -> Context:
    """`llm_model` overrides the configured model for this process only (e.g. a batch replay)."""
    if llm_model is not None and settings.llm != "bedrock":
        raise VetoflowError(
            f"--llm-model {llm_model}: needs VETOFLOW_LLM=bedrock; the offline synthesizer has no model to change"
        )
    if settings.llm == "bedrock":
        raise VetoflowError("VETOFLOW_LLM=bedrock: the Bedrock synthesizer is not available in this build")
    return Context(synthesizer=OfflineSynthesizer())
