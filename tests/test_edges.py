"""Errors and configuration at the edges: one line per bad setting, statuses beside exit codes, tracebacks kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.helpers import CountingSynthesizer
from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.config import Settings, load_settings
from vetoflow.db.engine import make_engine
from vetoflow.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    DecisionConflictError,
    LeaseLostError,
    LeaseOutageError,
    RunNotFoundError,
    VetoflowError,
)
from vetoflow.graph import Context
from vetoflow.netloc import is_loopback
from vetoflow.runs.index import RunRow
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        (" localhost ", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_one_loopback_answer_for_every_front_end(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_sqlite_path_follows_a_changed_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "a", database_url=None)
    assert settings.sqlite_path == tmp_path / "a" / "vetoflow.db"
    moved = settings.model_copy(update={"home": tmp_path / "b"})
    assert moved.sqlite_path == tmp_path / "b" / "vetoflow.db"


def test_a_malformed_setting_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETOFLOW_DB_POOL_SIZE", "lots")
    with pytest.raises(ConfigurationError, match=r"^invalid setting: VETOFLOW_DB_POOL_SIZE: .*integer") as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(cli, ["runs"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: invalid setting: VETOFLOW_DB_POOL_SIZE")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("error", "exit_code", "http_status"),
    [
        (VetoflowError, 1, 422),
        (ConfigurationError, 1, 422),
        (RunNotFoundError, 5, 404),
        (DecisionConflictError, 6, 409),
        (DatabaseUnavailableError, 10, 503),
        (LeaseOutageError, 10, 503),
        (LeaseLostError, 9, 409),
    ],
)
def test_every_error_carries_its_exit_code_and_http_status(
    error: type[VetoflowError], exit_code: int, http_status: int
) -> None:
    assert (error.exit_code, error.http_status) == (exit_code, http_status)


def test_a_failed_run_is_logged_with_its_traceback(
    settings: Settings, profitable: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    context = Context(synthesizer=CountingSynthesizer(fail_first=1))
    with open_service(settings, context) as service, caplog.at_level(logging.ERROR, logger="vetoflow.runs.service"):
        view = service.start(profitable)
    assert view.status == "failed"
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "synthetic failure" in caplog.text
    assert "Traceback" in caplog.text


def test_an_unreachable_database_is_a_clear_error_and_503_over_http(tmp_path: Path) -> None:
    down = Settings(home=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none", api_open=True)
    app = create_app(down)
    refused = pytest.raises(DatabaseUnavailableError, match="cannot reach PostgreSQL at VETOFLOW_DATABASE_URL")
    with refused, TestClient(app, client=("127.0.0.1", 5000)):
        pass
    settings = Settings(home=tmp_path / "home", database_url=None, api_open=True)
    local = ("127.0.0.1", 5000)
    with open_service(settings) as service, TestClient(create_app(settings, service=service), client=local) as http:
        original = service.index.get

        def broken(run_id: str) -> RunRow:
            raise DatabaseUnavailableError("cannot reach the run database")

        service.index.get = broken  # type: ignore[method-assign]
        try:
            answer = http.get("/runs/abc")
        finally:
            service.index.get = original  # type: ignore[method-assign]
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"  # every 503, however the outage was met
    assert answer.json() == {"error": "cannot reach the run database"}


def test_an_infrastructure_fault_is_a_500_over_http_with_its_traceback_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None, api_open=True)
    local = ("127.0.0.1", 5000)
    with open_service(settings) as service:
        app = create_app(settings, service=service)
        original = service.index.get

        def broken(run_id: str) -> RunRow:
            raise OSError(28, "No space left on device")

        service.index.get = broken  # type: ignore[method-assign]
        try:
            with (
                TestClient(app, client=local, raise_server_exceptions=False) as http,
                caplog.at_level(logging.ERROR, logger="vetoflow.api"),
            ):
                answer = http.get("/runs/abc")
        finally:
            service.index.get = original  # type: ignore[method-assign]
    assert answer.status_code == 500
    assert "invalid" not in answer.json()["error"]
    assert "No space left on device" not in answer.json()["error"]  # the reason stays in the log
    [record] = [r for r in caplog.records if r.name == "vetoflow.api"]
    assert record.exc_info is not None
    assert "No space left on device" in caplog.text


@pytest.mark.parametrize("below", ["", "sub"], ids=["home-is-a-file", "a-file-above-home"])
def test_a_home_that_cannot_be_a_directory_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, below: str
) -> None:
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("not a directory")
    monkeypatch.setenv("VETOFLOW_HOME", str(in_the_way / below) if below else str(in_the_way))
    monkeypatch.delenv("VETOFLOW_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["runs"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid setting: VETOFLOW_HOME: "), result.output
    assert f"{in_the_way} is a file" in result.stderr or "(it is a file)" in result.stderr
    assert in_the_way.read_text() == "not a directory"


def test_an_empty_vetoflow_home_is_refused_not_read_as_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VETOFLOW_HOME", " ")
    monkeypatch.delenv("VETOFLOW_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["runs"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid setting: VETOFLOW_HOME: cannot be empty"), result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no vetoflow.db beside the user's files


def test_a_home_that_cannot_be_created_is_one_line_at_first_use() -> None:
    settings = Settings(home=Path("/proc/vetoflow-home"), database_url=None)  # nobody, root included, can
    with pytest.raises(ConfigurationError, match=r"^VETOFLOW_HOME: cannot create '/proc/vetoflow-home' \("):
        make_engine(settings)
