"""Worker heartbeats by host, so `vetoflow worker --healthcheck` judges the workers of its own machine.

procrastinate's heartbeat rows carry only an id: a container's health check could count only the
cluster's live workers, and a frozen worker stayed healthy while another machine's was alive. Each
worker also beats here under its host name, from the same event loop as procrastinate's beat, so a
frozen or hung worker goes silent here too. Times are the database's (`now()`), whichever host asks.
PostgreSQL only, like the workers.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError

from vetoflow.config import Settings
from vetoflow.db.engine import open_engine
from vetoflow.db.tables import worker_beats_table as beats
from vetoflow.errors import VetoflowError, database_unreachable

FORGET_AFTER = timedelta(days=1)  # rows of workers killed without a goodbye are dropped after this


def _since(seconds: float) -> object:
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)


class WorkerBeats:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, host: str, name: str) -> str:
        """A row for this worker process (its key is returned); rows silent for a day are dropped."""
        key = f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        row = {"worker_key": key, "host": host, "name": name[:120], "pid": os.getpid()}
        with self.engine.begin() as conn:
            conn.execute(delete(beats).where(beats.c.last_heartbeat < _since(FORGET_AFTER.total_seconds())))
            conn.execute(insert(beats).values(**row, started_at=func.now(), last_heartbeat=func.now()))
        return key

    def beat(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(beats).where(beats.c.worker_key == key).values(last_heartbeat=func.now()))

    def forget(self, key: str) -> None:
        """A worker that stops cleanly leaves no row behind."""
        with self.engine.begin() as conn:
            conn.execute(delete(beats).where(beats.c.worker_key == key))

    def alive(self, host: str, within: float, name: str | None = None) -> int:
        """Workers on `host` (named `name`, if given) that beat in the last `within` seconds."""
        query = select(func.count()).where(beats.c.host == host, beats.c.last_heartbeat >= _since(within))
        if name is not None:
            query = query.where(beats.c.name == name)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def alive_on(settings: Settings, host: str, name: str | None = None) -> int:
    """`WorkerBeats.alive` on a short-lived engine, for a health check that runs as its own process."""
    try:
        with open_engine(settings) as engine:
            return WorkerBeats(engine).alive(host, settings.worker_stalled_after, name)
    except OperationalError as exc:
        raise database_unreachable(exc) from None
    except ProgrammingError:
        raise VetoflowError("no worker heartbeat table (run `vetoflow db upgrade`)") from None
