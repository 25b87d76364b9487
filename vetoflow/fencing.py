"""The fence around one execution of a run: its writes and its LLM call happen only while it holds the lease.

An executor stopped past its lease (SIGSTOP, a long pause, a database outage) may find the run taken over.
Without a fence it would carry on: call the LLM again, checkpoint over the new holder's work and record
the run's end twice. The checkpointer, the progress events and the Synthesizer call `check` first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from vetoflow.errors import LeaseLostError, LeaseOutageError

MARGIN = 1 / 6  # of the lease: renewed every third, one missed renewal still leaves this for the write after a check

_current: ContextVar[Fence | None] = ContextVar("vetoflow_fence", default=None)


class Reachability:
    """What this process's latest lease renewal learned of the database, shared by its fences.

    Renewals go one after another on the process's one ticker, so a renewal left waiting (the pool waits
    seconds for a connection while the server is down) holds up every other lease's too: when one cannot
    get through, none can, and each lapse is the outage's doing rather than a takeover."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failed = False  # the latest renewal could not reach the database
        self.asking_since: float | None = None  # a renewal sent and not answered yet

    def asking(self) -> float:
        self.asking_since = self.clock()
        return self.asking_since

    def answered(self) -> None:
        self.asking_since, self.failed = None, False

    def unanswered(self) -> None:
        self.asking_since, self.failed = None, True

    def lost(self, patience: float) -> bool:
        """The database failed the latest renewal, or has kept it waiting longer than `patience` seconds."""
        asking = self.asking_since
        return self.failed or (asking is not None and self.clock() - asking > patience)


class Fence:
    """What this process knows of its lease: lost when a renewal found another owner (or none), expired when
    no renewal succeeded for the lease time less a margin (the process was paused, or the database away)."""

    def __init__(
        self,
        run_id: str,
        owner: str,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        database: Reachability | None = None,
    ) -> None:
        self.run_id, self.owner, self.ttl, self.clock = run_id, owner, ttl, clock
        self.database = database if database is not None else Reachability(clock)
        self.renewed_at = clock()
        self.lost = False

    @property
    def unreachable(self) -> bool:
        """The renewals cannot reach the database: failed, or unanswered for the margin."""
        return self.database.lost(self.ttl * MARGIN)

    def renewed(self, held: bool, started: float) -> None:
        """A renewal issued at `started` (monotonic) found the lease `held` or not."""
        self.database.answered()
        if not held:
            self.lost = True
        elif started > self.renewed_at:
            self.renewed_at = started

    def renewal_failed(self) -> None:
        """A renewal could not reach the database: a lapse before the next one succeeds is the outage's doing."""
        self.database.unanswered()

    def check(self) -> None:
        if self.lost:
            raise LeaseLostError(f"run {self.run_id}: another executor took it over; {self.owner} stops here")
        idle = self.clock() - self.renewed_at
        if idle > self.ttl * (1 - MARGIN) and self.unreachable:
            raise LeaseOutageError(
                f"run {self.run_id}: the run database could not be reached to renew its lease for {idle:.0f} s (it "
                f"lapses after {self.ttl:.0f} s); {self.owner} stops here. Retry shortly: once the database is "
                "back, `vetoflow retry` resumes it"
            )
        if idle > self.ttl * (1 - MARGIN):
            raise LeaseLostError(
                f"run {self.run_id}: its lease could not be renewed for {idle:.0f} s (it lapses after "
                f"{self.ttl:.0f} s); {self.owner} stops here and `vetoflow retry` resumes it"
            )


@contextmanager
def fenced(fence: Fence) -> Iterator[Fence]:
    """Code under the block (and LangGraph's tasks, which copy the context) is fenced by `fence`."""
    token = _current.set(fence)
    try:
        yield fence
    finally:
        _current.reset(token)


def check(thread_id: object = None) -> None:
    """LeaseLostError when the execution in progress here (of run `thread_id`, if given) lost its lease."""
    fence = _current.get()
    if fence is not None and (thread_id is None or thread_id == fence.run_id):
        fence.check()
