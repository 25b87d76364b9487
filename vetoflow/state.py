"""The typed shared state every node reads, and the records nodes write into it.

Nodes read a validated `RunState` and return partial updates as plain JSON data
(`model.model_dump(mode="json")`), so checkpoints never hold Python objects.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vetoflow.scenario import Scenario

# `stalled`: the index says running but no executor holds a live lease (the process died); retry resumes it.
RunStatus = Literal["queued", "running", "stalled", "paused", "completed", "rejected", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("queued", "running", "stalled", "paused", "completed", "rejected", "failed")
ReviewAction = Literal["approve", "reject", "revise"]


class Band(BaseModel):
    """P10/P50/P90 per period."""

    p10: list[float]
    p50: list[float]
    p90: list[float]


ForecastMethod = Literal["monte_carlo", "exponential_smoothing", "endpoint"]


class Distribution(BaseModel):
    """Percentiles and mean of one outcome over the simulated paths."""

    p5: float
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    p95: float
    mean: float


class Histogram(BaseModel):
    """Fixed-size histogram for charts: `counts[i]` paths fall in [edges[i], edges[i + 1])."""

    edges: list[float]
    counts: list[int]


class Outcomes(BaseModel):
    """Compact summary of the per-path outcomes (the paths themselves are never kept in state)."""

    paths: int
    investment: float = Field(description="The investment these outcomes were computed for.")
    discount_rate: float = Field(description="The discount rate these outcomes were computed for.")
    npv: Distribution
    roi: Distribution
    total_profit: Distribution
    irr: Distribution | None = Field(
        default=None,
        description="Over every path: those without a single IRR rank by their NPV (a losing one as -100%, a "
        "winning one with the best IRR), so the median beats the discount rate exactly when the median NPV is "
        "positive.",
    )
    irr_missing_share: float = Field(description="Share of paths with no IRR (no profit at all, or several roots).")
    loss_probability: float = Field(description="P(NPV < 0).")
    roi_threshold: float
    roi_below_threshold: float = Field(description="P(ROI < roi_threshold).")
    expected_shortfall: float = Field(description="Mean NPV of the worst 10% of paths.")
    payback_p50: float | None = Field(default=None, description="Median payback; None when most paths never pay back.")
    never_payback_share: float
    npv_histogram: Histogram


class TornadoBar(BaseModel):
    """One input moved down (`low`) and up (`high`), and the median NPV at each end."""

    input: str = Field(description="`discount_rate` or `segments.<name>.<field>`, as `revise` names it.")
    low: float
    high: float
    npv_low: float
    npv_high: float
    swing: float


class Sensitivity(BaseModel):
    """Tornado analysis: bars ranked by swing in median NPV, widest first."""

    npv_p50: float
    bars: list[TornadoBar]


class Forecast(BaseModel):
    method: ForecastMethod
    periods: int
    paths: int
    seed: int
    segments: dict[str, Band]
    segment_methods: dict[str, str] = Field(default_factory=dict)
    revenue: Band
    profit: Band
    outcomes: Outcomes | None = Field(
        default=None, description="Per-path outcomes; None for band-only forecasters and runs of older releases."
    )
    sensitivity: Sensitivity | None = Field(default=None, description="Tornado; None where outcomes are None.")


FinancialsMethod = Literal["per_period_bands", "path_wise"]


class Financials(BaseModel):
    """Headline figures. `path_wise`: percentiles over simulated paths; `per_period_bands`: the older method
    (sums of per-period percentiles), kept for runs of older releases and band-only forecasters."""

    method: FinancialsMethod = "per_period_bands"
    investment: float
    profit_p50: float
    profit_p10: float
    roi: float
    downside_roi: float
    npv: float
    payback_period: float | None = Field(description="Periods until cumulative profit covers the investment.")
    loss_probability: float | None = Field(default=None, description="P(NPV < 0) over the simulated paths.")
    npv_p10: float | None = None
    npv_p90: float | None = None
    irr: float | None = Field(default=None, description="Median IRR per period over paths that have one.")
    irr_missing_share: float | None = None
    expected_shortfall: float | None = Field(default=None, description="Mean NPV of the worst 10% of paths.")
    never_payback_share: float | None = None


class RuleOutcome(BaseModel):
    """One veto rule as measured: `measured` is None when this forecast cannot give its figure."""

    rule: str
    measured: float | None
    limit: float
    veto: bool
    text: str


class Decision(BaseModel):
    """The Accountant's verdict. `veto` sends the run to a human. `threshold`/`measured` are the first rule's."""

    veto: bool
    policy: str
    threshold: float
    measured: float
    reasons: list[str]
    rules: list[RuleOutcome] = Field(default_factory=list, description="Each rule of the policy, as measured.")


class Review(BaseModel):
    """A human decision on a paused run, as recorded in state and shown in its history."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    reviewer: str = Field(min_length=1, max_length=120)
    comment: str = Field(default="", max_length=4000)
    overrides: dict[str, Any] = Field(default_factory=dict)
    decided_at: str | None = None
    digest: str | None = Field(default=None, description="What the approver was shown (governance.digest).")
    approved_by: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="On an approval that completed a multi-approval tier: every approver who counted, in order.",
    )

    @property
    def approvers(self) -> str:
        """'bo and cy' for a two-person approval, else the reviewer."""
        return " and ".join(self.approved_by or [self.reviewer])


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


class PlausibilityFlag(BaseModel):
    """An input far outside sensible ranges (risk/plausibility.py): shown to the approver and recorded."""

    code: str
    message: str


class Revision(BaseModel):
    """One `revise` at a pause: who changed what, and the figures and verdict the change replaced."""

    revision: int = Field(description="The revision number the change produced.")
    reviewer: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    comment: str = ""
    before: Financials | None = None
    vetoed: bool = Field(description="The Accountant had vetoed the figures this revise replaced.")
    reasons: list[str] = Field(default_factory=list, description="Why the run was waiting for a human then.")


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
    plausibility: list[PlausibilityFlag] = Field(
        default_factory=list, description="Inputs far outside sensible ranges; a flagged run waits for a human."
    )
    revisions: Annotated[list[Revision], operator.add] = Field(
        default_factory=list, description="Each revise at a pause, oldest first (the sticky veto reads it)."
    )
    inherited_veto: str | None = Field(
        default=None,
        max_length=400,
        description="A replay with changed inputs of a vetoed run carries its veto: it waits for a human.",
    )
    lineage_authors: dict[str, str] = Field(
        default_factory=dict,
        description="A replay's inherited authors: who started or revised the runs it replays (transitively), "
        "and which run; four-eyes keeps them from approving it (governance.rules.replayed_authors).",
    )

    @property
    def vetoed_once(self) -> bool:
        """The Accountant vetoed this run at some revision (now, or before a revise)."""
        if (self.decision and self.decision.veto) or any(r.vetoed for r in self.revisions) or self.inherited_veto:
            return True
        # older releases paused only on a veto and kept no revision records: a revise there followed a veto
        return not self.revisions and any(r.action == "revise" for r in self.reviews)

    @property
    def revised_at_pause(self) -> bool:
        """A human revised the run at a pause; runs of older releases only have the review to show it."""
        return bool(self.revisions) or any(r.action == "revise" for r in self.reviews)
