"""A run's checkpoints as typed records, so nothing outside `runs/` reads LangGraph snapshots or configs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot
from pydantic import BaseModel, Field

from vetoflow.state import RunState, RunStatus


class PauseRecord(BaseModel):
    """One `interrupt()`: its id (the decisions table's key) and the payload shown to the human."""

    pause_id: str
    payload: dict[str, Any]


class TaskRecord(BaseModel):
    name: str
    wrote: bool = Field(default=False, description="The task finished and its writes are in the next record.")
    error: str | None = None
    interrupts: list[PauseRecord] = Field(default_factory=list)


class CheckpointRecord(BaseModel):
    """The state before a step, and the tasks that step ran (their results are in the next record)."""

    checkpoint_id: str
    created_at: datetime
    step: int | None = None
    source: str | None = None
    state: RunState | None = Field(default=None, description="None before the input is written.")
    next: list[str] = Field(default_factory=list)
    tasks: list[TaskRecord] = Field(default_factory=list)

    @property
    def status(self) -> RunStatus:
        return status_of(
            paused=any(task.interrupts for task in self.tasks),
            failed=any(task.error for task in self.tasks),
            finished=not self.next,
            outcome=self.state.outcome if self.state else None,
        )

    @property
    def wrote(self) -> list[str]:
        return [task.name for task in self.tasks if task.wrote]


def thread_config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}}


def checkpoint_id(snapshot: StateSnapshot) -> str:
    return str(snapshot.config["configurable"]["checkpoint_id"])


_REPR = re.compile(r"^(\w+)\((['\"])(.*)\2\)$", re.DOTALL)


def describe_error(error: object) -> str:
    """`RuntimeError: boom`, whether the checkpointer hands back the exception or its repr."""
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    text = str(error)
    match = _REPR.match(text)
    return f"{match.group(1)}: {match.group(3)}" if match else text


def status_of(*, paused: bool, failed: bool, finished: bool, outcome: str | None) -> RunStatus:
    """A run's status from its latest checkpoint: the one rule both snapshots and records follow."""
    if paused:
        return "paused"
    if failed:
        return "failed"
    if finished:
        return "rejected" if outcome == "rejected" else "completed"
    return "running"


def has_state(snapshot: StateSnapshot) -> bool:
    """The checkpoint holds a run's state. The input checkpoint written before the first step holds only the
    defaults of the list channels (`reviews`, `revisions`), so a non-empty `values` is not enough."""
    return snapshot.values.get("scenario") is not None


def derive_status(snapshot: StateSnapshot) -> RunStatus:
    return status_of(
        paused=bool(snapshot.interrupts),
        failed=any(task.error for task in snapshot.tasks),
        finished=not snapshot.next,
        outcome=snapshot.values.get("outcome"),
    )


def record(snapshot: StateSnapshot) -> CheckpointRecord:
    metadata = snapshot.metadata or {}
    assert snapshot.created_at is not None
    tasks = [
        TaskRecord(
            name=task.name,
            wrote=task.result is not None,
            error=None if task.error is None else describe_error(task.error),
            interrupts=[
                PauseRecord(pause_id=i.id, payload=i.value if isinstance(i.value, dict) else {"value": i.value})
                for i in task.interrupts
            ],
        )
        for task in snapshot.tasks
    ]
    return CheckpointRecord(
        checkpoint_id=checkpoint_id(snapshot),
        created_at=datetime.fromisoformat(snapshot.created_at),
        step=metadata.get("step"),
        source=metadata.get("source"),
        state=RunState.model_validate(snapshot.values) if has_state(snapshot) else None,
        next=list(snapshot.next),
        tasks=tasks,
    )


def records(history: Iterable[StateSnapshot]) -> Iterator[CheckpointRecord]:
    return (record(snapshot) for snapshot in history)
