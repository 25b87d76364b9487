"""Failed console sign-ins in the database: one throttle for every process, server and Lambda instance.

Each process kept its own counts before, so an attacker multiplied the free tries by the number of
instances (Lambda starts one per concurrent request). Counts are keyed as the in-process throttle's
(`user:NAME`, `addr:ADDRESS`), written only on a failure (an upsert) and cleared on a success; a key
silent for `FORGET_AFTER` starts over, and its row is dropped by a later failure. Failed sign-ins are
the only writes, and the back-off caps how fast one name or address can make them.

Every failure is also counted in the process; those counts apply only while the database cannot be asked
(fail closed, never open), and the problem is logged.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, delete, select
from sqlalchemy.exc import SQLAlchemyError

from vetoflow.clock import aware, utcnow
from vetoflow.db.engine import upsert_insert
from vetoflow.db.tables import login_failures_table as failures_table
from vetoflow.identity.throttle import Backoff, LoginThrottle, keys

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(seconds=Backoff().forget_after)  # a key silent this long starts over
SWEEP_EVERY = 100  # failures (per process) between deletions of forgotten rows


class SharedLoginThrottle:
    def __init__(self, engine: Engine, policy: Backoff | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.policy, self.clock = engine, policy or Backoff(), clock
        self.forget_after = timedelta(seconds=self.policy.forget_after)
        # this process's own counts, under the same policy: they apply whenever the database cannot answer
        self.local = LoginThrottle(self.policy, clock=lambda: self.clock().timestamp())
        self._count = itertools.count(1)

    def wait_seconds(self, user: str, address: str | None) -> float:
        now = self.clock()
        wanted = keys(user, address)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(failures_table).where(failures_table.c.key.in_(wanted))).all()
        except SQLAlchemyError as exc:
            log.warning("login throttle: the database cannot be asked (%s); this process's counts apply", exc)
            return self.local.wait_seconds(user, address)
        waits = [self.policy.wait(row.key, row.failures, (now - aware(row.last_at)).total_seconds()) for row in rows]
        return max([0.0, *waits])  # the database's counts: a success or a day's silence anywhere counts here too

    def failed(self, user: str, address: str | None) -> None:
        now = self.clock()
        self.local.failed(user, address)
        table = failures_table
        try:
            with self.engine.begin() as conn:
                for key in keys(user, address):
                    fresh = upsert_insert(self.engine, table).values(key=key, failures=1, last_at=now)
                    counted = case((table.c.last_at < now - self.forget_after, 1), else_=table.c.failures + 1)
                    conn.execute(fresh.on_conflict_do_update(index_elements=[table.c.key], set_={
                        "failures": counted, "last_at": now,
                    }))  # fmt: skip
                if next(self._count) % SWEEP_EVERY == 0:
                    conn.execute(delete(table).where(table.c.last_at < now - self.forget_after))
        except SQLAlchemyError as exc:
            log.warning("login throttle: a failure could not be recorded (%s); this process's counts apply", exc)

    def succeeded(self, user: str) -> None:
        self.local.succeeded(user)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(failures_table).where(failures_table.c.key == keys(user, None)[0]))
        except SQLAlchemyError as exc:
            log.warning("login throttle: a success could not be recorded (%s)", exc)
