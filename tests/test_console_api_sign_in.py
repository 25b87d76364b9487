"""With logins, no route of the console's Gradio API answers without a session, its heartbeat stream included
(it answered 200 and held the connection open for anyone). Both mounts: `serve` at /console and `vetoflow ui`
at /. The app in-process (TestClient); a stream is judged by its status, never read to its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.api_support import TOKENS
from tests.console_helpers import ANA, USERS
from vetoflow import ui
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.runs.store import open_service


@contextmanager
def console(home: Settings, mount: str, users: str | None = USERS) -> Iterator[tuple[TestClient, str]]:
    """The console as `serve` (at /console) or `vetoflow ui` (at /) mounts it, and the prefix of its routes."""
    update = {"ui_users": SecretStr(users) if users else None, "api_tokens": SecretStr(TOKENS) if users else None}
    settings = home.model_copy(update=update)
    with open_service(settings) as service:
        if mount == "serve":
            built = ui.build_console(service, settings)
            app, prefix = create_app(settings, service=service, console=built, bind_host="127.0.0.1"), "/console"
        else:
            app, prefix = ui.console_app(service, settings, host="127.0.0.1"), ""
        with TestClient(app, base_url="http://127.0.0.1") as http:
            yield http, prefix


@pytest.mark.parametrize("mount", ["serve", "ui"])
def test_without_a_session_the_heartbeat_and_every_other_gradio_api_route_is_refused(
    home: Settings, mount: str
) -> None:
    with console(home, mount) as (http, prefix):
        with http.stream("GET", f"{prefix}/gradio_api/heartbeat/anything") as heartbeat:
            assert heartbeat.status_code == 401
            assert heartbeat.headers["content-type"] == "application/json"  # Gradio's own refusal, not a stream
            heartbeat.read()
            assert heartbeat.json()["detail"]["error"] == "Not authenticated"
        for method, route in [("GET", "startup-events"), ("GET", "app_id"), ("POST", "reset"), ("POST", "cancel")]:
            answer = http.request(method, f"{prefix}/gradio_api/{route}", json={})
            assert (route, answer.status_code) == (route, 401)
        assert http.get(f"{prefix}/theme.css").status_code == 200  # the sign-in page itself still renders


@pytest.mark.parametrize("mount", ["serve", "ui"])
def test_a_signed_in_browser_keeps_its_heartbeat(home: Settings, mount: str) -> None:
    with console(home, mount) as (http, prefix):
        signed_in = http.post(f"{prefix}/login", data={"username": ANA[0], "password": ANA[1]})
        assert signed_in.json() == {"success": True}
        with http.stream("GET", f"{prefix}/gradio_api/heartbeat/anything") as heartbeat:
            assert heartbeat.status_code == 200
            assert heartbeat.headers["content-type"].startswith("text/event-stream")


def test_an_open_console_on_loopback_needs_no_session_for_its_heartbeat(home: Settings) -> None:
    with (
        console(home, "ui", users=None) as (http, prefix),
        http.stream("GET", f"{prefix}/gradio_api/heartbeat/anything") as heartbeat,
    ):
        assert heartbeat.status_code == 200
