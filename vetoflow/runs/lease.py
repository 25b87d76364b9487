"""Run leases: whoever executes a run holds a lease, renewed while it works, so a crash is recognisable.

A command, an API request or a worker takes the lease (one UPDATE that succeeds only when nobody holds a
live one) before driving the graph, renews it every third of its time to live from the process's
ticker thread (runs/ticker.py), and gives it back with the index refresh that ends the step. A process
killed with SIGKILL stops renewing: once the lease expires the run lists as `stalled`, and `retry` (or
any executor) takes it over. Concurrent retries therefore run the graph once; the others are told the
run is busy. An executor whose renewal finds the lease gone stops (fencing.py).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, or_, select, update

from vetoflow.clock import aware, utcnow
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.db.tables import runs_table
from vetoflow.errors import RunBusyError, RunNotFoundError
from vetoflow.fencing import Fence, Reachability
from vetoflow.runs.index import lease_is_free
from vetoflow.runs.ticker import Ticker, default_ticker


def new_owner() -> str:
    """Names the executor in the row (host, process, a random tag): shown when a run is busy."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    def __init__(self, engine: Engine, ttl: float, ticker: Ticker | None = None) -> None:
        self.engine = engine
        self.ttl = ttl
        self.ticker = ticker or default_ticker()
        self.database = Reachability()  # what the renewals learn of the database, for every fence of this process

    def expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.ttl)

    def fresh(self) -> tuple[str, datetime]:
        """A lease for a row about to be created and executed by this process: (owner, expiry)."""
        return new_owner(), self.expiry()

    def acquire(self, run_id: str, owner: str) -> None:
        """Take the run's lease and mark it running; RunBusyError while another executor's lease is live."""
        now = utcnow()
        query = (
            update(runs_table)
            .where(runs_table.c.run_id == run_id, or_(lease_is_free(now), runs_table.c.lease_owner == owner))
            .values(lease_owner=owner, lease_expires_at=self.expiry(), status="running", error=None, updated_at=now)
        )
        with self.engine.begin() as conn:
            taken = conn.execute(query).rowcount == 1
            if taken:
                return
            row = conn.execute(
                select(runs_table.c.lease_owner, runs_table.c.lease_expires_at).where(runs_table.c.run_id == run_id)
            ).first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r} (list runs with: vetoflow runs)")
        until = aware(row.lease_expires_at).strftime("%H:%M:%S UTC")
        raise RunBusyError(
            f"run {run_id} is being executed by {row.lease_owner} (lease renewed until {until}); "
            "wait for it to finish, or retry after the lease expires if that process died"
        )

    def renew(self, run_id: str, owner: str) -> bool:
        query = (
            update(runs_table)
            .where(runs_table.c.run_id == run_id, runs_table.c.lease_owner == owner)
            .values(lease_expires_at=self.expiry())
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def release_in(self, conn: Connection, run_id: str, owner: str) -> bool:
        """Give the lease back now, in the caller's transaction, if `owner` still holds it (a hand-back)."""
        query = (
            update(runs_table)
            .where(runs_table.c.run_id == run_id, runs_table.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        return conn.execute(query).rowcount == 1

    @contextmanager
    def held(self, run_id: str, owner: str, *, acquired: bool = False) -> Iterator[Fence]:
        """Hold the lease for the block, renewing it in the background (released by the index refresh).

        The fence yielded says whether it is still held: a renewal finding another owner (or none) marks
        it lost and stops renewing."""
        # Made before taking the lease: the local expiry is never later than the row's.
        fence = Fence(run_id, owner, self.ttl, database=self.database)
        if not acquired:
            self.acquire(run_id, owner)

        def renew() -> None:
            started = self.database.asking()
            try:
                held = self.renew(run_id, owner)
            except DATABASE_ERRORS:
                fence.renewal_failed()  # so a lapse reads as the outage it is (503), not as a takeover (409)
                raise  # the ticker logs it and tries again at the next beat
            fence.renewed(held, started)
            if fence.lost:
                beat.cancel()

        beat = self.ticker.every(self.ttl / 3, renew)
        try:
            yield fence
        finally:
            beat.cancel()  # a beat already under way is harmless: it renews only while `owner` holds the lease
