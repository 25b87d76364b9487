"""`vetoflow ui` alone (open: no logins, loopback) against DNS rebinding and other sites' pages (issue 12/13):
the same Host and Origin checks as `serve`, no cross-origin grants, and no approval of a vetoed run without
its confirmation question. Real HTTP on loopback against a launched console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console_helpers import free_port
from vetoflow import ui
from vetoflow.config import Settings
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # a launched server


@dataclass
class OpenConsole:
    url: str
    port: int
    service: RunService


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenConsole]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None)
    with open_service(settings) as service:
        port = free_port()
        server = ui.launch(service, settings, port=port, prevent_thread_lock=True)
        try:
            yield OpenConsole(f"http://127.0.0.1:{port}", port, service)
        finally:
            server.close()


def call(
    url: str, endpoint: str, data: list[Any], headers: dict[str, str] | None = None, session: str | None = None
) -> httpx.Response | str:
    """One call through Gradio's HTTP API, as curl makes it: the refusal, or the text of the finished answer.
    Calls giving the same `session` share one browser session (decisions act on the run it opened)."""
    body: dict[str, Any] = {"data": data} | ({"session_hash": session} if session else {})
    with httpx.Client(base_url=url, timeout=60) as http:
        posted = http.post(f"/gradio_api/call/{endpoint}", json=body, headers=headers or {})
        if posted.status_code != 200:
            return posted
        streamed = http.get(f"/gradio_api/call/{endpoint}/{posted.json()['event_id']}", headers=headers or {})
    finals = [line[len("data:") :] for line in streamed.text.splitlines() if line.startswith("data:")]
    return json.dumps(json.loads(finals[-1]))


def test_a_rebound_host_is_refused_and_records_nothing(console: OpenConsole, vetoed: Scenario) -> None:
    run_id = console.service.start(vetoed).run.run_id
    rebound = {"Host": f"evil.example:{console.port}", "Origin": f"http://evil.example:{console.port}"}
    answer = call(console.url, "approve", [run_id, "rebound"], rebound)
    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("invalid Host header")
    assert "access-control-allow-origin" not in answer.headers
    page = httpx.get(f"{console.url}/", headers={"Host": "evil.example"}, timeout=30)
    assert page.status_code == 400
    assert console.service.view(run_id).status == "paused"
    assert console.service.view(run_id).decisions == []


def test_another_sites_page_is_refused_and_granted_nothing(console: OpenConsole, vetoed: Scenario) -> None:
    run_id = console.service.start(vetoed).run.run_id
    foreign = {"Origin": "http://evil.example"}
    answer = call(console.url, "reject", [run_id, "from another site"], foreign)
    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 403
    assert "cross-site request refused" in answer.json()["error"]
    read = httpx.get(f"{console.url}/config", headers=foreign, timeout=30)
    assert read.status_code == 200  # a page may be fetched, but the browser is not allowed to show it to evil.example
    assert "access-control-allow-origin" not in read.headers
    assert "access-control-allow-credentials" not in read.headers
    preflight = httpx.options(
        f"{console.url}/gradio_api/call/reject",
        headers=foreign | {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=30,
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert console.service.view(run_id).decisions == []


def test_approve_over_http_only_asks_and_the_confirmation_needs_the_question(
    console: OpenConsole, vetoed: Scenario
) -> None:
    run_id = console.service.start(vetoed).run.run_id
    call(console.url, "open_run", [run_id], session="operator")
    asked = call(console.url, "approve", [run_id, "strategic bet"], session="operator")
    assert isinstance(asked, str)
    assert "Overrule the veto?" in asked
    assert "2,500,000 USD" in asked
    call(console.url, "open_run", [run_id], session="another")
    unasked = call(console.url, "confirm_approve", [run_id, "strategic bet"], session="another")  # never asked
    assert isinstance(unasked, str)
    assert "Nothing to confirm" in unasked
    assert console.service.view(run_id).status == "paused"
    assert console.service.view(run_id).decisions == []


def test_the_consoles_own_page_still_decides(console: OpenConsole, vetoed: Scenario, tmp_path: Path) -> None:
    """Same-site Origin and loopback Host: the two steps of an overrule, in one session, record the approval."""
    from gradio_client import Client

    from tests.console_helpers import overrule_veto

    run_id = console.service.start(vetoed).run.run_id
    own = {"Origin": console.url}
    rejected_id = console.service.start(vetoed).run.run_id
    call(console.url, "open_run", [rejected_id], own, session="own-page")
    rejected = call(console.url, "reject", [rejected_id, "too thin"], own, session="own-page")
    assert isinstance(rejected, str)
    assert "reject recorded" in rejected
    for host in (f"localhost:{console.port}", f"127.0.0.1:{console.port}"):
        assert httpx.get(f"{console.url}/config", headers={"Host": host}, timeout=30).status_code == 200
    out = overrule_veto(Client(f"{console.url}/", verbose=False, download_files=str(tmp_path)), run_id, "worth it")
    assert "approve recorded" in out[0]
    assert [(d.action, d.comment) for d in console.service.view(run_id).decisions] == [("approve", "worth it")]
