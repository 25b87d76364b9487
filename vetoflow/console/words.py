"""Operator words for what the graph stores as keys: scenario fields, revise overrides, veto rules and errors.

The state, the CLI and the API keep `segments.Kiosks.margin` and `RuntimeError: boom`; the console's operator
tabs show "Kiosks: margin" and "boom". The exact keys stay in the Trace tab and the "Details for developers"
accordions. Veto rules are named in the core (`risk.words.RULE_WORDS`), so every adapter says them alike.
"""

from __future__ import annotations

import re
from typing import Any

from vetoflow.plaintext import clean
from vetoflow.risk.words import RULE_WORDS

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
POLICY_CHOICES = [
    (f"{RULE_WORDS['roi']} below the threshold", "roi"),
    (f"{RULE_WORDS['downside_roi']} below the threshold", "downside_roi"),
    (f"{RULE_WORDS['loss_probability']} above 30%", "loss_probability"),
    (f"{RULE_WORDS['npv']} below 0", "npv"),
]
"""The New run form's veto rules: (what the operator reads, the value the scenario stores)."""
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


def plain_error(error: str) -> str:
    """An error as an operator reads it: `RuntimeError: boom` -> "boom" (the class stays in the details)."""
    text = ERROR_CLASS.sub("", error.strip(), count=1).strip()
    return text or "no message"
