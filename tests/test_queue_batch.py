"""Batch replays on the queue: workers drain a recorded batch once per source run; re-running resumes,
`--again` replays afresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_support import wait_for
from tests.conftest import ROOT
from tests.fakes.bedrock_server import error
from tests.queue_batch_support import enqueue, saved_sources, status
from tests.worker_support import QueueEnv, queue_env
from vetoflow.replay.queued import batch_report
from vetoflow.replay.report import BatchOptions, load_report
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker processes


def test_a_queued_batch_is_drained_by_two_workers_once_per_run_and_a_rerun_retries_only_the_failed(
    queue_env: QueueEnv, profitable: Scenario, tmp_path: Path
) -> None:
    sources = saved_sources(queue_env, profitable, 12)
    queue_env.bedrock.script.append(error(400, "ValidationException", "the model refused this one"))
    first = enqueue(queue_env)
    assert (first["selected"], first["deferred"], first["already_done"]) == (12, 12, 0)
    batch_id = str(first["batch_id"])
    queued = status(queue_env, batch_id)
    assert (queued["pending"], queued["finished"]) == (12, False)  # nothing runs without a worker
    assert enqueue(queue_env)["deferred"] == 0  # run again while its jobs wait: none is queued twice

    queue_env.worker("a", concurrency=2)
    queue_env.worker("b", concurrency=2)
    wait_for(lambda: batch_report(queue_env.service, batch_id)[0].finished, timeout=120, what="the batch to finish")
    done = status(queue_env, batch_id, expect=4)  # the CLI's view, from the database; 4: a replay failed
    assert (done["pending"], done["finished"]) == (0, True)
    summary, report = batch_report(queue_env.service, batch_id)
    assert summary.summary.by_status == {"completed": 11, "failed": 1}
    (failed,) = [row for row in report.rows.values() if row.status == "failed"]
    assert "the model refused this one" in (failed.error or "")
    assert queue_env.bedrock.calls == 12  # one Synthesizer call per source run

    again = enqueue(queue_env)  # the same command: the same batch, only the failed run deferred again
    assert (again["batch_id"], again["deferred"], again["already_done"]) == (batch_id, 1, 11)

    def all_completed() -> bool:
        return batch_report(queue_env.service, batch_id)[0].summary.by_status == {"completed": 12}

    wait_for(all_completed, timeout=120, what="the failed replay to be retried")
    assert queue_env.bedrock.calls == 13
    replays = {source: queue_env.service.lineage.replays_of(source) for source in sources}
    assert all(len(forks) == 1 for forks in replays.values())  # retried from its own checkpoint, not re-forked
    assert replays[failed.source_run_id][0].replay_run_id == failed.replay_run_id
    assert enqueue(queue_env)["deferred"] == 0

    out = tmp_path / "report.csv"
    command = [sys.executable, "-m", "vetoflow", "replay", "status", batch_id, "--out", str(out)]
    shown = subprocess.run(command, env=queue_env.env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert f"Batch {batch_id}: 12 run(s)" in shown.stdout
    assert "done before" not in shown.stdout  # nothing was resumed by `status`: it only reads the batch
    rows = load_report(out, BatchOptions(from_node="synthesizer")).rows
    assert sorted(rows) == sorted(sources)
    assert {row.replay_run_id for row in rows.values()} == {forks[0].replay_run_id for forks in replays.values()}

    fresh = enqueue(queue_env, "--again")  # after a prompt or model change: every run replayed once more
    assert (fresh["selected"], fresh["deferred"], fresh["already_done"]) == (12, 12, 0)
    assert fresh["previous_batch_id"] == batch_id
    fresh_id = str(fresh["batch_id"])
    wait_for(lambda: batch_report(queue_env.service, fresh_id)[0].finished, timeout=120, what="the fresh batch")
    assert batch_report(queue_env.service, fresh_id)[0].summary.by_status == {"completed": 12}
    assert queue_env.bedrock.calls == 25


def test_again_is_refused_without_queue(queue_env: QueueEnv) -> None:
    command = [sys.executable, "-m", "vetoflow", "replay", "--all", "--from", "synthesizer", "--again"]
    result = subprocess.run(command, env=queue_env.env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--again starts a fresh --queue batch" in result.stderr


def test_shard_is_refused_with_queue(queue_env: QueueEnv) -> None:
    command = [sys.executable, "-m", "vetoflow", "replay", "--all", "--from", "synthesizer", "--queue"]
    result = subprocess.run(
        [*command, "--shard", "0/2"], env=queue_env.env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "with --queue every worker drains it" in result.stderr


def test_a_batch_without_queue_in_queue_mode_is_refused_with_what_to_add_and_replays_nothing(
    queue_env: QueueEnv, profitable: Scenario, tmp_path: Path
) -> None:
    """Its replays would be deferred one by one, and its report would record them as final while still queued."""
    (source,) = saved_sources(queue_env, profitable, 1)
    out = tmp_path / "report.json"
    command = [sys.executable, "-m", "vetoflow", "replay", "--all", "--from", "synthesizer", "--out", str(out)]
    result = subprocess.run(command, env=queue_env.env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "VETOFLOW_EXECUTOR=queue: a batch replay runs on the workers; add --queue" in result.stderr
    assert "VETOFLOW_EXECUTOR=inline" in result.stderr
    assert queue_env.service.lineage.replays_of(source) == []
    assert not out.exists()


def test_a_run_saved_after_the_batch_was_queued_joins_it_when_the_command_is_run_again(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    first_sources = saved_sources(queue_env, profitable, 2)
    first = enqueue(queue_env)
    assert (first["selected"], first["deferred"]) == (2, 2)
    (late,) = saved_sources(queue_env, profitable, 1)
    again = enqueue(queue_env)  # the same selection (--all) now matches one more run
    assert (again["batch_id"], again["selected"], again["deferred"], again["already_done"]) == (
        first["batch_id"],
        3,
        1,
        0,
    )
    queue_env.worker("a", concurrency=2)
    batch_id = str(first["batch_id"])
    wait_for(lambda: batch_report(queue_env.service, batch_id)[0].finished, timeout=120, what="the batch")
    status_now, report = batch_report(queue_env.service, batch_id)
    assert status_now.summary.by_status == {"completed": 3}
    assert sorted(report.rows) == sorted([*first_sources, late])
