"""Human-readable renderings of a notification: Slack Block Kit and plain-text e-mail, same content.

User text (names, comments, reasons) is escaped for Slack's mrkdwn (`&`, `<`, `>`), never interpreted.
"""

from __future__ import annotations

import math
from typing import Any

TITLES = {
    "run.paused": "waits for approval",
    "run.reminder": "still waits for approval (reminder)",
    "run.escalated": "was escalated",
    "run.expired": "expired without a decision",
    "run.decided": "was decided",
    "run.completed": "completed",
    "run.failed": "failed",
}
NOT_FINITE = ("NaN", "Infinity", "-Infinity")
"""How `digest.json_safe` writes a figure that is not a finite number."""
FIGURE_LABELS = (
    ("investment", "Investment", "money"),
    ("roi", "ROI", "pct"),
    ("downside_roi", "Downside ROI", "pct"),
    ("npv", "NPV", "money"),
    ("loss_probability", "P(loss)", "pct"),
)


def _escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(value: Any, kind: str, currency: str) -> str:
    if value in NOT_FINITE or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"  # a figure that could not be computed (`json_safe` wrote it as a string)
    if not isinstance(value, int | float):
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    return f"{value:,.0f} {currency}".rstrip()  # notifications queued by an older release carry no currency


def headline(payload: dict[str, Any]) -> str:
    run = payload.get("run", {})
    return f"Run {run.get('name', '')} ({run.get('id', '')}) {TITLES.get(payload['event'], payload['event'])}"


def facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    run, details = payload.get("run", {}), payload.get("details", {})
    figures = run.get("figures") or {}
    currency = str(run.get("currency") or "")
    rows = [(label, _figure(figures.get(key), kind, currency)) for key, label, kind in FIGURE_LABELS]
    for key, label in (("tier", "Tier"), ("approvals", "Approvals"), ("due_at", "Due")):
        if run.get(key):
            rows.append((label, str(run[key])))
    for key in ("actor", "action", "reason", "comment", "escalated_to", "set_aside_note"):
        if details.get(key):
            label = "No longer counted" if key == "set_aside_note" else key.replace("_", " ").capitalize()
            rows.append((label, str(details[key])))
    return rows


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook body: `text` (fallback) plus Block Kit blocks with the figures and a link."""
    title = _escape(headline(payload))
    fields = [{"type": "mrkdwn", "text": f"*{_escape(k)}*\n{_escape(v)}"} for k, v in facts(payload)][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        {"type": "section", "fields": fields},
    ]
    url = payload.get("run", {}).get("url")
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in console"}, "url": url}],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"id {payload['id']}"}]})
    return {"text": title, "blocks": blocks}


def email_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) for the e-mail channel."""
    lines = [headline(payload), ""]
    lines += [f"{k}: {v}" for k, v in facts(payload)]
    url = payload.get("run", {}).get("url")
    if url:
        lines += ["", f"Open it: {url}"]
    lines += ["", f"Notification id: {payload['id']}"]
    return "[vetoflow] " + headline(payload), "\n".join(lines) + "\n"
