"""A cap on concurrent LLM calls across every process sharing one PostgreSQL (VETOFLOW_LLM_MAX_IN_FLIGHT).

Each call holds one of N session advisory locks `(LLM_SLOTS_KEY, slot)` on its thread's own connection
while it runs; with none free it polls. A process that dies loses its connection and with it its slots,
so a killed worker never leaks quota. Nothing is written: the locks live only in PostgreSQL's memory.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from vetoflow.db.queue import libpq_url
from vetoflow.errors import DatabaseUnavailableError

LLM_SLOTS_KEY = 0x76455446  # the advisory-lock namespace of the slots (first int4 of the key pair)
POLL_SECONDS = 0.02


class LlmSlots:
    def __init__(self, database_url: str, slots: int, poll: float = POLL_SECONDS) -> None:
        self.url, self.slots, self.poll = libpq_url(database_url), slots, poll
        self._local = threading.local()

    def _connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailableError(f"LLM slots: cannot reach PostgreSQL: {exc}") from None
            self._local.conn = conn
        return conn

    def _try(self, conn: psycopg.Connection[Any], slot: int) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LLM_SLOTS_KEY, slot)).fetchone()
        return bool(row and row[0])

    @contextmanager
    def held(self) -> Iterator[int]:
        """Wait for a free slot, hold it for the block, release it (also on error)."""
        conn = self._connection()
        first = random.randrange(self.slots)  # spread the callers over the slots
        try:
            while True:
                slot = next((s for s in _ring(first, self.slots) if self._try(conn, s)), None)
                if slot is not None:
                    break
                time.sleep(self.poll * (0.5 + random.random()))
        except psycopg.OperationalError as exc:
            conn.close()
            raise DatabaseUnavailableError(f"LLM slots: lost PostgreSQL: {exc}") from None
        try:
            yield slot
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LLM_SLOTS_KEY, slot))
            except psycopg.OperationalError:
                conn.close()  # the session is gone, and its lock with it

    def in_use(self) -> int:
        """Slots held right now, by any process (for tests and operators)."""
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::oid AND granted",
                (LLM_SLOTS_KEY,),
            ).fetchone()
        return int(row[0]) if row else 0


def _ring(first: int, size: int) -> Iterator[int]:
    return ((first + i) % size for i in range(size))


_shared: dict[tuple[str, int], LlmSlots] = {}
_shared_lock = threading.Lock()


def llm_slots(database_url: str, slots: int) -> LlmSlots:
    """One LlmSlots per process and setting, so each thread keeps one connection for its calls."""
    with _shared_lock:
        return _shared.setdefault((database_url, slots), LlmSlots(database_url, slots))
