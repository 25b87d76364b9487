"""Queue figures for operators: /healthz?detail=1, the console footer line and `vetoflow worker --healthcheck`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_support import client, live_server
from tests.conftest import ROOT, env_for
from tests.worker_support import QueueEnv, queue_env
from vetoflow.api.app import create_app
from vetoflow.config import Settings
from vetoflow.console.queue_footer import queue_footer_text
from vetoflow.scenario import Scenario
from vetoflow.workers.health import queue_figures

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker processes, a live HTTP server


def test_healthz_detail_shows_the_queue_the_footer_says_the_same_in_one_line(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    settings = queue_env.settings
    for i in range(3):
        queue_env.start(profitable.model_copy(update={"name": f"waiting-{i}"}))
    with live_server(create_app(settings, service=queue_env.service)) as url, client(url, token=None) as http:
        plain = http.get("/healthz")
        detailed = http.get("/healthz", params={"detail": "1"})
    assert plain.json() == {"status": "ok"}  # liveness never asks the database
    queue = detailed.json()["queue"]
    assert (queue["queue_depth"], queue["workers_alive"], queue["jobs"]) == (3, 0, {"todo": 3})
    assert queue["oldest_queued_seconds"] >= 0
    line = queue_footer_text(queue_env.settings)
    assert line.startswith("Queue: 3 waiting (oldest ")
    assert line.endswith("0 running · 0 failed · 0 worker(s) alive")

    queue_env.worker("a", concurrency=2)
    queue_env.wait_workers(1)
    queue_env.wait_status(queue_env.service.select_for_replay(), {"completed"})
    figures = queue_figures(queue_env.settings)
    assert figures is not None
    assert (figures.queue_depth, figures.oldest_queued_seconds, figures.workers_alive) == (0, None, 1)
    assert figures.jobs.get("succeeded", 0) >= 3


def test_inline_mode_has_no_queue_figures(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    assert queue_figures(settings) is None
    assert queue_footer_text(settings) == ""


def test_healthcheck_gives_one_line_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="postgresql://nobody@127.0.0.1:1/none")
    env = env_for(settings) | {"VETOFLOW_EXECUTOR": "queue"}
    command = [sys.executable, "-m", "vetoflow", "worker", "--healthcheck"]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("unhealthy: cannot reach PostgreSQL")


def test_the_console_shows_the_queue_footer_in_queue_mode_only(queue_env: QueueEnv) -> None:
    from vetoflow.ui import build_console

    queued = build_console(queue_env.service, queue_env.settings)
    inline = build_console(queue_env.service, queue_env.settings.model_copy(update={"executor": "inline"}))
    ids = [getattr(block, "elem_id", None) for block in queued.blocks.values()]
    assert ids.count("queue-footer") == 1
    assert "queue-footer" not in [getattr(block, "elem_id", None) for block in inline.blocks.values()]
