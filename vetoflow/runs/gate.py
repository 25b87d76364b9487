"""The approval gate: one row per pause with its tier, the policy in force, the approvals so far and the
deadlines; every decision passes through `decide`, inside one transaction that also writes the final
decision record, the audit entry and the notifications.

Each transaction first touches the pause row (a row lock on PostgreSQL, the write lock on SQLite), so
concurrent approvers are counted one at a time: of 20 approvers on a two-approval pause exactly two are
recorded, and only the one completing the count resumes the run. A pause past its deadline gets the
deadline's action (runs/deadlines.py) before any decision on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.db.tables import pauses_table
from vetoflow.errors import DecisionConflictError, VetoflowError
from vetoflow.governance.digest import run_digest
from vetoflow.governance.policy import Policy, match_tier
from vetoflow.governance.rules import ApprovalRefusedError, Progress, authors_of, check_approval
from vetoflow.identity.roles import User
from vetoflow.runs import audit, deadlines
from vetoflow.runs.governance_events import emit, figures_of, run_info
from vetoflow.runs.pauses import Pause, close, closed_error, decided, load_pause, record_approval

FIGURES_CHANGED = "the figures changed since you opened this run"
MAX_DEADLINES = 25  # a policy has at most 20 tiers and its escalations never loop


class DeadlinePassedError(DecisionConflictError):
    """The pause's deadline passed before this decision and closed it (it expired, or its escalation decided it
    with the approvals already given): nothing of this decision was recorded."""


class _Overdue(Exception):  # noqa: N818 - a signal within the gate, never seen outside it
    def __init__(self, due_at: datetime) -> None:
        self.due_at = due_at


class DigestMismatchError(VetoflowError):
    """The approver saw other figures than the run has now; nothing was recorded (HTTP 409)."""

    exit_code = 6
    http_status = 409


@dataclass(frozen=True)
class Outcome:
    resume: bool
    progress: Progress
    payload: dict[str, Any]


class Gate:
    def __init__(
        self, engine: Engine, policy: Policy, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine, self.policy, self.settings, self.clock = engine, policy, settings, clock
        self.console_url = settings.console_url

    # -- reading ------------------------------------------------------------------------------
    def load(self, conn: Connection, run_id: str, pause_id: str) -> Pause | None:
        return load_pause(conn, run_id, pause_id, self.clock())

    def pause(self, run_id: str, pause_id: str) -> Pause | None:
        with self.engine.connect() as conn:
            return self.load(conn, run_id, pause_id)

    def last_pause(self, run_id: str, conn: Connection | None = None) -> Pause | None:
        """The run's most recent pause, decided or not: who approved a finished run, and under which tier."""
        if conn is None:
            with self.engine.connect() as own:
                return self.last_pause(run_id, own)
        latest = conn.execute(
            select(pauses_table.c.pause_id)
            .where(pauses_table.c.run_id == run_id)
            .order_by(pauses_table.c.opened_at.desc())
            .limit(1)
        ).scalar()
        return self.load(conn, run_id, latest) if latest is not None else None

    def info(self, state: Mapping[str, Any], pause: Pause | None) -> dict[str, Any]:
        if pause is None:
            return run_info(state, self.console_url)
        due = pause.due_at.isoformat(timespec="seconds")
        return run_info(state, self.console_url, tier=pause.tier.name, approvals=pause.progress.label, due_at=due)

    @staticmethod
    def authors(state: Mapping[str, Any], pause: Pause | None = None) -> dict[str, str]:
        """Who wrote the run's figures (four-eyes): its requester and revisers, and a replay's inherited ones."""
        revisers = [str(r["reviewer"]) for r in state.get("revisions") or []]
        revisers += [str(r["reviewer"]) for r in state.get("reviews") or [] if r.get("action") == "revise"]
        requester = pause.requester if pause is not None else state.get("requester")
        return authors_of(requester, revisers, state.get("lineage_authors"))

    # -- pausing ------------------------------------------------------------------------------
    def open_pause(self, state: Mapping[str, Any], pause_id: str, *, via: str = "system") -> Pause:
        """Record the pause under the policy in force now (once; later calls return the same row)."""
        run_id = str(state["run_id"])
        existing = self.pause(run_id, pause_id)
        if existing is not None and existing.recorded_authors is None:  # recorded by the previous release
            with self.engine.begin() as conn:
                where = (pauses_table.c.run_id == run_id, pauses_table.c.pause_id == pause_id)
                conn.execute(update(pauses_table).where(*where).values(authors=json.dumps(self.authors(state))))
            existing = self.pause(run_id, pause_id)
        if existing is not None:
            return existing
        figures = {"investment": state["scenario"]["investment"], **(state.get("financials") or {})}
        tier = match_tier(self.policy, figures, currency=state["scenario"].get("currency", "USD"))
        now = self.clock()
        values = {
            "run_id": run_id, "pause_id": pause_id, "status": "open", "tier": tier.name,
            "policy": json.dumps(self.policy.model_dump(mode="json")), "needed": tier.approvers.count,
            "approvals": 0, "requester": state.get("requester"), "digest": run_digest(state), "opened_at": now,
            "authors": json.dumps(self.authors(state)),
            "due_at": now + timedelta(seconds=tier.due), "reminders_sent": 0, "escalations": 0,
            "next_reminder_at": now + timedelta(seconds=tier.remind_every[0]) if tier.remind_every else None,
        }  # fmt: skip
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(pauses_table).values(**values))
                pause = self.load(conn, run_id, pause_id)
                assert pause is not None
                details = {
                    "reason": (state.get("decision") or {}).get("reasons", [""])[0],
                    "requester": pause.requester,
                }
                emit(conn, "run.paused", self.policy, self.info(state, pause), actor="system", via=via, details=details)
                return pause
        except IntegrityError:  # another process recorded it first
            found = self.pause(run_id, pause_id)
            assert found is not None
            return found

    def run_event(
        self,
        event: str,
        state: Mapping[str, Any],
        *,
        actor: str,
        via: str,
        details: Mapping[str, Any],
        conn: Connection,
    ) -> None:
        """Append the event (and queue its notifications) in `conn`'s transaction, with the row that says so.

        A run that paused carries the tier (and approvals) of its last pause, so channels limited to that tier
        hear how it ended; a run that never paused has no tier."""
        pause = self.last_pause(str(state["run_id"]), conn)
        info = self.info(state, None)
        if pause is not None:
            info |= {"tier": pause.tier.name, "approvals": pause.progress.label}
        emit(conn, event, self.policy, info, actor=actor, via=via, details=details)

    # -- deciding -----------------------------------------------------------------------------
    def lock(self, conn: Connection, run_id: str, pause_id: str) -> Pause:
        where = (pauses_table.c.run_id == run_id, pauses_table.c.pause_id == pause_id)
        conn.execute(update(pauses_table).where(*where).values(approvals=pauses_table.c.approvals))
        pause = self.load(conn, run_id, pause_id)
        if pause is None:
            raise VetoflowError(f"run {run_id} has no recorded pause {pause_id}")
        return pause

    def decide(
        self,
        state: Mapping[str, Any],
        pause_id: str,
        user: User,
        review: dict[str, Any],
        *,
        digest: str | None,
        via: str,
    ) -> Outcome:
        """Check the rules and the digest, record the approval or decision; `resume` says whether to resume.

        A pause past its deadline gets its deadline action first, exactly once, as a sweep would have given it
        (runs/deadlines.py), so no decision depends on when the last sweep ran: an expired pause refuses the
        decision (DeadlinePassedError; its run is to be resumed with the expiry), an escalated one is decided
        under its new tier, and a refusal there says the deadline moved it."""
        run_id = str(state["run_id"])
        moved = ""
        for _ in range(MAX_DEADLINES):
            try:
                return self._decide_once(state, pause_id, user, review, digest=digest, via=via)
            except _Overdue as overdue:
                deadlines.act(self, run_id, pause_id, state, via=via)  # once: it re-checks under the lock
                passed = f"the deadline passed at {overdue.due_at.isoformat(timespec='seconds')}"
                with self.engine.connect() as conn:
                    current = self.load(conn, run_id, pause_id)
                    assert current is not None
                    if current.status != "open" or decided(conn, current):
                        raise DeadlinePassedError(f"{passed}: {closed_error(conn, current)}") from None
                tier = current.tier
                needs = f"{current.needed} approver(s) with the role {' or '.join(tier.approvers.roles)}"
                moved = f"{passed}; the run was escalated to tier {tier.name!r}, which needs {needs}"
                moved += f" ({current.progress.label} so far)"
            except ApprovalRefusedError as refused:
                if not moved:
                    raise
                raise ApprovalRefusedError(f"{moved}: {refused}") from None
        raise VetoflowError(f"run {run_id}: pause {pause_id} is still past its deadline after {MAX_DEADLINES} steps")

    def _decide_once(
        self,
        state: Mapping[str, Any],
        pause_id: str,
        user: User,
        review: dict[str, Any],
        *,
        digest: str | None,
        via: str,
    ) -> Outcome:
        run_id, action, now = str(state["run_id"]), str(review["action"]), self.clock()
        with self.engine.begin() as conn:
            pause = self.lock(conn, run_id, pause_id)
            if pause.status != "open" or decided(conn, pause):
                raise closed_error(conn, pause)
            if pause.due_at <= now:  # nothing is written: the deadline's action goes first, in its own transaction
                raise _Overdue(pause.due_at)
            if digest is not None and digest != pause.digest:
                raise DigestMismatchError(
                    f"{FIGURES_CHANGED} (you saw {digest[:19]}..., the run now shows {pause.digest[:19]}...); "
                    "reload it and decide again; nothing was recorded"
                )
            earlier = pause.progress
            progress = check_approval(
                pause.tier, action, user, authors=self.authors(state, pause) | pause.authors,
                approved_by=earlier.approvers,
                set_aside=earlier.set_aside,
                approved_roles=list({a.reviewer: a.roles for a in reversed(pause.approvals)
                                     if a.reviewer in earlier.approvers}.values()),
            )  # fmt: skip
            payload = {**review, "digest": pause.digest}
            roles = ",".join(sorted(user.roles))
            details = {
                "action": action, "reviewer": user.name, "roles": roles, "comment": review.get("comment", ""),
                "approvals": progress.label, "approved_by": list(progress.approvers),
            }  # fmt: skip
            if progress.set_aside:
                details["set_aside"] = progress.details()
            where = (pauses_table.c.run_id == run_id, pauses_table.c.pause_id == pause_id)
            if action == "approve":
                record_approval(conn, pause, user.name, roles, review.get("comment", ""), via=via, at=now)
                conn.execute(update(pauses_table).where(*where).values(approvals=len(progress.approvers)))
                if not progress.complete:  # recorded and audited; the run stays paused
                    audit.append(
                        conn, "run.approved", run_id=run_id, actor=user.name, via=via, at=now,
                        details={**details, **figures_of(self.info(state, pause)), "digest": pause.digest,
                                 "tier": pause.tier.name},
                    )  # fmt: skip
                    return Outcome(False, progress, payload)
            if action == "approve" and len(progress.approvers) > 1:  # the record names every approver
                payload["approved_by"] = list(progress.approvers)
            close(conn, pause, payload, status="decided", at=now)
            info = self.info(state, pause) | {"approvals": progress.label}
            emit(conn, "run.decided", pause.policy, info, actor=user.name, via=via, at=now, details=details)
            return Outcome(True, progress, payload)
