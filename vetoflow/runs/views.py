"""What the service hands to front ends: typed views of runs, never LangGraph snapshots or SQL rows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SerializationInfo, SerializeAsAny, field_serializer

from vetoflow.governance.rules import WhoMayApprove
from vetoflow.pause import ApprovalStatus, PauseRequest
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.history import CheckpointRecord
from vetoflow.runs.index import DecisionRow, RunRow
from vetoflow.runs.lineage import ReplayRow
from vetoflow.state import RunState, RunStatus


class RunView(BaseModel):
    """Everything known about one run: its index row, its typed state, the pending pause, its decisions."""

    run: RunRow
    state: RunState
    pending: PauseRequest | None = Field(
        default=None, description="The approval request while the pause waits for a decision; null once decided."
    )
    pause_id: str | None = None
    resumes_with: DecisionRow | None = Field(
        default=None,
        description=(
            "The decision recorded on the pause the run still stands at: nobody is asked to decide any more; "
            "the run waits for a worker (or `retry`) to carry it on with this decision."
        ),
    )
    next_nodes: list[str] = Field(default_factory=list)
    decisions: list[DecisionRow] = Field(default_factory=list)
    approval: ApprovalStatus | None = Field(
        default=None,
        description=(
            "While paused (and, once decided, for the last pause, with its status): tier, approvers, approved_by "
            "(approvals that count), progress ('1 of 2'), "
            "set_aside (approvals an escalation stopped counting, with why), due_at, digest."
        ),
    )
    approval_rule: WhoMayApprove | None = Field(
        default=None,
        description="While paused under the gate: who may approve now (tier roles, four-eyes authors, approvals "
        "that count, roles still owed), the rule the gate applies; ask it with `refusal(name, roles)`.",
    )
    comments: list[CommentRow] = Field(default_factory=list, description="The run's comment thread, oldest first.")

    # documented as PauseRequest (OpenAPI); written as the dict below, which SerializeAsAny lets through as it is
    @field_serializer("pending", mode="wrap", return_type=SerializeAsAny[PauseRequest] | None)
    def _pending_as_stored(
        self, pending: PauseRequest | None, handler: Any, info: SerializationInfo
    ) -> dict[str, Any] | None:
        """On the wire (API, `show --json`), the keys the pause's payload holds and its digest, as clients have
        always read them: a payload of an older release gains no empty keys."""
        if pending is None:
            return None
        return pending.model_dump(mode=info.mode, exclude_unset=True)

    @property
    def status(self) -> RunStatus:
        return self.run.status

    def decided_note(self) -> str | None:
        """A decided pause the run still stands at: who decided, and who carries the run on (not a human)."""
        if (decided := self.resumes_with) is None:
            return None
        if self.status == "queued":
            after = "queued for a worker"
        elif self.status == "running":
            after = "resuming"
        else:  # its executor stopped before resuming it
            after = f"resume it with: vetoflow retry {self.run.run_id}"
        return f"Decided by {decided.reviewer}; {after}"


class Replayed(BaseModel):
    """A replay: the source run as it stands, and the new run forked from it."""

    old: RunView
    new: RunView


class TraceInputs(BaseModel):
    """What a trace is built from: the run's row, its checkpoints oldest first, decisions and lineage."""

    run: RunRow
    checkpoints: list[CheckpointRecord]
    decisions: list[DecisionRow]
    forked_from: ReplayRow | None = None
    replays: list[ReplayRow] = Field(default_factory=list)


class Drift(BaseModel):
    """An index row out of line with its run's checkpoint (after an outage), and what was done about it."""

    run_id: str
    listed_as: RunStatus
    checkpoint_says: RunStatus
    repaired: bool = False
    note: str = ""
