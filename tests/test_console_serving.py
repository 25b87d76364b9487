"""How the console is served: logins, the localhost-only open mode, `vetoflow ui`, and mounting into FastAPI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from gradio_client import Client
from pydantic import SecretStr

from tests.conftest import env_for
from tests.console_helpers import ANA, USERS, free_port, overrule_veto
from vetoflow import ui
from vetoflow.config import Settings
from vetoflow.console.auth import check_bind
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.mounting import mount_options
from vetoflow.errors import VetoflowError
from vetoflow.identity.demo_logins import load_users, parse_users
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


def test_users_parse_from_the_variable_and_a_file(tmp_path: Path) -> None:
    users_file = tmp_path / "users.txt"
    users_file.write_text("# operators\ncy:pw:with:colons\n\n")
    settings = Settings(home=tmp_path, ui_users=SecretStr("ana:pw1, bo:pw2"), ui_users_file=users_file)
    assert load_users(settings) == {"ana": "pw1", "bo": "pw2", "cy": "pw:with:colons"}
    assert "pw1" not in repr(settings)
    assert "pw1" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ana:s3cret,bo", "entry 2 is not user:password"), ("ana:s3cret,:x", "entry 2"), ("ana:s3cret,ana:x", "twice")],
)
def test_bad_logins_are_named_without_their_password(text: str, expected: str) -> None:
    with pytest.raises(VetoflowError, match=expected) as caught:
        parse_users(text, "VETOFLOW_UI_USERS")
    assert "s3cret" not in str(caught.value)


def test_an_open_console_binds_only_to_localhost() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        check_bind(host, {})
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(VetoflowError, match="only binds to localhost"):
            check_bind(host, {})
    check_bind("0.0.0.0", {"ana": "pw"})


def vetoflow_ui(settings: Settings, *args: str, users: str | None = None) -> subprocess.Popen[str]:
    env = env_for(settings)
    if users:
        env["VETOFLOW_UI_USERS"] = users
    command = [sys.executable, "-m", "vetoflow", "ui", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_refuses_an_open_console_on_all_interfaces(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    proc = vetoflow_ui(settings, "--host", "0.0.0.0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "only binds to localhost" in err
    assert "VETOFLOW_UI_USERS" in err
    proc = vetoflow_ui(settings, "--host", "0.0.0.0", users="ana:t0psecret,broken")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "entry 2 is not user:password" in err
    assert "t0psecret" not in out + err
    assert not (tmp_path / "home").exists(), "a refused start leaves nothing behind"


def test_weak_demo_passwords_are_refused_where_other_machines_can_reach_the_console(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    serve = [sys.executable, "-m", "vetoflow", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    env = env_for(settings) | {"VETOFLOW_UI_USERS": "ana:a", "VETOFLOW_API_TOKENS": "a-long-enough-token-123:ana"}
    served = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=60, check=False)
    proc = vetoflow_ui(settings, "--host", "0.0.0.0", users="ana:a")
    _, err = proc.communicate(timeout=60)
    for returncode, stderr in ((served.returncode, served.stderr), (proc.returncode, err)):
        assert returncode == 1
        assert "VETOFLOW_UI_USERS: user 'ana' served on 0.0.0.0: password: at least 12 characters" in stderr
        assert "ana:a" not in stderr
    assert not (tmp_path / "home").exists(), "a refused start leaves nothing behind"


def test_cli_serves_the_console_behind_a_root_path(tmp_path: Path, vetoed: Scenario) -> None:
    settings = Settings(home=tmp_path / "home")
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
    port = free_port()
    proc = vetoflow_ui(settings, "--port", str(port), "--root-path", "/ops", users=USERS)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
        assert f'"root":"http://127.0.0.1:{port}/ops"' in page, "links are built under the proxy's prefix"
        client = Client(f"http://127.0.0.1:{port}/", auth=ANA, verbose=False)
        rows, _ = client.predict(api_name="/inbox")
        assert [row[0] for row in rows["data"]] == [run_id]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"vetoflow console on http://127.0.0.1:{port}/ops [2 login(s)]" in err
    assert "pw-ana" not in err


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The console mounted into a FastAPI app at /console, as the API server does, under uvicorn."""
    settings = Settings(home=tmp_path / "home", ui_users=SecretStr(USERS))
    with open_service(settings) as service:
        app = FastAPI()
        console = ui.build_console(service, settings)
        app = gr.mount_gradio_app(app, console, path="/console", **mount_options(settings))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}/console/", settings
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def test_mounted_in_fastapi_the_login_is_the_reviewer(mounted: tuple[str, Settings], vetoed: Scenario) -> None:
    url, settings = mounted
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
    client = Client(url, auth=ANA, verbose=False)
    out = overrule_veto(client, run_id, "from the API host")
    assert "approve recorded" in out[0]
    assert "by ana" in out[0]
    assert httpx.get(url, timeout=10).status_code == 200
    with pytest.raises(ValueError, match=r"(?i)could not login|incorrect"):
        Client(url, auth=("ana", "nope"), verbose=False)


def test_open_console_says_so_and_records_the_local_operator(tmp_path: Path, vetoed: Scenario) -> None:
    settings = Settings(home=tmp_path / "home")
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
        deps = ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ops-desk")
        assert "Open console" in ui._banner(deps, None)
        assert "ops-desk" in ui._banner(deps, None)
        demo = ui.build_console(service, settings, user_label="ops-desk")
        demo.launch(server_port=(port := free_port()), prevent_thread_lock=True, quiet=True)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            client.predict(run_id, api_name="/open_run")  # decisions act on the run shown
            out = client.predict(run_id, "", api_name="/reject")
        finally:
            demo.close()
        assert "by ops-desk" in out[0]
        assert service.view(run_id).decisions[0].reviewer == "ops-desk"
