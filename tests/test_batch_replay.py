"""Batch replays on SQLite and PostgreSQL: failures recorded, resumable reports, disjoint shards."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.replay import batch
from vetoflow.replay.report import BatchOptions, ReportRow, load_report, save_report
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import RunState, Summary


class PromptV2(OfflineSynthesizer):
    """A 'new prompt': a different summary, optionally failing for one scenario; counts calls."""

    name = "prompt-v2"

    def __init__(self, fail_for: str | None = None) -> None:
        self.fail_for = fail_for
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def summarize(self, state: RunState) -> Summary:
        with self.lock:
            self.calls.append(state.run_id)
        if state.scenario.name == self.fail_for:
            raise RuntimeError(f"model refused {state.scenario.name}")
        text = super().summarize(state).text + "\n(prompt v2)"
        return Summary(text=text, model=self.name, offline=True, usage={"input_tokens": 100, "output_tokens": 20})


def saved_runs(service: RunService, scenario: Scenario, count: int) -> list[str]:
    small = scenario.model_copy(update={"paths": 100})
    return [service.start(small.model_copy(update={"name": f"run-{i:02d}"})).run.run_id for i in range(count)]


def test_batch_of_50_with_one_failure_finishes_the_rest_and_resumes(
    settings: Settings, profitable: Scenario, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    options = BatchOptions(from_node="synthesizer")
    broken = PromptV2(fail_for="run-17")
    with open_service(settings) as service:
        sources = saved_runs(service, profitable, 50)
        before = {r.run_id: r for r in service.list(limit=100)}
        report = load_report(out, options)
        summary = batch.run_batch(
            service.with_synthesizer(broken),
            service.select_for_replay(),
            report,
            concurrency=4,
            on_row=lambda _row: save_report(report, out),
        )
        assert summary.by_status == {"completed": 49, "failed": 1}
        assert summary.summary_changed == 49
        assert summary.tokens == 49 * 120
        saved = json.loads(out.read_text())
        assert len(saved["results"]) == 50
        failed = [r for r in saved["results"] if r["status"] == "failed"]
        assert len(failed) == 1
        assert "model refused run-17" in failed[0]["error"]
        failed_source, failed_replay = failed[0]["source_run_id"], failed[0]["replay_run_id"]
        assert service.index.get(failed_replay).status == "failed"
        assert {r.run_id: r for r in service.list(limit=100) if r.run_id in before} == before  # originals intact
        assert service.select_for_replay() == sources  # replays are not themselves replayed

        fixed = PromptV2()
        again = load_report(out, options)
        assert len(again.done_ids()) == 49
        resumed = batch.run_batch(service.with_synthesizer(fixed), service.select_for_replay(), again)
        assert (resumed.already_done, resumed.replayed) == (49, 1)
        assert resumed.by_status == {"completed": 50}
        assert fixed.calls == [failed_replay]  # the failed replay resumed from its own checkpoint
        assert again.rows[failed_source].replay_run_id == failed_replay
        assert service.index.get(failed_replay).status == "completed"
        assert len(service.list(limit=200)) == 100  # 50 originals + 50 replays, no orphans


def test_batch_replay_reaching_the_veto_reports_needs_approval(
    service: RunService, vetoed: Scenario, profitable: Scenario
) -> None:
    vetoed_id = service.start(vetoed).run.run_id
    service.decide(vetoed_id, "approve", reviewer="ana")
    profitable_id = service.start(profitable).run.run_id
    report = load_report(Path("unused.json"), BatchOptions(from_node="accountant"))
    summary = batch.run_batch(service, [vetoed_id, profitable_id], report, concurrency=2)
    assert summary.by_status == {"needs approval": 1, "completed": 1}
    row = report.rows[vetoed_id]
    assert row.status == "needs approval"
    assert row.replay_run_id is not None
    assert service.index.get(row.replay_run_id).status == "paused"
    assert service.view(vetoed_id).status == "completed"


def test_shard_assignment_is_stable_and_disjoint() -> None:
    ids = [f"{i:012x}" for i in range(1000)]
    shards = [[r for r in ids if batch.shard_of(r, 3) == k] for k in range(3)]
    assert sorted(r for shard in shards for r in shard) == sorted(ids)
    assert all(200 < len(s) < 467 for s in shards)
    assert batch.shard_of("abc", 7) == batch.shard_of("abc", 7)
    for bad in ("2/2", "1", "a/b", "-1/2", "0/0"):
        with pytest.raises(VetoflowError, match="--shard"):
            batch.parse_shard(bad)


@pytest.mark.slow
def test_cli_shards_cover_every_run_exactly_once(settings: Settings, profitable: Scenario, tmp_path: Path) -> None:
    with open_service(settings) as service:
        sources = saved_runs(service, profitable, 12)
    env = env_for(settings)
    seen: list[str] = []
    for shard in ("0/2", "1/2"):
        report = tmp_path / f"shard{shard[0]}.csv"
        args = ["replay", "--all", "--from", "synthesizer", "--shard", shard, "--concurrency", "3", "--out", report]
        result = subprocess.run(
            [sys.executable, "-m", "vetoflow", *map(str, args)], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert f"Batch replay (shard {shard})" in result.stdout
        assert "summary changed" in result.stdout
        rows = load_report(report, BatchOptions(from_node="synthesizer")).rows
        assert all(r.status == "completed" for r in rows.values())
        seen.extend(rows)
    assert sorted(seen) == sorted(sources)
    assert len(seen) == len(set(seen))
    args = ["replay", "--all", "--from", "synthesizer", "--shard", "0/2", "--out", tmp_path / "shard0.csv", "--json"]
    again = subprocess.run(
        [sys.executable, "-m", "vetoflow", *map(str, args)], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)["summary"]
    assert resumed["replayed"] == 0
    assert resumed["already_done"] == resumed["selected"] > 0


def test_report_refuses_other_options_and_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    report = load_report(path, BatchOptions(from_node="synthesizer"))
    report.rows["a"] = ReportRow(source_run_id="a", status="failed", error="x", grounding_flags=["f1", "f2"])
    save_report(report, path)
    with pytest.raises(VetoflowError, match="was written for"):
        load_report(path, BatchOptions(from_node="accountant"))
    csv_path = tmp_path / "r.csv"
    save_report(report, csv_path)
    back = load_report(csv_path, BatchOptions(from_node="accountant"))
    assert back.rows["a"].grounding_flags == ["f1", "f2"]
    assert back.done_ids() == set()
    with pytest.raises(VetoflowError, match=r"--out: r.txt must end in .json or .csv"):
        load_report(tmp_path / "r.txt", BatchOptions(from_node="accountant"))


def test_a_batch_is_named_by_what_it_replays_not_by_who_asked_so_anyone_resumes_it(
    service: RunService, vetoed: Scenario, tmp_path: Path
) -> None:
    source = service.start(vetoed, requester="an").run.run_id
    path = tmp_path / "r.json"
    first = load_report(path, BatchOptions(from_node="forecaster", overrides={"investment": 450_000}, requester="bo"))
    batch.run_batch(service, [source], first, concurrency=1)
    save_report(first, path)
    replay_id = first.rows[source].replay_run_id
    assert replay_id is not None
    assert service.view(replay_id).state.requester == "bo", "each replay is requested by who ran the batch"
    again = load_report(path, BatchOptions(from_node="forecaster", overrides={"investment": 450_000}, requester="cy"))
    assert again.done_ids() == {source}, "another person resumes the same batch"
    # a batch's options as the last release recorded them: its id must not change
    recorded_before: dict[str, object] = {"from_node": "forecaster", "llm_model": None, "overrides": {}}
    assert BatchOptions(from_node="forecaster", requester="cy").identity() == recorded_before, "old batch ids hold"


def test_selection_by_status_date_and_ids(service: RunService, vetoed: Scenario, profitable: Scenario) -> None:
    paused = service.start(vetoed).run.run_id
    done = service.start(profitable).run.run_id
    assert service.select_for_replay() == [paused, done]
    assert service.select_for_replay(statuses=["paused"]) == [paused]
    created = service.index.get(done).created_at
    assert service.select_for_replay(since=created) == [done]
    assert service.select_for_replay(ids=[done, paused, done, ""]) == [done, paused]
    report = load_report(Path("unused.json"), BatchOptions(from_node="synthesizer"))
    summary = batch.run_batch(service, [paused, done, "nope"], report, concurrency=2)
    assert summary.by_status == {"skipped": 1, "completed": 1, "failed": 1}
    assert "never reached synthesizer" in (report.rows[paused].error or "")
    assert "no run with id 'nope'" in (report.rows["nope"].error or "")
    assert service.select_for_replay() == [paused, done]  # the replay is not selected again


def test_an_ids_file_saved_by_notepad_or_excel_is_read_with_its_bom_and_crlf(
    service: RunService, vetoed: Scenario, tmp_path: Path
) -> None:
    first, second = (service.start(vetoed).run.run_id for _ in range(2))
    listed = tmp_path / "ids.txt"
    listed.write_bytes(f"{first}\r\n# kiosks\r\n{second}  # again\r\n".encode("utf-8-sig"))
    assert batch.read_ids(listed) == [first, second]
    assert service.select_for_replay(ids=batch.read_ids(listed)) == [first, second]
    listed.write_bytes(f"{first}\n".encode("utf-16"))
    with pytest.raises(VetoflowError, match=r"--ids: .*ids.txt is not UTF-8 text"):
        batch.read_ids(listed)


def test_interrupted_batch_keeps_finished_rows_and_resumes_without_duplicates(
    service: RunService, profitable: Scenario
) -> None:
    sources = saved_runs(service, profitable, 20)
    report = load_report(Path("unused.json"), BatchOptions(from_node="synthesizer"))
    seen: list[str] = []

    def interrupt_at_third(row: ReportRow) -> None:
        seen.append(row.source_run_id)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(service, sources, report, concurrency=2, on_row=interrupt_at_third)
    replays = len(service.list(limit=100)) - len(sources)
    assert 3 <= len(report.rows) < len(sources)
    assert replays == len(report.rows)  # every replay that ran is in the report
    resumed = batch.run_batch(service, sources, report, concurrency=2)
    assert resumed.by_status == {"completed": 20}
    assert len(service.list(limit=100)) == 40
