"""Traces rebuilt from checkpoint history, on SQLite and PostgreSQL; graph pictures drawn locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import env_for
from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.graph import Context, build_graph
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import Retrieval, Source, Summary
from vetoflow.trace import build_trace, drawing
from vetoflow.trace.diff import diff_values
from vetoflow.trace.extras import llm_info

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_vetoed_then_approved_trace_shows_every_node_the_interrupt_and_the_reviewer(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
    trace = build_trace(service.trace_inputs(run_id))

    assert trace.status == "completed"
    assert [s.node for s in trace.steps] == ["forecaster", "accountant", "evidence", "approval", "synthesizer"]
    assert trace.path == ["forecaster", "accountant", "evidence", "approval", "synthesizer"]
    assert all(s.status == "done" and s.duration_s is not None for s in trace.steps)
    assert [s.started_at for s in trace.steps] == sorted(s.started_at for s in trace.steps)
    approval = trace.steps[3]
    assert approval.pause is not None
    assert approval.pause.payload["decision"]["veto"] is True
    assert (approval.pause.action, approval.pause.reviewer, approval.pause.comment) == (
        "approve",
        "ana",
        "strategic bet",
    )
    assert approval.pause.decided_at is not None
    assert approval.pause.decided_at >= approval.pause.paused_at
    changed = {c.field for c in trace.steps[1].changes}
    assert {"decision.veto", "financials.roi", "financials.npv"} <= changed
    assert any(c.field == "reviews[0].reviewer" and c.after == "ana" for c in approval.changes)
    synth = trace.steps[4]
    assert synth.llm is not None
    assert synth.llm.model == "offline"
    assert trace.total_s is not None
    assert trace.total_s > 0


def test_paused_run_trace_ends_at_the_interrupt(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    trace = build_trace(service.trace_inputs(run_id))
    assert trace.status == "paused"
    assert trace.next_nodes == ["approval"]
    last = trace.steps[-1]
    assert (last.node, last.status) == ("approval", "paused")
    assert last.pause is not None
    assert last.pause.reviewer is None
    assert trace.finished_at is None


def test_failed_step_shows_its_error_and_the_retry(settings: Settings, profitable: Scenario) -> None:
    with open_service(settings, Context(synthesizer=CountingSynthesizer(fail_first=1))) as service:
        run_id = service.start(profitable).run.run_id
        failed = build_trace(service.trace_inputs(run_id))
        assert failed.status == "failed"
        assert failed.steps[-1].node == "synthesizer"
        assert failed.steps[-1].error == "RuntimeError: synthetic failure #1"
        service.retry(run_id)
        retried = build_trace(service.trace_inputs(run_id))
    assert retried.status == "completed"
    assert retried.steps[-1].node == "synthesizer"
    assert retried.steps[-1].status == "failed, retried"
    assert retried.steps[-1].error == "RuntimeError: synthetic failure #1"
    assert retried.steps[-1].changes


@pytest.mark.slow
def test_trace_json_from_the_cli(settings: Settings, examples: Path) -> None:
    env = env_for(settings)
    run = [sys.executable, "-m", "vetoflow"]
    started = subprocess.run(
        [*run, "run", examples / "vetoed.yaml", "--json"], env=env, capture_output=True, text=True, check=False
    )
    run_id = json.loads(started.stdout)["run"]["run_id"]
    subprocess.run([*run, "approve", run_id, "--reviewer", "bo", "-m", "ok"], env=env, check=True, capture_output=True)
    shown = subprocess.run([*run, "trace", run_id, "--json"], env=env, capture_output=True, text=True, check=True)
    doc = json.loads(shown.stdout)
    assert [s["node"] for s in doc["steps"]] == ["forecaster", "accountant", "evidence", "approval", "synthesizer"]
    assert doc["steps"][3]["pause"]["reviewer"] == "bo"
    table = subprocess.run([*run, "trace", run_id], env=env, capture_output=True, text=True, check=True)
    assert "approve by bo" in table.stdout
    assert "interrupt: waiting for a human" in table.stdout
    missing = subprocess.run([*run, "trace", "nope"], env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 5
    assert "no run with id 'nope'" in missing.stderr


@pytest.mark.slow
def test_graph_mermaid_and_png_offline(tmp_path: Path) -> None:
    compiled = build_graph().compile()
    text = drawing.mermaid(compiled, ["forecaster", "accountant", "evidence", "synthesizer"], finished=True)
    assert "forecaster --> accountant" in text
    assert "accountant --> evidence" in text
    assert "class forecaster,accountant,evidence,synthesizer visited" in text
    assert text.count("linkStyle") == 5  # start->forecaster->accountant->evidence->synthesizer->end
    image = drawing.png(compiled, ["forecaster", "accountant"])
    assert image.startswith(PNG_MAGIC)
    env = {
        "PATH": "/usr/bin:/bin",
        "VETOFLOW_HOME": str(tmp_path / "h"),
        "no_proxy": "*",
        "http_proxy": "http://0.0.0.0:9",
    }
    target = tmp_path / "graph.png"
    result = subprocess.run(
        [sys.executable, "-m", "vetoflow", "graph", "--png", target],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(PNG_MAGIC)
    printed = subprocess.run(
        [sys.executable, "-m", "vetoflow", "graph"], env=env, capture_output=True, text=True, check=False
    )
    assert printed.stdout.startswith("---")
    assert "graph TD;" in printed.stdout


def test_diff_is_readable() -> None:
    before = {"a": {"x": 1.0, "bands": list(range(20))}, "reviews": [{"r": 1}]}
    after = {"a": {"x": 2.5, "bands": list(range(21))}, "reviews": [{"r": 1}, {"r": 2}], "new": {"k": "v"}}
    lines = [c.describe() for c in diff_values(before, after)]
    assert [c.describe() for c in diff_values({"b": [1, 2, 3]}, {"b": [1, 5]})] == ["b: [1, 2, 3] -> [1, 5]"]
    assert lines == ["a.bands[20] = 20", "a.x: 1 -> 2.5", "new.k = 'v'", "reviews[1].r = 2"]


def test_llm_info_reads_the_summary_and_the_sources_it_cites() -> None:
    summary = Summary(
        text="t",
        model="us.anthropic.claude",
        offline=False,
        usage={"input_tokens": 120, "output_tokens": 30, "total_tokens": 150},
        cost_usd=0.002,
        grounding=["12.5% matches no figure"],
    )
    retrieval = Retrieval(
        query="q",
        embedding_model="m",
        collection="c",
        sources=[Source(ref=1, source="memo.md", title="Memo", page=3, chunk=0, score=0.5, text="...")],
    )
    info = llm_info(summary, retrieval)
    assert info is not None
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (120, 30, 150)
    assert (info.cost, info.sources) == (0.002, ["[1] memo.md p.3 (score 0.50)"])
    assert info.grounding_flags == ["12.5% matches no figure"]
    partial = llm_info(summary.model_copy(update={"usage": {"input_tokens": 5, "output_tokens": 1}}))
    assert partial is not None
    assert partial.total_tokens == 6
    assert partial.sources == []
    assert llm_info(None) is None
