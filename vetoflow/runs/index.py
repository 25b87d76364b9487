"""The run index: one row per run, kept beside the checkpoints, so listing by status never scans them.

Checkpoints are the source of truth; this table is a projection refreshed after every step the service
drives. The decisions table is the lock that lets exactly one human decide each pause.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, and_, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from vetoflow.clock import aware, utcnow
from vetoflow.db.tables import decisions_table, replays_table, runs_table
from vetoflow.errors import DecisionConflictError, RunNotFoundError, UsageError
from vetoflow.state import PlausibilityFlag, RunStatus


class RunRow(BaseModel):
    run_id: str
    name: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    investment: float | None = None
    roi: float | None = None
    downside_roi: float | None = None
    npv: float | None = None
    loss_probability: float | None = None
    veto: bool | None = None
    veto_reason: str | None = None
    reviewer: str | None = None
    last_action: str | None = None
    revision: int = 0
    error: str | None = None
    lease_owner: str | None = Field(default=None, description="Who executes the run now, while its lease is live.")
    lease_expires_at: datetime | None = None
    plausibility: list[PlausibilityFlag] = Field(
        default_factory=list, description="Inputs far outside sensible ranges (code and plain-words message)."
    )


class RunPage(BaseModel):
    """One page of a listing, newest first; `next_cursor` fetches the page after it (None: the last page)."""

    runs: list[RunRow]
    next_cursor: str | None = Field(
        default=None, description="Pass back as `cursor` (API) or `--after` (CLI) for the next page."
    )


class DecisionRow(BaseModel):
    run_id: str
    pause_id: str
    action: str
    reviewer: str
    comment: str
    payload: dict[str, Any]
    decided_at: datetime


ROW_COLUMNS = tuple(c for c in runs_table.c if c.name != "scenario")  # a listing never reads the input back
ROW_TIMES = ("created_at", "updated_at", "lease_expires_at")


def new_run_id() -> str:
    """A fresh run id; a front end that follows a run from its first event picks it before `start`."""
    return uuid.uuid4().hex[:12]


def lease_is_free(now: datetime) -> ColumnElement[bool]:
    return or_(runs_table.c.lease_expires_at.is_(None), runs_table.c.lease_expires_at < now)


def status_condition(status: str, now: datetime) -> ColumnElement[bool]:
    """`stalled` is stored as `running` with no live lease: the executor died and nobody took over."""
    if status == "stalled":
        return and_(runs_table.c.status == "running", lease_is_free(now))
    if status == "running":
        return and_(runs_table.c.status == "running", runs_table.c.lease_expires_at >= now)
    return runs_table.c.status == status


def lease_columns(lease: tuple[str, datetime] | None) -> dict[str, Any]:
    """A new row's lease columns: held by (owner, expiry), or none (a queued run)."""
    return {} if lease is None else {"lease_owner": lease[0], "lease_expires_at": lease[1]}


class RunIndex:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        run_id: str,
        name: str,
        investment: float,
        scenario: dict[str, Any] | None = None,
        *,
        status: RunStatus = "running",
        lease: tuple[str, datetime] | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> None:
        """A new run's row, with the lease of the process about to execute it (none while queued);
        `also` writes in the same transaction (the run's `run.started` audit entry)."""
        now = utcnow()
        values = {"name": name, "status": status, "created_at": now, "updated_at": now, "investment": investment}
        values |= lease_columns(lease)
        with self.engine.begin() as conn:
            conn.execute(insert(runs_table).values(run_id=run_id, scenario=scenario, **values))
            if also is not None:
                also(conn)

    def scenario_of(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(runs_table.c.scenario).where(runs_table.c.run_id == run_id)).scalar()
        return json.loads(value) if isinstance(value, str) else value

    def update(self, run_id: str, **fields: Any) -> RunRow:
        with self.engine.begin() as conn:
            return self.update_in(conn, run_id, **fields)

    def update_in(self, conn: Connection, run_id: str, **fields: Any) -> RunRow:
        """`update` inside the caller's transaction (with the events that go with it)."""
        query = update(runs_table).where(runs_table.c.run_id == run_id).values(updated_at=utcnow(), **fields)
        row = conn.execute(query.returning(*ROW_COLUMNS)).mappings().first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r} (list runs with: vetoflow runs)")
        return self._row(row)

    def update_held(self, conn: Connection, run_id: str, owner: str | None, **fields: Any) -> RunRow | None:
        """`update_in` only while `owner` holds the run's lease (owner None: while nobody holds a live one);
        None otherwise, so a stale executor cannot overwrite the new holder's row or give back its lease."""
        now = utcnow()
        held = runs_table.c.lease_owner == owner if owner is not None else lease_is_free(now)
        query = update(runs_table).where(runs_table.c.run_id == run_id, held).values(updated_at=now, **fields)
        row = conn.execute(query.returning(*ROW_COLUMNS)).mappings().first()
        return None if row is None else self._row(row)

    def flag_unqueued(self, run_id: str, before: datetime, note: str) -> bool:
        """A row queued since before `before` with no job to run it becomes stalled (running, no lease):
        what operators know to retry. False when it moved on meanwhile (a job or a retry took it)."""
        where = (runs_table.c.run_id == run_id, runs_table.c.status == "queued", runs_table.c.updated_at < before)
        values = {"status": "running", "lease_owner": None, "lease_expires_at": None, "error": note}
        with self.engine.begin() as conn:
            return conn.execute(update(runs_table).where(*where).values(updated_at=utcnow(), **values)).rowcount == 1

    def get(self, run_id: str) -> RunRow:
        with self.engine.connect() as conn:
            row = conn.execute(select(*ROW_COLUMNS).where(runs_table.c.run_id == run_id)).mappings().first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r} (list runs with: vetoflow runs)")
        return self._row(row)

    def list_runs(
        self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0, *, after: str | None = None
    ) -> list[RunRow]:
        return self.page(statuses, limit, offset, after=after).runs

    def page(
        self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0, *, after: str | None = None
    ) -> RunPage:
        """Newest first. `after` (a cursor from the previous page) seeks past it through the index, so
        page 400 costs what page 1 does and runs created meanwhile neither repeat nor shift a row;
        `offset` is kept for old callers (it rescans every row it skips). An empty cursor (`cursor=`, `--after ''`)
        is the first page, as a client that fills in "no cursor yet" sends it."""
        after = after or None
        if after is not None and offset:
            raise UsageError("give either a cursor or an offset, not both")
        order = (runs_table.c.created_at.desc(), runs_table.c.run_id.desc())
        query = select(*ROW_COLUMNS).order_by(*order)
        if statuses:
            now = utcnow()
            query = query.where(or_(*(status_condition(status, now) for status in dict.fromkeys(statuses))))
        if after is not None:
            created_at, run_id = parse_cursor(after)
            query = query.where(tuple_(runs_table.c.created_at, runs_table.c.run_id) < tuple_(created_at, run_id))
        with self.engine.connect() as conn:
            result = conn.execute(query.limit(limit + 1).offset(offset or None))
            keys, rows = tuple(result.keys()), result.all()
        now = utcnow()
        runs = [self._row(dict(zip(keys, r, strict=True)), now) for r in rows[:limit]]
        more = len(rows) > limit and runs
        return RunPage(runs=runs, next_cursor=cursor_of(runs[-1]) if more else None)

    def claim_decision(self, run_id: str, pause_id: str, payload: dict[str, Any]) -> None:
        """Record the decision for one pause; the primary key makes the first claimant the only one."""
        values = {
            "run_id": run_id,
            "pause_id": pause_id,
            "action": payload["action"],
            "reviewer": payload["reviewer"],
            "comment": payload.get("comment", ""),
            "payload": payload,
            "decided_at": utcnow(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(decisions_table).values(**values))
        except IntegrityError:
            existing = self.decision_for(run_id, pause_id)
            raise DecisionConflictError(already_decided(run_id, existing)) from None

    def decision_for(self, run_id: str, pause_id: str) -> DecisionRow | None:
        query = select(decisions_table).where(
            decisions_table.c.run_id == run_id, decisions_table.c.pause_id == pause_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return self._decision(row) if row else None

    def decisions(self, run_id: str) -> list[DecisionRow]:
        query = select(decisions_table).where(decisions_table.c.run_id == run_id).order_by(decisions_table.c.decided_at)
        with self.engine.connect() as conn:
            return [self._decision(r) for r in conn.execute(query).mappings().all()]

    def select_for_replay(self, statuses: Sequence[str] = (), since: datetime | None = None) -> list[str]:
        """Run ids oldest first, leaving out runs that are themselves replays."""
        query = (
            select(runs_table.c.run_id)
            .outerjoin(replays_table, replays_table.c.replay_run_id == runs_table.c.run_id)
            .where(replays_table.c.replay_run_id.is_(None))
            .order_by(runs_table.c.created_at, runs_table.c.run_id)
        )
        if statuses:
            query = query.where(runs_table.c.status.in_(list(statuses)))
        if since is not None:
            query = query.where(runs_table.c.created_at >= since)
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    @staticmethod
    def _row(row: Any, now: datetime | None = None) -> RunRow:
        data = decoded(row, json_columns=("plausibility",), times=ROW_TIMES)
        data["plausibility"] = data.get("plausibility") or []
        expires = data["lease_expires_at"]
        if data["status"] == "running" and (expires is None or expires < (now or utcnow())):
            data["status"] = "stalled"
        return RunRow.model_validate(data)

    @staticmethod
    def _decision(row: Any) -> DecisionRow:
        return DecisionRow.model_validate(decoded(row, json_columns=("payload",), times=("decided_at",)))


def decoded(row: Any, *, json_columns: Sequence[str] = (), times: Sequence[str] = ()) -> dict[str, Any]:
    """A result row as plain data: JSON columns parsed (SQLite hands back text), timestamps made UTC-aware."""
    data = dict(row)
    for column in json_columns:
        if isinstance(data.get(column), str):
            data[column] = json.loads(data[column])
    for column in times:
        if data.get(column) is not None:
            data[column] = aware(data[column])
    return data


CURSOR_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\|[A-Za-z0-9_-]{1,64}$")


def cursor_of(row: RunRow) -> str:
    """Opaque to callers: the last row's (created_at, run_id), the listing's sort key, in URL-safe base64."""
    stamp = row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return base64.urlsafe_b64encode(f"{stamp}|{row.run_id}".encode()).decode().rstrip("=")


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    """The sort key a cursor names; anything that `cursor_of` did not make is refused (UsageError)."""
    refused = UsageError(f"invalid cursor {cursor[:80]!r}: pass back the next_cursor of a listing unchanged")
    if len(cursor) > 128:
        raise refused
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if not CURSOR_TEXT.match(text):
        raise refused
    stamp, run_id = text.split("|")
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC), run_id
    except ValueError:
        raise refused from None


def already_decided(run_id: str, decision: DecisionRow | None) -> str:
    if decision is None:
        return f"run {run_id} has already been decided"
    when = decision.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"run {run_id} was already decided: {decision.action} by {decision.reviewer} at {when}"
