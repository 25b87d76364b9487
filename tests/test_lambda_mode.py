"""Lambda mode: detected from LAMBDA_TASK_ROOT; only /tmp is writable and SQLite is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vetoflow.config import LAMBDA_HOME, SQLITE_ON_LAMBDA, Settings
from vetoflow.errors import VetoflowError
from vetoflow.runs.store import open_service


def test_sqlite_on_lambda_is_refused_with_the_documented_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("VETOFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("VETOFLOW_HOME", raising=False)
    settings = Settings()
    assert settings.home == LAMBDA_HOME
    with pytest.raises(VetoflowError) as info, open_service(settings):
        pass
    assert str(info.value) == SQLITE_ON_LAMBDA
    assert "VETOFLOW_DATABASE_URL=postgresql://" in SQLITE_ON_LAMBDA


def test_refused_before_anything_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    home = tmp_path / "home"
    with pytest.raises(VetoflowError), open_service(Settings(home=home)):
        pass
    assert not home.exists()


def test_sqlite_on_lambda_allowed_only_when_explicitly_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("VETOFLOW_ALLOW_SQLITE_ON_LAMBDA", "true")
    with open_service(Settings(home=tmp_path)) as service:
        assert service.list() == []


def test_postgres_on_lambda_is_accepted(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    with open_service(Settings(home=tmp_path, database_url=postgres_url)) as service:
        assert service.list() == []


def test_cli_prints_the_refusal_cleanly(tmp_path: Path) -> None:
    env = {"LAMBDA_TASK_ROOT": "/var/task", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "vetoflow", "runs"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 1
    assert "Refusing to keep runs in SQLite on AWS Lambda" in result.stderr
    assert "Traceback" not in result.stderr
