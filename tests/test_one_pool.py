"""A process reaches its database through one pool, sized by VETOFLOW_DB_POOL_SIZE: the run index
(SQLAlchemy), the checkpoints (LangGraph) and, on PostgreSQL, the job queue (procrastinate) borrow from it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import PG_ADMIN_URL
from tests.tcp_proxy import proxied_database
from vetoflow.config import Settings
from vetoflow.db.engine import open_engine
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.db.job_queue import JobQueue
from vetoflow.graph import Context
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

OUTAGE = 8.0  # seconds: past the pool's retries at 0, 1, 3 and 7 s, before the one at 15 s


def connections_to(database_url: str) -> int:
    """Backends connected to that database right now, counted from another database."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_whole_run_goes_through_a_pool_of_one_connection(settings: Settings, vetoed: Scenario) -> None:
    """One connection is enough: nothing holds one connection while it waits for a second (that would
    wait out the checkout timeout here), and nothing connects beside the pool."""
    settings = settings.model_copy(update={"db_pool_size": 1})
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
        assert service.view(run_id).status == "paused"
        done = service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
        assert done.status == "completed"
        assert [row.run_id for row in service.list()] == [run_id]
        replayed = service.replay(run_id, from_node="synthesizer").new
        assert replayed.status == "completed"
        if settings.database_url:
            assert connections_to(settings.database_url) == 1
        else:  # SQLite's checkpointer keeps one connection the engine's pool lent it, and it is the only one out
            assert service.database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    if settings.database_url:
        assert connections_to(settings.database_url) == 0, "closing the service closes the pool"


def test_the_job_queue_defers_on_the_same_pool(postgres_url: str, tmp_path: Path, vetoed: Scenario) -> None:
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, executor="queue", db_pool_size=1)
    with open_service(settings) as service:
        assert isinstance(service.dispatcher, JobQueue)
        run_id = service.start(vetoed).run.run_id
        assert service.view(run_id).status == "queued"
        assert service.dispatcher.live_runs([run_id]) == {run_id}
        assert connections_to(postgres_url) == 1


def test_a_server_notice_is_logged_once_however_often_its_connection_was_lent(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy meets a lent connection as new at every checkout and adds its notice logger each time."""
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, db_pool_size=1)
    with open_engine(settings) as engine:
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        with caplog.at_level(logging.INFO, logger="sqlalchemy.dialects.postgresql"), engine.begin() as conn:
            conn.execute(text("DO $$ BEGIN RAISE NOTICE 'lent five times'; END $$"))
    assert [r.getMessage() for r in caplog.records if "lent five times" in r.getMessage()] == [
        "NOTICE: lent five times"
    ]


@pytest.mark.slow  # an outage outlasting the pool's first reconnection delays
def test_the_first_request_after_an_outage_gets_a_connection_however_long_the_outage_lasted(
    postgres_url: str, tmp_path: Path
) -> None:
    """A pool retries a lost connection with doubling delays: left to psycopg's defaults, an 8 s outage puts its
    next try some 7 s after the server is back, and requests would keep answering 503 well after the outage."""
    with (
        proxied_database(postgres_url) as (proxy, through),
        open_service(Settings(home=tmp_path / "home", database_url=through), Context()) as service,
    ):
        assert service.list() == []
        proxy.cut()
        back_at = time.monotonic() + OUTAGE
        with pytest.raises(DATABASE_ERRORS):  # 503 at the API, after waiting out the checkout timeout
            service.list()
        time.sleep(back_at - time.monotonic())
        proxy.restore()
        assert service.list() == []
