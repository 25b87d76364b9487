"""What an LLM step left in state: model, tokens, cost, retrieved sources, grounding flags.

Read from the typed `Summary` and `Retrieval` records the Synthesizer writes (langchain's
`usage_metadata` keys: input_tokens, output_tokens, total_tokens).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from vetoflow.state import Retrieval, Source, Summary


class LlmInfo(BaseModel):
    model: str | None = None
    offline: bool | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    latency_ms: float | None = None
    cost: float | None = None
    sources: list[str] = Field(default_factory=list)
    grounding_flags: list[str] = Field(default_factory=list)


def source_label(src: Source) -> str:
    page = f" p.{src.page}" if src.page is not None else ""
    return f"[{src.ref}] {src.source}{page} (score {src.score:.2f})"


def llm_info(summary: Summary | None, retrieval: Retrieval | None = None) -> LlmInfo | None:
    """LlmInfo from a state's summary and the retrieval it cites, or None before the summary exists."""
    if summary is None:
        return None
    usage = summary.usage
    inp, outp = usage.get("input_tokens"), usage.get("output_tokens")
    total = usage.get("total_tokens")
    if total is None and (inp is not None or outp is not None):
        total = (inp or 0) + (outp or 0)
    return LlmInfo(
        model=summary.model,
        offline=summary.offline,
        input_tokens=inp,
        output_tokens=outp,
        total_tokens=total,
        cost=summary.cost_usd,
        sources=[source_label(src) for src in retrieval.sources] if retrieval else [],
        grounding_flags=list(summary.grounding),
    )
