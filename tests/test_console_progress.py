"""The console's run progress, read from the run's event log (the one the SSE stream sends), as plain functions
over real runs on SQLite: the renderer, the New run tab's handler, and the Run view's live panel."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import gradio as gr
import pytest

from tests.helpers import CountingSynthesizer, HeldSynthesizer, wait_for_start
from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.follow import moving_progress, progress_panel
from vetoflow.console.new_run import start_new_run
from vetoflow.console.progress import run_progress, seconds
from vetoflow.console.run_view import RunViewPanel, render_run_view
from vetoflow.context import Context
from vetoflow.plaintext import md
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import RunState, Summary


@pytest.fixture
def service(home: Settings) -> Iterator[RunService]:
    with open_service(home) as opened:
        yield opened


class MarkupFailure(CountingSynthesizer):
    def summarize(self, state: RunState) -> Summary:
        raise RuntimeError("<img src=x onerror=alert(1)> [click](http://evil.example) **loud**")


def test_elapsed_times_read_as_people_say_them() -> None:
    assert [seconds(s) for s in (0.04, 0.84, 12.4, 184, 7500, -2)] == [
        "under 0.1 s", "0.8 s", "12 s", "3 min 04 s", "2 h 05 min", "under 0.1 s",
    ]  # fmt: skip


def test_a_paused_run_reads_node_by_node_then_its_decision_as_a_second_pass(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    events = service.events_since(run_id)
    started = next(i for i, e in enumerate(events) if e.kind == "node_started" and e.node == "accountant")
    midway = run_progress(events[: started + 1], now=events[started].at + timedelta(seconds=2.5))
    assert (midway.state, midway.node, midway.done, midway.bar()) == ("running", "accountant", 1, (1, 4))
    assert midway.text.startswith("**🔵 Running: Accountant** · ")
    assert "✓ Forecaster: revenue paths simulated, P10/P50/P90 per period · " in midway.text
    assert "⏳ Accountant: computing ROI, NPV and payback, checking the veto… · 2.5 s so far" in midway.text
    assert "Evidence" not in midway.text

    paused = run_progress(events)
    reason = service.row(run_id).veto_reason
    assert reason
    assert (paused.state, paused.settled, paused.done, paused.node) == ("paused", True, 3, None)
    first, *lines = paused.text.split("\n\n")
    assert first.startswith("**🟡 Paused for approval after ")
    assert first.endswith(f"**: {md(reason)}")
    assert [line.split(":")[0] for line in lines] == ["✓ Forecaster", "✓ Accountant", "✓ Evidence", "✋ Approval"]
    assert lines[-1] == "✋ Approval: paused here for a human decision"

    service.decide(run_id, "approve", reviewer="ana", comment="strategic")
    done = run_progress(service.events_since(run_id))
    first, *lines = done.text.split("\n\n")
    assert done.state == "completed"
    assert first.startswith("**🟢 Completed in ")
    assert lines[3] == "✋ Approval: paused here for a human decision"
    assert lines[4].startswith("**🟡 Paused for approval after "), "how the first pass ended stays in the timeline"
    assert lines[5].startswith("✓ Approval: decision applied · ")
    assert lines[6].startswith("✓ Synthesizer: summary written · ")


def test_a_failure_shows_its_reason_as_plain_text_and_the_retry_as_a_new_pass(
    home: Settings, profitable: Scenario
) -> None:
    with open_service(home, Context(synthesizer=MarkupFailure())) as service:
        run_id = service.start(profitable).run.run_id
        failed = run_progress(service.events_since(run_id))
    assert failed.state == "failed"
    first, *lines = failed.text.split("\n\n")
    assert first.startswith("**🔴 Failed after ")
    assert "\\<img src=x onerror=alert(1)\\> \\[click\\](http\\://evil.example) \\*\\*loud\\*\\*" in first
    assert re.search(r"(?<!\\)[<\[*]", failed.text.replace("**", "", 2)) is None, "every tag, link and star escaped"
    assert lines[-1] == "✗ Synthesizer: failed here"
    with open_service(home, Context(synthesizer=CountingSynthesizer())) as service:
        service.retry(run_id)
        retried = run_progress(service.events_since(run_id))
    assert retried.state == "completed"
    *_, failure, again = retried.text.split("\n\n")
    assert failure.startswith("**🔴 Failed after "), "the failed pass stays in the timeline"
    assert again.startswith("✓ Synthesizer: summary written · ")


def test_new_run_follows_the_event_log_node_by_node_to_the_summary(home: Settings, profitable: Scenario) -> None:
    bars: list[tuple[tuple[int, int], str | None]] = []
    with open_service(home) as service:
        deps = ConsoleDeps(service, home, auth_enabled=False, open_reviewer="ana")
        data = profitable.model_dump(mode="json")
        updates = list(start_new_run(deps, data, None, lambda done, desc=None: bars.append((done, desc))))
        texts = [text for text, _ in updates]
        run_id = updates[-1][1]
        assert service.view(run_id).status == "completed"
        assert service.view(run_id).state.requester == "ana"
        assert service.row(run_id).name == profitable.name
    assert updates[0] == (f"⏳ **{profitable.name}** started (5,000 paths x 12 periods)\n\n**⏳ Starting…**", "")
    with_events = {rid for text, rid in updates if "**⏳ Starting…**" not in text}
    assert with_events == {run_id}, "the id as soon as the run has its first event"
    forecaster_done = next(t for t in texts if "✓ Forecaster" in t)
    assert "✓ Accountant" not in forecaster_done, "each node shows as it finishes"
    assert any("⏳ Synthesizer: writing the summary…" in t for t in texts)
    assert "**🟢 Completed in " in texts[-1]
    assert "✓ Synthesizer: summary written" in texts[-1]
    assert "Completed: no veto" in texts[-1]
    assert "offline summary" in texts[-1]
    assert bars[0] == ((0, 4), "starting")
    assert ((1, 4), "Accountant") in bars
    assert bars[-1] == ((4, 4), "completed")


def test_new_run_refuses_a_bad_form_and_starts_nothing(home: Settings, vetoed: Scenario) -> None:
    with open_service(home) as service:
        deps = ConsoleDeps(service, home, auth_enabled=False, open_reviewer="ana")
        data = vetoed.model_dump(mode="json") | {"investment": -5}
        [(text, run_id)] = list(start_new_run(deps, data, None))
        assert "No run was started" in text
        assert run_id == ""
        assert service.list() == []


def test_new_run_shows_an_infrastructure_fault_and_logs_its_traceback(
    home: Settings, profitable: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    with open_service(home) as service:
        deps = ConsoleDeps(service, home, auth_enabled=False, open_reviewer="ana")

        def full_disk(*_args: Any, **_kwargs: Any) -> None:
            raise OSError(28, "No space left on device")

        service.index.create = full_disk  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="vetoflow.console"):
            *_, (text, run_id) = start_new_run(deps, profitable.model_dump(mode="json"), None)
    assert "No space left on device" in text
    assert run_id == ""
    [record] = [r for r in caplog.records if r.name.startswith("vetoflow.console")]
    assert record.exc_info is not None
    assert "Traceback" in caplog.text


def run_view(service: RunService, settings: Settings) -> RunViewPanel:
    with gr.Blocks():
        return render_run_view(ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana"))


def test_the_run_view_follows_a_run_executing_elsewhere_then_shows_how_it_ended(
    home: Settings, profitable: Scenario
) -> None:
    held = HeldSynthesizer()
    with open_service(home, Context(synthesizer=held)) as service:
        elsewhere = threading.Thread(target=service.start, args=(profitable,))  # as a CLI or API process would
        elsewhere.start()
        assert held.entered.wait(30)
        [row] = service.list()
        wait_for_start(service, row.run_id, "synthesizer")
        panel = run_view(service, home)
        opened = panel.load(row.run_id, None)
        live, watched = opened[-1], opened[-2]
        assert watched["status"] == "running"
        assert live["visible"] is True
        assert live["value"].startswith("**🔵 Running: Synthesizer** · ")
        assert "✓ Evidence: knowledge base searched for sources" in live["value"]
        assert "⏳ Synthesizer: writing the summary… · " in live["value"]

        polled = panel.unchanged(row.run_id, watched)
        assert all(value == gr.skip() for value in polled[:-1]), "nothing else is reloaded"
        assert polled[-1]["value"].startswith("**🔵 Running: Synthesizer**"), "the elapsed times move"
        assert moving_progress(service, "another-run", watched) == gr.skip()

        held.release.set()
        elsewhere.join(30)
        changed = panel.watch(row.run_id, watched, None)
        assert changed[0] == "🔔 This run changed while you were looking: it is now **completed**."
        assert changed[-1]["visible"] is True, "the operator watched it run: its timeline stays"
        assert changed[-1]["value"].startswith("**🟢 Completed in ")
        assert changed[-2]["status"] == "completed"
        assert panel.unchanged(row.run_id, changed[-2])[-1] == gr.skip(), "a settled run's panel stands still"

        reopened = panel.load(row.run_id, None)
        assert reopened[-1] == gr.update(value="", visible=False), "opened after it settled: no panel"
        assert progress_panel(service, None) == gr.update(value="", visible=False)


def test_a_paused_run_has_no_live_panel_and_a_colleague_s_decision_reads_as_before(
    service: RunService, vetoed: Scenario, home: Settings
) -> None:
    run_id = service.start(vetoed).run.run_id
    panel = run_view(service, home)
    opened: tuple[Any, ...] = panel.load(run_id, None)
    assert opened[-1] == gr.update(value="", visible=False), "a paused run has no live panel"
    service.decide(run_id, "reject", reviewer="bo", comment="no")
    changed = panel.watch(run_id, opened[-2], None)
    assert changed[0].startswith("🔔 **bo rejected this run** while you were looking")
    assert changed[-1] == gr.update(value="", visible=False)
