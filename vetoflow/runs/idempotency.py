"""Idempotency keys for API commands: the same key (per reviewer) gets the first result back.

A key is claimed by inserting a placeholder row (the primary key makes one request the owner); the owner
stores its response when done. A second request with the key waits for that response. A placeholder left
by a crashed process is taken over once it is older than `stale_after` seconds.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vetoflow.clock import aware, utcnow
from vetoflow.db.tables import idempotency_table as keys_table
from vetoflow.errors import DecisionConflictError, VetoflowError


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, engine: Engine, *, wait_seconds: float = 30.0, stale_after: float = 600.0) -> None:
        self.engine = engine
        self.wait_seconds = wait_seconds
        self.stale_after = stale_after

    def claim(self, reviewer: str, key: str, print_: str) -> StoredResponse | None:
        """None: this request owns the key and must `finish` or `release` it. Else: the first result."""
        deadline = time.monotonic() + self.wait_seconds
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

    def release(self, reviewer: str, key: str) -> None:
        """Forget an unfinished claim (the request failed for a reason a retry may not meet)."""
        with self.engine.begin() as conn:
            conn.execute(self._where(delete(keys_table), reviewer, key).where(keys_table.c.status_code.is_(None)))

    @staticmethod
    def _where(query: Any, reviewer: str, key: str) -> Any:
        return query.where(keys_table.c.reviewer == reviewer, keys_table.c.key == key)
