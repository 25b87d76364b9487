"""Which runs are replays of which: a small table beside the run index, so forks are listed and traced.

A replay is a new run (its own thread id) whose first checkpoint is a copy of the source run's
checkpoint; this table remembers the source run, the checkpoint and what was changed.
"""

from __future__ import annotations

import json
import threading
import weakref
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, DateTime, Engine, Index, MetaData, String, Table, insert, select

from vetoflow.runs.index import runs_table, utcnow

metadata = MetaData()

replays_table = Table(
    "vetoflow_replays",
    metadata,
    Column("replay_run_id", String(64), primary_key=True),
    Column("source_run_id", String(64), nullable=False),
    Column("source_checkpoint_id", String(64), nullable=False),
    Column("from_node", String(64), nullable=False),
    Column("overrides", JSON, nullable=False),
    Column("llm_model", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_vetoflow_replays_source", "source_run_id"),
)


class ReplayRow(BaseModel):
    replay_run_id: str
    source_run_id: str
    source_checkpoint_id: str
    from_node: str
    overrides: dict[str, Any]
    llm_model: str | None = None
    created_at: datetime


class Lineage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def record_with_run(self, row: ReplayRow, name: str, investment: float) -> None:
        """The lineage row and the replay's run-index row in one transaction: neither exists without the other."""
        now = utcnow()
        run = {"run_id": row.replay_run_id, "name": name, "status": "running", "investment": investment}
        with self.engine.begin() as conn:
            conn.execute(insert(replays_table).values(**row.model_dump()))
            conn.execute(insert(runs_table).values(**run, created_at=now, updated_at=now, revision=0))

    def get(self, replay_run_id: str) -> ReplayRow | None:
        query = select(replays_table).where(replays_table.c.replay_run_id == replay_run_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _row(row) if row else None

    def replays_of(self, source_run_id: str) -> list[ReplayRow]:
        query = (
            select(replays_table)
            .where(replays_table.c.source_run_id == source_run_id)
            .order_by(replays_table.c.created_at, replays_table.c.replay_run_id)
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings().all()]


_ready: weakref.WeakKeyDictionary[Engine, Lineage] = weakref.WeakKeyDictionary()
_ready_lock = threading.Lock()


def lineage_for(engine: Engine) -> Lineage:
    """One Lineage per engine, so the table check runs once per process, not once per replay."""
    with _ready_lock:
        if engine not in _ready:
            _ready[engine] = Lineage(engine)
        return _ready[engine]


def new_row(source_run_id: str, replay_run_id: str, checkpoint_id: str, from_node: str, **extra: Any) -> ReplayRow:
    return ReplayRow(
        replay_run_id=replay_run_id,
        source_run_id=source_run_id,
        source_checkpoint_id=checkpoint_id,
        from_node=from_node,
        overrides=extra.get("overrides") or {},
        llm_model=extra.get("llm_model"),
        created_at=utcnow(),
    )


def _row(row: Any) -> ReplayRow:
    data = dict(row)
    if isinstance(data["overrides"], str):
        data["overrides"] = json.loads(data["overrides"])
    if data["created_at"].tzinfo is None:
        from datetime import UTC

        data["created_at"] = data["created_at"].replace(tzinfo=UTC)
    return ReplayRow.model_validate(data)
