"""`RunService`: the one door to runs. The CLI, console, API, trace and replay call it and nothing else.

It owns the compiled graph (with its checkpointer), the run index and the lineage table, so no front end
reads a checkpoint, builds a LangGraph config or runs SQL. After every step the index is refreshed from
the checkpoint, which stays the source of truth.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace as replace_dataclass
from datetime import datetime
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import ValidationError

from vetoflow.db import Database
from vetoflow.errors import DecisionConflictError, VetoflowError, describe_validation_error
from vetoflow.governance.digest import run_digest
from vetoflow.graph.context import Context
from vetoflow.identity.directory import DEMO_ROLES
from vetoflow.identity.roles import User, grants_for
from vetoflow.llm.base import SummaryClient
from vetoflow.nodes.approval import parse_review
from vetoflow.runs import audit, outbox
from vetoflow.runs.delivery import DeliveryReport, deliver_due
from vetoflow.runs.fork import copy_into_new_thread, find_checkpoint
from vetoflow.runs.gate import Gate
from vetoflow.runs.history import CheckpointRecord, derive_status, records, thread_config
from vetoflow.runs.idempotency import IdempotencyStore
from vetoflow.runs.index import DecisionRow, RunIndex, RunRow, already_decided, utcnow
from vetoflow.runs.lineage import Lineage, ReplayRow, new_row
from vetoflow.runs.sweep import SweepReport, sweep
from vetoflow.runs.views import Replayed, RunView, TraceInputs
from vetoflow.scenario import Scenario, apply_overrides
from vetoflow.state import Review, RunState, RunStatus

log = logging.getLogger(__name__)

StepCallback = Callable[[str, dict[str, Any]], None]
ScenarioCheck = Callable[[Scenario], object]  # raises VetoflowError to refuse
Graph = CompiledStateGraph[RunState, Context, RunState, RunState]


class RunService:
    def __init__(self, graph: Graph, database: Database, context: Context, gate: Gate | None = None) -> None:
        self.graph = graph
        self.database = database
        self.context = context
        self.gate = gate  # approval governance (policy, approvals, deadlines); None only in bare test services
        self.index = RunIndex(database.engine)
        self.lineage = Lineage(database.engine)
        self.idempotency = IdempotencyStore(database.engine)

    def with_context(self, context: Context) -> RunService:
        """The same runs, graph and database, with other clients (e.g. a batch replay's LLM model)."""
        return RunService(self.graph, self.database, context, self.gate)

    def with_synthesizer(self, synthesizer: SummaryClient) -> RunService:
        return self.with_context(replace_dataclass(self.context, synthesizer=synthesizer))

    # -- commands -----------------------------------------------------------------------------
    def start(
        self,
        scenario: Scenario,
        *,
        run_id: str | None = None,
        on_step: StepCallback | None = None,
        requester: str | None = None,
    ) -> RunView:
        run_id = run_id or uuid.uuid4().hex[:12]
        state = RunState(run_id=run_id, scenario=scenario, requester=requester).model_dump(mode="json")
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
        check: ScenarioCheck | None = None,
        user: User | None = None,
        digest: str | None = None,
        via: str = "api",
    ) -> RunView:
        """Apply one human decision to a paused run. Invalid input, a broken policy rule, a digest that no
        longer matches or a lost race changes nothing. An approval short of the tier's count is recorded
        and the run stays paused ("1 of 2"); the approval completing it resumes the run."""
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
        scenario = RunState.model_validate(snapshot.values).scenario
        parse_review(payload, scenario)  # refuse bad overrides up front
        if check is not None and review.overrides:
            check(apply_overrides(scenario, review.overrides))
        pause_id = snapshot.interrupts[0].id
        if self.gate is None:
            self.index.claim_decision(run_id, pause_id, payload)
            return self._advance(run_id, Command(resume=payload), on_step)
        values = dict(snapshot.values)
        self.gate.open_pause(values, pause_id)  # a run paused by the previous release gets its pause now
        acting = user or User(reviewer, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "cli")
        outcome = self.gate.decide(values, pause_id, acting, payload, digest=digest, via=via)
        if not outcome.resume:
            return self.view(run_id)
        return self._advance(run_id, Command(resume=outcome.payload), on_step)

    def retry(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Resume from the last checkpoint: after a failed node, or after a crash mid-graph or mid-decision."""
        if not self.graph.get_state(thread_config(run_id)).values:  # crashed before its first checkpoint
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

    def replay(
        self,
        run_id: str,
        *,
        checkpoint_id: str | None = None,
        from_node: str | None = None,
        overrides: dict[str, Any] | None = None,
        llm_model: str | None = None,
        on_step: StepCallback | None = None,
        check: ScenarioCheck | None = None,
    ) -> Replayed:
        """Fork a saved checkpoint into a new run and run it on; the source run is left untouched.

        Default: from the last time the Forecaster was about to run, i.e. on the scenario (revisions
        included) that produced the run's current figures. Every front end gets this same default.
        """
        source_row = self.index.get(run_id)  # RunNotFoundError for an unknown id
        latest, source = find_checkpoint(
            self.graph.get_state_history(thread_config(run_id)),
            run_id,
            checkpoint_id=checkpoint_id,
            from_node=from_node,
        )
        scenario = RunState.model_validate(source.values).scenario
        if overrides:
            scenario = apply_overrides(scenario, overrides)  # VetoflowError naming the bad key or value
        if check is not None:
            check(scenario)
        saver = self.graph.checkpointer
        if saver is None or isinstance(saver, bool):
            raise VetoflowError("replay needs a graph compiled with a durable checkpointer")
        new_id = uuid.uuid4().hex[:12]
        changed = scenario.model_dump(mode="json") if overrides else None
        source_cp = copy_into_new_thread(saver, source, run_id, new_id, changed)
        node = from_node or next(n for n in source.next if not n.startswith("__"))
        name = f"{source_row.name[:150]} (replay of {run_id})"  # tells replays apart in `vetoflow runs`
        lineage = new_row(run_id, new_id, source_cp, node, overrides=overrides or {}, llm_model=llm_model)
        self.lineage.record_with_run(lineage, name, scenario.investment)
        old = RunView(run=source_row, state=RunState.model_validate(latest.values), next_nodes=list(latest.next))
        return Replayed(old=old, new=self._advance(new_id, None, on_step, fresh=True))

    # -- queries ------------------------------------------------------------------------------
    def view(self, run_id: str) -> RunView:
        return self._view(self.index.get(run_id), self._snapshot(run_id))

    def row(self, run_id: str) -> RunRow:
        """The index row alone: cheap, never reads a checkpoint."""
        return self.index.get(run_id)

    def list(self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0) -> list[RunRow]:
        return self.index.list_runs(statuses, limit=limit, offset=offset)

    def decisions(self, run_id: str) -> builtins.list[DecisionRow]:
        return self.index.decisions(run_id)

    def history(self, run_id: str) -> builtins.list[CheckpointRecord]:
        """The run's checkpoints, oldest first."""
        self.index.get(run_id)
        return list(records(self.graph.get_state_history(thread_config(run_id))))[::-1]

    def trace_inputs(self, run_id: str) -> TraceInputs:
        row = self.index.get(run_id)
        return TraceInputs(
            run=row,
            checkpoints=self.history(run_id),
            decisions=self.index.decisions(run_id),
            forked_from=self.lineage.get(run_id),
            replays=self.lineage.replays_of(run_id),
        )

    def replay_of(self, run_id: str) -> ReplayRow | None:
        return self.lineage.get(run_id)

    def select_for_replay(
        self, *, statuses: Sequence[str] = (), since: datetime | None = None, ids: Sequence[str] | None = None
    ) -> builtins.list[str]:
        """Run ids to replay, oldest first. Replays are not replayed again unless named in `ids`."""
        if ids is not None:
            return list(dict.fromkeys(i for i in ids if i))
        return self.index.select_for_replay(statuses, since)

    # -- internals ----------------------------------------------------------------------------
    def _view(self, row: RunRow, snapshot: StateSnapshot) -> RunView:
        interrupt = snapshot.interrupts[0] if snapshot.interrupts else None
        pending = dict(interrupt.value) if interrupt and isinstance(interrupt.value, dict) else None
        approval = None
        if interrupt is not None and pending is not None:
            pending["digest"] = run_digest(snapshot.values)  # what a decision sends back (governance.digest)
            pause = self.gate.pause(row.run_id, interrupt.id) if self.gate else None
            approval = pause.summary() if pause else None
        return RunView(
            run=row,
            state=RunState.model_validate(snapshot.values),
            pending=pending,
            pause_id=interrupt.id if interrupt else None,
            next_nodes=list(snapshot.next),
            decisions=self.index.decisions(row.run_id),
            approval=approval,
        )

    def _snapshot(self, run_id: str) -> StateSnapshot:
        snapshot = self.graph.get_state(thread_config(run_id))
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
                graph_input, thread_config(run_id), context=self.context, stream_mode="updates", durability="sync"
            ):
                for node, update in chunk.items():
                    if on_step and not node.startswith("__"):
                        on_step(node, update or {})
        except Exception as exc:  # the node's error is kept in the index and the checkpoint; retry resumes
            error = f"{type(exc).__name__}: {exc}"
            log.error("run %s failed: %s", run_id, error, exc_info=exc)
        return self._refresh_index(run_id, error)

    def _refresh_index(self, run_id: str, error: str | None) -> RunView:
        snapshot = self.graph.get_state(thread_config(run_id))
        state = RunState.model_validate(snapshot.values)
        status: RunStatus = "failed" if error else derive_status(snapshot)
        fields: dict[str, Any] = {"status": status, "error": error, "revision": state.revision}
        fields["investment"] = state.scenario.investment
        if state.financials:
            fields |= {"roi": state.financials.roi, "downside_roi": state.financials.downside_roi}
            fields["npv"] = state.financials.npv
        if state.decision:
            fields |= {"veto": state.decision.veto, "veto_reason": state.decision.reasons[0]}
        if state.reviews:
            fields |= {"reviewer": state.reviews[-1].reviewer, "last_action": state.reviews[-1].action}
        row = self.index.update(run_id, **fields)
        if self.gate is not None:
            self._governance_events(snapshot, status, error)
        return self._view(row, snapshot)

    def _governance_events(self, snapshot: StateSnapshot, status: RunStatus, error: str | None) -> None:
        """Open the pause (which tells the approvers), or say that the run completed or failed."""
        assert self.gate is not None
        values = dict(snapshot.values)
        if status == "paused":
            self.gate.open_pause(values, snapshot.interrupts[0].id)
        elif status in ("completed", "failed"):
            details = {"error": error} if error else {}
            self.gate.run_event(f"run.{status}", values, actor="system", via="system", details=details)

    # -- governance records -----------------------------------------------------------------
    def audit_export(self, fmt: str, since: str | None = None) -> Iterator[str]:
        """The hash-chained audit log, oldest first, as jsonl or csv chunks (`since`: ISO UTC text)."""
        return audit.export(self.database.engine, fmt, since)

    def audit_verify(self) -> audit.Verdict:
        return audit.verify(self.database.engine)

    def notifications(self, run_id: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        return outbox.listing(self.database.engine, run_id, limit)

    def deliver_notifications(self) -> DeliveryReport:
        """Try every notification that is due now (see runs.delivery)."""
        if self.gate is None:
            raise VetoflowError("this service has no approval gate")
        return deliver_due(self.database.engine, self.gate.settings, clock=self.gate.clock)

    def sweep(self) -> SweepReport:
        """Reminders, escalations and expiries that are due (governance.sweep); expired runs end rejected."""
        if self.gate is None:
            raise VetoflowError("this service has no approval gate")

        def resume(run_id: str, payload: dict[str, Any]) -> None:
            self._advance(run_id, Command(resume=payload), None)

        return sweep(self.gate, lambda run_id: dict(self._snapshot(run_id).values), resume)
