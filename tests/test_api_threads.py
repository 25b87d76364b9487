"""The API's side of issue 13, thinly (the service tests hold the behaviour): a revise that makes a vetoed
plan pass still waits for approval; comments; a lost race keeps the loser's comment. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api_support import BOB, ApiEnv, api, client, scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

__all__ = ["api"]  # the fixture


def test_a_revise_that_makes_a_vetoed_plan_pass_still_waits_for_approval(api: ApiEnv) -> None:
    vetoed = {**scenario("sticky"), "veto_threshold": 0.0, "investment": 5_000_000}
    with client(api.url) as ana, client(api.url, token=BOB) as bob:
        run_id = ana.post("/runs", json={"scenario": vetoed}).json()["run"]["run_id"]
        revised = ana.post(f"/runs/{run_id}/decision", json={"action": "revise", "overrides": {"investment": 200_000}})
        assert revised.status_code == 200, revised.text
        body = revised.json()
        assert body["state"]["decision"]["veto"] is False
        assert body["run"]["status"] == "paused"
        assert body["pending"]["revised"]["reviewer"] == "ana"
        assert body["pending"]["revised"]["deltas"]["investment"] == {"old": 5e6, "new": 2e5, "change": -4.8e6}
        assert body["links"]["decide"] == f"/runs/{run_id}/decision"
        assert api.synthesizer.calls == 0
        done = bob.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": body["pending"]["digest"]})
        assert done.status_code == 200, done.text
        assert done.json()["run"]["status"] == "completed"
        assert "revised by ana, then approved by bob" in done.json()["state"]["summary"]["text"]


def test_comments_and_the_comment_of_a_lost_race(api: ApiEnv) -> None:
    with client(api.url) as ana, client(api.url, token=BOB) as bob:
        run_id = ana.post("/runs", json={"scenario": scenario("thread", vetoed=True)}).json()["run"]["run_id"]
        added = bob.post(f"/runs/{run_id}/comments", json={"text": "read the pilot review first"})
        assert added.status_code == 201, added.text
        assert (added.json()["author"], added.json()["lost_race"]) == ("bob", False)
        forged = bob.post(f"/runs/{run_id}/comments", json={"text": "x", "author": "ana"})
        assert forged.status_code == 422
        assert bob.post(f"/runs/{run_id}/comments", json={"text": ""}).status_code == 422
        assert ana.post(f"/runs/{run_id}/decision", json={"action": "approve"}).status_code == 200
        late = bob.post(f"/runs/{run_id}/decision", json={"action": "reject", "comment": "I disagree"})
        assert late.status_code == 409
        thread = ana.get(f"/runs/{run_id}/comments").json()
        assert thread["run_id"] == run_id
        assert [(c["author"], c["text"], c["lost_race"], c["action"]) for c in thread["comments"]] == [
            ("bob", "read the pilot review first", False, None),
            ("bob", "I disagree", True, "reject"),
        ]
        assert ana.get(f"/runs/{run_id}").json()["comments"] == thread["comments"]
        assert ana.get("/runs/nosuchrun/comments").status_code == 404
