"""The audit log: every governance event, hash-chained so an edited or deleted row is detected
(runs/audit_check.py walks the chain).

Each row holds `hash = sha256(prev_hash + canonical row)`; a one-row head keeps the last seq and hash,
so deleting the newest rows is caught too. Appending first touches the head (a row lock on PostgreSQL,
the write lock on SQLite), so concurrent writers form one chain; a head that is gone or behind the rows is
tampering, refused (AuditChainError) rather than re-seeded over. `append` takes the caller's connection:
the event, its notifications and the change they describe commit together.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from vetoflow.db.tables import audit_head_table, audit_table
from vetoflow.errors import VetoflowError
from vetoflow.governance.digest import json_safe

GENESIS = "sha256:" + "0" * 64  # the hash before the first entry (the migration seeds the head with it)
COLUMNS = ("seq", "at", "event", "run_id", "actor", "via", "details", "prev_hash", "hash")
CHECK_IT = "nothing was recorded; `vetoflow audit verify` names what was altered"


class AuditChainError(VetoflowError):
    """The chain cannot be extended as it stands (its head was deleted or edited): appending would re-seed
    it and hide the tampering, so the whole change is refused instead (HTTP 500: the server's log is at fault)."""

    http_status = 500


def row_hash(prev_hash: str, seq: int, fields: tuple[Any, ...]) -> str:
    """fields: at, event, run_id, actor, via, details (as stored)."""
    body = json.dumps([seq, *fields], separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def canonical(details: Mapping[str, Any]) -> str:
    safe = json_safe(details)
    return json.dumps(safe, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)


def append(
    conn: Connection,
    event: str,
    *,
    run_id: str | None,
    actor: str,
    via: str,
    details: Mapping[str, Any],
    at: datetime | None = None,
) -> int:
    """Add one entry inside the caller's transaction; returns its sequence number."""
    # lock the chain's head and read it in one statement: concurrent appends queue here, one at a time
    lock = update(audit_head_table).where(audit_head_table.c.id == 1).values(seq=audit_head_table.c.seq)
    head = conn.execute(lock.returning(audit_head_table.c.seq, audit_head_table.c.hash)).first()
    if head is None:
        if conn.execute(select(audit_table.c.seq).limit(1)).first() is not None:
            raise AuditChainError(f"the audit log's head row is missing but entries exist: {CHECK_IT}")
        conn.execute(insert(audit_head_table).values(id=1, seq=0, hash=GENESIS))
    seq: int = head.seq + 1 if head else 1
    prev: str = head.hash if head else GENESIS
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    text = canonical(details)
    digest = row_hash(prev, seq, (stamp, event, run_id, actor[:120], via, text))
    values = {"seq": seq, "at": stamp, "event": event, "run_id": run_id, "actor": actor[:120], "via": via}
    try:
        conn.execute(insert(audit_table).values(**values, details=text, prev_hash=prev, hash=digest))
    except IntegrityError:  # the raise rolls the caller's transaction back: its change is not kept either
        raise AuditChainError(f"the audit log has seq {seq} past its head (seq {seq - 1}): {CHECK_IT}") from None
    conn.execute(update(audit_head_table).where(audit_head_table.c.id == 1).values(seq=seq, hash=digest))
    return seq


def record(engine: Engine, event: str, **kwargs: Any) -> int:
    """`append` in a transaction of its own."""
    with engine.begin() as conn:
        return append(conn, event, **kwargs)


def entries(engine: Engine, since: str | None = None, run_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows oldest first, optionally from an ISO date/time on, as plain dicts (details parsed)."""
    query = select(audit_table).order_by(audit_table.c.seq)
    if since:
        query = query.where(audit_table.c.at >= since)
    if run_id:
        query = query.where(audit_table.c.run_id == run_id)
    with engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=500)).mappings():
            yield {**row, "details": json.loads(row["details"])}


def since_text(value: str | None, refusal: str) -> str | None:
    """A `since` date or date-time (UTC unless it says otherwise) in the form audit timestamps are stored.

    `refusal` is the caller's own message for a value that is not ISO 8601 (it names its flag or field).
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise VetoflowError(refusal) from None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def export(engine: Engine, fmt: str, since: str | None = None, run_id: str | None = None) -> Iterator[str]:
    """The log as jsonl (one object a line) or csv (details as a JSON column), in chunks."""
    if fmt == "jsonl":
        for entry in entries(engine, since, run_id):
            yield json.dumps(entry, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries(engine, since, run_id):
        writer.writerow([canonical(entry[c]) if c == "details" else entry[c] for c in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
