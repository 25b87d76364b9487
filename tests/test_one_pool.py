"""A process reaches its database through one pool, sized by VETOFLOW_DB_POOL_SIZE: the run index
(SQLAlchemy), the checkpoints (LangGraph) and, on PostgreSQL, the job queue (procrastinate) borrow from it."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import PG_ADMIN_URL
from vetoflow.config import Settings
from vetoflow.db.engine import open_engine
from vetoflow.db.job_queue import JobQueue
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario


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
