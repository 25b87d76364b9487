"""Delivers due outbox rows: claim one (a lease, so parallel workers never send it at the same time),
send it, record the try; 5xx, 408, 429, timeouts and connection errors are retried with exponential
back-off, other refusals and the last failed try leave a dead-letter row (status `dead`) with the reason.
What is logged or recorded about a try names the target only as `targets.safe_target` renders it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, insert, or_, select, update

from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.db.tables import attempts_table, outbox_table
from vetoflow.governance import messages, webhook
from vetoflow.governance.email import DeliveryError, send_email
from vetoflow.governance.targets import safe_target, scrub

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 425, 429})
MAX_BACKOFF = 3600.0


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF, base_seconds * 2.0 ** max(0, attempts - 1)))


def _secret(channel: dict[str, Any]) -> bytes | None:
    ref = channel.get("secret")
    if not ref:
        return None
    name = str(ref).removeprefix("env:")
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"secret: the environment variable {name} is not set", retry=False)
    return value.encode()


def _post(url: str, body: bytes, notification_id: str, secret: bytes | None, timeout: float) -> None:
    try:
        response = webhook.post(url, body, notification_id=notification_id, secret=secret, timeout=timeout)
    except httpx.TimeoutException:
        raise DeliveryError(f"timed out after {timeout}s", retry=True) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=True) from None
    if response.is_success:
        return
    retry = response.status_code >= 500 or response.status_code in RETRY_STATUSES
    raise DeliveryError(f"HTTP {response.status_code}", retry=retry)


def send(settings: Settings, row: dict[str, Any]) -> None:
    """One try for one outbox row; raises DeliveryError on failure."""
    channel = row["channel"] if isinstance(row["channel"], dict) else json.loads(row["channel"])
    payload = json.loads(row["payload"])
    if row["kind"] == "webhook":
        _post(channel["webhook"], row["payload"].encode(), row["id"], _secret(channel), settings.notify_timeout)
    elif row["kind"] == "slack":
        body = json.dumps(messages.slack_message(payload), ensure_ascii=False).encode()
        _post(channel["slack"], body, row["id"], None, settings.notify_timeout)
    else:
        subject, text = messages.email_text(payload)
        send_email(settings, list(channel["email"]), subject, text, row["id"])


def _claim(engine: Engine, notification_id: str, now: datetime, lease: timedelta) -> dict[str, Any] | None:
    claimable = and_(
        outbox_table.c.id == notification_id,
        outbox_table.c.status == "pending",
        outbox_table.c.next_attempt_at <= now,
        or_(outbox_table.c.claimed_until.is_(None), outbox_table.c.claimed_until < now),
    )
    with engine.begin() as conn:
        if conn.execute(update(outbox_table).where(claimable).values(claimed_until=now + lease)).rowcount != 1:
            return None
        return dict(conn.execute(select(outbox_table).where(outbox_table.c.id == notification_id)).mappings().one())


def _finish(
    engine: Engine, row: dict[str, Any], now: datetime, outcome: str, detail: str, *, retry_at: datetime | None = None
) -> None:
    attempt, detail = row["attempts"] + 1, scrub(detail)
    values: dict[str, Any] = {
        "attempts": attempt,
        "claimed_until": None,
        "last_error": None if outcome == "sent" else detail,
    }
    if outcome == "sent":
        values |= {"status": "sent", "sent_at": now}
    elif outcome == "dead":
        values |= {"status": "dead"}
    else:
        values |= {"next_attempt_at": retry_at}
    with engine.begin() as conn:
        conn.execute(update(outbox_table).where(outbox_table.c.id == row["id"]).values(**values))
        conn.execute(
            insert(attempts_table).values(
                outbox_id=row["id"], attempt=attempt, at=now, outcome=outcome, detail=detail[:2000]
            )
        )


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    limit: int = 100,
    backoff_seconds: float = 5.0,
    lease_seconds: float = 120.0,
) -> DeliveryReport:
    """Try every row that is due now (at most `limit`); safe to run in several processes at once."""
    report = DeliveryReport()
    now = clock()
    due = (
        select(outbox_table.c.id)
        .where(outbox_table.c.status == "pending", outbox_table.c.next_attempt_at <= now)
        .order_by(outbox_table.c.created_at)
        .limit(limit)
    )
    with engine.connect() as conn:
        ids = list(conn.execute(due).scalars())
    for notification_id in ids:
        row = _claim(engine, notification_id, clock(), timedelta(seconds=lease_seconds))
        if row is None:
            continue  # another worker has it
        try:
            send(settings, row)
        except DeliveryError as exc:
            attempts = row["attempts"] + 1
            if exc.retry and attempts < settings.notify_max_attempts:
                _finish(engine, row, clock(), "retry", str(exc), retry_at=clock() + backoff(attempts, backoff_seconds))
                report.retried.append(notification_id)
            else:
                why = str(exc) if not exc.retry else f"{exc} (gave up after {attempts} tries)"
                _finish(engine, row, clock(), "dead", why)
                report.dead.append(notification_id)
                target = safe_target(row["target"])
                log.warning("notification %s to %s is dead: %s", notification_id, target, scrub(why))
            continue
        _finish(engine, row, clock(), "sent", "ok")
        report.sent.append(notification_id)
    return report
