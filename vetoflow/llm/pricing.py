"""Estimated cost of a summary from its token usage and the configured per-model price table."""

from __future__ import annotations

GEO_PREFIXES = ("us-gov.", "global.", "apac.", "eu.", "us.", "jp.", "au.", "ca.")


def base_model_id(model_id: str) -> str:
    """`eu.anthropic.claude-...` -> `anthropic.claude-...`: a cross-region profile costs what its model does."""
    for prefix in GEO_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def estimate_cost(model_id: str, usage: dict[str, int], prices: dict[str, tuple[float, float]]) -> float | None:
    """USD, or None when the model is not in the table (shown as unknown rather than guessed)."""
    base = base_model_id(model_id)
    matches = [key for key in prices if base.startswith(key)]
    if not matches:
        return None
    price_in, price_out = prices[max(matches, key=len)]  # the most specific key wins (sonnet-4-5 over sonnet-4)
    cost = usage.get("input_tokens", 0) / 1e6 * price_in + usage.get("output_tokens", 0) / 1e6 * price_out
    return round(cost, 6)
