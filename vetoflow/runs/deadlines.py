"""What a pause's deadline does, done exactly once: a reminder, an escalation to another tier, or expiry.

Each action re-checks its pause inside a transaction that first locks the row, then moves the row on
(next reminder time, new tier, or status `expired`) and writes the audit entry and notifications with it;
whoever comes second (another sweep, or a decision that found the deadline passed) finds the row already
moved and does nothing. The sweep calls this for every pause that is due, the gate for the pause it is
about to decide. An escalation keeps the approvals given so far, but only those that qualify for the new
tier count (the gate tallies them); the escalation's entry and notifications name the ones set aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select, update

from vetoflow.db.tables import pauses_table
from vetoflow.governance.policy import Escalate
from vetoflow.runs.governance_events import emit
from vetoflow.runs.pauses import Pause, close

if TYPE_CHECKING:
    from vetoflow.runs.gate import Gate

SYSTEM = "system"
Acted = Literal["reminded", "escalated", "expired"]


def _next_reminder(pause: Pause, sent: int) -> timedelta | None:
    intervals = pause.tier.remind_every
    return timedelta(seconds=intervals[min(sent, len(intervals) - 1)]) if intervals else None


def act(gate: Gate, run_id: str, pause_id: str, state: Mapping[str, Any], *, via: str = "sweep") -> Acted | None:
    """Do what is due for one pause at `gate.clock()`, once; None when nothing is (or another got there first).

    `via`: who noticed the deadline (`sweep`, or the front end of a decision), recorded in the entry."""
    now = gate.clock()
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
            emit(conn, "run.escalated", pause.policy, gate.info(state, moved), actor=SYSTEM, via=via, at=now,
                 details=details)  # fmt: skip
            return "escalated"
        if pause.due_at <= now:
            review = {"action": "reject", "reviewer": SYSTEM, "comment": "expired", "overrides": {},
                      "decided_at": now.isoformat(timespec="seconds"), "digest": pause.digest}  # fmt: skip
            close(conn, pause, review, status="expired", at=now)
            details = {"reason": "expired", "due_at": pause.due_at.isoformat(), "approvals": pause.progress.label}
            emit(conn, "run.expired", pause.policy, info, actor=SYSTEM, via=via, at=now, details=details)
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
            emit(conn, "run.reminder", pause.policy, info, actor=SYSTEM, via=via, at=now, details=details)
            return "reminded"
    return None
