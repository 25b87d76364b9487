"""Idempotency keys for API commands: the same key (per reviewer) gets the first result back.

A key is claimed by inserting a placeholder row (the primary key makes one request the owner); the owner
stores its response when done. A second request with the key waits for that response. A placeholder left
by a crashed process is taken over once it is older than `stale_after` seconds; one its owner could not
release while the database was away is released as soon as the database is back (`release_soon`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vetoflow.clock import aware, utcnow
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.db.tables import idempotency_table as keys_table
from vetoflow.errors import DecisionConflictError, VetoflowError
from vetoflow.runs.ticker import Ticker, default_ticker

RETRY_RELEASE_EVERY = 1.0  # seconds between tries to release a claim while the database is away


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(
        self,
        engine: Engine,
        *,
        wait_seconds: float = 30.0,
        stale_after: float = 600.0,
        ticker: Ticker | None = None,
    ) -> None:
        self.engine = engine
        self.wait_seconds = wait_seconds
        self.stale_after = stale_after
        self.ticker = ticker or default_ticker()
        self._unreleased: dict[tuple[str, str], datetime] = {}  # the claim, and when its owner let it go
        self._retrying = False
        self._lock = threading.Lock()

    def claim(self, reviewer: str, key: str, print_: str) -> StoredResponse | None:
        """None: this request owns the key and must `finish` or `release` it. Else: the first result."""
        deadline = time.monotonic() + self.wait_seconds
        self._release_unreleased()  # a repeat of a request the outage cut short finds its key free
        while True:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(keys_table).values(reviewer=reviewer, key=key, fingerprint=print_, created_at=utcnow())
                    )
                return None
            except IntegrityError:
                pass
            with self.engine.connect() as conn:
                row = conn.execute(self._where(select(keys_table), reviewer, key)).mappings().first()
            if row is None:
                continue  # released in between: try to claim again
            if row["fingerprint"] != print_:
                raise VetoflowError(f"Idempotency-Key {key!r} was already used for a different request")
            if row["status_code"] is not None:
                return StoredResponse(row["status_code"], row["response"])
            if aware(row["created_at"]) < utcnow() - timedelta(seconds=self.stale_after):
                self.release(reviewer, key)  # left behind by a crashed process
                continue
            if time.monotonic() > deadline:
                raise DecisionConflictError(f"a request with Idempotency-Key {key!r} is still in progress")
            time.sleep(0.1)

    def finish(self, reviewer: str, key: str, response: StoredResponse) -> None:
        values = {"status_code": response.status_code, "response": response.body}
        with self.engine.begin() as conn:
            conn.execute(self._where(update(keys_table), reviewer, key).values(**values))

    def release(self, reviewer: str, key: str, *, claimed_by: datetime | None = None) -> None:
        """Forget an unfinished claim (the request failed for a reason a retry may not meet); `claimed_by`:
        only one made by then, not one that took the key over later."""
        query = self._where(delete(keys_table), reviewer, key).where(keys_table.c.status_code.is_(None))
        if claimed_by is not None:
            query = query.where(keys_table.c.created_at <= claimed_by)
        with self.engine.begin() as conn:
            conn.execute(query)

    def release_soon(self, reviewer: str, key: str) -> None:
        """Release now or, the database being away, once it is back: at this process's next claim or within
        RETRY_RELEASE_EVERY, so a repeat (here or at another process) is not told "in progress" until the
        claim goes stale."""
        with self._lock:
            self._unreleased[(reviewer, key)] = utcnow()
        self._release_unreleased()

    @property
    def unreleased(self) -> int:
        """Claims let go while the database was away, still to be released."""
        with self._lock:
            return len(self._unreleased)

    def _release_unreleased(self) -> None:
        with self._lock:
            waiting = sorted(self._unreleased.items())
        try:
            for (reviewer, key), let_go in waiting:
                # a claim gone stale meanwhile may have been taken over: only the one let go is released
                self.release(reviewer, key, claimed_by=let_go)
                with self._lock:
                    self._unreleased.pop((reviewer, key), None)
        except DATABASE_ERRORS:
            with self._lock:
                # tried for as long as the claim lasts: a stale one is anybody's to take over anyway
                given_up = utcnow() - timedelta(seconds=self.stale_after)
                self._unreleased = {claim: at for claim, at in self._unreleased.items() if at >= given_up}
                if self._unreleased and not self._retrying:
                    self._retrying = True
                    self.ticker.after(RETRY_RELEASE_EVERY, self._retry)

    def _retry(self) -> None:
        with self._lock:
            self._retrying = False
        self._release_unreleased()

    @staticmethod
    def _where(query: Any, reviewer: str, key: str) -> Any:
        return query.where(keys_table.c.reviewer == reviewer, keys_table.c.key == key)
