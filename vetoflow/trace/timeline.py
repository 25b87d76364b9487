"""A run's timeline rebuilt from its checkpoint history: which node ran when, for how long, what it changed.

Each checkpoint records the state before a step and the tasks that step ran; the next checkpoint holds
their result. So step i is `history[i].tasks` with the diff `history[i].values -> history[i+1].values`,
starting at `history[i].created_at`. Pauses come from the tasks' interrupts and the decisions that
resumed them from the run index (who, when, comment); errors from the tasks' errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vetoflow.runs.history import CheckpointRecord, PauseRecord
from vetoflow.runs.index import DecisionRow
from vetoflow.runs.lineage import ReplayRow
from vetoflow.runs.views import TraceInputs
from vetoflow.trace.diff import Change, diff_values
from vetoflow.trace.extras import LlmInfo, llm_info


class Pause(BaseModel):
    pause_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    paused_at: datetime
    action: str | None = None
    reviewer: str | None = None
    comment: str | None = None
    decided_at: datetime | None = None
    waited_s: float | None = None


class TraceStep(BaseModel):
    index: int
    node: str
    checkpoint_id: str = Field(description="The checkpoint before this step: replay from here.")
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = Field(default=None, description="Node time, excluding any wait for a human.")
    changes: list[Change] = Field(default_factory=list)
    pause: Pause | None = None
    error: str | None = None
    llm: LlmInfo | None = None
    status: str = "done"  # done | paused | failed | pending


class Trace(BaseModel):
    run_id: str
    name: str
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total_s: float | None = None
    checkpoints: int
    path: list[str] = Field(description="Nodes in the order this run executed them.")
    next_nodes: list[str] = Field(default_factory=list)
    steps: list[TraceStep]
    forked_from: ReplayRow | None = None
    replays: list[ReplayRow] = Field(default_factory=list)


def _pause(record: CheckpointRecord, interrupts: list[PauseRecord], decisions: dict[str, DecisionRow]) -> Pause:
    last = interrupts[-1]  # a refused answer re-asks: the latest interrupt is the one decided
    pause = Pause(pause_id=last.pause_id, payload=last.payload, paused_at=record.created_at)
    decision = decisions.get(last.pause_id) or next(
        (d for d in decisions.values() if d.decided_at >= pause.paused_at), None
    )
    if decision:
        pause.action, pause.reviewer, pause.comment = decision.action, decision.reviewer, decision.comment
        pause.decided_at = decision.decided_at
        pause.waited_s = max(0.0, (decision.decided_at - pause.paused_at).total_seconds())
    return pause


def _values(record: CheckpointRecord) -> dict[str, Any]:
    return record.state.model_dump(mode="json") if record.state else {}


def build_steps(history: list[CheckpointRecord], decisions: list[DecisionRow]) -> list[TraceStep]:
    """`history` oldest first."""
    by_pause = {d.pause_id: d for d in decisions}
    steps: list[TraceStep] = []
    for i, record in enumerate(history):
        after = history[i + 1] if i + 1 < len(history) else None
        for task in record.tasks:
            if task.name.startswith("__"):  # LangGraph's own input step
                continue
            step = TraceStep(
                index=len(steps) + 1, node=task.name, checkpoint_id=record.checkpoint_id, started_at=record.created_at
            )
            if task.interrupts:
                step.pause = _pause(record, task.interrupts, by_pause)
                step.status = "paused"
            if task.error is not None:
                step.error = task.error
                step.status = "failed"
            if after is not None:
                step.finished_at = after.created_at
                begin = step.pause.decided_at if step.pause and step.pause.decided_at else step.started_at
                step.duration_s = max(0.0, (step.finished_at - begin).total_seconds())
                step.changes = diff_values(_values(record), _values(after))
                if after.state is not None and any(c.field.split(".")[0] == "summary" for c in step.changes):
                    step.llm = llm_info(after.state.summary, after.state.retrieval)
                    if step.llm is not None and step.duration_s is not None:
                        step.llm.latency_ms = round(step.duration_s * 1000, 1)  # the node's time, LLM call included
                step.status = "done" if step.error is None else "failed, retried"
            elif step.status == "done":
                step.status = "pending"
            steps.append(step)
    return steps


def build_trace(inputs: TraceInputs) -> Trace:
    """The whole trace of one run, from what the run service hands over."""
    row, history = inputs.run, inputs.checkpoints
    steps = build_steps(history, inputs.decisions)
    latest = history[-1] if history else None
    status = latest.status if latest else row.status
    if row.status == "failed" or (latest is not None and status == "running" and row.error):
        status = "failed"
    started = steps[0].started_at if steps else None
    finished = latest.created_at if latest is not None and not latest.next else None
    return Trace(
        run_id=row.run_id,
        name=row.name,
        status=status,
        started_at=started,
        finished_at=finished,
        total_s=(finished - started).total_seconds() if started and finished else None,
        checkpoints=len(history),
        path=[s.node for s in steps if s.status != "pending"],
        next_nodes=list(latest.next) if latest is not None else [],
        steps=steps,
        forked_from=inputs.forked_from,
        replays=inputs.replays,
    )
