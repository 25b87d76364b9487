"""Run progress as Server-Sent Events in inline mode, on SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api_support import ApiEnv, api, client, scenario
from tests.test_queue_api import sse

__all__ = ["api"]  # the fixture
pytestmark = pytest.mark.slow  # real worker and server processes, or a live HTTP server

PAUSED = [
    ("running", None),
    ("node_started", "forecaster"),
    ("node_finished", "forecaster"),
    ("node_started", "accountant"),
    ("node_finished", "accountant"),
    ("node_started", "evidence"),
    ("node_finished", "evidence"),
    ("node_started", "approval"),
    ("paused", None),
]


def kinds(events: list[dict[str, str]]) -> list[tuple[str, str | None]]:
    return [(event["event"], json.loads(event["data"])["node"]) for event in events]


def test_inline_runs_stream_their_nodes_in_order_and_resume_from_last_event_id(api: ApiEnv) -> None:
    with client(api.url) as http:
        created = http.post("/runs", json={"scenario": scenario("inline", vetoed=True)})
        assert created.status_code == 201  # inline: the run has already paused when the answer comes
        run_id = created.json()["run"]["run_id"]
        assert created.json()["links"]["events"] == f"/runs/{run_id}/events"
        events = sse(api.url, f"/runs/{run_id}/events")
        assert kinds(events) == PAUSED
        resumed = sse(api.url, f"/runs/{run_id}/events", last_event_id=events[3]["id"])
        assert resumed == events[4:]
        assert http.post(f"/runs/{run_id}/decision", json={"action": "reject"}).status_code == 200
        tail = sse(api.url, f"/runs/{run_id}/events", last_event_id=events[-1]["id"])
        assert kinds(tail) == [
            ("running", None),
            ("node_started", "approval"),
            ("node_finished", "approval"),
            ("rejected", None),
        ]


def test_the_event_stream_refuses_bad_input_before_streaming(api: ApiEnv) -> None:
    with client(api.url) as http:
        assert http.get("/runs/nope/events").status_code == 404
        run_id = http.post("/runs", json={"scenario": scenario("x")}).json()["run"]["run_id"]
        bad = http.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 422
        assert "Last-Event-ID" in bad.text
    assert httpx.get(f"{api.url}/runs/{run_id}/events").status_code == 401
