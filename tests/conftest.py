"""Shared fixtures: one `settings` fixture runs a test against SQLite and against PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (override with VETOFLOW_TEST_PG). Each test gets a fresh
database. There is no skip: if the server is unreachable the PostgreSQL tests fail and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from tests.fakes.bedrock_server import BedrockServer, bedrock_server
from vetoflow.config import Settings
from vetoflow.rag.embeddings import LocalEmbeddings, load_embeddings
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from tests.receivers import HookReceiver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "vetoflow" / "examples"
PG_ADMIN_URL = os.environ.get("VETOFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that runs against PostgreSQL carries the `postgres` marker (the fast lane leaves it out)."""
    for item in items:
        if "[postgres" in item.nodeid or "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


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
def home(tmp_path: Path) -> Settings:
    """SQLite only, for tests about a front end rather than the backends (the console, the browser)."""
    return Settings(home=tmp_path / "home", database_url=None)


@pytest.fixture
def service(settings: Settings) -> Iterator[RunService]:
    with open_service(settings) as svc:
        yield svc


def env_for(settings: Settings) -> dict[str, str]:
    """Environment for a `vetoflow` subprocess using the same backend as `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_")}
    env["VETOFLOW_HOME"] = str(settings.home)
    env["VETOFLOW_LLM"] = "offline"  # never reach for real AWS from a developer's machine; tests opt in to Bedrock
    if settings.database_url:
        env["VETOFLOW_DATABASE_URL"] = settings.database_url
    env["COLUMNS"] = "200"
    return env


# -- RAG and AWS fakes (issue 3) ------------------------------------------------------------------
@pytest.fixture(scope="session")
def embeddings() -> LocalEmbeddings:
    """The real packaged model, loaded once per session (seconds on a small CPU)."""
    return load_embeddings(None)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Static fake credentials and a fixed region; no profile files, no instance metadata."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def bedrock(aws_env: None) -> Iterator[BedrockServer]:
    """A loopback Bedrock runtime (Converse wire format); script replies with `server.script`."""
    server = bedrock_server()
    yield server
    server.stop()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HookReceiver]:
    """A real webhook receiver checking signatures made with the secret a policy names as
    `env:VETOFLOW_TEST_HOOK_SECRET` (`tests.receivers.webhook_channel`)."""
    from tests.receivers import HOOK_SECRET, hook_receiver  # imported here: tests.receivers imports this module

    monkeypatch.setenv("VETOFLOW_TEST_HOOK_SECRET", HOOK_SECRET)
    with hook_receiver(HOOK_SECRET.encode()) as hooks:
        yield hooks
