"""How `RunService` turns a checkpoint into what front ends read: the view, and the index row refreshed
from the checkpoint after every step, with its events and governance records.

Split from runs/service.py; `RunService` inherits it. The checkpoint stays the source of truth: the row,
the settled event and the pause's governance records are all derived from it here, in one place.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langgraph.types import StateSnapshot
from pydantic import ValidationError

from vetoflow.errors import LeaseLostError, VetoflowError
from vetoflow.governance.digest import run_digest
from vetoflow.nodes.approval import pause_request, why_waiting
from vetoflow.pause import PauseRequest
from vetoflow.runs import comments as thread_store
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.events import SETTLED, EventBatch
from vetoflow.runs.history import derive_status, has_state, thread_config
from vetoflow.runs.index import RunRow
from vetoflow.runs.views import RunView
from vetoflow.state import RunState, RunStatus

if TYPE_CHECKING:
    from vetoflow.db import Database
    from vetoflow.graph import Graph
    from vetoflow.runs.events import RunEvents
    from vetoflow.runs.gate import Gate
    from vetoflow.runs.index import RunIndex

log = logging.getLogger(__name__)


def read_request(run_id: str, payload: dict[str, Any], state: RunState, digest: str) -> PauseRequest | None:
    """The pause's stored payload as `PauseRequest`, with `digest`. A payload that does not read (written by a
    release this one cannot parse) is built again from the run's state, so the run stays shown and decidable."""
    try:
        return PauseRequest.model_validate({**payload, "digest": digest})
    except ValidationError as exc:
        log.warning("run %s: its pause payload does not read (%s); shown from its state instead", run_id, exc)
    if state.financials is None or state.decision is None:
        return None
    error = payload.get("error")
    rebuilt = pause_request(state).model_dump(mode="json", exclude_unset=True)
    extra = {"digest": digest} | ({"error": error} if isinstance(error, str) else {})
    return PauseRequest.model_validate(rebuilt | extra)


class Settling:
    """Mixed into `RunService`, which provides the attributes declared here."""

    graph: Graph
    database: Database
    gate: Gate | None
    index: RunIndex
    events: RunEvents

    def _view(
        self,
        row: RunRow,
        snapshot: StateSnapshot,
        state: RunState | None = None,
        comments: list[CommentRow] | None = None,
    ) -> RunView:
        """`state` and `comments`: the snapshot's values validated and the run's thread, when the caller has them."""
        interrupt = snapshot.interrupts[0] if snapshot.interrupts else None
        state = state or RunState.model_validate(snapshot.values)
        # a decision is claimed at a pause and lands in state.reviews: with neither, there is none to read
        decisions = self.index.decisions(row.run_id) if interrupt is not None or state.reviews else []
        # The one place that says whether a pause still waits for a human: the checkpoint keeps its interrupt
        # until an executor resumes the run, but once a decision is recorded on it the pause is closed.
        resumes_with = next((d for d in decisions if interrupt and d.pause_id == interrupt.id), None)
        waiting = interrupt is not None and resumes_with is None and isinstance(interrupt.value, dict)
        pending = None
        if waiting and interrupt is not None:  # with what a decision sends back (governance.digest)
            pending = read_request(row.run_id, interrupt.value, state, run_digest(snapshot.values))
        approval, rule = None, None
        if interrupt is not None and self.gate:  # open, or decided and waiting to be carried on
            pause = self.gate.pause(row.run_id, interrupt.id)
            approval = pause.summary() if pause else None
            rule = pause.rule if pause is not None and pause.status == "open" and waiting else None
        if interrupt is None and state.reviews and self.gate:  # finished: the approvals it was decided with
            closed = self.gate.last_pause(row.run_id)
            approval = closed.summary() if closed else None
        return RunView(
            run=row,
            state=state,
            pending=pending,
            pause_id=interrupt.id if interrupt else None,
            resumes_with=resumes_with,
            next_nodes=list(snapshot.next),
            decisions=decisions,
            approval=approval,
            approval_rule=rule,
            comments=thread_store.thread(self.database.engine, row.run_id) if comments is None else comments,
        )

    def _snapshot(self, run_id: str) -> StateSnapshot:
        snapshot = self.graph.get_state(thread_config(run_id))
        if not has_state(snapshot):
            self.index.get(run_id)  # raises RunNotFoundError with a helpful message
            raise VetoflowError(f"run {run_id} has no checkpoint yet; start it again")
        return snapshot

    def _give_back(self, run_id: str, owner: str) -> None:
        """Release a lease taken for nothing (a refused resume); the row says what the checkpoint says."""
        snapshot = self.graph.get_state(thread_config(run_id))
        status: RunStatus = derive_status(snapshot) if has_state(snapshot) else "failed"
        with self.database.engine.begin() as conn:
            self.index.update_held(conn, run_id, owner, lease_owner=None, lease_expires_at=None, status=status)

    def refresh(
        self,
        run_id: str,
        error: str | None,
        *,
        owner: str | None,
        announce: bool = True,
        events: EventBatch | None = None,
    ) -> RunView:
        """Rewrite the run's index row from its checkpoint and give back the lease, in one transaction with
        the events still held (`events`, from the steps just run) and the settled event.

        Only while `owner` holds the lease (None, a repair: while nobody does); otherwise nothing is written
        and LeaseLostError says so: the run's end is recorded once, by whoever holds it."""
        snapshot = self.graph.get_state(thread_config(run_id))
        state = RunState.model_validate(snapshot.values)
        status: RunStatus = "failed" if error else derive_status(snapshot)
        fields: dict[str, Any] = {"status": status, "error": error, "revision": state.revision}
        fields |= {"lease_owner": None, "lease_expires_at": None}  # the lease goes back with the refresh
        fields["investment"] = state.scenario.investment
        if state.financials:
            fields |= {"roi": state.financials.roi, "downside_roi": state.financials.downside_roi}
            fields |= {"npv": state.financials.npv, "loss_probability": state.financials.loss_probability}
        if state.decision:
            waiting = why_waiting(state) if status == "paused" else []  # a flag or a sticky veto, in plain words
            fields |= {"veto": state.decision.veto, "veto_reason": (waiting or state.decision.reasons)[0]}
        fields["plausibility"] = [flag.model_dump(mode="json") for flag in state.plausibility]
        if state.reviews:
            fields |= {"reviewer": state.reviews[-1].reviewer, "last_action": state.reviews[-1].action}
        batch = events or self.events.batch(run_id)
        batch.settle()  # before the transaction: a ticker write would wait on it
        with self.database.engine.begin() as conn:
            row = self.index.update_held(conn, run_id, owner, **fields)
            if row is None:
                holder = f"{owner} no longer holds its lease" if owner else "an executor holds its lease now"
                raise LeaseLostError(f"run {run_id}: {holder}; its row was left to the holder")
            if announce and status != "stalled" and status in SETTLED:
                detail = {"error": error} if error else {"reason": row.veto_reason} if status == "paused" else {}
                batch.add(status, **detail)
                if self.gate is not None and status in ("completed", "failed"):  # with the row that says so
                    details = {"error": error} if error else {}
                    event, values = f"run.{status}", dict(snapshot.values)
                    self.gate.run_event(event, values, actor="system", via="system", details=details, conn=conn)
            batch.flush(conn)
            comments = thread_store.thread(conn, run_id)  # for the view, without another round trip
        if self.gate is not None and status == "paused":  # idempotent: opened (and announced) once per pause
            self.gate.open_pause(dict(snapshot.values), snapshot.interrupts[0].id)
        return self._view(row, snapshot, state, comments)
