"""Batch replays on the queue: what a batch selected and, per source run, where its replay stands.

A batch's id is derived from its selection and options (and its generation: `--again` starts the next
one), so running the same command again finds the newest batch of them; each source run has exactly
one row, with the replay's run id fixed when the row is made, so a job run twice (a worker died, the
batch was re-run) resumes that replay instead of forking another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, func, select, update

from vetoflow.clock import utcnow
from vetoflow.db.engine import upsert_insert
from vetoflow.db.tables import replay_batch_items_table as items
from vetoflow.db.tables import replay_batches_table as batches
from vetoflow.errors import RunNotFoundError
from vetoflow.runs.index import decoded

PENDING = "pending"
RETRYABLE = frozenset({PENDING, "failed"})  # what a re-run of the batch defers again


class BatchRecord(BaseModel):
    batch_id: str
    selection: dict[str, Any]
    options: dict[str, Any]
    selected: int
    created_at: datetime


class BatchItem(BaseModel):
    batch_id: str
    source_run_id: str
    replay_run_id: str
    status: str
    result: dict[str, Any] | None = None
    attempts: int
    updated_at: datetime


def batch_id_for(selection: dict[str, Any], options: dict[str, Any], generation: int = 0) -> str:
    """The same selection, options and generation always name the same batch (re-running resumes it).

    Generation 0 hashes as batches did before generations existed, so their ids still resume them.
    """
    named: dict[str, Any] = {"selection": selection, "options": options}
    text = json.dumps(named | ({"generation": generation} if generation else {}), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def replay_id_for(batch_id: str, source_run_id: str) -> str:
    return hashlib.sha256(f"{batch_id}/{source_run_id}".encode()).hexdigest()[:12]


class BatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, table: Any) -> Any:
        return upsert_insert(self.engine, table)

    def record(self, batch_id: str, selection: dict[str, Any], options: dict[str, Any], sources: Sequence[str]) -> None:
        """Create the batch (or add runs newly matching its selection): existing rows are never touched."""
        now = utcnow()
        with self.engine.begin() as conn:
            batch = {"batch_id": batch_id, "selection": selection, "options": options, "selected": 0}
            conn.execute(self._insert(batches).values(**batch, created_at=now).on_conflict_do_nothing())
            rows = [
                {
                    "batch_id": batch_id,
                    "source_run_id": source,
                    "replay_run_id": replay_id_for(batch_id, source),
                    "status": PENDING,
                    "attempts": 0,
                    "updated_at": now,
                }
                for source in sources
            ]
            for start in range(0, len(rows), 500):
                conn.execute(self._insert(items).values(rows[start : start + 500]).on_conflict_do_nothing())
            count = select(func.count()).select_from(items).where(items.c.batch_id == batch_id).scalar_subquery()
            conn.execute(update(batches).where(batches.c.batch_id == batch_id).values(selected=count))

    def newest_generation(self, selection: dict[str, Any], options: dict[str, Any]) -> int:
        """The newest generation recorded for this selection and options; -1 when there is none."""
        generation = -1
        with self.engine.connect() as conn:
            while conn.execute(
                select(batches.c.batch_id).where(batches.c.batch_id == batch_id_for(selection, options, generation + 1))
            ).first():
                generation += 1
        return generation

    def get(self, batch_id: str) -> BatchRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(batches).where(batches.c.batch_id == batch_id)).mappings().first()
        if row is None:
            raise RunNotFoundError(f"no replay batch with id {batch_id!r}")
        return BatchRecord.model_validate(decoded(row, json_columns=("selection", "options"), times=("created_at",)))

    def item(self, batch_id: str, source_run_id: str) -> BatchItem:
        query = select(items).where(items.c.batch_id == batch_id, items.c.source_run_id == source_run_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise RunNotFoundError(f"run {source_run_id!r} is not in replay batch {batch_id!r}")
        return _item(row)

    def items(self, batch_id: str) -> list[BatchItem]:
        query = select(items).where(items.c.batch_id == batch_id).order_by(items.c.source_run_id)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).mappings().all()]

    def retryable(self, batch_id: str) -> list[str]:
        query = (
            select(items.c.source_run_id)
            .where(items.c.batch_id == batch_id, items.c.status.in_(RETRYABLE))
            .order_by(items.c.source_run_id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def counts(self, batch_id: str) -> dict[str, int]:
        query = select(items.c.status, func.count()).where(items.c.batch_id == batch_id).group_by(items.c.status)
        with self.engine.connect() as conn:
            return {str(status): int(count) for status, count in conn.execute(query).all()}

    def take(self, batch_id: str, source_run_id: str) -> BatchItem:
        """A job takes its item: counted as an attempt unless it is settled (then returned as it stands).

        One statement: `attempts` comes back as counted, so 1 means no job has touched the replay before.
        """
        where = (items.c.batch_id == batch_id) & (items.c.source_run_id == source_run_id)
        open_ = items.c.status.in_(RETRYABLE) | items.c.result.is_(None)
        query = update(items).where(where & open_).values(attempts=items.c.attempts + 1, updated_at=utcnow())
        with self.engine.begin() as conn:
            row = conn.execute(query.returning(*items.c)).mappings().first()
        return _item(row) if row is not None else self.item(batch_id, source_run_id)

    def finish(self, batch_id: str, source_run_id: str, status: str, result: dict[str, Any]) -> None:
        where = (items.c.batch_id == batch_id) & (items.c.source_run_id == source_run_id)
        with self.engine.begin() as conn:
            conn.execute(update(items).where(where).values(status=status, result=result, updated_at=utcnow()))


def _item(row: Any) -> BatchItem:
    data = decoded(row, times=("updated_at",))
    if isinstance(data.get("result"), str):
        data["result"] = json.loads(data["result"])
    return BatchItem.model_validate(data)
