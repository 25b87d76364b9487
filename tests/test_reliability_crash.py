"""kill -9 of `vetoflow serve` while runs are paused, mid-graph and mid-decision; nothing is lost or doubled."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.api_support import ServeProcess, client, scenario, wait_for
from tests.reliability import Tally, duplicated_decisions, tally
from vetoflow.config import Settings

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


__all__ = ["tally"]


def _fire(url: str, path: str, body: dict[str, Any], errors: list[str]) -> threading.Thread:
    """A request that will not get an answer: the server dies under it."""

    def send() -> None:
        try:
            with client(url, timeout=60) as http:
                errors.append(f"unexpected answer {http.post(path, json=body).status_code}")
        except httpx.TransportError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


MID = {"mid-veto": True, "mid-ok-1": False, "mid-ok-2": False}  # name -> vetoed
SHORT_LEASE = {"VETOFLOW_LEASE_SECONDS": "2"}  # a killed executor's runs show as stalled 2 s later


def _crash_mid_graph(settings: Settings) -> tuple[int, dict[str, Any]]:
    """Pause three runs, then kill -9 while one decision and three new runs are in flight."""
    marks = settings.home / "marks"
    server = ServeProcess(settings, slow_seconds=1.5, extra_env=SHORT_LEASE).start()
    try:
        with client(server.url) as http:
            paused = {}
            for name in ("paused-a", "paused-b", "deciding"):
                run = http.post("/runs", json={"scenario": scenario(name, vetoed=True)}).json()
                assert run["run"]["status"] == "paused"
                paused[name] = run
        errors: list[str] = []
        deciding = paused["deciding"]["run"]["run_id"]
        threads = [_fire(server.url, f"/runs/{deciding}/decision", {"action": "approve", "comment": "go"}, errors)]
        threads += [_fire(server.url, "/runs", {"scenario": scenario(n, vetoed=v)}, errors) for n, v in MID.items()]
        wait_for((marks / "synthesizer-deciding").exists, what="the decision to reach the Synthesizer")
        wait_for(lambda: all((marks / f"forecaster-{n}").exists() for n in MID), what="runs to reach the Forecaster")
        server.kill9()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
    finally:
        server.stop()
    return server.port, paused


def test_kill9_mid_graph_and_paused_loses_nothing(settings: Settings, tally: Tally) -> None:
    port, paused = _crash_mid_graph(settings)
    deciding = paused["deciding"]["run"]["run_id"]
    mid = MID
    restarted = ServeProcess(settings, port=port, slow_seconds=0, extra_env=SHORT_LEASE).start()
    try:
        with client(restarted.url) as http:
            time.sleep(float(SHORT_LEASE["VETOFLOW_LEASE_SECONDS"]))  # the killed executor's leases lapse
            rows = http.get("/runs", params={"limit": 500}).json()["runs"]
            names = sorted(r["name"] for r in rows)
            expected = sorted([*paused, *mid])
            lost = len(set(expected) - set(names))
            killed = ["deciding", *mid]  # the runs an executor was driving at the kill
            tally.count(runs_killed=len(killed), runs_lost=len(set(killed) - set(names)))
            assert names == expected  # nothing lost, nothing duplicated
            by_name = {r["name"]: r for r in rows}
            for name in ("paused-a", "paused-b"):
                view = http.get(f"/runs/{by_name[name]['run_id']}").json()
                assert view["run"]["status"] == "paused"
                assert view["pending"] == paused[name]["pending"]
                assert view["pause_id"] == paused[name]["pause_id"]
            for name in killed:
                assert by_name[name]["status"] == "stalled", name  # its executor died: the lease lapsed
                resumed = http.post(f"/runs/{by_name[name]['run_id']}/retry")
                assert resumed.status_code == 200, resumed.text
                want = "paused" if mid.get(name) else "completed"
                assert resumed.json()["run"]["status"] == want, name
                tally.count(runs_recovered=1)
            decided = http.get(f"/runs/{deciding}").json()
            assert [(d["reviewer"], d["action"]) for d in decided["decisions"]] == [("ana", "approve")]
            assert len(decided["state"]["reviews"]) == 1
            assert "approved it anyway by ana" in decided["state"]["summary"]["text"]
            again = http.post(f"/runs/{by_name['paused-a']['run_id']}/decision", json={"action": "approve"})
            assert again.json()["run"]["status"] == "completed"
            views = [http.get(f"/runs/{r['run_id']}").json() for r in rows]
            duplicated = sum(duplicated_decisions(v) for v in views)
            assert duplicated == 0
            assert len(http.get("/runs", params={"limit": 500}).json()["runs"]) == len(expected)
    finally:
        restarted.stop()
    tally.record(
        f"kill -9 with 2 paused, 3 mid-graph, 1 mid-decision [{settings.backend_name}]",
        scenarios=len(expected),
        faults=1,
        lost=lost,
        duplicated=duplicated,
    )
