"""Queue mode through the HTTP API: 202 + Location, ?wait=true, decisions racing, SSE progress (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from pydantic import SecretStr

from tests.api_support import ANA, TOKENS, client, live_server, scenario, wait_for
from tests.worker_support import QueueEnv, queue_env
from vetoflow.api import create_app
from vetoflow.runs.store import open_service

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker and server processes, or a live HTTP server


@contextmanager
def queue_api(env: QueueEnv) -> Iterator[str]:
    """The API of one replica in queue mode (it defers; the test's workers execute)."""
    settings = env.settings.model_copy(update={"api_tokens": SecretStr(TOKENS)})
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        yield url


def sse(url: str, path: str, last_event_id: str | None = None, limit: int | None = None) -> list[dict[str, str]]:
    """Read a Server-Sent Events stream (up to `limit` events, then disconnect)."""
    headers = {"Authorization": f"Bearer {ANA}"} | ({"Last-Event-ID": last_event_id} if last_event_id else {})
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with httpx.stream("GET", url + path, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                if "data" in current:
                    events.append(current)
                current = {}
                if limit is not None and len(events) >= limit:
                    break
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            current[field] = value.lstrip(" ")
    return events


def test_a_queued_run_answers_202_with_its_location_and_a_worker_finishes_it(queue_env: QueueEnv) -> None:
    queue_env.worker("a", concurrency=2)
    with queue_api(queue_env) as url, client(url) as http:
        created = http.post("/runs", json={"scenario": scenario("queued")})
        assert created.status_code == 202, created.text
        assert created.json()["run"]["status"] == "queued"
        location = created.headers["Location"]
        run_id = created.json()["run"]["run_id"]
        assert location.endswith(f"/runs/{run_id}")
        wait_for(lambda: http.get(location).json()["run"]["status"] == "completed", timeout=60, what="completion")
        waited = http.post("/runs", params={"wait": "true"}, json={"scenario": scenario("scripted")})
        assert waited.status_code == 201, waited.text
        assert waited.json()["run"]["status"] == "completed"
        listed = http.get("/runs", params={"status": "queued"}).json()["runs"]
        assert listed == []
    assert queue_env.bedrock.calls == 2


def test_twenty_concurrent_decisions_on_one_pause_resume_it_once(queue_env: QueueEnv) -> None:
    queue_env.worker("a", concurrency=2)
    queue_env.worker("b", concurrency=2)
    with queue_api(queue_env) as url, client(url) as http:
        run_id = http.post("/runs", json={"scenario": scenario("contested", vetoed=True)}).json()["run"]["run_id"]
        wait_for(lambda: http.get(f"/runs/{run_id}").json()["run"]["status"] == "paused", timeout=60, what="pause")

        def decide(i: int) -> int:
            with client(url) as own:
                body = {"action": "approve", "comment": f"reviewer {i}"}
                return own.post(f"/runs/{run_id}/decision", json=body).status_code

        with ThreadPoolExecutor(20) as pool:
            codes = sorted(pool.map(decide, range(20)))
        assert codes == [202] + [409] * 19
        wait_for(lambda: http.get(f"/runs/{run_id}").json()["run"]["status"] == "completed", timeout=60, what="end")
        view = http.get(f"/runs/{run_id}").json()
        assert len(view["decisions"]) == 1
    assert queue_env.bedrock.calls == 1
    kinds = [event.kind for event in queue_env.service.events_since(run_id, 0)]
    assert kinds.count("completed") == 1
    assert kinds.count("node_started") == kinds.count("node_finished") + 1  # the pause left approval open


def test_the_event_stream_delivers_every_node_in_order_and_resumes_after_a_disconnect(queue_env: QueueEnv) -> None:
    queue_env.worker("a")
    with queue_api(queue_env) as url, client(url) as http:
        run_id = http.post("/runs", json={"scenario": scenario("watched", vetoed=True)}).json()["run"]["run_id"]
        first = sse(url, f"/runs/{run_id}/events", limit=3)  # then the client drops
        rest = sse(url, f"/runs/{run_id}/events", last_event_id=first[-1]["id"])  # until the pause
        seen = [(e["event"], json.loads(e["data"])["node"]) for e in first + rest]
        assert seen == [
            ("queued", None),
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
        ids = [int(e["id"]) for e in first + rest]
        assert ids == sorted(set(ids))
        assert http.post(f"/runs/{run_id}/decision", json={"action": "approve"}).status_code == 202
        after = sse(url, f"/runs/{run_id}/events", last_event_id=rest[-1]["id"])
        assert [(e["event"], json.loads(e["data"])["node"]) for e in after] == [
            ("queued", None),
            ("running", None),
            ("node_started", "approval"),
            ("node_finished", "approval"),
            ("node_started", "synthesizer"),
            ("node_finished", "synthesizer"),
            ("completed", None),
        ]


def test_a_replay_answers_202_with_its_location_and_a_worker_carries_it_to_its_end(queue_env: QueueEnv) -> None:
    queue_env.worker("a")
    with queue_api(queue_env) as url, client(url) as http:
        source = http.post("/runs", params={"wait": "true"}, json={"scenario": scenario("source")})
        assert source.json()["run"]["status"] == "completed", source.text
        source_id = source.json()["run"]["run_id"]
        replayed = http.post(f"/runs/{source_id}/replay", json={"overrides": {"investment": 400_000}})
        assert replayed.status_code == 202, replayed.text
        run_id = replayed.json()["run"]["run_id"]
        assert run_id != source_id
        assert replayed.json()["run"]["status"] == "queued"
        assert replayed.headers["Location"] == f"{url}/runs/{run_id}"
        wait_for(lambda: http.get(f"/runs/{run_id}").json()["run"]["status"] == "completed", timeout=60, what="end")
        ended = http.get(f"/runs/{run_id}").json()
        assert ended["run"]["investment"] == 400_000
        assert ended["run"]["name"] == f"source (replay of {source_id})"
        assert http.get(f"/runs/{source_id}").json()["run"]["investment"] == 500_000, "the source stays as it was"
    assert queue_env.bedrock.calls == 2  # the source's summary and the replay's
    kinds = [event.kind for event in queue_env.service.events_since(run_id, 0)]
    assert (kinds[0], kinds.count("completed")) == ("queued", 1)


def test_a_queued_revise_is_rerun_by_a_worker_on_the_revised_figures_then_a_reject_ends_it(
    queue_env: QueueEnv,
) -> None:
    queue_env.worker("a")
    with queue_api(queue_env) as url, client(url) as http:
        started = http.post("/runs", params={"wait": "true"}, json={"scenario": scenario("rev", vetoed=True)})
        assert started.json()["run"]["status"] == "paused", started.text
        run_id = started.json()["run"]["run_id"]
        revise = {"action": "revise", "overrides": {"investment": 100000}}
        revised = http.post(f"/runs/{run_id}/decision", json=revise)
        assert revised.status_code == 202, revised.text
        assert revised.json()["run"]["status"] == "queued"
        wait_for(lambda: http.get(f"/runs/{run_id}").json()["run"]["status"] == "paused", timeout=60, what="re-run")
        again = http.get(f"/runs/{run_id}").json()
        assert (again["run"]["revision"], again["run"]["investment"]) == (1, 100000)  # the threshold is out of reach
        assert again["pending"] is not None, "a new pause asks for a decision"
        rejected = http.post(f"/runs/{run_id}/decision", params={"wait": "true"}, json={"action": "reject"})
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["run"]["status"] == "rejected"
    assert queue_env.bedrock.calls == 0
    kinds = [event.kind for event in queue_env.service.events_since(run_id, 0)]
    assert (kinds.count("paused"), kinds.count("rejected")) == (2, 1)
