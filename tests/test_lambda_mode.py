"""Lambda mode: detected from LAMBDA_TASK_ROOT; only /tmp is writable and SQLite is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.api_support import client, free_port, scenario
from tests.lambda_sandbox import (
    ROOT,
    LambdaServer,
    bake_store,
    embedding_model_dir,
    lambda_server_env,
    outside_tmp,
    sandboxed,
)
from vetoflow.config import LAMBDA_HOME, Settings
from vetoflow.errors import VetoflowError
from vetoflow.lambda_env import prepare_environment
from vetoflow.rag.store import chroma_path
from vetoflow.runs.store import open_service
from vetoflow.setting_rules import SQLITE_ON_LAMBDA

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


def test_sqlite_on_lambda_is_refused_with_the_documented_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("VETOFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("VETOFLOW_HOME", raising=False)
    settings = Settings()
    assert settings.home == LAMBDA_HOME
    with pytest.raises(VetoflowError) as info, open_service(settings):
        pass
    assert str(info.value) == SQLITE_ON_LAMBDA
    assert "VETOFLOW_DATABASE_URL=postgresql://" in SQLITE_ON_LAMBDA


def test_refused_before_anything_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    home = tmp_path / "home"
    with pytest.raises(VetoflowError), open_service(Settings(home=home)):
        pass
    assert not home.exists()


def test_sqlite_on_lambda_allowed_only_when_explicitly_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("VETOFLOW_ALLOW_SQLITE_ON_LAMBDA", "true")
    with open_service(Settings(home=tmp_path)) as service:
        assert service.list() == []


def test_postgres_on_lambda_is_accepted(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    with open_service(Settings(home=tmp_path, database_url=postgres_url)) as service:
        assert service.list() == []


def test_cli_prints_the_refusal_cleanly(tmp_path: Path) -> None:
    env = {"LAMBDA_TASK_ROOT": "/var/task", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "vetoflow", "runs"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 1
    assert "Refusing to keep runs in SQLite on AWS Lambda" in result.stderr
    assert "Traceback" not in result.stderr


# -- the console + API as a real process in Lambda mode, on a Lambda-like read-only filesystem -----------
def _snapshot(*roots: Path) -> dict[str, float]:
    """Every file and directory under the roots with its mtime: a write anywhere shows up as a difference."""
    seen: dict[str, float] = {}
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            seen[directory] = os.stat(directory).st_mtime
            for name in files:
                path = os.path.join(directory, name)
                seen[path] = os.lstat(path).st_mtime
    return seen


def test_console_and_api_on_lambda_write_only_under_tmp(postgres_url: str, tmp_path: Path) -> None:
    """Read-only root filesystem (so HOME, the project and site-packages too), /tmp redirected to a temp dir:
    health answers while the model loads, a run pauses, is approved and completes with the baked store."""
    lambda_tmp = tmp_path / "lambda-tmp"
    lambda_tmp.mkdir()
    with outside_tmp("vetoflow-image-") as image:
        model = embedding_model_dir()
        baked = bake_store(image / "build", model)
        home = image / "home"
        home.mkdir()
        site_packages = Path(sysconfig.get_paths()["purelib"])
        before = _snapshot(home, image / "build", ROOT / "vetoflow", ROOT / "tests", site_packages)
        server = LambdaServer(
            tmp=lambda_tmp,
            home=home,
            port=free_port(),
            log_path=tmp_path / "serve.log",
            env=lambda_server_env(postgres_url, baked, model),
        )
        try:
            server.start()
            # the adapter's readiness check passes long before the model is in memory
            assert server.first_health == {"status": "ok", "embeddings": "loading"}
            assert httpx.get(f"{server.url}/console/", timeout=30).status_code == 200  # the first page, meanwhile
            with client(server.url) as http:
                run = http.post("/runs", json={"scenario": scenario("lambda-veto", vetoed=True)})
                assert run.status_code == 201, run.text
                run_id = run.json()["run"]["run_id"]
                assert run.json()["run"]["status"] == "paused"
                done = http.post(f"/runs/{run_id}/decision", json={"action": "approve", "comment": "ship it"})
                assert done.status_code == 200, done.text
                body = done.json()
            assert body["run"]["status"] == "completed"
            assert body["decisions"][0]["reviewer"] == "ana"
            retrieval = body["state"]["retrieval"]
            assert retrieval["sources"], "the summary retrieved nothing from the baked knowledge store"
            assert retrieval["embedding_model"] == Path(model).name
            assert server.wait_ready() == {"status": "ok", "embeddings": "ready"}
        finally:
            server.stop()
        log = server.log_path.read_text()
        assert "Read-only file system" not in log, log
        assert "Traceback" not in log, log
        after = _snapshot(home, image / "build", ROOT / "vetoflow", ROOT / "tests", site_packages)
    assert after == before  # nothing written to HOME, the baked store, the project or site-packages
    assert (lambda_tmp / "vetoflow" / "chroma" / "chroma.sqlite3").is_file()  # the baked store's copy
    assert not (lambda_tmp / "vetoflow" / "vetoflow.db").exists()  # runs went to PostgreSQL
    assert (lambda_tmp / "gradio").is_dir()  # the console's temp files
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT status FROM vetoflow_runs WHERE run_id = %s", (run_id,)).fetchone()
    assert row == ("completed",)


def test_lambda_environment_points_caches_under_tmp_and_keeps_explicit_values() -> None:
    env = {"LAMBDA_TASK_ROOT": "/var/task", "HF_HOME": "/opt/hf"}
    applied = prepare_environment(env)
    assert env["HF_HOME"] == "/opt/hf"  # set by the user: kept
    assert "HF_HOME" not in applied
    for name in ("TMPDIR", "GRADIO_TEMP_DIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "TORCH_HOME"):
        assert env[name].startswith("/tmp"), name
    assert prepare_environment({"HOME": "/root"}) == {}  # off Lambda nothing changes


def test_a_missing_baked_store_is_named(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", baked_chroma=tmp_path / "nowhere")
    with pytest.raises(VetoflowError, match=r"VETOFLOW_BAKED_CHROMA=.*nowhere: no Chroma store there"):
        chroma_path(settings)
    assert not (tmp_path / "home").exists()


def test_the_sandbox_fails_writes_outside_tmp_loudly(tmp_path: Path) -> None:
    """The mechanism the Lambda test relies on: even root cannot write outside the redirected /tmp."""
    probe = ROOT / f".sandbox-probe-{os.getpid()}"
    script = f"touch /tmp/inside && touch {probe}"
    result = subprocess.run(
        sandboxed(["sh", "-c", script], tmp_path), check=False, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    assert (tmp_path / "inside").is_file()
    assert not probe.exists()
