"""Starts, decides, retries and reads runs: the one place the CLI, console and API drive the graph from.

The compiled graph (with its checkpointer) is handed in, so each caller compiles it with the
checkpointer it needs. After every step the run index is refreshed from the checkpoint.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import BaseModel, ValidationError

from vetoflow.errors import DecisionConflictError, VetoflowError, describe_validation_error
from vetoflow.graph.context import Context
from vetoflow.nodes.approval import parse_review
from vetoflow.runs.index import DecisionRow, RunIndex, RunRow, already_decided, utcnow
from vetoflow.scenario import Scenario
from vetoflow.state import Review, RunState, RunStatus

log = logging.getLogger(__name__)

StepCallback = Callable[[str, dict[str, Any]], None]


class RunView(BaseModel):
    """Everything known about one run, as plain data."""

    run: RunRow
    state: dict[str, Any]
    pending: dict[str, Any] | None = None
    pause_id: str | None = None
    next_nodes: list[str] = []
    decisions: list[DecisionRow] = []

    @property
    def status(self) -> RunStatus:
        return self.run.status


def derive_status(snapshot: StateSnapshot) -> RunStatus:
    if snapshot.interrupts:
        return "paused"
    if any(task.error for task in snapshot.tasks):
        return "failed"
    if not snapshot.next:
        return "rejected" if snapshot.values.get("outcome") == "rejected" else "completed"
    return "running"


def _config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}}


class RunService:
    def __init__(
        self,
        graph: CompiledStateGraph[RunState, Context, RunState, RunState],
        index: RunIndex,
        context: Context | None = None,
    ) -> None:
        self.graph = graph
        self.index = index
        self.context = context or Context()

    # -- commands -----------------------------------------------------------------------------
    def start(self, scenario: Scenario, *, run_id: str | None = None, on_step: StepCallback | None = None) -> RunView:
        self.context.budget.check(scenario)  # the one size budget: refused before anything is stored
        run_id = run_id or uuid.uuid4().hex[:12]
        state = RunState(run_id=run_id, scenario=scenario).model_dump(mode="json")
        self.index.create(run_id, scenario.name, scenario.investment, state["scenario"])
        return self._advance(run_id, state, on_step, fresh=True)

    def decide(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str = "",
        overrides: dict[str, Any] | None = None,
        on_step: StepCallback | None = None,
    ) -> RunView:
        """Apply one human decision to a paused run. Invalid input or a lost race changes nothing."""
        try:
            review = Review.model_validate(
                {
                    "action": action,
                    "reviewer": reviewer,
                    "comment": comment,
                    "overrides": overrides or {},
                    "decided_at": utcnow().isoformat(timespec="seconds"),
                }
            )
        except ValidationError as exc:
            raise VetoflowError(f"invalid decision:\n{describe_validation_error(exc)}") from None
        snapshot = self._snapshot(run_id)
        if not snapshot.interrupts:
            decisions = self.index.decisions(run_id)
            if decisions:
                status = derive_status(snapshot)
                raise DecisionConflictError(f"{already_decided(run_id, decisions[-1])}; the run is now {status}")
            raise VetoflowError(f"run {run_id} is not waiting for a decision (status: {derive_status(snapshot)})")
        payload = review.model_dump(mode="json")
        _, revised = parse_review(payload, RunState.model_validate(snapshot.values).scenario)  # bad overrides: refused
        if revised is not None:
            self.context.budget.check(revised)
        pause_id = snapshot.interrupts[0].id
        self.index.claim_decision(run_id, pause_id, payload)
        return self._advance(run_id, Command(resume=payload), on_step)

    def retry(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Resume from the last checkpoint: after a failed node, or after a crash mid-graph or mid-decision."""
        if not self.graph.get_state(_config(run_id)).values:  # crashed before its first checkpoint
            self.index.get(run_id)  # RunNotFoundError for an unknown id
            scenario = self.index.scenario_of(run_id)
            if scenario is None:
                raise VetoflowError(f"run {run_id} has no checkpoint and no stored scenario; start it again")
            state = RunState.model_validate({"run_id": run_id, "scenario": scenario}).model_dump(mode="json")
            return self._advance(run_id, state, on_step)
        snapshot = self._snapshot(run_id)
        if snapshot.interrupts:
            claimed = self.index.decision_for(run_id, snapshot.interrupts[0].id)
            if claimed is None:
                raise VetoflowError(f"run {run_id} is paused for a decision; approve, reject or revise it")
            return self._advance(run_id, Command(resume=claimed.payload), on_step)  # crashed mid-decision
        if not snapshot.next:
            raise VetoflowError(f"run {run_id} has already finished ({derive_status(snapshot)}); nothing to retry")
        return self._advance(run_id, None, on_step)

    def run_forked(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Run on a thread whose first checkpoint was just copied in (a replay) and whose index row is new."""
        return self._advance(run_id, None, on_step, fresh=True)

    # -- queries ------------------------------------------------------------------------------
    def view(self, run_id: str) -> RunView:
        return self._view(self.index.get(run_id), self._snapshot(run_id))

    def _view(self, row: RunRow, snapshot: StateSnapshot) -> RunView:
        run_id = row.run_id
        interrupt = snapshot.interrupts[0] if snapshot.interrupts else None
        return RunView(
            run=row,
            state=dict(snapshot.values),
            pending=interrupt.value if interrupt else None,
            pause_id=interrupt.id if interrupt else None,
            next_nodes=list(snapshot.next),
            decisions=self.index.decisions(run_id),
        )

    def list(self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0) -> list[RunRow]:
        return self.index.list_runs(statuses, limit=limit, offset=offset)

    # -- internals ----------------------------------------------------------------------------
    def _snapshot(self, run_id: str) -> StateSnapshot:
        snapshot = self.graph.get_state(_config(run_id))
        if not snapshot.values:
            self.index.get(run_id)  # raises RunNotFoundError with a helpful message
            raise VetoflowError(f"run {run_id} has no checkpoint yet; start it again")
        return snapshot

    def _advance(self, run_id: str, graph_input: Any, on_step: StepCallback | None, *, fresh: bool = False) -> RunView:
        if not fresh:
            self.index.update(run_id, status="running", error=None)
        error: str | None = None
        try:
            for chunk in self.graph.stream(
                graph_input, _config(run_id), context=self.context, stream_mode="updates", durability="sync"
            ):
                for node, update in chunk.items():
                    if on_step and not node.startswith("__"):
                        on_step(node, update or {})
        except Exception as exc:  # the node's error is kept in the index and the checkpoint; retry resumes
            error = f"{type(exc).__name__}: {exc}"
            log.warning("run %s failed: %s", run_id, error)
        return self._refresh_index(run_id, error)

    def _refresh_index(self, run_id: str, error: str | None) -> RunView:
        snapshot = self.graph.get_state(_config(run_id))
        state = RunState.model_validate(snapshot.values)
        status = "failed" if error else derive_status(snapshot)
        fields: dict[str, Any] = {"status": status, "error": error, "revision": state.revision}
        fields["investment"] = state.scenario.investment
        if state.financials:
            fields |= {"roi": state.financials.roi, "downside_roi": state.financials.downside_roi}
            fields["npv"] = state.financials.npv
        if state.decision:
            fields |= {"veto": state.decision.veto, "veto_reason": state.decision.reasons[0]}
        if state.reviews:
            fields |= {"reviewer": state.reviews[-1].reviewer, "last_action": state.reviews[-1].action}
        return self._view(self.index.update(run_id, **fields), snapshot)
