"""Faults: PostgreSQL restarted under a running server (503 with a clear message, then recovery)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api_support import TOKENS, client, live_server, scenario, wait_for
from tests.helpers import CountingSynthesizer
from tests.pg_server import throwaway_postgres
from tests.reliability import Tally, tally
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.runs.store import open_service

__all__ = ["tally"]


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restart_gives_503_then_recovers_without_restart(tmp_path: Path, tally: Tally) -> None:
    with throwaway_postgres() as pg:
        settings = Settings(home=tmp_path / "home", database_url=pg.url, api_tokens=SecretStr(TOKENS))
        synthesizer = CountingSynthesizer()
        with (
            open_service(settings, Context(synthesizer=synthesizer)) as service,
            live_server(create_app(settings, service=service)) as url,
            client(url, timeout=60) as http,
        ):
            before = http.post("/runs", json={"scenario": scenario("before", vetoed=True)}).json()
            run_id = before["run"]["run_id"]
            pg.stop()
            attempts = [
                ("GET", "/runs", None),
                ("GET", f"/runs/{run_id}", None),
                ("POST", "/runs", {"scenario": scenario("during")}),
                ("POST", f"/runs/{run_id}/decision", {"action": "approve", "comment": "during outage"}),
            ]
            for method, path, body in attempts:
                started = time.monotonic()
                response = http.request(method, path, json=body)
                assert response.status_code == 503, (path, response.text)
                assert "run database is unavailable" in response.json()["error"]
                assert response.headers["retry-after"] == "5"
                assert time.monotonic() - started < 20, "an outage must not hang a worker"
            assert http.get("/healthz").status_code == 200  # liveness does not depend on the database
            pg.start()
            wait_for(lambda: http.get("/runs").status_code == 200, timeout=30, what="recovery after restart")
            view = http.get(f"/runs/{run_id}").json()
            assert view["run"]["status"] == "paused"
            assert view["pending"] == before["pending"]
            decided = http.post(f"/runs/{run_id}/decision", json={"action": "approve", "comment": "after"})
            assert decided.status_code == 200, decided.text
            assert decided.json()["run"]["status"] == "completed"
            after = http.post("/runs", json={"scenario": scenario("after")})
            assert after.status_code == 201
            names = sorted(r["name"] for r in http.get("/runs").json()["runs"])
            assert names == ["after", "before"]  # nothing half-written during the outage
            assert [d["comment"] for d in decided.json()["decisions"]] == ["after"]
            assert synthesizer.calls == 2
    tally.record("PostgreSQL stopped and restarted under the server", scenarios=3, faults=1, lost=0)
