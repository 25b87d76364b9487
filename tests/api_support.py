"""API tests: real HTTP on loopback (an in-process uvicorn server, or a `vetoflow serve` subprocess), or
the app in-process through FastAPI's TestClient for what the adapter itself answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import ROOT, env_for
from tests.helpers import CountingSynthesizer
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service

ANA = "ana-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"
TOKENS = f"{ANA}:ana,{BOB}:bob"
SECRET = "FAKE-SECRET-do-not-leak-8c1f2e"  # a known fake secret, hunted for in logs, state and responses


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """uvicorn in a thread on a free loopback port (or `port`); yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def client(base_url: str, token: str | None = ANA, timeout: float = 120) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout)


@dataclass
class ServeProcess:
    """`vetoflow serve` as a real process, so a test can kill -9 it and start it again."""

    settings: Settings
    port: int = field(default_factory=free_port)
    slow_seconds: float = 0.0
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "info"
    console: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        env = env_for(self.settings)
        env |= {
            "VETOFLOW_API_TOKENS": TOKENS,
            "PYTHONPATH": str(ROOT),
            "VETOFLOW_TEST_SLOW_SECONDS": str(self.slow_seconds),
        }
        env |= self.extra_env
        self.log_path = self.log_path or self.settings.home.parent / f"serve-{self.port}.log"
        self.settings.home.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "vetoflow", "serve", "--port", str(self.port), "--log-level", self.log_level]
        command += ["--context-factory", "tests.slow_clients:make_context"]
        command += [] if self.console else ["--no-console"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vetoflow serve did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown handlers, no flush
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 15 s: a server under test never outlives its test."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate: object, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def scenario(name: str, *, vetoed: bool = False, paths: int = 500) -> dict[str, object]:
    """A small inline scenario; `vetoed` sets a threshold no plan can reach, so the Accountant vetoes."""
    return {
        "name": name,
        "investment": 500_000,
        "horizon": 12,
        "discount_rate": 0.01,
        "veto_threshold": 9.0 if vetoed else -1.0,
        "paths": paths,
        "seed": 7,
        "segments": [
            {"name": "Retail", "base_revenue": 100_000, "growth_mean": 0.02, "volatility": 0.1, "margin": 0.3}
        ],
    }


@dataclass
class ApiEnv:
    url: str
    service: RunService
    synthesizer: CountingSynthesizer
    settings: Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[ApiEnv]:
    """The API over a counting offline synthesizer, on loopback, once per backend (SQLite, PostgreSQL)."""
    settings = settings.model_copy(update={"api_tokens": SecretStr(TOKENS)})
    synthesizer = CountingSynthesizer()
    with (
        open_service(settings, Context(synthesizer=synthesizer)) as service,
        live_server(create_app(settings, service=service)) as url,
    ):
        yield ApiEnv(url, service, synthesizer, settings)


@dataclass
class LocalApi:
    http: TestClient
    service: RunService


@pytest.fixture
def local_api(home: Settings) -> Iterator[LocalApi]:
    """The app in-process (TestClient, SQLite) as `serve` builds it on 127.0.0.1, signed in as ana."""
    settings = home.model_copy(update={"api_tokens": SecretStr(TOKENS)})
    with open_service(settings) as service:
        app = create_app(settings, service=service, bind_host="127.0.0.1")
        headers = {"Authorization": f"Bearer {ANA}"}
        with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 5000), headers=headers) as http:
            yield LocalApi(http, service)
