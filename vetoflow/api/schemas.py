"""Request and response bodies of the HTTP API (they are also its published OpenAPI schema)."""

from __future__ import annotations

import math
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vetoflow.graph.names import NodeName
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.index import DecisionRow, RunRow
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario
from vetoflow.state import ReviewAction
from vetoflow.workers.health import QueueFigures


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every error: one message that says what was wrong and what is allowed."""

    error: str


class CreateRunIn(_In):
    """Either an inline scenario, or the path of a scenario file inside the server's scenario folder."""

    scenario: Scenario | None = None
    scenario_path: str | None = Field(
        default=None, max_length=255, description="Relative to the server's scenario folder, e.g. 'vetoed.yaml'."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CreateRunIn:
        if (self.scenario is None) == (self.scenario_path is None):
            raise ValueError("give exactly one of scenario or scenario_path")
        return self


class CommentIn(_In):
    """A comment on a run's thread; the author is the owner of the bearer token, never a body field."""

    text: str = Field(min_length=1, max_length=4000, description="Plain text; shown as written, never as markup.")


class CommentsOut(BaseModel):
    """A run's comment thread, oldest first."""

    run_id: str
    comments: list[CommentRow]


class DecisionIn(_In):
    """A decision on a paused run. The reviewer is the owner of the bearer token, never a body field."""

    action: ReviewAction
    comment: str = Field(default="", max_length=4000)
    digest: str | None = Field(
        default=None,
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="`pending.digest` of the run as you saw it; the decision is refused (409, nothing recorded) "
        "if the figures changed since. Send it: without it the decision binds to whatever the run shows now.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="For revise: {'investment': 800000, 'segments.Retail.margin': 0.2}."
    )


class ReplayIn(_In):
    """Where to fork the replay from and what to change. Default: the last time the Forecaster was about
    to run, i.e. the scenario (revisions included) behind the run's current figures, as `vetoflow replay`."""

    from_node: NodeName | None = Field(
        default=None, description="Replay from the last time this node was about to run."
    )
    checkpoint_id: str | None = Field(default=None, max_length=64, description="Replay from this checkpoint.")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Scenario changes, e.g. {'investment': 800000}; as for revise."
    )

    @model_validator(mode="after")
    def _one_start(self) -> ReplayIn:
        if self.from_node and self.checkpoint_id:
            raise ValueError("give at most one of from_node or checkpoint_id")
        return self


class Links(BaseModel):
    self: str
    history: str
    events: str
    decide: str | None = None


class RunOut(RunView):
    """One run: its index row, its full state, the pending pause (if any), decisions and links."""

    links: Links

    @classmethod
    def of(cls, view: RunView) -> RunOut:
        run_id = view.run.run_id
        decide = f"/runs/{run_id}/decision" if view.pending is not None else None
        links = Links(
            self=f"/runs/{run_id}", history=f"/runs/{run_id}/history", events=f"/runs/{run_id}/events", decide=decide
        )
        return cls(**dict(view), links=links)


class RunList(BaseModel):
    runs: list[RunRow]
    limit: int
    offset: int
    next_cursor: str | None = Field(default=None, description="Send as `cursor` for the next page; null on the last.")


class Step(BaseModel):
    """One checkpoint of a run, oldest first: the trace of what the graph did."""

    checkpoint_id: str
    step: int | None
    source: str | None
    created_at: str | None
    wrote: list[str] = Field(description="Nodes that ran from this checkpoint and wrote a result.")
    next: list[str]


class History(BaseModel):
    run_id: str
    steps: list[Step]
    decisions: list[DecisionRow]


class Health(BaseModel):
    status: str
    embeddings: Literal["loading", "ready", "unavailable"] | None = Field(
        default=None,
        description="The embedding model, when the server loads one in the background: liveness never waits for it.",
    )
    queue: QueueFigures | None = Field(default=None, description="Queue mode, with ?detail=1: the job queue's figures.")


def finite(value: Any) -> Any:
    """Non-finite floats (an overflowed ratio) become null: JSON has no NaN or Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


class SafeJSONResponse(JSONResponse):
    """The API's response class: strict JSON even when a run's figures overflowed."""

    def render(self, content: Any) -> bytes:
        return super().render(finite(content))
