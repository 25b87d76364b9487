"""The typed shared state every node reads, and the records nodes write into it.

Nodes read a validated `RunState` and return partial updates as plain JSON data
(`model.model_dump(mode="json")`), so checkpoints never hold Python objects.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vetoflow.scenario import Scenario

RunStatus = Literal["running", "paused", "completed", "rejected", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "paused", "completed", "rejected", "failed")
ReviewAction = Literal["approve", "reject", "revise"]


class Band(BaseModel):
    """P10/P50/P90 per period."""

    p10: list[float]
    p50: list[float]
    p90: list[float]


ForecastMethod = Literal["monte_carlo", "exponential_smoothing", "endpoint"]


class Forecast(BaseModel):
    method: ForecastMethod
    periods: int
    paths: int
    seed: int
    segments: dict[str, Band]
    segment_methods: dict[str, str] = Field(default_factory=dict)
    revenue: Band
    profit: Band


class Financials(BaseModel):
    investment: float
    profit_p50: float
    profit_p10: float
    roi: float
    downside_roi: float
    npv: float
    payback_period: float | None = Field(description="Periods until cumulative P50 profit covers the investment.")


class Decision(BaseModel):
    """The Accountant's verdict. `veto` sends the run to a human."""

    veto: bool
    policy: str
    threshold: float
    measured: float
    reasons: list[str]


class Review(BaseModel):
    """A human decision on a paused run, as recorded in state and shown in its history."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    reviewer: str = Field(min_length=1, max_length=120)
    comment: str = Field(default="", max_length=4000)
    overrides: dict[str, Any] = Field(default_factory=dict)
    decided_at: str | None = None
    digest: str | None = Field(default=None, description="What the approver was shown (governance.digest).")


class Source(BaseModel):
    """One retrieved chunk, cited in the summary as [ref]."""

    ref: int
    source: str
    title: str
    page: int | None = None
    chunk: int
    score: float
    text: str


class Retrieval(BaseModel):
    """What the knowledge base returned for this run, and which embedding model produced it."""

    query: str
    embedding_model: str
    collection: str
    sources: list[Source] = Field(default_factory=list)
    warning: str | None = Field(default=None, description="Why nothing was retrieved (no store, empty store).")


class Summary(BaseModel):
    text: str
    model: str
    offline: bool
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float | None = Field(default=None, description="Estimated from the configured price table.")
    region: str | None = None
    grounding: list[str] = Field(
        default_factory=list, description="Numbers in the text that match none of the run's figures."
    )


class RunState(BaseModel):
    run_id: str
    scenario: Scenario
    revision: int = 0
    requester: str | None = Field(default=None, description="The user who started the run (four-eyes).")
    forecast: Forecast | None = None
    financials: Financials | None = None
    decision: Decision | None = None
    reviews: Annotated[list[Review], operator.add] = Field(default_factory=list)
    retrieval: Retrieval | None = None
    summary: Summary | None = None
    outcome: Literal["completed", "rejected"] | None = None
