"""What an approver's inbox needs about each paused run, read in three queries, and the change markers
that let a console poll cheaply ("has anything changed since I last looked?") instead of reloading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select

from vetoflow.clock import aware
from vetoflow.db.tables import (
    approvals_table,
    audit_head_table,
    comments_table,
    events_table,
    pauses_table,
    runs_table,
)
from vetoflow.errors import VetoflowError
from vetoflow.governance.policy import Policy
from vetoflow.governance.rules import Approval, Progress, WhoMayApprove, authors_of, recorded_roles, tally
from vetoflow.runs.index import RunRow


class InboxItem(BaseModel):
    """One paused run with its money (and currency), who asked, and where its approval stands."""

    run: RunRow
    currency: str = Field(description="The scenario's currency code, e.g. EUR.")
    requester: str | None = None
    tier: str | None = Field(default=None, description="The policy tier of the open pause (None without a gate).")
    approver_roles: list[str] = Field(default_factory=list, description="Roles that may approve under the tier.")
    requester_may_approve: bool = True
    needed: int | None = None
    approved_by: list[str] = Field(default_factory=list, description="Approvals that count under the tier.")
    set_aside: list[str] = Field(
        default_factory=list, description="Who approved under an earlier tier whose approval no longer counts."
    )
    still_needs: list[str] = Field(
        default_factory=list, description="Roles the tier's approvers.including still asks for, one per person."
    )
    authors: dict[str, str] = Field(
        default_factory=dict, description="Who wrote the figures, and how (four-eyes keeps them from approving)."
    )
    waiting_since: datetime = Field(description="When the run paused (its last update without a pause record).")
    due_at: datetime | None = None

    @property
    def progress(self) -> str | None:
        """'1 of 2 (still needs a finance_lead)', as the gate's own progress label words it."""
        if self.needed is None:
            return None
        counted = Progress(tuple(self.approved_by), self.needed, missing=tuple(self.still_needs))
        aside = f" ({', '.join(self.set_aside)} no longer counted)" if self.set_aside else ""
        return counted.label + aside

    @property
    def rule(self) -> WhoMayApprove | None:
        """Who may approve it now, by the gate's own rule (None: no pause recorded, nothing to ask)."""
        if self.needed is None:
            return None
        return WhoMayApprove(
            tier=self.tier or "", roles=self.approver_roles, needed=self.needed,
            requester_may_approve=self.requester_may_approve, authors=self.authors, approved_by=self.approved_by,
            still_needs=self.still_needs,
        )  # fmt: skip


def currencies(engine: Engine, ids: Sequence[str]) -> dict[str, str]:
    """Each run's currency code, from its stored scenario ("" when it kept none)."""
    query = select(runs_table.c.run_id, runs_table.c.scenario).where(runs_table.c.run_id.in_(list(ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    found: dict[str, str] = {}
    for run_id, scenario in rows:
        data = json.loads(scenario) if isinstance(scenario, str) else (scenario or {})
        found[run_id] = str(data.get("currency") or "")
    return found


def inbox_items(engine: Engine, rows: Sequence[RunRow]) -> list[InboxItem]:
    """Decorate the paused runs' rows with their open pause (tier, approvals, due) and currency."""
    ids = [row.run_id for row in rows]
    if not ids:
        return []
    pause_query = select(pauses_table).where(pauses_table.c.run_id.in_(ids), pauses_table.c.status == "open")
    approval_query = (
        select(
            approvals_table.c.run_id, approvals_table.c.pause_id, approvals_table.c.reviewer, approvals_table.c.roles
        )
        .where(approvals_table.c.run_id.in_(ids))
        .order_by(approvals_table.c.approved_at)
    )
    with engine.connect() as conn:
        pauses = {row["run_id"]: row for row in conn.execute(pause_query).mappings().all()}
        approvals = conn.execute(approval_query).all()
    codes = currencies(engine, ids)
    items = []
    for row in rows:
        pause = pauses.get(row.run_id)
        item = InboxItem(run=row, currency=codes.get(row.run_id, ""), waiting_since=row.updated_at)
        if pause is not None:
            recorded = [Approval(r, recorded_roles(roles)) for run, p, r, roles in approvals
                        if run == row.run_id and p == pause["pause_id"]]  # fmt: skip
            authors = json.loads(pause["authors"]) if pause["authors"] else authors_of(pause["requester"])
            try:
                tier = Policy.model_validate(json.loads(pause["policy"])).tier(pause["tier"])
                roles, own = list(tier.approvers.roles), tier.requester_may_approve
                progress = tally(tier, recorded, authors=authors, needed=pause["needed"])
            except (VetoflowError, ValueError):
                roles, own = [], False
                progress = Progress(tuple(a.reviewer for a in recorded), pause["needed"])
            item = item.model_copy(
                update={
                    "requester": pause["requester"],
                    "tier": pause["tier"],
                    "approver_roles": roles,
                    "requester_may_approve": own,
                    "needed": pause["needed"],
                    "approved_by": list(progress.approvers),
                    "set_aside": [s.reviewer for s in progress.set_aside],
                    "still_needs": list(progress.missing),
                    "authors": authors,
                    "waiting_since": aware(pause["opened_at"]),
                    "due_at": aware(pause["due_at"]),
                }
            )
        items.append(item)
    return items


def change_marker(engine: Engine) -> str:
    """Moves whenever any run progresses (run events) or any governance record is written (the audit head):
    two primary-key reads, cheap enough for every open console to ask every few seconds."""
    with engine.connect() as conn:
        event = conn.execute(select(func.max(events_table.c.id))).scalar()
        seq = conn.execute(select(audit_head_table.c.seq).where(audit_head_table.c.id == 1)).scalar()
    return f"{event or 0}:{seq or 0}"


def run_marker(engine: Engine, run_id: str) -> str:
    """Moves when this one run changes: its row, its newest event, an approval recorded on it, or a comment
    added to its thread (a colleague's note reaches a run view that is open; its index makes it a key read)."""
    with engine.connect() as conn:
        updated = conn.execute(select(runs_table.c.updated_at).where(runs_table.c.run_id == run_id)).scalar()
        event = conn.execute(select(func.max(events_table.c.id)).where(events_table.c.run_id == run_id)).scalar()
        approved = conn.execute(
            select(func.count()).select_from(approvals_table).where(approvals_table.c.run_id == run_id)
        ).scalar()
        comment = conn.execute(select(func.max(comments_table.c.id)).where(comments_table.c.run_id == run_id)).scalar()
    return f"{updated}:{event or 0}:{approved or 0}:{comment or 0}"
