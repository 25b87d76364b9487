"""Retention: what `vetoflow prune` removes from finished runs, and what it always keeps.

LangGraph never deletes anything: every step's checkpoint and every task's pending writes stay forever.
For a run completed or rejected longer ago than the configured age, prune keeps
* every checkpoint: each is the state before a trace row and a point `vetoflow replay` can fork from;
* the interrupt and error writes: the trace's pauses (with the payload shown to the reviewer) and failures;
* the run index row, its decisions and any replay lineage: the audit trail;
* everything of the latest checkpoint;
and deletes the other pending writes of superseded checkpoints: each task's channel updates, already
folded into the next checkpoint's values (what trace diffs and replay copies), the resume values (the
decision itself is in the run index) and routing markers. Paused, running and failed runs are never
touched: they may still be decided, resumed or retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Engine, bindparam, select, text

from vetoflow.clock import utcnow
from vetoflow.db.tables import runs_table

FINISHED = ("completed", "rejected")
KEPT_CHANNELS = ("__interrupt__", "__error__")
BATCH = 200  # runs per transaction: short write locks beside live runs


@dataclass(frozen=True)
class PruneReport:
    runs: int
    writes_deleted: int
    bytes_freed: int


def _writes_table(engine: Engine) -> str:
    return "checkpoint_writes" if engine.dialect.name == "postgresql" else "writes"


def _value_column(engine: Engine) -> str:
    return "blob" if engine.dialect.name == "postgresql" else "value"


def prunable_runs(engine: Engine, older_than: timedelta, *, now: datetime | None = None) -> list[str]:
    """Finished runs last updated before now - older_than (never a paused, running or failed one)."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(runs_table.c.run_id)
        .where(runs_table.c.status.in_(FINISHED), runs_table.c.updated_at < cutoff)
        .order_by(runs_table.c.updated_at)
    )
    with engine.connect() as conn:
        return [str(r) for r in conn.execute(query).scalars()]


def prune(engine: Engine, older_than: timedelta, *, now: datetime | None = None, dry_run: bool = False) -> PruneReport:
    """Delete the superseded writes of finished runs older than `older_than`; see the module docstring."""
    run_ids = prunable_runs(engine, older_than, now=now)
    writes, value = _writes_table(engine), _value_column(engine)
    # The latest checkpoint of a thread is its greatest id (uuid6: time-ordered), as LangGraph reads it.
    superseded = (
        f"{writes}.thread_id IN :ids AND {writes}.checkpoint_ns = '' "
        f"AND {writes}.channel NOT IN :kept "
        f"AND {writes}.checkpoint_id < (SELECT MAX(c.checkpoint_id) FROM checkpoints c "
        f"WHERE c.thread_id = {writes}.thread_id AND c.checkpoint_ns = '')"
    )
    measure = text(f"SELECT COUNT(*), COALESCE(SUM(LENGTH({value})), 0) FROM {writes} WHERE {superseded}")
    delete = text(f"DELETE FROM {writes} WHERE {superseded}")
    params: list[BindParameter[Any]] = [bindparam("ids", expanding=True), bindparam("kept", expanding=True)]
    count = freed = 0
    for start in range(0, len(run_ids), BATCH):
        values = {"ids": run_ids[start : start + BATCH], "kept": list(KEPT_CHANNELS)}
        with engine.begin() as conn:
            rows, size = conn.execute(measure.bindparams(*params), values).one()
            if not dry_run:
                conn.execute(delete.bindparams(*params), values)
        count, freed = count + int(rows), freed + int(size)
    return PruneReport(runs=len(run_ids), writes_deleted=count, bytes_freed=freed)
