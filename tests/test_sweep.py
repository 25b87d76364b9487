"""Deadlines with an injected clock: reminders, escalation and expiry, each exactly once while two sweeps
(two services, as two processes would have) run at the same moment. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from tests.cli_support import invoke
from tests.conftest import env_for
from tests.governance_support import POLICY, START, at, governed_service, governed_settings
from tests.receivers import HookReceiver, webhook_channel
from vetoflow.config import Settings
from vetoflow.db.tables import pauses_table
from vetoflow.runs import audit, audit_check
from vetoflow.runs.service import RunService
from vetoflow.runs.sweep import SweepReport
from vetoflow.scenario import Scenario


def sweep_twice_at_once(services: list[RunService], moment: datetime) -> list[SweepReport]:
    for service in services:
        at(service, moment)
    barrier = threading.Barrier(len(services))
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def run(service: RunService) -> None:
        barrier.wait()
        try:
            reports.append(service.sweep())
            service.deliver_notifications()  # then delivery, as `vetoflow sweep` does: both at once too
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return reports


def events(service: RunService, run_id: str) -> Counter[str]:
    return Counter(e["event"] for e in audit.entries(service.index.engine, run_id=run_id))


def test_reminders_escalation_and_expiry_happen_once_under_concurrent_sweeps(
    settings: Settings, tmp_path: Path, vetoed: Scenario, receiver: HookReceiver
) -> None:
    notify = webhook_channel(receiver) + "    events: [run.reminder, run.escalated, run.expired]\n"
    settings = governed_settings(settings, tmp_path, POLICY + notify)
    with governed_service(settings) as first, governed_service(settings) as second:
        at(first, START)
        large = first.start(vetoed.model_copy(update={"investment": 2_000_000.0}), requester="an").run.run_id
        standard = first.start(vetoed.model_copy(update={"investment": 480_000.0}), requester="an").run.run_id
        both = [first, second]

        sweep_twice_at_once(both, START + timedelta(hours=11))
        assert events(first, large)["run.reminder"] == 0, "not due before 12h"
        reports = sweep_twice_at_once(both, START + timedelta(hours=13))
        assert sorted(r for report in reports for r in report.reminded) == [large]
        assert events(first, large)["run.reminder"] == 1
        sweep_twice_at_once(both, START + timedelta(hours=14))
        assert events(first, large)["run.reminder"] == 1, "the next reminder is 12h after the first"
        sweep_twice_at_once(both, START + timedelta(hours=25, minutes=30))
        assert events(first, large)["run.reminder"] == 2

        reports = sweep_twice_at_once(both, START + timedelta(hours=48, minutes=1))
        assert [r for report in reports for r in report.expired] == [large]
        expired = first.view(large)
        assert expired.status == "rejected"
        [decision] = expired.decisions
        assert (decision.reviewer, decision.action, decision.comment) == ("system", "reject", "expired")
        assert events(first, large)["run.expired"] == 1
        assert expired.state.reviews[-1].comment == "expired"

        reports = sweep_twice_at_once(both, START + timedelta(days=5, minutes=1))
        assert [r for report in reports for r in report.escalated] == [standard]
        escalated = first.view(standard)
        assert escalated.status == "paused"
        assert escalated.approval is not None
        assert (escalated.approval.tier, escalated.approval.progress) == ("large", "0 of 2")
        assert escalated.approval.due_at == (START + timedelta(days=7, minutes=1)).isoformat()
        sweep_twice_at_once(both, START + timedelta(days=7, minutes=2))
        assert first.view(standard).status == "rejected"
        counts = events(first, standard)
        assert (counts["run.escalated"], counts["run.expired"], counts["run.decided"]) == (1, 1, 0)
        assert audit_check.verify(first.index.engine).ok
    sent = [json.loads(r.body) for r in receiver.received]
    assert all(r.signature_ok for r in receiver.received)
    assert len({n["id"] for n in sent}) == len(sent), "no notification reached the receiver twice"
    heard = Counter((n["event"], n["run"]["id"]) for n in sent)
    assert heard == {
        ("run.reminder", large): 2, ("run.expired", large): 1, ("run.escalated", standard): 1,
        ("run.expired", standard): 1,
    }, "each sent exactly once while two sweeps (and two deliveries) ran at once"  # fmt: skip


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_the_sweep_command_expires_with_a_given_time(settings: Settings, tmp_path: Path, vetoed: Scenario) -> None:
    """The pause opened three days ago (its 48h are over); `--now` may name the present, never the future."""
    settings = governed_settings(settings, tmp_path)
    with governed_service(settings) as service:
        at(service, datetime.now(UTC) - timedelta(days=3))
        run_id = service.start(vetoed.model_copy(update={"investment": 2_000_000.0})).run.run_id
        assert service.view(run_id).approval is not None
    env = env_for(settings) | {"VETOFLOW_POLICY": str(settings.policy)}
    done = subprocess.run(
        [sys.executable, "-m", "vetoflow", "sweep", "--now", datetime.now(UTC).isoformat()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "expired 1" in done.stdout
    with governed_service(settings) as service:
        assert service.view(run_id).status == "rejected"


TIER_SCOPED = (
    POLICY
    + """\
notify:
  - webhook: http://127.0.0.1:9/everyone
  - webhook: http://127.0.0.1:9/board
    tiers: [large]
"""
)


def test_a_tier_scoped_channel_hears_of_a_run_once_it_escalates_into_its_tier(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, TIER_SCOPED)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed.model_copy(update={"investment": 480_000.0}), requester="an").run.run_id
        later = START + timedelta(days=5, minutes=1)
        at(service, later)
        assert service.sweep().escalated == [run_id]
        escalated = [n for n in service.notifications(run_id) if n["event"] == "run.escalated"]
        assert len(escalated) == 2, "everyone, and now the large tier's channel"
        paused = [n for n in service.notifications(run_id) if n["event"] == "run.paused"]
        assert len(paused) == 1, "the board was not told of a standard-tier run"


def clock_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


REMINDER_LIST = """\
tiers:
  - name: standard
    approvers: {roles: [approver], count: 1}
    due: 2d
    remind_every: [1h, 4h]
    at_deadline: expire
"""


def test_a_list_of_reminder_intervals_is_followed_then_its_last_repeats(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, REMINDER_LIST)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        reminded_at = []
        for minutes in range(0, 14 * 60, 15):  # a sweep every quarter of an hour for 14 hours
            service.gate.clock = clock_at(START + timedelta(minutes=minutes))
            if service.sweep().reminded == [run_id]:
                reminded_at.append(minutes / 60)
        assert reminded_at == [1.0, 5.0, 9.0, 13.0], "1h after the pause, then every 4h (the list's last)"
        assert events(service, run_id)["run.reminder"] == 4


def test_a_sweep_reads_no_checkpoint_of_runs_waiting_under_a_recorded_pause(
    settings: Settings, tmp_path: Path, vetoed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many runs may wait for days; a sweep every minute on every server must not load each one's state."""
    settings = governed_settings(settings, tmp_path)
    with governed_service(settings) as service:
        waiting = [service.start(vetoed, requester="an").run.run_id for _ in range(3)]
        read: list[str] = []
        real = service.graph.get_state

        def counting(config: Any, *args: Any, **kwargs: Any) -> Any:
            read.append(config["configurable"]["thread_id"])
            return real(config, *args, **kwargs)

        monkeypatch.setattr(service.graph, "get_state", counting)
        assert service.sweep() == SweepReport()
        assert read == []
        with service.database.engine.begin() as conn:  # what the previous release left: a pause never recorded
            conn.execute(delete(pauses_table).where(pauses_table.c.run_id == waiting[0]))
        assert service.sweep().adopted == [waiting[0]]
        assert set(read) == {waiting[0]}, "only the unrecorded pause's state is read"


def test_sweep_json_names_its_notification_counts(home: Settings, tmp_path: Path, vetoed: Scenario) -> None:
    settings = governed_settings(home, tmp_path, POLICY + "notify:\n  - webhook: http://127.0.0.1:9/refused\n")
    with governed_service(settings) as service:
        service.start(vetoed, requester="an")
    env = {"VETOFLOW_POLICY": str(settings.policy)}
    swept = invoke(settings, "sweep", "--json", **env)
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.stdout)["notifications"] == {"sent": 0, "retrying": 1, "dead": 0}
    queued_only = invoke(settings, "sweep", "--json", "--no-deliver", **env)
    assert json.loads(queued_only.stdout)["notifications"] is None
    assert re.search(r"; notifications sent \d+, retrying \d+, dead \d+$", invoke(settings, "sweep", **env).stdout)
