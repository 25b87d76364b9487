"""What a paused run asks of its approver, typed: the `interrupt()` value the approval node stores in the
checkpoint (as JSON), read back into `PauseRequest` for every front end.

Payloads written by older releases lack the later keys (why_waiting, plausibility, sources, revised): they
read as empty lists and None. The wire form (`RunView.pending` in the API and `show --json`) keeps only the
keys the payload holds, as it always has (`model_dump(exclude_unset=True)`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vetoflow.state import Decision, Financials, PlausibilityFlag, ReviewAction, Revision


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PauseSource(_Read):
    """One retrieved passage shown with the pause (the top sources of the run's retrieval)."""

    ref: int
    title: str
    source: str
    page: int | None = None
    text: str


class Delta(_Read):
    """One figure before and after a revise; `change` is None when either side has no number."""

    old: float | None = None
    new: float | None = None
    change: float | None = None


class RevisedFigures(_Read):
    """The latest revise at a pause: who changed what, old against new figures, every revise so far."""

    revision: int
    reviewer: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    comment: str = ""
    was_vetoed: bool = False
    deltas: dict[str, Delta] = Field(default_factory=dict)
    history: list[Revision] = Field(default_factory=list, description="Each revise, oldest first (without `before`).")


class PauseRequest(_Read):
    """The approval request of a paused run: the figures and verdict to decide on, why it waits, the evidence,
    the latest revise, and what an answer may be. `digest` is what a decision sends back (governance.digest);
    `error` says why the last answer was refused."""

    run_id: str
    scenario: str
    revision: int = 0
    figures: Financials
    decision: Decision
    why_waiting: list[str] = Field(default_factory=list)
    plausibility: list[PlausibilityFlag] = Field(default_factory=list)
    sources: list[PauseSource] = Field(default_factory=list)
    revised: RevisedFigures | None = None
    allowed_actions: list[ReviewAction] = Field(default_factory=list)
    revisable: list[str] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the last answer was refused; the run still waits.")
    digest: str | None = Field(default=None, description="Send it with a decision: refused if the figures changed.")

    def payload(self) -> dict[str, Any]:
        """The checkpoint's JSON form (the `interrupt()` value): the keys set, as the approval node writes them."""
        return self.model_dump(mode="json", exclude_unset=True)


class ApproversNeeded(BaseModel):
    """Who must approve under the tier in force: `count` distinct approvers holding one of `roles`."""

    roles: list[str]
    count: int


class SetAsideApproval(BaseModel):
    """An approval that no longer counts (an escalation raised the tier), and why."""

    reviewer: str
    reason: str


class ApprovalStatus(BaseModel):
    """How a pause's approvals stand (`RunView.approval`): while it waits, and once decided, for the last pause."""

    tier: str
    status: str = Field(description="open, decided or expired.")
    approvers: ApproversNeeded
    approved_by: list[str] = Field(description="Approvals that count, in order.")
    progress: str = Field(description="'1 of 2', with the roles still owed.")
    still_needs: list[str] = Field(default_factory=list, description="Roles still owed an approval.")
    set_aside: list[SetAsideApproval] = Field(default_factory=list)
    requester: str | None = None
    authors: dict[str, str] = Field(default_factory=dict, description="Who wrote the figures, and how (four-eyes).")
    requester_may_approve: bool = True
    due_at: str = Field(description="The deadline, ISO 8601 to the second, UTC.")
    digest: str = Field(description="The figures the pause shows (governance.digest).")
