"""What `serve` exposes (issue 12, defects 2 and 12): one auth story, trusted hosts and origins, clean 4xx
for NUL and deep nesting, and a deadline for half-sent requests. Real HTTP on loopback throughout."""

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

from tests.api_support import ANA, TOKENS, ApiEnv, ServeProcess, api, client, scenario
from tests.conftest import ROOT, env_for
from tests.reliability import Tally, tally
from vetoflow.config import Settings

__all__ = ["api", "tally"]


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


def test_foreign_hosts_and_cross_site_origins_are_refused(served: ServeProcess) -> None:
    auth = {"Authorization": f"Bearer {ANA}"}
    with httpx.Client(base_url=served.url, timeout=60) as http:
        assert http.get("/runs", headers=auth).status_code == 200
        rebound = http.get("/runs", headers=auth | {"Host": "attacker.example"})
        assert rebound.status_code == 400
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
        assert http.get("/console/", headers={"Host": "evil.example:80"}).status_code == 400


def _serve(settings: Settings, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vetoflow", "serve", "--port", "1", *args]
    full = env_for(settings) | {"PYTHONPATH": str(ROOT)} | env
    return subprocess.run(command, env=full, capture_output=True, text=True, timeout=120, check=False)


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
    assert b"send the whole request promptly" in received
    assert took < 10
    with httpx.Client(base_url=served.url, timeout=30) as http:  # the server still serves everyone else
        assert http.get("/runs", headers={"Authorization": f"Bearer {ANA}"}).status_code == 200
    tally.record("hostile requests: half-sent (408 within the read deadline)", scenarios=1)


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
