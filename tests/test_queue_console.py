"""Queue mode in the console (PostgreSQL, a real `vetoflow worker` process): the New run handler and the Run
view follow a run a worker executes through its event log, as they follow one executed in the console."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import pytest

from tests.worker_support import QueueEnv, queue_env
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.new_run import start_new_run
from vetoflow.console.run_view import RunViewPanel, render_run_view
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker processes

Update = tuple[str, str]


def deps_of(env: QueueEnv) -> ConsoleDeps:
    assert env.service.queued
    return ConsoleDeps(env.service, env.settings, auth_enabled=False, open_reviewer="ana")


def until(updates: Iterator[Update], text: str) -> Update:
    """Read the handler's updates up to the first that shows `text`."""
    for update in updates:
        if text in update[0]:
            return update
    raise AssertionError(f"the handler ended without showing {text!r}")


def run_view(env: QueueEnv) -> RunViewPanel:
    with gr.Blocks():
        return render_run_view(deps_of(env))


def test_new_run_and_the_run_view_follow_a_worker_to_the_pause_and_to_the_summary(
    queue_env: QueueEnv, vetoed: Scenario, profitable: Scenario
) -> None:
    deps = deps_of(queue_env)
    vetoed_form = vetoed.model_copy(update={"name": "Queued kiosks"}).model_dump(mode="json")
    updates = start_new_run(deps, vetoed_form, None)
    text, run_id = until(updates, "**⚪ Queued: waiting for a worker**")  # no worker is running yet
    assert "⚪ Queued: waiting for a worker · " in text
    assert queue_env.service.row(run_id).status == "queued"

    panel = run_view(queue_env)
    opened: tuple[Any, ...] = panel.load(run_id, None)
    assert opened[-2]["status"] == "queued"
    assert opened[-1]["visible"] is True
    assert opened[-1]["value"].startswith("**⚪ Queued: waiting for a worker** · ")
    assert panel.unchanged(run_id, opened[-2])[-1]["value"].startswith("**⚪ Queued"), "its waiting time moves"

    queue_env.worker("a")
    rest = list(updates)
    final_text, final_id = rest[-1]
    assert final_id == run_id
    assert any("⏳ Forecaster: simulating revenue paths…" in text for text, _ in rest)
    assert "⚪ Queued: a worker took it after " in final_text
    assert "**🟡 Paused for approval after " in final_text
    assert "✓ Evidence: knowledge base searched for sources" in final_text
    assert "✋ Approval: paused here for a human decision" in final_text
    assert "Vetoed: Queued kiosks waits in the Inbox" in final_text
    assert queue_env.service.row(run_id).status == "paused"

    changed = panel.watch(run_id, opened[-2], None)
    assert changed[0] == "🔔 This run changed while you were looking: it is now **paused**."
    assert changed[-1]["visible"] is True
    assert changed[-1]["value"].startswith("**🟡 Paused for approval after ")

    completed_text, completed_id = list(start_new_run(deps, profitable.model_dump(mode="json"), None))[-1]
    assert "**🟢 Completed in " in completed_text
    assert "✓ Synthesizer: summary written" in completed_text
    assert "Completed: no veto" in completed_text
    assert "The plan pays back" in completed_text  # the worker's Synthesizer, on the loopback Bedrock
    assert queue_env.service.row(completed_id).status == "completed"
    assert queue_env.bedrock.calls == 1
