"""Which runs are replays of which: a small table beside the run index, so forks are listed and traced.

A replay is a new run (its own thread id) whose first checkpoint is a copy of the source run's
checkpoint; this table remembers the source run, the checkpoint and what was changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert, select

from vetoflow.clock import utcnow
from vetoflow.db.tables import replays_table, runs_table
from vetoflow.runs.index import decoded, lease_columns


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

    def record_with_run(
        self,
        row: ReplayRow,
        name: str,
        investment: float,
        scenario: dict[str, Any],
        *,
        lease: tuple[str, datetime] | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> None:
        """The lineage row and the replay's run-index row in one transaction: neither exists without the other.

        The row keeps the replay's scenario like any run's (listings read its currency from it) and is born
        with the lease of the process about to execute it, as a started run's is (RunIndex.create)."""
        now = utcnow()
        run = {"run_id": row.replay_run_id, "name": name, "status": "running", "investment": investment}
        run["scenario"] = scenario
        run |= lease_columns(lease)
        with self.engine.begin() as conn:
            conn.execute(insert(replays_table).values(**row.model_dump()))
            conn.execute(insert(runs_table).values(**run, created_at=now, updated_at=now, revision=0))
            if also is not None:
                also(conn)

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
    return ReplayRow.model_validate(decoded(row, json_columns=("overrides",), times=("created_at",)))
