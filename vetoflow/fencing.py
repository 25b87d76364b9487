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


class Fence:
    """What this process knows of its lease: lost when a renewal found another owner (or none), expired when
    no renewal succeeded for the lease time less a margin (the process was paused, or the database away)."""

    def __init__(self, run_id: str, owner: str, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.run_id, self.owner, self.ttl, self.clock = run_id, owner, ttl, clock
        self.renewed_at = clock()
        self.lost = False
        self.unreachable = False  # the latest renewal could not reach the database

    def renewed(self, held: bool, started: float) -> None:
        """A renewal issued at `started` (monotonic) found the lease `held` or not."""
        self.unreachable = False
        if not held:
            self.lost = True
        elif started > self.renewed_at:
            self.renewed_at = started

    def renewal_failed(self) -> None:
        """A renewal could not reach the database: a lapse before the next one succeeds is the outage's doing."""
        self.unreachable = True

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
