"""Operator words for what the graph stores as keys: scenario fields, revise overrides, veto rules and errors.

The state, the CLI and the API keep `segments.Kiosks.margin`, `loss_probability` and `RuntimeError: boom`;
the console's operator tabs show "Kiosks: margin", "probability of loss" and "boom". The exact keys stay in
the Trace tab and the "Details for developers" accordions.
"""

from __future__ import annotations

import re
from typing import Any

from vetoflow.plaintext import clean

FIELD_LABELS = {
    "investment": "investment",
    "horizon": "horizon",
    "discount_rate": "discount rate per period",
    "veto_threshold": "veto threshold",
    "veto_policy": "veto policy",
    "loss_limit": "loss limit",
    "npv_floor": "NPV floor",
    "paths": "simulated paths",
    "seed": "random seed",
    "currency": "currency",
    "name": "name",
    "period_unit": "period unit",
}
SEGMENT_FIELDS = {"base_revenue": "base revenue", "growth_mean": "growth", "volatility": "volatility"}
SEGMENT_FIELDS |= {"margin": "margin", "history": "revenue history"}
SEGMENT_HEADERS = ["segment", "base revenue", "growth", "volatility", "margin"]
"""The segments tables' column titles, in `scenario.SEGMENT_COLUMNS` order (the tables hand back plain rows)."""
RULE_WORDS = {
    "roi": "ROI (P50)",
    "downside_roi": "downside ROI (P10)",
    "loss_probability": "probability of loss",
    "npv": "median NPV",
}
POLICY_CHOICES = [
    ("ROI (P50) below the threshold", "roi"),
    ("downside ROI (P10) below the threshold", "downside_roi"),
    ("probability of loss above 30%", "loss_probability"),
    ("median NPV below 0", "npv"),
]
"""The New run form's veto rules: (what the operator reads, the value the scenario stores)."""
RULE_TOKEN = re.compile(r"\b(any_of|all_of|downside_roi|loss_probability|roi|npv)\b")
ERROR_CLASS = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Timeout|Interrupt|Exit|Warning|Failure|Fault):(?:\s|$)"
)
"""`RuntimeError: `, `botocore.exceptions.ClientError: `: the class name `describe_error` puts first."""


def input_label(key: str) -> str:
    """`segments.Kiosks.margin` -> "Kiosks: margin"; top-level fields in words (a segment name may hold dots)."""
    if key.startswith("segments."):
        name, _, field = key.removeprefix("segments.").rpartition(".")
        if name and field in SEGMENT_FIELDS:
            return f"{name}: {SEGMENT_FIELDS[field]}"
        return f"segment {key.removeprefix('segments.')}"
    return FIELD_LABELS.get(key, key)


def shown_value(value: Any) -> str:
    """Numbers as people read them (420,000; 0.25), anything else as plain text."""
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"
    return clean(value)


def changes_text(overrides: dict[str, Any]) -> str:
    """A revise's overrides as one line: "investment → 900,000; Kiosks: margin → 0.9"."""
    return "; ".join(f"{input_label(key)} → {shown_value(value)}" for key, value in overrides.items())


def policy_words(policy: str) -> str:
    """`any_of(roi, loss_probability)` -> "any of (ROI (P50), probability of loss)"."""
    spaced = re.sub(r"\b(any_of|all_of)\(", r"\1 (", policy)
    return RULE_TOKEN.sub(lambda m: RULE_WORDS.get(m.group(1), m.group(1).replace("_", " ")), spaced)


def plain_error(error: str) -> str:
    """An error as an operator reads it: `RuntimeError: boom` -> "boom" (the class stays in the details)."""
    text = ERROR_CLASS.sub("", error.strip(), count=1).strip()
    return text or "no message"
