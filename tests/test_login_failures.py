"""A failed sign-in is logged once at WARNING with the user name and the client address, never the password
or token: the console's password form and the API's bearer tokens, over real HTTP on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.api_support import client, live_server
from vetoflow import ui
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.identity.directory import Directory
from vetoflow.identity.passwords import hash_password
from vetoflow.identity.users_file import add_user, new_token
from vetoflow.runs.store import open_service

PASSWORD = "Right-Horse-Battery-42"
WRONG = "Wrong-Staple-Guess-77"


@pytest.fixture
def server(home: Settings) -> Iterator[tuple[str, str]]:
    """`serve` as it runs with a users file: the API and the console at /console; yields (url, ana's token)."""
    users = home.home / "users.yaml"
    home.home.mkdir(parents=True, exist_ok=True)
    add_user(users, "ana", ["approver"], hash_password(PASSWORD))
    token = new_token(users, "ana")
    with open_service(home) as service:
        app = create_app(home, service=service, console=ui.build_console(service, home))
        with live_server(app) as url:
            yield url, token


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_failed_console_login_is_logged_once_with_name_and_address(
    server: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = server
    with caplog.at_level(logging.WARNING), httpx.Client(base_url=url, timeout=30) as http:
        refused = http.post("/console/login", data={"username": "ana", "password": WRONG})
        assert refused.status_code == 400, refused.text
        failed = [line for line in warnings(caplog) if "login failed" in line]
        assert failed == ["login failed for user 'ana' from 127.0.0.1"]
        caplog.clear()
        accepted = http.post("/console/login", data={"username": "ana", "password": PASSWORD})
        assert accepted.status_code == 200, accepted.text
        assert not [line for line in warnings(caplog) if "login" in line], "a good login is no warning"
    assert WRONG not in caplog.text
    assert PASSWORD not in caplog.text


def test_a_refused_api_token_is_logged_with_its_owner_and_address_never_the_token(
    server: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, token = server
    forged = token[:-6] + "AAAAAA"  # ana's token id, a wrong secret
    with caplog.at_level(logging.WARNING):
        with client(url, forged) as http:
            assert http.get("/runs").status_code == 401
        with client(url, "not-a-vetoflow-token") as http:
            assert http.get("/runs").status_code == 401
        with client(url, token) as http:
            assert http.get("/runs").status_code == 200
    token_id = token.split("_")[1]
    assert [line for line in warnings(caplog) if "API login failed" in line] == [
        f"API login failed from 127.0.0.1: token {token_id} of user 'ana'",
        "API login failed from 127.0.0.1: a token that is not a users-file token",
    ]
    assert forged[-20:] not in caplog.text
    assert "not-a-vetoflow-token" not in caplog.text


def test_a_throttled_login_is_logged_as_throttled_not_twice(home: Settings, caplog: pytest.LogCaptureFixture) -> None:
    home.home.mkdir(parents=True, exist_ok=True)
    add_user(home.home / "users.yaml", "ana", ["approver"], hash_password(PASSWORD))
    directory = Directory.from_settings(home)
    with caplog.at_level(logging.WARNING):
        for _ in range(6):
            assert directory.login("ana", WRONG, "10.0.0.9") is None
    lines = [line for line in warnings(caplog) if "ana" in line]
    assert lines == ["login failed for user 'ana' from 10.0.0.9"] * 5 + ["login throttled for user 'ana' from 10.0.0.9"]
    assert WRONG not in caplog.text
