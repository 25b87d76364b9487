"""A database written by the first release upgrades in place; its paused runs stay listed and decidable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.db.engine import open_engine
from vetoflow.db.migrate import MIGRATIONS, current_revision
from vetoflow.db.migrations import HEAD
from vetoflow.runs import deadlines
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.trace import build_trace

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SQLITE_PAUSED = {"c3810327a83a", "426e62d7a0d0", "5af2955ff4b7"}
POSTGRES_PAUSED = {"4ae729c51cde", "639d87a3d696"}


def release1_sqlite(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(FIXTURES / "release1.sqlite", home / "vetoflow.db")
    return Settings(home=home, database_url=None)


def release1_postgres(tmp_path: Path, url: str) -> Settings:
    loaded = subprocess.run(
        ["psql", "--quiet", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(FIXTURES / "release1_postgres.sql")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    return Settings(home=tmp_path / "home", database_url=url)


def version_of(settings: Settings) -> str | None:
    with open_engine(settings) as engine, engine.connect() as conn:
        return current_revision(conn)


def test_head_names_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_release1_sqlite_upgrades_in_place_and_its_paused_runs_are_decided(tmp_path: Path) -> None:
    settings = release1_sqlite(tmp_path)
    assert version_of(settings) is None  # the first release kept no schema version
    with open_service(settings) as service:
        assert version_of(settings) == HEAD
        assert {row.run_id for row in service.list(["paused"])} == SQLITE_PAUSED
        assert service.view("c3810327a83a").state.retrieval is None  # paused before evidence came first
        approved = service.decide("c3810327a83a", "approve", reviewer="ana", comment="strategic bet")
        rejected = service.decide("426e62d7a0d0", "reject", reviewer="bo")
        revised = service.view("5af2955ff4b7")
        assert [(d.reviewer, d.action) for d in revised.decisions] == [("ana", "revise")]
        assert revised.state.scenario.investment == 2_000_000
        approved_revision = service.decide("5af2955ff4b7", "approve", reviewer="bo")
        replay = build_trace(service.trace_inputs("84b0b3ec6665"))
    assert approved.status == "completed"
    assert approved.state.summary is not None
    assert approved.state.retrieval is not None, "the Synthesizer searched itself for an old checkpoint"
    assert rejected.status == "rejected"
    assert approved_revision.status == "completed"
    assert replay.forked_from is not None
    assert replay.forked_from.source_run_id == "744ef9740fc4"


@pytest.mark.postgres
def test_release1_postgres_upgrades_in_place_and_its_paused_runs_are_decided(tmp_path: Path, postgres_url: str) -> None:
    settings = release1_postgres(tmp_path, postgres_url)
    assert version_of(settings) is None
    with open_service(settings) as service:
        assert version_of(settings) == HEAD
        assert {row.run_id for row in service.list(["paused"])} == POSTGRES_PAUSED
        views = [service.decide(run_id, "approve", reviewer="ana") for run_id in sorted(POSTGRES_PAUSED)]
        completed = service.view("08fffb93715e")
    assert [v.status for v in views] == ["completed", "completed"]
    assert completed.status == "completed"


@pytest.mark.slow
def test_concurrent_starters_on_a_new_database_migrate_it_once(settings: Settings) -> None:
    env = env_for(settings)
    command = [sys.executable, "-m", "vetoflow", "db", "upgrade"]
    starters = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in starters]
    assert [p.returncode for p in starters] == [0, 0, 0], [err.decode() for _, err in outputs]
    assert sum(b"upgraded from" in out for out, _ in outputs) == 1
    assert version_of(settings) == HEAD
    with open_engine(settings) as engine, engine.connect() as conn:
        assert {"vetoflow_runs", "vetoflow_decisions", "vetoflow_idempotency", "vetoflow_replays"} <= set(
            inspect(conn).get_table_names()
        )
        assert conn.execute(text("SELECT count(*) FROM vetoflow_alembic_version")).scalar() == 1


def test_version_row_is_kept_apart_from_an_applications_own_alembic(settings: Settings) -> None:
    with open_service(settings):
        pass
    with open_engine(settings) as engine, engine.connect() as conn:
        assert not inspect(conn).has_table("alembic_version")
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            assert conn.execute("SELECT version_num FROM vetoflow_alembic_version").fetchone() == (HEAD,)


def test_runs_paused_by_the_first_release_get_a_tier_and_a_deadline_at_the_first_sweep(tmp_path: Path) -> None:
    settings = release1_sqlite(tmp_path)
    with open_service(settings) as service:
        assert service.view("c3810327a83a").approval is None  # paused before pauses were recorded
        report = service.sweep()
        assert set(report.adopted) == SQLITE_PAUSED
        adopted = service.view("c3810327a83a")
        assert adopted.approval is not None
        assert (adopted.approval.tier, adopted.approval.status) == ("default", "open")
        assert adopted.approval.due_at > "2026-01-01"
        assert {item.run.run_id for item in service.inbox()} >= SQLITE_PAUSED
        assert service.sweep().adopted == [], "adopted once"
        assert service.decide("c3810327a83a", "approve", reviewer="ana").status == "completed"


def test_an_expiry_recorded_before_a_crash_is_finished_by_the_next_sweep(settings: Settings, vetoed: Scenario) -> None:
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
        gate = service.gate
        assert gate is not None
        late = gate.clock() + timedelta(days=8)  # past the built-in tier's 7 days
        gate.clock = lambda: late
        pause_id = service.view(run_id).pause_id
        assert pause_id is not None
        assert deadlines.act(gate, run_id, pause_id, service.view(run_id).state.model_dump()) == "expired"
        assert service.view(run_id).status == "paused", "the process died here: recorded, not resumed"
        assert run_id not in service.sweep().resumed, "within a lease of the expiry its own sweep may still resume it"
        later = late + timedelta(minutes=5)
        gate.clock = lambda: later
        report = service.sweep()
        assert run_id in report.resumed
        finished = service.view(run_id)
        assert finished.status == "rejected"
        assert finished.state.reviews[-1].reviewer == "system"
