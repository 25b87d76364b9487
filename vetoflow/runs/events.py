"""A run's progress as an append-only event log: what `GET /runs/{id}/events` streams, in both modes.

The service appends as it executes (in the API process inline, in a worker in queue mode), so any API
replica can stream any run. Ids increase across the table: a client resumes with `Last-Event-ID`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, insert, select

from vetoflow.clock import utcnow
from vetoflow.db.tables import events_table
from vetoflow.runs.ticker import Chore, Ticker, default_ticker

EventKind = Literal["queued", "running", "node_started", "node_finished", "paused", "completed", "rejected", "failed"]
SETTLED: frozenset[str] = frozenset({"paused", "completed", "rejected", "failed"})  # a stream may end here
MAX_BATCH = 500
FLUSH_DELAY = 0.1  # seconds a step runs before its start is written on its own (EventBatch.flush_soon)


class RunEvent(BaseModel):
    id: int = Field(description="Increasing; send the last one seen as Last-Event-ID to resume.")
    run_id: str
    kind: EventKind
    node: str | None = None
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class RunEvents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, run_id: str, kind: EventKind, *, node: str | None = None, **data: Any) -> None:
        with self.engine.begin() as conn:
            self.write(conn, [event_values(run_id, kind, node, data)])

    @staticmethod
    def write(conn: Connection, values: list[dict[str, Any]]) -> None:
        """Append events inside the caller's transaction (several in one statement)."""
        if values:
            conn.execute(insert(events_table), values)

    def batch(self, run_id: str, guard: Callable[[], None] | None = None) -> EventBatch:
        """`guard` raises when the executor may no longer write (its lease is lost): checked before a timed write."""
        return EventBatch(self, run_id, guard=guard)

    def since(self, run_id: str, after: int = 0, limit: int = MAX_BATCH) -> list[RunEvent]:
        """Events of `run_id` with an id above `after`, oldest first."""
        query = (
            select(events_table)
            .where(events_table.c.run_id == run_id, events_table.c.id > after)
            .order_by(events_table.c.id)
            .limit(min(limit, MAX_BATCH))
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_event(row) for row in rows]

    def latest(self, run_id: str) -> RunEvent | None:
        query = select(events_table).where(events_table.c.run_id == run_id).order_by(events_table.c.id.desc())
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).mappings().first()
        return _event(row) if row else None


def _event(row: Any) -> RunEvent:
    data = dict(row)
    if isinstance(data["data"], str):
        data["data"] = json.loads(data["data"])
    if data["at"].tzinfo is None:  # SQLite hands datetimes back naive; everything stored is UTC
        data["at"] = data["at"].replace(tzinfo=UTC)
    return RunEvent.model_validate(data)


class EventBatch:
    """A run's events held, then written together: one transaction for a fast run, not one per node.

    Each event keeps the time it happened. What is held is written with the index refresh that ends the
    step (in its transaction, with the row and the settled event), or by the process's ticker once a
    step has run `delay` seconds (`flush_soon`), so a long step's start is in the log while it runs.
    """

    def __init__(
        self,
        events: RunEvents,
        run_id: str,
        ticker: Ticker | None = None,
        delay: float | None = None,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.events = events
        self.guard = guard
        self.run_id = run_id
        self.ticker = ticker or default_ticker()
        self.delay = FLUSH_DELAY if delay is None else delay
        self.pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the ticker's write and the refresh's never interleave or reorder
        self._soon: Chore | None = None

    def add(self, kind: EventKind, *, node: str | None = None, **data: Any) -> None:
        with self._lock:
            self.pending.append(event_values(self.run_id, kind, node, data))

    def flush_soon(self) -> None:
        """Have what is held written `delay` seconds from now, unless the refresh writes it first."""
        with self._lock:
            if self._soon is None:
                self._soon = self.ticker.after(self.delay, self._flush_due)

    def _flush_due(self) -> None:
        with self._lock:
            if self._soon is None:  # the refresh took over (settle or flush cancels and clears it)
                return
            self._soon = None
            pending, self.pending = self.pending, []
            try:
                self._write_own(pending)  # under the lock: a refresh waits for it, so ids stay in time order
            except Exception:
                self.pending = pending + self.pending  # kept for the refresh to write; the ticker logs the error
                raise

    def flush(self, conn: Connection) -> None:
        """Write what is held inside `conn`'s transaction. Call `settle` before opening it: a ticker write
        waiting on the database while that transaction holds it would wait for the transaction."""
        with self._lock:
            self._cancel_soon()
            pending, self.pending = self.pending, []
            self.events.write(conn, pending)

    def settle(self) -> None:
        """Stop the ticker's pending write (one under way finishes first): the caller writes what is held."""
        with self._lock:
            self._cancel_soon()

    def _cancel_soon(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None

    def _write_own(self, pending: list[dict[str, Any]]) -> None:
        if pending and self.guard is not None:
            self.guard()
        if pending:
            with self.events.engine.begin() as own:
                self.events.write(own, pending)


def event_values(run_id: str, kind: EventKind, node: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": run_id, "kind": kind, "node": node, "at": utcnow(), "data": data}
