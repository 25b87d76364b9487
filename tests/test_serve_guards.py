"""What `serve` exposes (issue 12, defects 2 and 12): one auth story, trusted hosts and origins, clean 4xx
for NUL, deep nesting and bodies that are not JSON, and a deadline for half-sent requests. Real HTTP on
loopback, and the app in-process (TestClient) for what the guards answer."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api_support import ANA, TOKENS, ApiEnv, LocalApi, ServeProcess, api, client, local_api, scenario
from tests.conftest import ROOT, env_for
from tests.reliability import Tally, tally
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.runs.store import open_service

__all__ = ["api", "local_api", "tally"]

REPEATED = b'{"scenario_path": "vetoed.yaml", "scenario_path": "profitable.yaml"}'
NUL = b'{"scenario_path": "vetoed\\u0000.yaml"}'


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """`vetoflow serve` on 127.0.0.1 with tokens, the console (with logins) and a 1 s read deadline."""
    settings = Settings(home=tmp_path / "home", database_url=None)
    extra = {"VETOFLOW_UI_USERS": "ana:pw-ana-long-enough", "VETOFLOW_REQUEST_READ_TIMEOUT": "1"}
    server = ServeProcess(settings, console=True, extra_env=extra).start()
    yield server
    server.stop()


def test_nul_characters_get_a_400_naming_them(api: ApiEnv, tally: Tally) -> None:
    with client(api.url) as http:
        named = http.post("/runs", json={"scenario": {**scenario("a\x00b")}})
        path = http.get("/runs/abc%00def")
        query = http.get("/runs", params={"status": "paused\x00"})
        raw = http.post("/runs", content=b'{"scenario_path": "vetoed.yaml\x00"}')
    for response in (named, path, query, raw):
        assert response.status_code == 400, response.text
        assert "NUL characters are not allowed" in response.json()["error"]
    assert api.service.list() == []
    tally.record("hostile requests: NUL in body, path, query (400, nothing stored)", scenarios=4)


def test_deep_nesting_and_repeated_keys_get_a_400(api: ApiEnv, tally: Tally) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    nested: object = 1
    for _ in range(40):
        nested = {"x": nested}
    repeated = b'{"scenario_path": "vetoed.yaml", "scenario_path": "profitable.yaml"}'
    with client(api.url) as http:
        answers = [
            http.post("/runs", content=deep, headers={"content-type": "application/json"}),
            http.post("/runs", json={"scenario_path": "vetoed.yaml", "extra": nested}),
            http.post("/runs", content=repeated, headers={"content-type": "application/json"}),
        ]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "nested deeper than 32 levels" in answers[0].json()["error"]
    assert "nested deeper than 32 levels" in answers[1].json()["error"]
    assert "key 'scenario_path' appears twice" in answers[2].json()["error"]
    assert api.service.list() == []
    tally.record("hostile requests: deep nesting, repeated keys (400, nothing stored)", scenarios=3)


@pytest.mark.parametrize(
    ("headers", "body", "named"),
    [
        ([("Content-Type", "Application/JSON")], REPEATED, "key 'scenario_path' appears twice"),
        ([("Content-Type", "APPLICATION/JSON; Charset=UTF-8")], REPEATED, "key 'scenario_path' appears twice"),
        ([("Content-Type", "Application/Json")], NUL, "NUL characters are not allowed"),
        ([("Content-Type", "application/problem+JSON")], REPEATED, "key 'scenario_path' appears twice"),
        ([("Content-Type", "application/json"), ("Content-Type", "text/plain")], REPEATED, "appears twice"),
        ([("Content-Type", "application/json")], b"\xef\xbb\xbf" + REPEATED, "key 'scenario_path' appears twice"),
    ],
    ids=["mixed-case", "upper-case-with-charset", "nul-mixed-case", "plus-json", "two-content-types", "utf8-bom"],
)
def test_repeated_keys_and_nul_get_a_400_however_the_json_body_is_labelled(
    local_api: LocalApi, headers: list[tuple[str, str]], body: bytes, named: str
) -> None:
    answer = local_api.http.post("/runs", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["error"]
    assert local_api.service.list() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a":1,}', "Expecting property name enclosed in double quotes at line 1 column 8"),
        (b"not json", "Expecting value at line 1 column 1"),
        (b'{\n  "scenario_path": "vetoed.yaml"\n  "x": 1\n}', "Expecting ',' delimiter at line 3 column 3"),
    ],
)
def test_a_body_that_is_not_json_gets_a_400_saying_why_and_where(local_api: LocalApi, body: bytes, reason: str) -> None:
    answer = local_api.http.post("/runs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {"error": f"body is not valid JSON: {reason}"}
    assert local_api.service.list() == []


def test_a_json_body_with_a_wrong_field_is_still_a_422_naming_the_field(local_api: LocalApi) -> None:
    answer = local_api.http.post("/runs", json={"scenario_path": 7})
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("invalid request:\nbody.scenario_path: Input should be a valid string")


def test_a_foreign_host_gets_a_json_400_on_every_route(local_api: LocalApi) -> None:
    assert local_api.http.get("/runs").status_code == 200
    for path in ("/runs", "/healthz", "/openapi.json", "/nowhere"):
        refused = local_api.http.get(path, headers={"Host": "attacker.example"})
        assert refused.status_code == 400, path
        assert refused.headers["content-type"] == "application/json"
        assert refused.json() == {
            "error": "invalid Host header: not a host name this server answers to (VETOFLOW_ALLOWED_HOSTS)"
        }


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1", True),  # the Host itself
        ("HTTP://127.0.0.1", True),  # scheme and host are case-insensitive
        ("http://localhost:7860", True),  # an allowed host name, on any port
        ("https://127.0.0.1:65535", True),
        ("http://[::1]:8000", True),
        ("http://127.0.0.1:18712.evil.com", False),  # urlsplit's hostname would read 127.0.0.1
        ("http://localhost:7860.evil.com", False),
        ("http://127.0.0.1:+80", False),
        ("http://127.0.0.1:\u0668\u0660", False),  # digits of another script
        ("http://127.0.0.1:99999", False),
        ("http://127.0.0.1:0", False),
        ("http://127.0.0.1:", False),
        ("http://127.0.0.1:080", False),
        ("http://evil.com@127.0.0.1", False),  # userinfo
        ("http://127.0.0.1/", False),  # a path
        ("http://127.0.0.1/evil", False),
        ("http://127.0.0.1?", False),
        ("http://[evil.com]", False),  # a bracketed host that is no address
        ("ftp://127.0.0.1", False),
        ("null", False),
    ],
)
def test_only_a_well_formed_same_site_origin_may_change_anything(
    local_api: LocalApi, origin: str, allowed: bool
) -> None:
    """The Origin is parsed strictly: a junk port or a path is a refusal, never read past."""
    answer = local_api.http.post("/runs", json={"scenario_path": 7}, headers={b"Origin": origin.encode()})
    assert answer.status_code == (422 if allowed else 403), answer.text  # 422: it reached the route
    if not allowed:
        assert answer.json() == {"error": "cross-site request refused: the Origin header names another site"}


def test_a_bare_host_name_is_still_redirected_to_its_allowed_www_name(home: Settings) -> None:
    settings = home.model_copy(update={"api_open": True, "allowed_hosts": "www.example.com"})
    with open_service(settings) as service, TestClient(create_app(settings, service=service)) as http:
        moved = http.get("http://example.com/healthz", follow_redirects=False)
        served = http.get("http://www.example.com/healthz")
    assert moved.status_code == 307
    assert moved.headers["location"] == "http://www.example.com/healthz"
    assert served.json() == {"status": "ok"}


@pytest.mark.parametrize("bind", ["LOCALHOST", "127.0.0.2"])
def test_every_loopback_bind_still_refuses_foreign_hosts(home: Settings, bind: str) -> None:
    """A bind `serve --open` accepts as loopback keeps the Host check (no DNS rebinding onto the open API)."""
    settings = home.model_copy(update={"api_open": True})
    app = create_app(settings, bind_host=bind)
    with TestClient(app, client=("127.0.0.1", 5000)) as http:
        foreign = http.get("http://attacker.example/healthz")
        local = http.get(f"http://{bind.lower()}/healthz")
        named = http.get("http://localhost/healthz")
    assert foreign.status_code == 400
    assert local.json() == named.json() == {"status": "ok"}


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_foreign_hosts_and_cross_site_origins_are_refused(served: ServeProcess) -> None:
    auth = {"Authorization": f"Bearer {ANA}"}
    with httpx.Client(base_url=served.url, timeout=60) as http:
        assert http.get("/runs", headers=auth).status_code == 200
        rebound = http.get("/runs", headers=auth | {"Host": "attacker.example"})
        assert rebound.status_code == 400
        assert rebound.json()["error"].startswith("invalid Host header")
        body = {"scenario": scenario("x")}
        foreign = http.post("/runs", json=body, headers=auth | {"Origin": "http://attacker.example"})
        assert foreign.status_code == 403
        assert "cross-site request refused" in foreign.json()["error"]
        console_call = http.post(
            "/console/gradio_api/queue/join", json={}, headers={"Origin": "http://attacker.example:7860"}
        )
        assert console_call.status_code == 403
        same = http.post("/runs", json=body, headers=auth | {"Origin": served.url})
        assert same.status_code == 201, same.text
        console_page = http.get("/console/", headers={"Host": "evil.example:80"})
        assert console_page.status_code == 400
        assert console_page.json()["error"].startswith("invalid Host header")


def _serve(settings: Settings, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vetoflow", "serve", "--port", "1", *args]
    full = env_for(settings) | {"PYTHONPATH": str(ROOT)} | env
    return subprocess.run(command, env=full, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_the_console_is_never_open_beside_a_protected_api(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    refused = _serve(settings, env={"VETOFLOW_API_TOKENS": TOKENS})
    assert refused.returncode == 1
    assert "the console has no logins: it would be an open door beside it" in refused.stderr
    assert "--no-console" in refused.stderr


def _exchange(server: ServeProcess, sent: bytes) -> tuple[bytes, float]:
    """Send `sent`, then nothing: what the server answers, and after how long it closed the connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        if sent:
            sock.sendall(sent)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    return received, time.monotonic() - started


@pytest.mark.slow  # starts a process: left out of make test-fast
@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz",
        b'POST /runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"sc',
    ],
    ids=["silent", "half-headers", "half-body"],
)
def test_half_sent_requests_are_answered_408_and_closed(served: ServeProcess, sent: bytes, tally: Tally) -> None:
    received, took = _exchange(served, sent)
    assert received.startswith(b"HTTP/1.1 408"), received
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body) == {"error": "request not received in time; send the whole request promptly"}
    assert took < 10
    with httpx.Client(base_url=served.url, timeout=30) as http:  # the server still serves everyone else
        assert http.get("/runs", headers={"Authorization": f"Bearer {ANA}"}).status_code == 200
    tally.record("hostile requests: half-sent (408 within the read deadline)", scenarios=1)


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_a_slow_but_steady_client_is_not_cut_off_below_the_deadline(served: ServeProcess) -> None:
    body = json.dumps({"scenario_path": "vetoed.yaml"}).encode()
    head = (
        f"POST /runs HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {ANA}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
        sock.sendall(head)
        time.sleep(0.4)
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
