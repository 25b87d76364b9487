"""The read side of `RunService` and its governance records: listings, history, trace inputs, audit.

Split from runs/service.py so the command side (start, decide, retry, replay under a lease) stays
readable; `RunService` inherits these and is still the one door front ends use.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from vetoflow.db.login_failures import SharedLoginThrottle
from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import User, require
from vetoflow.runs import audit, audit_check, outbox
from vetoflow.runs import comments as thread_store
from vetoflow.runs.audit_check import Anchor, Verdict
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.delivery import DeliveryReport, deliver_due
from vetoflow.runs.events import SETTLED, RunEvent
from vetoflow.runs.history import CheckpointRecord, records, thread_config
from vetoflow.runs.inbox import InboxItem, change_marker, inbox_items, run_marker
from vetoflow.runs.inbox import currencies as run_currencies
from vetoflow.runs.index import DecisionRow, RunRow
from vetoflow.runs.lineage import ReplayRow
from vetoflow.runs.listing import ListingQueries
from vetoflow.runs.retention import PruneReport
from vetoflow.runs.retention import prune as prune_runs
from vetoflow.runs.views import TraceInputs

if TYPE_CHECKING:
    from vetoflow.db import Database
    from vetoflow.graph import Graph
    from vetoflow.runs.events import RunEvents
    from vetoflow.runs.gate import Gate
    from vetoflow.runs.index import RunIndex
    from vetoflow.runs.lineage import Lineage


class RunRecords(ListingQueries):
    """Queries and records over the service's runs; mixed into `RunService`."""

    graph: Graph
    database: Database
    gate: Gate | None
    index: RunIndex
    lineage: Lineage
    events: RunEvents

    # -- queries ------------------------------------------------------------------------------
    def row(self, run_id: str) -> RunRow:
        """The index row alone: cheap, never reads a checkpoint."""
        return self.index.get(run_id)

    def inbox(self, limit: int = 200) -> builtins.list[InboxItem]:
        """The paused runs, newest first, each with its currency, requester, tier, approvals and due time."""
        return inbox_items(self.database.engine, self.index.list_runs(["paused"], limit=limit))

    def currencies(self, run_ids: Sequence[str]) -> dict[str, str]:
        """Each listed run's currency code (one query), so a listing shows money with its currency: runs in
        EUR and USD side by side never read as one amount."""
        return run_currencies(self.database.engine, run_ids) if run_ids else {}

    def change_marker(self) -> str:
        """An opaque token that changes whenever any run or governance record changes (for change polls)."""
        return change_marker(self.database.engine)

    def run_marker(self, run_id: str) -> str:
        """An opaque token that changes whenever this run changes (a step, a decision, an approval, a comment)."""
        return run_marker(self.database.engine, run_id)

    # -- retention ----------------------------------------------------------------------------
    def prune(self, older_than: timedelta, *, dry_run: bool = False, now: datetime | None = None) -> PruneReport:
        """Shrink finished runs older than `older_than` to what trace, replay and audit need (runs/retention.py)."""
        return prune_runs(self.database.engine, older_than, now=now, dry_run=dry_run)

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

    def events_since(self, run_id: str, after: int = 0) -> builtins.list[RunEvent]:
        """The run's progress events with an id above `after`, oldest first (what SSE streams)."""
        return self.events.since(run_id, after)

    def settled_after(self, run_id: str, after: int) -> bool:
        """Nothing more will come unless someone acts: the run has settled (paused, completed, rejected,
        failed) and its settling event is at or before event id `after`. The one test that ends the SSE
        stream and the console's follow of a run."""
        latest = self.events.latest(run_id)
        settled = latest is not None and latest.id <= after and latest.kind in SETTLED
        return settled and self.index.get(run_id).status in SETTLED

    def replay_of(self, run_id: str) -> ReplayRow | None:
        return self.lineage.get(run_id)

    def select_for_replay(
        self, *, statuses: Sequence[str] = (), since: datetime | None = None, ids: Sequence[str] | None = None
    ) -> builtins.list[str]:
        """Run ids to replay, oldest first. Replays are not replayed again unless named in `ids`."""
        if ids is not None:
            return list(dict.fromkeys(i for i in ids if i))
        return self.index.select_for_replay(statuses, since)

    def login_throttle(self) -> SharedLoginThrottle:
        """Failed console sign-ins counted in this database, so every server process and instance throttles
        alike (db.login_failures)."""
        return SharedLoginThrottle(self.database.engine)

    def audit_export(self, fmt: str, since: str | None = None, run_id: str | None = None) -> Iterator[str]:
        """The hash-chained audit log, oldest first, as jsonl or csv chunks (`since`: ISO UTC text; `run_id`:
        one run's entries, which read on their own but are not a chain to verify)."""
        return audit.export(self.database.engine, fmt, since, run_id)

    def audit_verify(self, anchors: Sequence[Anchor] = ()) -> Verdict:
        return audit_check.verify(self.database.engine, anchors)

    def comment(self, run_id: str, user: User, text: str, *, via: str = "api") -> CommentRow:
        """Add to the run's thread (anyone who may comment: viewer and up); recorded in the audit log."""
        require(user, "comment")
        self.index.get(run_id)  # RunNotFoundError for an unknown id
        return thread_store.add(self.database.engine, run_id, user.name, text, via=via)

    def comments(self, run_id: str, user: User | None = None) -> builtins.list[CommentRow]:
        """The run's thread, oldest first (decisions that lost a race included, marked as such)."""
        if user is not None:
            require(user, "read")
        self.index.get(run_id)
        return thread_store.thread(self.database.engine, run_id)

    def notifications(self, run_id: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        return outbox.listing(self.database.engine, run_id, limit)

    def deliver_notifications(self) -> DeliveryReport:
        """Try every notification that is due now (see runs.delivery)."""
        if self.gate is None:
            raise VetoflowError("this service has no approval gate")
        return deliver_due(self.database.engine, self.gate.settings, clock=self.gate.clock)
