"""One governance event = one audit entry + its notifications, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from vetoflow.governance.digest import digest_of, run_digest
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
        details={
            **details, **figures_of(run), "digest": run.get("digest"), "tier": run.get("tier"), "notifications": ids
        },
    )  # fmt: skip
    return ids


def figures_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The figures an entry is about, in the entry itself: the log reads on its own, without the run."""
    return {"figures": run.get("figures"), "currency": run.get("currency")}


def started_entry(
    run_id: str,
    scenario: Mapping[str, Any],
    *,
    actor: str,
    via: str,
    queued: bool,
    replay: Mapping[str, Any] | None = None,
) -> Callable[[Connection], None]:
    """The `run.started` entry, written in the transaction that creates the run's row: the log begins where
    the run does. Audit only (nobody is notified of a start); `scenario_digest` pins the inputs the run was
    given, and a replay says what it was forked from."""
    details: dict[str, Any] = {
        "name": scenario.get("name"),
        "investment": scenario.get("investment"),
        "currency": scenario.get("currency", "USD"),
        "scenario_digest": digest_of(scenario),
        "queued": queued,
        **(replay or {}),
    }

    def write(conn: Connection) -> None:
        audit.append(conn, "run.started", run_id=run_id, actor=actor, via=via, details=details)

    return write
