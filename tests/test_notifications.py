"""Notifications through the outbox to real loopback receivers: signed webhooks with retries and dead
letters, a Slack-compatible message, e-mail over STARTTLS, and delivery after a kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from tests.conftest import env_for
from tests.receivers import HookReceiver, smtp_server, webhook_channel
from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.governance.policy import Policy, parse_policy
from vetoflow.runs import audit, outbox
from vetoflow.runs.delivery import deliver_due
from vetoflow.runs.governance_events import emit, run_info
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with open_database(settings) as database:  # migrated: the governance tables exist
        yield database.engine


@pytest.fixture
def paused_state(settings: Settings, vetoed: Scenario) -> dict[str, Any]:
    with open_service(settings) as service:
        return service.start(vetoed).state.model_dump(mode="json")


def policy_for(url: str, extra: str = "") -> Policy:
    return parse_policy(
        f"""
tiers:
  - name: standard
    approvers: {{roles: [approver], count: 2}}
notify:
  - webhook: {url}/hook
    secret: env:VETOFLOW_TEST_HOOK_SECRET
    events: [run.paused, run.decided]
  - slack: {url}/slack
    events: [run.paused]
{extra}""",
        "test-policy",
    )


def emit_paused(engine: Engine, policy: Policy, state: dict[str, Any], console_url: str) -> list[str]:
    run = run_info(state, console_url, tier="standard", approvals="0 of 2", due_at="2026-11-27T10:00:00+00:00")
    with engine.begin() as conn:
        return emit(conn, "run.paused", policy, run, actor="system", via="api", details={"reason": "veto"})


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)  # events written just before are due

    def __call__(self) -> datetime:
        return self.now


def test_webhooks_are_signed_retried_on_500_and_keep_their_id(
    settings: Settings, engine: Engine, receiver: HookReceiver, paused_state: dict[str, Any]
) -> None:
    policy = policy_for(receiver.url)
    receiver.fail_first["/hook"] = 1
    clock = Clock()
    ids = emit_paused(engine, policy, paused_state, settings.console_url)
    assert len(ids) == 2
    first = deliver_due(engine, settings, clock=clock, backoff_seconds=30)
    assert (len(first.sent), len(first.retried), first.dead) == (1, 1, [])
    assert deliver_due(engine, settings, clock=clock, backoff_seconds=30).retried == [], "not due before the back-off"
    clock.now += timedelta(seconds=30)
    second = deliver_due(engine, settings, clock=clock, backoff_seconds=30)
    assert second.sent == first.retried
    hook_id = first.retried[0]
    assert receiver.ids("/hook") == [hook_id, hook_id], "the retry carries the same idempotency id"
    assert receiver.ids("/hook", 200) == [hook_id]
    tries = [r for r in receiver.received if r.path == "/hook"]
    assert all(r.signature_ok for r in tries), "every try is signed with the shared secret"
    assert tries[0].body == tries[1].body
    assert tries[1].headers["X-Vetoflow-Id"] == hook_id
    body = json.loads(tries[1].body)
    assert body["event"] == "run.paused"
    assert body["run"]["id"] == paused_state["run_id"]
    assert body["run"]["figures"]["roi"] == paused_state["financials"]["roi"]
    assert body["run"]["figures"]["loss_probability"] == paused_state["financials"]["loss_probability"]
    assert body["run"]["approvals"] == "0 of 2"
    assert body["run"]["digest"].startswith("sha256:")
    [slack] = [json.loads(r.body) for r in receiver.received if r.path == "/slack"]
    assert "waits for approval" in slack["text"]
    assert any(
        b["type"] == "actions" and b["elements"][0]["url"].endswith(f"?run={paused_state['run_id']}")
        for b in slack["blocks"]
    )
    fields = next(b["fields"] for b in slack["blocks"] if "fields" in b)
    assert {"type": "mrkdwn", "text": "*Approvals*\n0 of 2"} in fields
    currency = paused_state["scenario"]["currency"]
    assert body["run"]["currency"] == currency
    investment = f"{paused_state['scenario']['investment']:,.0f} {currency}"
    assert {"type": "mrkdwn", "text": f"*Investment*\n{investment}"} in fields, "money says its currency"
    listed = {row["id"]: row for row in outbox.listing(engine)}
    assert [t["outcome"] for t in listed[hook_id]["tries"]] == ["retry", "sent"]
    assert listed[hook_id]["tries"][0]["detail"] == "HTTP 500"
    recorded = [
        sorted(e["details"].get("notifications", [])) for e in audit.entries(engine, run_id=paused_state["run_id"])
    ]
    assert sorted(ids) in recorded, "the audit entry names the notifications it queued"


def test_the_last_failed_try_leaves_a_dead_letter(
    settings: Settings, engine: Engine, receiver: HookReceiver, paused_state: dict[str, Any]
) -> None:
    settings = settings.model_copy(update={"notify_max_attempts": 3, "notify_timeout": 0.3})
    policy = policy_for(receiver.url, extra=f"  - webhook: {receiver.url}/slow\n    events: [run.paused]\n")
    receiver.fail_first["/hook"] = 99
    receiver.slow["/slow"] = 1.0
    clock = Clock()
    queued = emit_paused(engine, policy, paused_state, settings.console_url)
    for _ in range(3):
        deliver_due(engine, settings, clock=clock, backoff_seconds=1)
        clock.now += timedelta(minutes=5)
    by_id = {row["id"]: row for row in outbox.listing(engine)}  # listings show no path: name rows by channel
    rows = {
        name: by_id[notification_id] for name, notification_id in zip(["hook", "slack", "slow"], queued, strict=True)
    }
    assert (rows["hook"]["status"], rows["hook"]["attempts"]) == ("dead", 3)
    assert rows["hook"]["last_error"] == "HTTP 500 (gave up after 3 tries)"
    assert [t["outcome"] for t in rows["hook"]["tries"]] == ["retry", "retry", "dead"]
    assert rows["slow"]["status"] == "dead"
    assert "timed out after 0.3s" in rows["slow"]["last_error"]
    assert rows["slack"]["status"] == "sent"
    assert len(receiver.ids("/hook")) == 3
    clock.now += timedelta(hours=1)
    assert deliver_due(engine, settings, clock=clock).retried == [], "a dead letter is not retried"


def test_two_workers_deliver_each_notification_once(
    settings: Settings, engine: Engine, receiver: HookReceiver, paused_state: dict[str, Any]
) -> None:
    policy = policy_for(receiver.url)
    for _ in range(6):
        emit_paused(engine, policy, paused_state, settings.console_url)
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        deliver_due(engine, settings)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    hooks = receiver.ids("/hook")
    assert len(hooks) == 6
    assert len(set(hooks)) == 6
    assert len(receiver.ids("/slack")) == 6


def test_email_goes_out_over_starttls_with_a_login(
    tmp_path: Path, paused_state: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    with smtp_server(tmp_path) as box:
        settings = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_user": "mailer", "smtp_ca_file": box.ca_file,
                "smtp_password": SecretStr("mail-pass-123"), "smtp_from": "vetoflow@example.com",
            }
        )  # fmt: skip
        policy = parse_policy(
            "tiers:\n  - name: standard\n    approvers: {roles: [approver]}\n"
            "notify:\n  - email: [finance@example.com, cfo@example.com]\n    events: [run.paused]\n",
            "p",
        )
        [notification_id] = emit_paused(engine, policy, paused_state, settings.console_url)
        report = deliver_due(engine, settings)
        assert report.sent == [notification_id], outbox.listing(engine)[0]["last_error"]
        [mail] = box.messages
        assert box.logins == ["mailer"]
        assert sorted(mail.rcpt_tos) == ["cfo@example.com", "finance@example.com"]
        text = mail.content.decode() if isinstance(mail.content, bytes) else str(mail.content)
        assert f"Message-ID: <{notification_id}@vetoflow>" in text
        assert f"Subject: [vetoflow] Run {paused_state['scenario']['name']}" in text
        assert "Tier: standard" in text
        assert f"?run={paused_state['run_id']}" in text
        assert f"{paused_state['financials']['roi']:.1%}" in text
        npv, currency = paused_state["financials"]["npv"], paused_state["scenario"]["currency"]
        assert f"NPV: {npv:,.0f} {currency}" in text


KILLED_WRITER = """
import json, sys, time
from vetoflow.config import Settings
from vetoflow.runs.governance_events import emit, run_info
from vetoflow.governance.policy import parse_policy
from vetoflow.db import open_database
policy_text, state = json.loads(sys.stdin.read())
settings = Settings()
with open_database(settings) as database, database.engine.begin() as conn:
    run = run_info(state, settings.console_url)
    emit(conn, "run.paused", parse_policy(policy_text, "p"), run, actor="system", via="api")
print("committed", flush=True)
time.sleep(120)  # killed here, before any delivery
"""


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_a_notification_survives_kill_9_between_event_and_delivery(
    settings: Settings, engine: Engine, receiver: HookReceiver, paused_state: dict[str, Any]
) -> None:
    policy_text = "tiers:\n  - name: t\n    approvers: {roles: [approver]}\n" + webhook_channel(receiver)
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**env_for(settings), "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )  # fmt: skip
    assert writer.stdin is not None
    assert writer.stdout is not None
    writer.stdin.write(json.dumps([policy_text, paused_state]))
    writer.stdin.close()
    assert writer.stdout.readline().strip() == "committed"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert receiver.received == []
    report = deliver_due(engine, settings)  # "after restart": another process picks it up
    assert len(report.sent) == 1
    [got] = receiver.received
    assert got.signature_ok
    assert json.loads(got.body)["id"] == report.sent[0]
