"""A users file means named users from the moment it exists: emptied, it lets nobody in and never brings back
the demo logins; `--open` and the CLI's acting user go through it like every other front end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.cli_support import invoke, refused
from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.cli.serve import check_exposure
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.directory import Directory
from vetoflow.identity.users_file import add_user
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

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


@pytest.fixture
def open_with_users(home: Settings) -> Settings:
    """An open server beside a users file: ana approves, bo starts runs, vi only reads."""
    for name, role in (("ana", "approver"), ("bo", "analyst"), ("vi", "viewer")):
        add_user(home.home / "users.yaml", name, [role], None)
    return home.model_copy(update={"api_open": True})


def decide_anonymously(settings: Settings, run_id: str) -> tuple[int, dict[str, Any]]:
    """An approval from this machine without a token: the answer's status and body."""
    with (
        open_service(settings) as service,
        TestClient(create_app(settings, service=service), client=("127.0.0.1", 5000)) as http,
    ):
        answer = http.post(f"/runs/{run_id}/decision", json={"action": "approve"})
        return answer.status_code, answer.json()


@pytest.mark.parametrize("case", [("ana", 200, ["ana"]), ("vi", 403, []), ("cy", 401, [])], ids=str)
def test_an_open_server_with_users_acts_as_the_local_operator_of_the_users_file(
    open_with_users: Settings, vetoed: Scenario, monkeypatch: pytest.MonkeyPatch, case: tuple[str, int, list[str]]
) -> None:
    operator, status, approved_by = case  # the local operator ($VETOFLOW_REVIEWER), the answer, who approved
    monkeypatch.setenv("VETOFLOW_REVIEWER", operator)
    with open_service(open_with_users) as service:
        run_id = service.start(vetoed, requester="bo").run.run_id
    answered, body = decide_anonymously(open_with_users, run_id)
    assert answered == status, body
    if status == 401:
        assert "local operator 'cy', who is not a user in" in body["error"]
    with open_service(open_with_users) as service:
        approval = service.view(run_id).model_dump(mode="json")["approval"]
    assert approval["approved_by"] == approved_by, "never a fictitious `local` approver"


def test_an_open_server_refuses_its_own_requester_under_four_eyes(
    open_with_users: Settings, vetoed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(open_with_users.home / "users.yaml", "al", ["analyst", "approver"], None)
    monkeypatch.setenv("VETOFLOW_REVIEWER", "al")
    with open_service(open_with_users) as service:
        run_id = service.start(vetoed, requester="al").run.run_id
    answered, body = decide_anonymously(open_with_users, run_id)
    assert answered == 403
    assert "al started this run" in body["error"]


def test_serve_open_refuses_an_operator_missing_from_the_users_file_and_openid_connect(
    open_with_users: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VETOFLOW_REVIEWER", "cy")
    with pytest.raises(VetoflowError, match=r"--open: requests without a token would act as the local operator 'cy'"):
        check_exposure(open_with_users, "127.0.0.1", console=False)
    refused(invoke(open_with_users, "serve", "--open", "--no-console", VETOFLOW_REVIEWER="cy"), 1, "'cy'")
    monkeypatch.setenv("VETOFLOW_REVIEWER", "ana")
    note = check_exposure(open_with_users, "127.0.0.1", console=False)
    assert note == "--open: requests from this machine without a token act as ana (approver), from the users file"
    oidc = open_with_users.model_copy(update={"oidc_issuer": "https://sso.example.test/realms/finance"})
    with pytest.raises(VetoflowError, match="--open: OpenID Connect is configured"):
        check_exposure(oidc, "127.0.0.1", console=False)


def test_the_cli_asks_the_api_s_roles_for_audit_export_notifications_and_retry(home: Settings) -> None:
    for name, role in (("ad", "admin"), ("an", "analyst"), ("vi", "viewer")):
        add_user(home.home / "users.yaml", name, [role], None)
    refused(invoke(home, "audit", "export", "--reviewer", "vi"), 7, "vi (viewer) may not read the audit log")
    refused(invoke(home, "notifications", "--reviewer", "an"), 7, "an (analyst) may not read the audit log")
    refused(invoke(home, "retry", "run1", "--reviewer", "vi"), 7, "vi (viewer) may not start runs")
    refused(invoke(home, "audit", "export", "--reviewer", "ghost"), 1, "--reviewer ghost: no such user")
    assert invoke(home, "audit", "export", "--reviewer", "ad").exit_code == 0
    assert invoke(home, "notifications", "--json", VETOFLOW_REVIEWER="ad").exit_code == 0
    refused(invoke(home, "retry", "run1", "--reviewer", "an"), 5, "no run with id 'run1'")  # let through


def test_without_a_users_file_the_cli_like_the_api_lets_nobody_read_the_audit_log(home: Settings) -> None:
    refused(invoke(home, "audit", "export", "--reviewer", "bo"), 7, "bo (analyst, approver) may not read the audit log")


def test_openid_connect_alone_keeps_four_eyes_in_the_built_in_policy(home: Settings) -> None:
    # people sign in as themselves through the provider: nobody may approve her own run by default
    settings = home.model_copy(update={"oidc_issuer": "https://sso.example.test/realms/finance"})
    with open_service(settings) as service:
        assert service.gate is not None
        assert not service.gate.policy.tiers[0].requester_may_approve
    with open_service(home) as service:
        assert service.gate is not None
        assert service.gate.policy.tiers[0].requester_may_approve, "an open demo has nobody signed in as a person"


def test_a_users_file_named_but_missing_lets_nobody_in_rather_than_the_demo_logins(
    home: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    missing = home.home / "typo" / "users.yaml"
    settings = home.model_copy(update={"users_file": missing, "api_tokens": SecretStr(f"{DEMO_TOKEN}:bo")})
    directory = Directory.from_settings(settings)
    assert f"VETOFLOW_USERS_FILE: {missing} does not exist yet" in caplog.text
    assert directory.by_token(DEMO_TOKEN) is None
    with pytest.raises(VetoflowError, match="--reviewer bo: no such user"):
        directory.reviewer("bo")
