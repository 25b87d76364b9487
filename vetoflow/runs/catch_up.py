"""What a sweep finds undone before it looks at deadlines: pauses without a record, expiries not applied.

A run paused under the previous release has no pause record, so no tier, deadline or reminder: it could
wait unseen for ever. A sweep records its pause now, under the policy in force (the deadline counts from
now, the right people are told). And an expiry is recorded before its run is resumed: if the process
died in between, the run would stay paused with its rejection on file; the next sweep finishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from vetoflow.db.tables import pauses_table, runs_table
from vetoflow.runs.gate import Gate
from vetoflow.runs.sweep import decision_payload

FINISHED = ("completed", "rejected", "failed")
Pending = Callable[[str], tuple[str, dict[str, Any]] | None]
"""run id -> (the interrupt it waits at, its state values), or None when it does not wait."""


def unrecorded_paused(gate: Gate, limit: int = 500) -> list[str]:
    """Paused runs without an open pause record, newest first, in one query: only these can need adopting,
    so a sweep reads no checkpoint of the (many) runs that wait under a recorded pause. (Decided runs whose
    executor died before resuming also match until the reconciler's retry; newest first, they never keep a
    newly unrecorded pause from being adopted.)"""
    recorded = select(pauses_table.c.run_id).where(
        pauses_table.c.run_id == runs_table.c.run_id, pauses_table.c.status == "open"
    )
    query = (
        select(runs_table.c.run_id)
        .where(runs_table.c.status == "paused", ~recorded.exists())
        .order_by(runs_table.c.created_at.desc(), runs_table.c.run_id.desc())
        .limit(limit)
    )
    with gate.engine.connect() as conn:
        return [row.run_id for row in conn.execute(query)]


def adopt_unrecorded(gate: Gate, paused: Iterable[str], pending: Pending) -> list[str]:
    """Record a pause for each waiting run that has none; returns the runs adopted."""
    adopted = []
    for run_id in paused:
        waiting = pending(run_id)
        if waiting is None:
            continue
        pause_id, values = waiting
        if gate.pause(run_id, pause_id) is None:
            gate.open_pause(values, pause_id, via="upgrade")
            adopted.append(run_id)
    return adopted


def unfinished_expiries(gate: Gate, pending: Pending, grace: timedelta) -> list[tuple[str, dict[str, Any]]]:
    """(run id, the recorded rejection) for pauses that expired over `grace` ago (the sweep that recorded one
    had that long to resume its run) and whose run still waits at them."""
    query = (
        select(pauses_table.c.run_id, pauses_table.c.pause_id)
        .join(runs_table, runs_table.c.run_id == pauses_table.c.run_id)
        .where(
            pauses_table.c.status == "expired",
            pauses_table.c.closed_at < gate.clock() - grace,
            runs_table.c.status.not_in(FINISHED),
        )
    )
    with gate.engine.connect() as conn:
        expired = [(row.run_id, row.pause_id) for row in conn.execute(query)]
    found = []
    for run_id, pause_id in expired:
        waiting = pending(run_id)
        if waiting is not None and waiting[0] == pause_id:
            found.append((run_id, decision_payload(gate, run_id, pause_id)))
    return found
