"""A users file means named users from the moment it exists: emptied, it lets nobody in and never brings back
the demo logins; `--open` and the CLI's acting user go through it like every other front end."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from tests.cli_support import invoke, refused
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.directory import Directory
from vetoflow.runs.store import open_service

DEMO_TOKEN = "demo-token-0123456789"


def emptied_users_file(home: Path) -> Path:
    """What `vetoflow users remove` leaves after the last user: a users file without users."""
    for args in (["add", "ana", "--role", "approver", "--no-password"], ["remove", "ana"]):
        result = CliRunner().invoke(cli, ["--home", str(home), "users", *args])
        assert result.exit_code == 0, result.output
    return home / "users.yaml"


def test_an_empty_users_file_at_start_lets_nobody_in_and_ignores_the_demo_settings_loudly(
    home: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    emptied_users_file(home.home)
    settings = home.model_copy(update={"api_tokens": SecretStr(f"{DEMO_TOKEN}:bo"), "ui_users": SecretStr("bo:pw")})
    directory = Directory.from_settings(settings)
    assert "VETOFLOW_UI_USERS / VETOFLOW_API_TOKENS are ignored" in caplog.text
    assert "has no users: nobody is let in until one is added" in caplog.text
    assert not directory.demo
    assert directory.by_token(DEMO_TOKEN) is None
    assert directory.login("bo", "pw") is None
    with pytest.raises(VetoflowError, match="--reviewer bo: no such user"):
        directory.reviewer("bo")
    with open_service(settings) as service:
        assert service.gate is not None
        assert not service.gate.policy.tiers[0].requester_may_approve, "the built-in policy keeps four-eyes"


def test_the_cli_refuses_any_reviewer_while_the_users_file_is_empty(home: Settings) -> None:
    emptied_users_file(home.home)
    refused(invoke(home, "comment", "run1", "-m", "hi", "--reviewer", "bo"), 1, "--reviewer bo: no such user")
