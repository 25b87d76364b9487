"""LLM clients behind one small interface, injected through the graph context."""

from vetoflow.llm.base import SummaryClient
from vetoflow.llm.offline import OfflineSynthesizer

__all__ = ["OfflineSynthesizer", "SummaryClient"]
