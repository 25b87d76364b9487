"""Governance over real HTTP: two approvers through the API ("1 of 2", then the run resumes), a stale digest
refused with 409 and nothing recorded, GET /audit for admins only, and the paused-run webhook delivered
within seconds by the server itself."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.api_support import client, live_server
from tests.cli_support import issued_token
from tests.governance_support import POLICY
from tests.receivers import HookReceiver, webhook_channel
from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.runs.store import open_service


def tokens(home: Path) -> dict[str, str]:
    runner = CliRunner()
    found = {}
    for name, role in (("an", "analyst"), ("ap1", "approver"), ("ap2", "approver"), ("ad", "admin")):
        added = runner.invoke(cli, ["--home", str(home), "users", "add", name, "--role", role, "--no-password"])
        assert added.exit_code == 0, added.output
        found[name] = issued_token(home, name)
    return found


def check_the_notifications_listing(url: str, keys: dict[str, str], run_id: str, receiver: HookReceiver) -> None:
    """GET /notifications: admins see the run's notifications (newest first, targets masked), others get 403."""
    deadline = time.monotonic() + 10
    while len(receiver.ids("/hook", 200)) < 2 and time.monotonic() < deadline:  # run.decided, sent by the server
        time.sleep(0.1)
    with client(url, keys["ad"]) as admin:
        listed = admin.get("/notifications", params={"run": run_id})
        assert listed.status_code == 200
        assert [(n["event"], n["kind"], n["target"]) for n in listed.json()] == [
            ("run.decided", "webhook", f"{receiver.url}/…"), ("run.paused", "webhook", f"{receiver.url}/…")
        ]  # fmt: skip
        assert sorted(n["id"] for n in listed.json()) == sorted(receiver.ids("/hook", 200))
        assert all("channel" not in n for n in listed.json()), "the full URL and secret's variable stay inside"
        assert admin.get("/notifications", params={"run": "nosuch"}).status_code == 404
    with client(url, keys["ap1"]) as approver:
        assert approver.get("/notifications").status_code == 403


def test_two_approvals_over_http_with_digest_audit_and_a_prompt_webhook(
    settings: Settings, tmp_path: Path, receiver: HookReceiver
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + webhook_channel(receiver) + "    events: [run.paused, run.decided]\n")
    settings = settings.model_copy(update={"policy": policy, "notify_every": 0.2})
    keys = tokens(settings.home)
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        with client(url, keys["an"]) as analyst:
            created = analyst.post("/runs", json={"scenario_path": "vetoed.yaml"})
            assert created.status_code == 201, created.text
            run = created.json()
        run_id, digest = run["run"]["run_id"], run["pending"]["digest"]
        assert run["approval"]["progress"] == "0 of 2"
        assert run["approval"]["requester"] == "an"
        deadline = time.monotonic() + 10
        while not receiver.ids("/hook") and time.monotonic() < deadline:
            time.sleep(0.1)
        [paused] = [r for r in receiver.received if r.path == "/hook"]
        assert paused.signature_ok, "the server announced the pause within seconds, signed"
        with client(url, keys["an"]) as analyst:
            own = analyst.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": digest})
            assert own.status_code == 403
        with client(url, keys["ap1"]) as first, client(url, keys["ap2"]) as second:
            stale = first.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": "sha256:" + "0" * 64})
            assert stale.status_code == 409
            assert "the figures changed since you opened this run" in stale.json()["error"]
            assert first.get(f"/runs/{run_id}").json()["approval"]["approved_by"] == []
            one = first.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": digest, "comment": "ok"})
            assert one.status_code == 200, one.text
            assert one.json()["run"]["status"] == "paused"
            assert one.json()["approval"]["progress"] == "1 of 2"
            two = second.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": digest})
            assert two.json()["run"]["status"] == "completed"
            assert first.get("/audit").status_code == 403
        with client(url, keys["ad"]) as admin:
            log = admin.get("/audit", params={"format": "jsonl"})
            assert log.status_code == 200
            events = [line for line in log.text.splitlines() if run_id in line]
            assert [json.loads(line)["event"] for line in events] == [
                "run.started", "run.paused", "run.approved", "run.decided", "run.completed"
            ]  # fmt: skip
            assert json.loads(events[0])["via"] == "api"
            one_run = admin.get("/audit", params={"run": run_id, "format": "jsonl"}).text.splitlines()
            assert one_run == events, "?run= gives that run's entries alone"
            assert admin.get("/audit", params={"run": "no such run!"}).status_code == 422
            assert admin.get("/audit", params={"format": "csv"}).text.startswith("seq,at,event")
            assert admin.get("/audit", params={"since": "soon"}).status_code == 422
        check_the_notifications_listing(url, keys, run_id, receiver)


def scheduled_event() -> dict[str, object]:
    """What EventBridge sends for a `rate(1 minute)` rule (the Web Adapter POSTs it unchanged)."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T20:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/vetoflow-VetoflowFunctionClock"],
        "detail": {},
    }


def test_on_lambda_the_schedule_delivers_what_a_frozen_instance_cannot(
    settings: Settings, tmp_path: Path, receiver: HookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between requests a Lambda instance is frozen with its pump: the scheduled event announces the pause."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + webhook_channel(receiver))
    frozen = {"policy": policy, "notify_every": 0, "reconcile_every": 0, "allow_sqlite_on_lambda": True}
    settings = settings.model_copy(update=frozen)
    keys = tokens(settings.home)
    with open_service(settings) as service:
        off_lambda = TestClient(create_app(settings, service=service))
        assert off_lambda.post("/lambda/scheduled", json=scheduled_event()).status_code == 404, "mounted on Lambda only"
        monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
        with live_server(create_app(settings, service=service)) as url:
            with client(url, keys["an"]) as analyst:
                assert analyst.post("/runs", json={"scenario_path": "vetoed.yaml"}).json()["run"]["status"] == "paused"
            time.sleep(0.5)
            assert receiver.ids("/hook") == [], "no pump thread runs here, as on a frozen instance"
            function_url = {"x-amzn-request-context": '{"http": {"sourceIp": "203.0.113.7"}}'}
            with httpx.Client(base_url=url, timeout=30) as outsider:  # through the Function URL: an HTTP event
                for headers in (function_url, {"X-Forwarded-For": "203.0.113.7"}):
                    refused = outsider.post("/lambda/scheduled", json=scheduled_event(), headers=headers)
                    assert refused.status_code == 403, refused.text
                    assert "only the function's scheduled event may call this path" in refused.text
            assert receiver.ids("/hook") == [], "a refused call did nothing"
            passed_through = {
                "x-amzn-request-context": "null",
                "x-amzn-lambda-context": '{"function_name": "vetoflow"}',
            }
            with httpx.Client(base_url=url, timeout=30, headers=passed_through) as adapter:  # no token, loopback Host
                first = adapter.post("/lambda/scheduled", json=scheduled_event())
                assert first.status_code == 200, first.text
                assert first.json()["ran"] is True
                assert first.json()["done"]["notifications_sent"] == 1
                assert len(receiver.ids("/hook")) == 1
                again = adapter.post("/lambda/scheduled", json=scheduled_event())
                assert again.json() == {
                    "ran": False, "done": {}, "reason": "the last pass ended 0 s ago (at most one per 20 s)"
                }  # fmt: skip
                other = adapter.post("/lambda/scheduled", json={**scheduled_event(), "detail-type": "Object Created"})
                assert other.status_code == 422
                assert "detail-type" in other.text
