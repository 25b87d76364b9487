"""Deadlines from the database: every pause whose reminder or deadline is due gets its action, once.

The actions themselves (runs/deadlines.py) lock and re-check their pause, so a second sweeper running at
the same moment finds the row already moved and does nothing. Expired runs are resumed afterwards with
the recorded rejection (reason "expired"), like any decision, and so are runs an escalation decided (their
new tier's approvals were already given).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select

from vetoflow.db.tables import decisions_table, pauses_table
from vetoflow.runs.deadlines import act
from vetoflow.runs.gate import Gate


@dataclass
class SweepReport:
    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # paused before pauses were recorded (an upgrade)


def sweep(
    gate: Gate,
    state_of: Callable[[str], Mapping[str, Any]],
    resume: Callable[[str, dict[str, Any]], Any],
    *,
    limit: int = 500,
) -> SweepReport:
    """One pass at `gate.clock()`; `state_of(run_id)` reads a run's state, `resume(run_id, payload)` resumes it."""
    report = SweepReport()
    now = gate.clock()
    due = (
        select(pauses_table.c.run_id, pauses_table.c.pause_id)
        .where(
            pauses_table.c.status == "open",
            or_(
                pauses_table.c.due_at <= now,
                and_(pauses_table.c.next_reminder_at.is_not(None), pauses_table.c.next_reminder_at <= now),
            ),
        )
        .order_by(pauses_table.c.due_at)
        .limit(limit)
    )
    with gate.engine.connect() as conn:
        candidates = [(r.run_id, r.pause_id) for r in conn.execute(due)]
    for run_id, pause_id in candidates:
        action = act(gate, run_id, pause_id, state_of(run_id))
        if action in ("expired", "decided"):  # closed: the run resumes with the recorded decision
            (report.expired if action == "expired" else report.escalated).append(run_id)
            payload = decision_payload(gate, run_id, pause_id)
            resume(run_id, payload)
            report.resumed.append(run_id)
        elif action is not None:
            getattr(report, action).append(run_id)
    return report


def decision_payload(gate: Gate, run_id: str, pause_id: str) -> dict[str, Any]:
    query = select(decisions_table.c.payload).where(
        decisions_table.c.run_id == run_id, decisions_table.c.pause_id == pause_id
    )
    with gate.engine.connect() as conn:
        value = conn.execute(query).scalar_one()
    return json.loads(value) if isinstance(value, str) else dict(value)
