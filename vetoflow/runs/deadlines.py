"""What a pause's deadline does, done exactly once: a reminder, an escalation to another tier, or expiry.

Each action re-checks its pause inside a transaction that first locks the row, then moves the row on
(next reminder time, new tier, or status `expired`) and writes the audit entry and notifications with it;
whoever comes second (another sweep, or a decision that found the deadline passed) finds the row already
moved and does nothing. The sweep calls this for every pause that is due, the gate for the pause it is
about to decide. An escalation keeps the approvals given so far, but only those that qualify for the new
tier count (the gate tallies them); the escalation's entry and notifications name the ones set aside. If
those already satisfy the new tier, the escalation decides the pause: approved, as the approval completing
the count would have, and its run is resumed (a pause left open there could only expire).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, select, update

from vetoflow.db.tables import pauses_table
from vetoflow.governance.policy import Escalate
from vetoflow.runs.governance_events import emit
from vetoflow.runs.pauses import Pause, close


class DeadlineGate(Protocol):
    """What a deadline's action needs of the approval gate (runs/gate.py), which calls it before a decision."""

    engine: Engine
    clock: Callable[[], datetime]

    def lock(self, conn: Connection, run_id: str, pause_id: str) -> Pause: ...

    def load(self, conn: Connection, run_id: str, pause_id: str) -> Pause | None: ...

    def info(self, state: Mapping[str, Any], pause: Pause | None) -> dict[str, Any]: ...


SYSTEM = "system"
Acted = Literal["reminded", "escalated", "expired", "decided"]


def _next_reminder(pause: Pause, sent: int) -> timedelta | None:
    intervals = pause.tier.remind_every
    return timedelta(seconds=intervals[min(sent, len(intervals) - 1)]) if intervals else None


def _complete(
    conn: Connection,
    gate: DeadlineGate,
    pause: Pause,
    state: Mapping[str, Any],
    *,
    from_tier: str,
    via: str,
    at: datetime,
) -> None:
    """Decide an escalated pause whose new tier the recorded approvals already satisfy, as the approval completing
    the count would: approved by those who count, resumed with their names, the escalation named as the cause."""
    progress = pause.progress
    who = ", ".join(progress.approvers)
    comment = f"escalated to tier {pause.tier.name!r}, which the approvals already given ({who}) satisfy"
    payload = {"action": "approve", "reviewer": SYSTEM, "comment": comment, "overrides": {}, "digest": pause.digest,
               "decided_at": at.isoformat(timespec="seconds"), "approved_by": list(progress.approvers)}  # fmt: skip
    close(conn, pause, payload, status="decided", at=at)
    details = {
        "action": "approve", "reviewer": SYSTEM, "comment": comment, "caused_by": "run.escalated",
        "from_tier": from_tier, "approvals": progress.label, "approved_by": list(progress.approvers),
    }  # fmt: skip
    emit(conn, "run.decided", pause.policy, gate.info(state, pause), actor=SYSTEM, via=via, at=at, details=details)


def act(
    gate: DeadlineGate, run_id: str, pause_id: str, state: Mapping[str, Any], *, via: str = "sweep"
) -> Acted | None:
    """Do what is due for one pause at `gate.clock()`, once; None when nothing is (or another got there first).
    "decided": an escalation to a tier the approvals given so far already satisfy, which decides the pause.

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
            if progress.complete:  # the approvals already given satisfy the new tier: waiting on would only expire it
                _complete(conn, gate, moved, state, from_tier=pause.tier.name, via=via, at=now)
                return "decided"
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
