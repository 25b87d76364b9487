"""One governance event = one audit entry + its notifications, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from vetoflow.governance.digest import run_digest
from vetoflow.governance.policy import Policy
from vetoflow.runs import audit, outbox

FIGURE_KEYS = ("roi", "downside_roi", "npv", "loss_probability", "profit_p50", "payback_period")


def run_info(
    state: Mapping[str, Any],
    console_url: str,
    *,
    tier: str | None = None,
    approvals: str | None = None,
    due_at: str | None = None,
) -> dict[str, Any]:
    """What notifications say about a run: name, figures, tier, progress, deadline and a deep link."""
    run_id = str(state["run_id"])
    financials = state.get("financials") or {}
    figures = {"investment": state["scenario"]["investment"], **{k: financials.get(k) for k in FIGURE_KEYS}}
    info: dict[str, Any] = {
        "id": run_id,
        "name": state["scenario"]["name"],
        "revision": state.get("revision", 0),
        "figures": figures,
        "currency": state["scenario"].get("currency", "USD"),
        "url": f"{console_url}?run={quote(run_id)}",
        "digest": run_digest(state) if financials else None,
    }
    return info | {k: v for k, v in {"tier": tier, "approvals": approvals, "due_at": due_at}.items() if v}


def emit(
    conn: Connection,
    event: str,
    policy: Policy,
    run: Mapping[str, Any],
    *,
    actor: str,
    via: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> list[str]:
    """Append the audit entry and queue the notifications; returns the notification ids (in the entry too)."""
    details = dict(details or {})
    ids = outbox.enqueue(conn, event, policy.notify, run=run, details={**details, "actor": actor}, at=at)
    audit.append(
        conn, event, run_id=run.get("id"), actor=actor, via=via, at=at,
        details={**details, "digest": run.get("digest"), "tier": run.get("tier"), "notifications": ids},
    )  # fmt: skip
    return ids
