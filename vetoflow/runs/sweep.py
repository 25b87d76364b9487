"""Deadlines from the database: reminders, escalation and expiry, each done exactly once.

Every action re-checks its pause inside a transaction that first locks the row, then moves the row on
(next reminder time, new tier, or status `expired`) and writes the audit entry and notifications with
it; a second sweeper running at the same moment finds the row already moved and does nothing. Expired
runs are resumed afterwards with the recorded rejection (reason "expired"), like any decision. An
escalation keeps the approvals given so far, but only those that qualify for the new tier count (the gate
tallies them); the escalation's entry and notifications name the ones set aside.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from vetoflow.db.tables import decisions_table, pauses_table
from vetoflow.governance.policy import Escalate
from vetoflow.runs.gate import Gate, Pause
from vetoflow.runs.governance_events import emit

SYSTEM = "system"


@dataclass
class SweepReport:
    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # paused before pauses were recorded (an upgrade)


def _next_reminder(pause: Pause, sent: int) -> timedelta | None:
    intervals = pause.tier.remind_every
    return timedelta(seconds=intervals[min(sent, len(intervals) - 1)]) if intervals else None


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
        action = _act(gate, run_id, pause_id, state_of)
        if action == "expired":
            report.expired.append(run_id)
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


def _act(gate: Gate, run_id: str, pause_id: str, state_of: Callable[[str], Mapping[str, Any]]) -> str | None:
    """Do what is due for one pause, once; returns "reminded", "escalated", "expired" or None."""
    now = gate.clock()
    state = state_of(run_id)
    where = (pauses_table.c.run_id == run_id, pauses_table.c.pause_id == pause_id)
    with gate.engine.begin() as conn:
        pause = gate.lock(conn, run_id, pause_id)
        if pause.status != "open":
            return None
        info = gate.info(state, pause)
        if pause.due_at <= now and isinstance(pause.tier.at_deadline, Escalate):
            target = pause.policy.tier(pause.tier.at_deadline.escalate)
            first = timedelta(seconds=target.remind_every[0]) if target.remind_every else None
            conn.execute(
                update(pauses_table).where(*where).values(
                    tier=target.name, needed=target.approvers.count, due_at=now + timedelta(seconds=target.due),
                    next_reminder_at=now + first if first else None, reminders_sent=0,
                    escalations=pauses_table.c.escalations + 1,
                )
            )  # fmt: skip
            moved = gate.load(conn, run_id, pause_id)
            assert moved is not None
            progress = moved.progress  # approvals that do not qualify for the new tier stop counting
            conn.execute(update(pauses_table).where(*where).values(approvals=len(progress.approvers)))
            details = {
                "from_tier": pause.tier.name, "escalated_to": target.name, "due_at": moved.due_at.isoformat(),
                "approvals": progress.label, "approved_by": list(progress.approvers),
                "set_aside": progress.details(), "set_aside_note": progress.note,
            }  # fmt: skip
            emit(
                conn,
                "run.escalated",
                pause.policy,
                gate.info(state, moved),
                actor=SYSTEM,
                via="sweep",
                at=now,
                details=details,
            )
            return "escalated"
        if pause.due_at <= now:
            review = {"action": "reject", "reviewer": SYSTEM, "comment": "expired", "overrides": {},
                      "decided_at": now.isoformat(timespec="seconds"), "digest": pause.digest}  # fmt: skip
            conn.execute(update(pauses_table).where(*where).values(status="expired", closed_at=now))
            conn.execute(
                insert(decisions_table).values(
                    run_id=run_id, pause_id=pause_id, action="reject", reviewer=SYSTEM, comment="expired",
                    payload=review, decided_at=now,
                )
            )  # fmt: skip
            details = {"reason": "expired", "due_at": pause.due_at.isoformat(), "approvals": pause.progress.label}
            emit(conn, "run.expired", pause.policy, info, actor=SYSTEM, via="sweep", at=now, details=details)
            return "expired"
        if pause.next_reminder_at is not None and pause.next_reminder_at <= now:
            sent = conn.execute(select(pauses_table.c.reminders_sent).where(*where)).scalar_one()
            step = _next_reminder(pause, sent + 1)
            conn.execute(
                update(pauses_table)
                .where(*where)
                .values(reminders_sent=sent + 1, next_reminder_at=now + step if step else None)
            )
            details = {
                "reminder": sent + 1,
                "due_at": pause.due_at.isoformat(),
                "waiting_since": pause.opened_at.isoformat(),
            }
            emit(conn, "run.reminder", pause.policy, info, actor=SYSTEM, via="sweep", at=now, details=details)
            return "reminded"
    return None
