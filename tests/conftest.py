"""Shared fixtures: one `settings` fixture runs a test against SQLite and against PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (override with VETOFLOW_TEST_PG). Each test gets a fresh
database. There is no skip: if the server is unreachable the PostgreSQL tests fail and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from vetoflow.config import Settings
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "vetoflow" / "examples"
PG_ADMIN_URL = os.environ.get("VETOFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def profitable() -> Scenario:
    return load_scenario(EXAMPLES / "profitable.yaml")


@pytest.fixture
def vetoed() -> Scenario:
    return load_scenario(EXAMPLES / "vetoed.yaml")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local PostgreSQL server, dropped afterwards."""
    name = f"vetoflow_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} (set VETOFLOW_TEST_PG): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a durable backend; tests using it run once per backend."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Settings(home=tmp_path / "home", database_url=url)
    return Settings(home=tmp_path / "home", database_url=None)


@pytest.fixture
def service(settings: Settings) -> Iterator[RunService]:
    with open_service(settings) as svc:
        yield svc


def env_for(settings: Settings) -> dict[str, str]:
    """Environment for a `vetoflow` subprocess using the same backend as `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_")}
    env["VETOFLOW_HOME"] = str(settings.home)
    if settings.database_url:
        env["VETOFLOW_DATABASE_URL"] = settings.database_url
    env["COLUMNS"] = "200"
    return env
