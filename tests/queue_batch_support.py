"""Saved source runs for queued batch replays, made fast: in this process, inline, with the offline summary."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from tests.conftest import ROOT
from tests.worker_support import QueueEnv
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import Scenario


def saved_sources(queue_env: QueueEnv, scenario: Scenario, count: int) -> list[str]:
    """`count` completed runs, started inline (no worker, no LLM call) on the queue's database."""
    inline = queue_env.settings.model_copy(update={"executor": "inline", "llm": "offline"})
    small = scenario.model_copy(update={"paths": 100})
    context = replace(make_context(inline), synthesizer=OfflineSynthesizer())
    with open_service(inline, context) as service, ThreadPoolExecutor(4) as pool:
        views = pool.map(lambda i: service.start(small.model_copy(update={"name": f"src-{i:04d}"})), range(count))
        return [view.run.run_id for view in views]


def vetoflow_json(queue_env: QueueEnv, *args: str, expect: int = 0) -> dict[str, object]:
    command = [sys.executable, "-m", "vetoflow", *args, "--json"]
    result = subprocess.run(
        command, env=queue_env.env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == expect, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def enqueue(queue_env: QueueEnv, *args: str) -> dict[str, object]:
    return vetoflow_json(queue_env, "replay", "--all", "--from", "synthesizer", "--queue", *args)


def status(queue_env: QueueEnv, batch_id: str, expect: int = 0) -> dict[str, object]:
    return vetoflow_json(queue_env, "replay", "status", batch_id, expect=expect)
