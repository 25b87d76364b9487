"""A pause as the gate records it: its tier, the policy in force, the approvals so far and the deadlines.

Split from runs/gate.py so the gate and the deadline actions (runs/deadlines.py) read a pause row, record
on it, and close one with a decision, the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from vetoflow.clock import aware
from vetoflow.db.tables import approvals_table, decisions_table, pauses_table
from vetoflow.errors import DecisionConflictError
from vetoflow.governance.policy import Policy, Tier
from vetoflow.governance.rules import Approval, Progress, WhoMayApprove, authors_of, recorded_roles, tally
from vetoflow.pause import ApprovalStatus, ApproversNeeded, SetAsideApproval


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
    recorded_authors: dict[str, str] | None  # None: paused before pauses recorded them

    @property
    def authors(self) -> dict[str, str]:
        """Who wrote the figures this pause shows, and how (four-eyes); a pause recorded before that: its requester."""
        return self.recorded_authors if self.recorded_authors is not None else authors_of(self.requester)

    @property
    def progress(self) -> Progress:
        """Only approvals that qualify for the tier in force count (an escalation may set some aside)."""
        return tally(self.tier, self.approvals, authors=self.authors, needed=self.needed)

    @property
    def rule(self) -> WhoMayApprove:
        """Who may approve it now: what the gate checks, and the console and the inbox ask beforehand."""
        return WhoMayApprove.of(self.tier, self.progress, self.authors)

    @property
    def approved_by(self) -> tuple[str, ...]:
        return self.progress.approvers

    def summary(self) -> ApprovalStatus:
        """What the run's view shows under `approval`."""
        progress = self.progress
        return ApprovalStatus(
            tier=self.tier.name,
            status=self.status,
            approvers=ApproversNeeded(roles=list(self.tier.approvers.roles), count=self.needed),
            approved_by=list(progress.approvers),
            progress=progress.label,
            still_needs=list(progress.missing),
            set_aside=[SetAsideApproval(reviewer=s.reviewer, reason=s.reason) for s in progress.set_aside],
            requester=self.requester,
            authors=dict(self.authors),
            requester_may_approve=self.tier.requester_may_approve,
            due_at=self.due_at.isoformat(timespec="seconds"),
            digest=self.digest,
        )


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
        aware(row["next_reminder_at"]), json.loads(row["authors"]) if row["authors"] else None,
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


def decided(conn: Connection, pause: Pause) -> bool:
    """A decision recorded outside the gate (by the previous release, just before a crash) closes it too."""
    query = select(decisions_table.c.action).where(
        decisions_table.c.run_id == pause.run_id, decisions_table.c.pause_id == pause.pause_id
    )
    return conn.execute(query).first() is not None


def closed_error(conn: Connection, pause: Pause) -> DecisionConflictError:
    """The refusal of a decision on a closed pause, saying who decided it and when."""
    from vetoflow.runs.index import RunIndex, already_decided

    query = select(decisions_table).where(
        decisions_table.c.run_id == pause.run_id, decisions_table.c.pause_id == pause.pause_id
    )
    row = conn.execute(query).mappings().first()
    decision = RunIndex._decision(row) if row else None  # one row format for both
    return DecisionConflictError(already_decided(pause.run_id, decision))


def record_approval(
    conn: Connection, pause: Pause, reviewer: str, roles: str, comment: str, *, via: str, at: datetime
) -> None:
    """Insert the approval; one set aside by an escalation (same person) is replaced, its entry stays audited."""
    mine = (
        approvals_table.c.run_id == pause.run_id,
        approvals_table.c.pause_id == pause.pause_id,
        approvals_table.c.reviewer == reviewer,
    )
    conn.execute(delete(approvals_table).where(*mine))
    conn.execute(
        insert(approvals_table).values(
            run_id=pause.run_id, pause_id=pause.pause_id, reviewer=reviewer, roles=roles, digest=pause.digest,
            comment=comment, via=via, approved_at=at,
        )
    )  # fmt: skip
