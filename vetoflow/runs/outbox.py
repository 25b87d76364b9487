"""The notification outbox: one row per (event, channel), written in the caller's transaction.

Delivery happens after commit (`delivery.deliver_due`), so a crash between the event and the send never
loses a notification; each row's id is the idempotency id in every try, so a retry is recognisable.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from vetoflow.db.tables import attempts_table, outbox_table
from vetoflow.governance.digest import json_safe
from vetoflow.governance.policy import Channel
from vetoflow.governance.targets import safe_target, scrub


def build_payload(
    event: str, notification_id: str, at: datetime, run: Mapping[str, Any], details: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body every channel starts from (webhooks receive it as is)."""
    return {
        "id": notification_id,
        "event": event,
        "occurred_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "run": dict(run),
        "details": dict(details),
    }


def enqueue(
    conn: Connection,
    event: str,
    channels: Sequence[Channel],
    *,
    run: Mapping[str, Any],
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> list[str]:
    """Queue the event for every channel subscribed to it; returns the notification ids."""
    now = at or datetime.now(UTC)
    ids = []
    for channel in channels:
        if event not in channel.events or (channel.tiers is not None and run.get("tier") not in channel.tiers):
            continue  # tier-scoped channels (a board's) hear only of runs in their tiers
        notification_id = str(uuid.uuid4())
        payload = build_payload(event, notification_id, now, run, details or {})
        conn.execute(
            insert(outbox_table).values(
                id=notification_id,
                created_at=now,
                event=event,
                run_id=run.get("id"),
                kind=channel.kind,
                target=safe_target(channel.target),  # for listings; `channel` keeps what delivery needs
                channel=channel.model_dump(mode="json"),  # no secret: only the name of its variable
                payload=json.dumps(json_safe(payload), ensure_ascii=False, sort_keys=True, allow_nan=False),
                status="pending",
                attempts=0,
                next_attempt_at=now,
            )
        )
        ids.append(notification_id)
    return ids


def listing(engine: Engine, run_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first, with each row's attempts (for `vetoflow notifications` and the console)."""
    query = select(outbox_table).order_by(outbox_table.c.created_at.desc()).limit(limit)
    if run_id:
        query = query.where(outbox_table.c.run_id == run_id)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        ids = [r["id"] for r in rows]
        tries = conn.execute(
            select(attempts_table).where(attempts_table.c.outbox_id.in_(ids)).order_by(attempts_table.c.attempt)
        ).mappings()
        by_id: dict[str, list[dict[str, Any]]] = {}
        for attempt in tries:
            by_id.setdefault(attempt["outbox_id"], []).append(dict(attempt))
    for row in rows:
        row.pop("channel", None)  # the full URL and the secret's variable; never shown
        row["target"] = safe_target(row["target"])  # rows queued by older releases hold the full URL
        row["last_error"] = scrub(row["last_error"]) if row["last_error"] else row["last_error"]
        row["tries"] = [{**t, "detail": scrub(t["detail"])} for t in by_id.get(row["id"], [])]
    return rows
