"""`RunService.decide`: one human decision on a paused run, through the approval gate.

Split from runs/service.py; `RunService` inherits it. The gate checks the rules (and applies a deadline
that passed first); this part validates the decision, records it, and resumes the run when it is decided.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from langgraph.types import Command
from pydantic import ValidationError

from vetoflow.clock import utcnow
from vetoflow.errors import (
    DecisionConflictError,
    RunBusyError,
    RunStateError,
    VetoflowError,
    describe_validation_error,
)
from vetoflow.identity.directory import DEMO_ROLES
from vetoflow.identity.roles import User, grants_for
from vetoflow.nodes.approval import parse_review
from vetoflow.runs import comments as thread_store
from vetoflow.runs.execution import CarriesRuns, StepCallback
from vetoflow.runs.gate import DeadlinePassedError
from vetoflow.runs.history import derive_status
from vetoflow.runs.index import already_decided
from vetoflow.runs.settling import Settling
from vetoflow.runs.views import RunView
from vetoflow.state import Review, RunState

if TYPE_CHECKING:
    from vetoflow.context import Context
    from vetoflow.runs.queueing import JobDispatcher


class Deciding(Settling, CarriesRuns):
    """Mixed into `RunService`, which provides the attributes and methods declared here."""

    context: Context
    dispatcher: JobDispatcher | None

    if TYPE_CHECKING:

        def view(self, run_id: str) -> RunView: ...

        def resume_pending(self, run_id: str, on_step: StepCallback | None = None) -> RunView: ...

    def decide(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str = "",
        overrides: dict[str, Any] | None = None,
        on_step: StepCallback | None = None,
        user: User | None = None,
        digest: str | None = None,
        via: str = "api",
    ) -> RunView:
        """Apply one human decision to a paused run. Invalid input, a broken policy rule, a digest that no
        longer matches or a lost race changes nothing, except that a lost race keeps its comment in the
        run's thread (marked as such). An approval short of the tier's count is recorded and the run stays
        paused ("1 of 2"); the approval completing it resumes the run."""
        try:
            return self._decide(
                run_id, action, reviewer=reviewer, comment=comment, overrides=overrides, on_step=on_step,
                user=user, digest=digest, via=via,
            )  # fmt: skip
        except DecisionConflictError:
            if comment.strip():
                author = user.name if user else reviewer
                thread_store.add(self.database.engine, run_id, author, comment, via=via, lost_race=True, action=action)
            raise

    def decide_once(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str = "",
        overrides: dict[str, Any] | None = None,
        user: User | None = None,
        digest: str | None = None,
        via: str = "api",
    ) -> RunView:
        """`decide` under an API Idempotency-Key: the repeat of a decision whose first try failed after it was
        recorded (a 503: the database went away while the run carried on) finds it recorded for the same pause
        and carries the run on, instead of a 409 and a lost-race comment from the very reviewer who decided."""
        if self._repeats_last_decision(run_id, action, reviewer, comment, overrides):
            return self.carry_on(run_id)
        return self.decide(
            run_id, action, reviewer=reviewer, comment=comment, overrides=overrides, user=user, digest=digest, via=via
        )

    def _repeats_last_decision(
        self, run_id: str, action: str, reviewer: str, comment: str, overrides: dict[str, Any] | None
    ) -> bool:
        """The run's last decision is this one (same reviewer, action, comment and overrides), made on the pause
        the run still stands at or has left (a later pause would need a new decision)."""
        decisions = self.index.decisions(run_id)
        if not decisions:
            return False
        last = decisions[-1]
        if (last.reviewer, last.action, last.comment) != (reviewer, action, comment):
            return False
        if (last.payload.get("overrides") or {}) != (overrides or {}):
            return False
        snapshot = self._snapshot(run_id)
        return not snapshot.interrupts or snapshot.interrupts[0].id == last.pause_id

    def carry_on(self, run_id: str) -> RunView:
        """A repeated request (an Idempotency-Key) for a run its first try began: carried on as far as it goes,
        or, in queue mode or while its first executor still holds it, answered as it stands."""
        if self.dispatcher:
            return self.view(run_id)
        try:
            return self.resume_pending(run_id)
        except RunBusyError:  # its first executor (or a retry) still carries it
            return self.view(run_id)

    def _decide(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str,
        overrides: dict[str, Any] | None,
        on_step: StepCallback | None,
        user: User | None,
        digest: str | None,
        via: str,
    ) -> RunView:
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
            raise RunStateError(f"run {run_id} is not waiting for a decision (status: {derive_status(snapshot)})")
        payload = review.model_dump(mode="json")
        scenario = RunState.model_validate(snapshot.values).scenario
        _, revised = parse_review(payload, scenario)  # bad overrides: refused before anything is recorded
        if revised is not None:
            self.context.budget.check(revised)
        pause_id = snapshot.interrupts[0].id
        if self.gate is None:
            self.index.claim_decision(run_id, pause_id, payload)
            resume = payload
        else:
            values = dict(snapshot.values)
            self.gate.open_pause(values, pause_id)  # a run paused by the previous release gets its pause now
            acting = user or User(reviewer, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "cli")
            try:
                outcome = self.gate.decide(values, pause_id, acting, payload, digest=digest, via=via)
            except DeadlinePassedError:  # the deadline expired the pause just now: the run ends as the sweep's would
                self._resume_decided(run_id, on_step)
                raise
            if not outcome.resume:
                return self.view(run_id)
            resume = outcome.payload
        if self.dispatcher:
            return self._enqueue(run_id, "decide")
        return self._advance(run_id, lambda: Command(resume=resume), on_step)

    def _resume_decided(self, run_id: str, on_step: StepCallback | None) -> None:
        """Carry on a run whose pause was closed without a human (its deadline): hand it to the workers, or
        resume it here unless another process already is."""
        if self.dispatcher:
            self._enqueue(run_id, "decide")
            return
        with contextlib.suppress(RunBusyError):
            self.resume_pending(run_id, on_step)
