"""What an LLM step left in state: model, tokens, latency, cost, retrieved sources, grounding flags.

The Bedrock/RAG synthesizer adds these under `state["summary"]`; the offline one has few of them, so
every field is read defensively and absent ones stay None/empty.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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


def _int(usage: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


def _number(data: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, dict):  # e.g. {"usd": 0.0012}
            inner = next((v for v in value.values() if isinstance(v, int | float)), None)
            if inner is not None:
                return float(inner)
    return None


def _source_label(item: Any) -> str:
    if isinstance(item, dict):
        name = item.get("source") or item.get("title") or item.get("id") or item.get("path") or "?"
        page = item.get("page")
        score = item.get("score")
        ref = item.get("ref")
        label = (f"[{ref}] " if ref is not None else "") + f"{name}" + (f" p.{page}" if page is not None else "")
        return label + (f" (score {score:.2f})" if isinstance(score, int | float) else "")
    return str(item)


def _flags(summary: dict[str, Any]) -> list[str]:
    raw = summary.get("grounding_flags", summary.get("flags", summary.get("grounding")))
    if isinstance(raw, dict):
        return [str(k) if v is True else f"{k}: {v}" for k, v in raw.items() if v not in (False, None, [], "")]
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [str(raw)] if raw else []


def llm_info(summary: Any, retrieval: Any = None) -> LlmInfo | None:
    """LlmInfo from a state's `summary` (and `retrieval`, where RAG keeps its sources), or None."""
    if not isinstance(summary, dict):
        return None
    usage = summary.get("usage") if isinstance(summary.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    inp = _int(usage, "input_tokens", "inputTokens", "prompt_tokens")
    outp = _int(usage, "output_tokens", "outputTokens", "completion_tokens")
    total = _int(usage, "total_tokens", "totalTokens")
    if total is None and (inp is not None or outp is not None):
        total = (inp or 0) + (outp or 0)
    sources = summary.get("sources") or summary.get("retrieved") or []
    if not sources and isinstance(retrieval, dict):
        sources = retrieval.get("sources") or []
    return LlmInfo(
        model=summary.get("model") if isinstance(summary.get("model"), str) else None,
        offline=summary.get("offline") if isinstance(summary.get("offline"), bool) else None,
        input_tokens=inp,
        output_tokens=outp,
        total_tokens=total,
        latency_ms=_number(summary, "latency_ms", "latencyMs") or _number(usage, "latency_ms", "latencyMs"),
        cost=_number(summary, "cost", "cost_usd"),
        sources=[_source_label(s) for s in sources] if isinstance(sources, list) else [],
        grounding_flags=_flags(summary),
    )
