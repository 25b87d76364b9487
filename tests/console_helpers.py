"""Serving the console for tests: a real Gradio server on a free loopback port, and a real Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradio_client import Client
from playwright.sync_api import Browser, Playwright
from pydantic import SecretStr

from vetoflow import ui
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
USERS = "ana:pw-ana,bo:pw-bo"
ANA, BO = ("ana", "pw-ana"), ("bo", "pw-bo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Console:
    url: str
    service: RunService
    settings: Settings


@contextmanager
def serve_console(settings: Settings, context: Context | None = None) -> Iterator[Console]:
    """Launch the console (logins ana and bo) over a fresh service; closed on exit."""
    settings = settings.model_copy(update={"ui_users": SecretStr(USERS)})
    with open_service(settings, context) as service:
        port = free_port()
        demo = ui.launch(service, settings, port=port, prevent_thread_lock=True)
        try:
            yield Console(f"http://127.0.0.1:{port}/", service, settings)
        finally:
            demo.close()


def overrule_veto(client: Client, run_id: str, comment: str) -> tuple[Any, ...]:
    """Approve a vetoed run as an operator does: open it, Approve (which asks), then the confirmation's Yes."""
    client.predict(run_id, api_name="/open_run")  # decisions act on the run shown
    asked = client.predict(run_id, comment, api_name="/approve")
    assert "Overrule the veto?" in str(asked), asked
    return tuple(client.predict(run_id, comment, api_name="/confirm_approve"))


def ensure_chromium() -> Path:
    """Debian's Chromium: scripts/install_chromium.sh apt-gets it when missing (CI runs as root), else no-op."""
    subprocess.run(["sh", str(ROOT / "scripts" / "install_chromium.sh")], check=True, env=os.environ.copy())
    assert CHROMIUM.exists(), f"{CHROMIUM} is still missing after scripts/install_chromium.sh"
    return CHROMIUM


@contextmanager
def vetoflow_ui_process(
    settings: Settings, *, users: str = USERS, poll_seconds: float = 1.0, command: str = "ui"
) -> Iterator[str]:
    """A real `vetoflow ui` (or `vetoflow serve`, console at /console/) process over `settings`, logins ana and
    bo; yields the console's URL, stops the process on exit."""
    import httpx

    from tests.conftest import env_for

    port = free_port()
    env = env_for(settings) | {"VETOFLOW_UI_USERS": users, "VETOFLOW_UI_POLL_SECONDS": str(poll_seconds)}
    argv = [sys.executable, "-m", "vetoflow", command, "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/" + ("console/" if command == "serve" else "")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"vetoflow ui exited: {proc.stderr.read() if proc.stderr else ''}"
            try:
                if httpx.get(url + "config", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@contextmanager
def chromium_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(ensure_chromium()), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    try:
        yield browser
    finally:
        browser.close()
