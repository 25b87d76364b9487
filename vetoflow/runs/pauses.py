"""A pause as the gate records it: its tier, the policy in force, the approvals so far and the deadlines.

Split from runs/gate.py so the gate and the deadline actions (runs/deadlines.py) read a pause row, and
close one with a decision, the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vetoflow.clock import aware
from vetoflow.db.tables import approvals_table, decisions_table, pauses_table
from vetoflow.governance.policy import Policy, Tier
from vetoflow.governance.rules import Approval, Progress, authors_of, recorded_roles, tally


@dataclass(frozen=True)
class Pause:
    run_id: str
    pause_id: str
    status: str
    tier: Tier
    policy: Policy
    needed: int
    approvals: tuple[Approval, ...]  # every approval recorded on this pause, in order
    requester: str | None
    digest: str
    opened_at: datetime
    due_at: datetime
    next_reminder_at: datetime | None

    @property
    def progress(self) -> Progress:
        """Only approvals that qualify for the tier in force count (an escalation may set some aside)."""
        return tally(self.tier, self.approvals, authors=authors_of(self.requester), needed=self.needed)

    @property
    def approved_by(self) -> tuple[str, ...]:
        return self.progress.approvers

    def summary(self) -> dict[str, Any]:
        """What the run's JSON shows under `approval`."""
        progress = self.progress
        return {
            "tier": self.tier.name,
            "status": self.status,
            "approvers": {"roles": self.tier.approvers.roles, "count": self.needed},
            "approved_by": list(progress.approvers),
            "progress": progress.label,
            "still_needs": list(progress.missing),
            "set_aside": progress.details(),
            "requester": self.requester,
            "requester_may_approve": self.tier.requester_may_approve,
            "due_at": self.due_at.isoformat(timespec="seconds"),
            "digest": self.digest,
        }


def load_pause(conn: Connection, run_id: str, pause_id: str, now: datetime) -> Pause | None:
    """The pause row with its approvals, oldest first; `now` stands in for a time the row lacks."""
    row = (
        conn.execute(select(pauses_table).where(pauses_table.c.run_id == run_id, pauses_table.c.pause_id == pause_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    approved = conn.execute(
        select(approvals_table.c.reviewer, approvals_table.c.roles)
        .where(approvals_table.c.run_id == run_id, approvals_table.c.pause_id == pause_id)
        .order_by(approvals_table.c.approved_at)
    )
    approvals = tuple(Approval(reviewer, recorded_roles(roles)) for reviewer, roles in approved)
    policy = Policy.model_validate(json.loads(row["policy"]))
    return Pause(
        run_id, pause_id, row["status"], policy.tier(row["tier"]), policy, row["needed"], approvals,
        row["requester"], row["digest"], aware(row["opened_at"]) or now, aware(row["due_at"]) or now,
        aware(row["next_reminder_at"]),
    )  # fmt: skip


def close(conn: Connection, pause: Pause, payload: dict[str, Any], *, status: str, at: datetime) -> None:
    """Close the pause (`decided` or `expired`) with the decision its run resumes with, in `conn`'s transaction."""
    where = (pauses_table.c.run_id == pause.run_id, pauses_table.c.pause_id == pause.pause_id)
    conn.execute(update(pauses_table).where(*where).values(status=status, closed_at=at))
    conn.execute(
        insert(decisions_table).values(
            run_id=pause.run_id, pause_id=pause.pause_id, action=payload["action"], reviewer=payload["reviewer"],
            comment=payload.get("comment", ""), payload=payload, decided_at=at,
        )
    )  # fmt: skip
