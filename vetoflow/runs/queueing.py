"""Queue mode's side of `RunService`: hand a run to the workers, mark it queued or failed, wait for it.

Split from runs/service.py; `RunService` inherits it. Workers call `requeued` and `abandon`, and stop a
run between two nodes by raising `HandBack`; the API's `?wait=true` calls `wait_settled`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from vetoflow.runs.events import SETTLED, EventKind, event_values
from vetoflow.runs.index import RunRow
from vetoflow.runs.views import RunView
from vetoflow.state import RunStatus

if TYPE_CHECKING:
    from vetoflow.db import Database
    from vetoflow.runs.events import EventBatch, RunEvents
    from vetoflow.runs.index import RunIndex
    from vetoflow.runs.lease import Leases

UNSETTLED: frozenset[str] = frozenset({"queued", "running"})
FIRST_LOOK, LATEST_LOOK = 0.05, 0.5  # seconds between a waiter's looks at its run: soon at first, then calmer


class HandBack(BaseException):  # not an Exception: the service must not record it as the run's failure
    """Raised by an `on_step` callback (a draining worker) to stop the run between two nodes.

    The service marks the run queued and gives its lease back at once, so the next worker starts it
    without waiting for the lease to lapse; the caller's job must be run again (a worker's is).
    """


class JobDispatcher(Protocol):
    """Queue mode: hands a run to the workers (vetoflow.db.job_queue.JobQueue)."""

    def submit(self, run_id: str, kind: str) -> int | None: ...

    def live_runs(self, run_ids: Sequence[str]) -> set[str]: ...


class QueueSide:
    """Mixed into `RunService`, which provides the attributes and the two views declared here."""

    database: Database
    index: RunIndex
    events: RunEvents
    leases: Leases
    dispatcher: JobDispatcher | None

    def view(self, run_id: str) -> RunView:
        raise NotImplementedError

    def _queued_view(self, row: RunRow) -> RunView:
        raise NotImplementedError

    async def wait_settled(self, run_id: str, timeout: float) -> RunView:
        """Queue mode, for scripts (`?wait=true`): the run once a worker has paused, ended or failed it, or as
        it stands after `timeout` seconds (then still queued or running). Each look at the run's row runs in
        a worker thread and the time between looks is awaited, so a waiting request holds no thread: a
        server full of waiters still answers everything else."""
        deadline = time.monotonic() + timeout
        pause = FIRST_LOOK
        while (left := deadline - time.monotonic()) > 0:
            await anyio.sleep(min(pause, left))
            if (await anyio.to_thread.run_sync(self.index.get, run_id)).status not in UNSETTLED:
                break
            pause = min(pause * 1.5, LATEST_LOOK)
        return await anyio.to_thread.run_sync(self.view, run_id)

    def requeued(self, run_id: str, why: str) -> None:
        """A worker handed the run back (draining, or its worker died): it waits for the next one."""
        self._mark(run_id, "queued", status="queued", why=why)

    def _hand_back(self, run_id: str, owner: str, why: str, events: EventBatch) -> None:
        """The run stopped after a checkpointed node: queued again and its lease free, with the events held.

        A lease lost meanwhile (it lapsed and someone took the run over) leaves the row to its new owner.
        """
        events.settle()
        with self.database.engine.begin() as conn:
            if self.leases.release_in(conn, run_id, owner):
                self.index.update_in(conn, run_id, status="queued")
                events.add("queued", why=why)
            events.flush(conn)

    def abandon(self, run_id: str, error: str) -> None:
        """Workers keep dying on this run: stop retrying it; `retry` (by a human) still resumes it."""
        self._mark(run_id, "failed", status="failed", error=error)

    def _mark(self, run_id: str, kind: EventKind, *, status: RunStatus, **data: Any) -> RunRow:
        """Set the row's status and record the event that says so, in one transaction."""
        fields = {"status": status} | ({"error": data["error"]} if "error" in data else {})
        with self.database.engine.begin() as conn:
            row = self.index.update_in(conn, run_id, **fields)
            detail = {k: v for k, v in data.items() if v is not None}
            self.events.write(conn, [event_values(run_id, kind, None, detail)])
        return row

    def _unannounced(self, run_id: str) -> bool:
        """Whether carrying the run on must announce how it ends: its newest event is not a settled one (it
        was queued or running, or its executor died before writing the end, perhaps after the last
        checkpoint). Asked under the run's lease, so of two jobs carrying one run on, one announces."""
        latest = self.events.latest(run_id)
        return latest is None or latest.kind not in SETTLED

    def _enqueue(self, run_id: str, kind: str) -> RunView:
        assert self.dispatcher is not None
        row = self._mark(run_id, "queued", status="queued", error=None, job=kind)
        self.dispatcher.submit(run_id, kind)
        return self._queued_view(row)
