"""The HTTP API over real loopback HTTP, on SQLite and PostgreSQL: endpoints, auth, limits, idempotency."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.api_support import ANA, BOB, ApiEnv, api, client, free_port, live_server, scenario
from tests.conftest import ROOT, env_for
from vetoflow.api import create_app
from vetoflow.config import Settings

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

__all__ = ["api"]  # the fixture


def test_health_and_openapi_need_no_token(api: ApiEnv) -> None:
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    schema = httpx.get(f"{api.url}/openapi.json").json()
    assert {"/runs", "/runs/{run_id}", "/runs/{run_id}/decision", "/runs/{run_id}/replay"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_every_endpoint_refuses_without_a_valid_token(api: ApiEnv) -> None:
    with client(api.url, token=None) as anon, client(api.url, token="not-a-real-token-000000") as wrong:
        for http in (anon, wrong):
            for method, path in (("GET", "/runs"), ("GET", "/runs/abc"), ("POST", "/runs/abc/decision")):
                response = http.request(method, path, json={"action": "approve"})
                assert response.status_code == 401, (method, path)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "token" in response.json()["error"]
    assert api.service.list() == []


def test_profitable_run_completes_with_summary_and_links(api: ApiEnv) -> None:
    with client(api.url) as http:
        response = http.post("/runs", json={"scenario": scenario("plain")})
        assert response.status_code == 201, response.text
        run = response.json()
        assert run["run"]["status"] == "completed"
        assert run["state"]["summary"]["offline"] is True
        assert run["links"] == {
            "self": f"/runs/{run['run']['run_id']}",
            "history": run["links"]["history"],
            "events": f"/runs/{run['run']['run_id']}/events",
            "decide": None,
        }
        again = http.get(run["links"]["self"]).json()
        assert again["state"]["financials"] == run["state"]["financials"]
        steps = http.get(run["links"]["history"]).json()["steps"]
        ran = [s["wrote"] for s in steps if s["wrote"]]
        assert ran == [["__start__"], ["forecaster"], ["accountant"], ["evidence"], ["synthesizer"]]


def test_decision_reviewer_comes_from_the_token(api: ApiEnv) -> None:
    with client(api.url) as ana, client(api.url, token=BOB) as bob:
        run = ana.post("/runs", json={"scenario": scenario("veto", vetoed=True)}).json()
        run_id = run["run"]["run_id"]
        assert run["run"]["status"] == "paused"
        assert run["links"]["decide"] == f"/runs/{run_id}/decision"
        forged = bob.post(f"/runs/{run_id}/decision", json={"action": "approve", "reviewer": "ana"})
        assert forged.status_code == 422
        assert "body.reviewer: Extra inputs are not permitted" in forged.json()["error"]
        paused = ana.get("/runs", params={"status": "paused"}).json()["runs"]
        assert [r["run_id"] for r in paused] == [run_id]
        done = bob.post(f"/runs/{run_id}/decision", json={"action": "approve", "comment": "go"})
        assert done.status_code == 200, done.text
        assert done.json()["run"]["status"] == "completed"
        assert done.json()["decisions"][0]["reviewer"] == "bob"
        late = ana.post(f"/runs/{run_id}/decision", json={"action": "reject"})
        assert late.status_code == 409
        assert "already decided: approve by bob" in late.json()["error"]


def test_revise_and_reject(api: ApiEnv) -> None:
    with client(api.url) as http:
        run_id = http.post("/runs", json={"scenario": scenario("rev", vetoed=True)}).json()["run"]["run_id"]
        revised = http.post(f"/runs/{run_id}/decision", json={"action": "revise", "overrides": {"investment": 100000}})
        assert revised.status_code == 200, revised.text
        assert revised.json()["run"]["revision"] == 1
        assert revised.json()["run"]["status"] == "paused"  # the threshold is still out of reach
        rejected = http.post(f"/runs/{run_id}/decision", json={"action": "reject", "comment": "no"})
        assert rejected.json()["run"]["status"] == "rejected"
    assert api.synthesizer.calls == 0


def test_user_errors_are_clear_4xx(api: ApiEnv) -> None:
    with client(api.url) as http:
        missing = http.get("/runs/nosuchrun")
        assert missing.status_code == 404
        assert "no run with id 'nosuchrun'" in missing.json()["error"]
        bad = http.post("/runs", json={"scenario": {**scenario("bad"), "horizon": 500}})
        assert bad.status_code == 422
        assert "body.scenario.horizon: Input should be less than or equal to 120 (got 500)" in bad.json()["error"]
        both = http.post("/runs", json={"scenario": scenario("x"), "scenario_path": "vetoed.yaml"})
        assert "exactly one of scenario or scenario_path" in both.json()["error"]
        done = http.post("/runs", json={"scenario": scenario("done")}).json()["run"]["run_id"]
        not_paused = http.post(f"/runs/{done}/decision", json={"action": "approve"})
        assert not_paused.status_code == 409, "a conflict with the run's state, not bad input"
        assert "not waiting for a decision (status: completed)" in not_paused.json()["error"]
        assert http.post(f"/runs/{done}/retry").status_code == 409
        assert http.get("/runs/..%2Fetc").status_code in (404, 422)
    assert len(api.service.list()) == 1  # refused requests left nothing behind


def test_limits_give_413_and_422(api: ApiEnv) -> None:
    with client(api.url) as http:
        huge = {"scenario": {**scenario("big"), "name": "x" * 2_000_000}}
        assert http.post("/runs", json=huge).status_code == 413
        chunked = http.post("/runs", content=iter([b"{" + b" " * 600_000, b" " * 600_000 + b"}"]))
        assert chunked.status_code == 413
        assert "larger than the limit of 1,000,000 bytes" in chunked.json()["error"]
        cells = http.post("/runs", json={"scenario": scenario("wide", paths=100_000) | {"horizon": 120}})
        assert cells.status_code == 422
        assert "over this server's limit of 5,000,000" in cells.json()["error"]
        many = {
            **scenario("many"),
            "segments": [{"name": f"s{i}", "base_revenue": 1, "margin": 0.1} for i in range(51)],
        }
        assert (
            "body.scenario.segments: List should have at most 50 items"
            in http.post("/runs", json={"scenario": many}).json()["error"]
        )
        assert http.get("/runs", params={"limit": 10_000}).status_code == 422
    assert api.service.list() == []


def test_scenario_paths_stay_inside_the_scenario_folder(api: ApiEnv) -> None:
    with client(api.url) as http:
        ok = http.post("/runs", json={"scenario_path": "from_csv.yaml"})
        assert ok.status_code == 201, ok.text
        for hostile in ("../pyproject.toml", "/etc/passwd", "history/../../cli.py", "..", "history/../../../README.md"):
            refused = http.post("/runs", json={"scenario_path": hostile})
            assert refused.status_code == 422, hostile
            assert "must be a relative path inside the scenario folder" in refused.json()["error"]
        absent = http.post("/runs", json={"scenario_path": "nope.yaml"}).json()["error"]
        assert absent == "<scenarios>/nope.yaml: no such file"
    assert len(api.service.list()) == 1


def test_upload_with_attachments_and_hostile_names(api: ApiEnv, examples: object) -> None:
    plan = (ROOT / "vetoflow/examples/from_csv.yaml").read_bytes()
    segments = (ROOT / "vetoflow/examples/segments.csv").read_bytes()
    with client(api.url) as http:
        ok = http.post(
            "/runs/upload", files=[("scenario", ("plan.yaml", plan)), ("attachments", ("segments.csv", segments))]
        )
        assert ok.status_code == 201, ok.text
        for name in ("../plan.yaml", "..", "a/b.yaml", ".hidden.yaml", "plan.exe", "C:\\x.yaml"):
            refused = http.post("/runs/upload", files=[("scenario", (name, plan))])
            assert refused.status_code == 422, name
        escaping = b"name: x\ninvestment: 1\nhorizon: 2\ndiscount_rate: 0.1\nsegments_csv: ../../etc/passwd\n"
        refused = http.post("/runs/upload", files=[("scenario", ("plan.yaml", escaping))])
        assert refused.status_code == 422
        assert refused.json()["error"] == "segments_csv: '../../etc/passwd' must be a path inside <upload>"
        without_csv = http.post("/runs/upload", files=[("scenario", ("plan.yaml", plan))])
        assert without_csv.status_code == 422
        assert without_csv.json() == {"error": "segments.csv: no such file"}
        csv_as_plan = http.post("/runs/upload", files=[("scenario", ("a.yaml", segments))])
        assert csv_as_plan.status_code == 422
        assert csv_as_plan.json() == {"error": "a.yaml: expected a mapping of scenario fields at the top level"}
    assert len(api.service.list()) == 1


def test_idempotency_key_returns_the_first_result(api: ApiEnv) -> None:
    with client(api.url) as http:
        first = http.post(
            "/runs", json={"scenario": scenario("idem", vetoed=True)}, headers={"Idempotency-Key": "create-1"}
        )
        second = http.post(
            "/runs", json={"scenario": scenario("idem", vetoed=True)}, headers={"Idempotency-Key": "create-1"}
        )
        assert first.status_code == second.status_code == 201
        assert second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
        run_id = first.json()["run"]["run_id"]
    with client(api.url, BOB) as http:  # four-eyes: ana started the run, bob approves it
        body = {"action": "approve", "comment": "once"}
        decided = http.post(f"/runs/{run_id}/decision", json=body, headers={"Idempotency-Key": "k1"})
        repeat = http.post(f"/runs/{run_id}/decision", json=body, headers={"Idempotency-Key": "k1"})
        assert decided.status_code == repeat.status_code == 200
        assert repeat.json() == decided.json()
        changed = http.post(f"/runs/{run_id}/decision", json={"action": "reject"}, headers={"Idempotency-Key": "k1"})
        assert changed.status_code == 422
        assert "already used for a different request" in changed.json()["error"]
    assert len(api.service.list()) == 1
    assert api.synthesizer.calls == 1
    assert len(api.service.index.decisions(run_id)) == 1


def test_replay_by_default_reruns_the_scenario_behind_the_current_figures(api: ApiEnv) -> None:
    with client(api.url) as http:
        run = http.post("/runs", json={"scenario": scenario("orig", vetoed=True)}).json()
        run_id = run["run"]["run_id"]
        revise = {"action": "revise", "overrides": {"investment": 1000}}
        revised = http.post(f"/runs/{run_id}/decision", json=revise).json()
        replayed = http.post(f"/runs/{run_id}/replay")
        assert replayed.status_code == 201
        assert replayed.json()["run"]["run_id"] != run_id
        assert replayed.json()["state"]["scenario"]["investment"] == 1000
        assert replayed.json()["state"]["financials"] == revised["state"]["financials"]


def test_replay_forks_from_a_node_with_overrides_and_leaves_the_original(api: ApiEnv) -> None:
    with client(api.url) as http:
        run = http.post("/runs", json={"scenario": scenario("orig", vetoed=True)}).json()
        run_id = run["run"]["run_id"]
        body = {"from_node": "accountant", "overrides": {"investment": 1000}}
        forked = http.post(f"/runs/{run_id}/replay", json=body)
        assert forked.status_code == 201, forked.text
        new = forked.json()
        assert new["run"]["run_id"] != run_id
        assert new["state"]["financials"]["investment"] == 1000
        assert new["state"]["forecast"]["revenue"] == run["state"]["forecast"]["revenue"], "the same draws"
        assert new["state"]["forecast"]["outcomes"]["investment"] == 1000, "each path's NPV made for 1000"
        original = http.get(f"/runs/{run_id}").json()
        assert original["state"] == run["state"]
        assert original["run"]["status"] == "paused"
        both = http.post(f"/runs/{run_id}/replay", json={"from_node": "accountant", "checkpoint_id": "x"})
        assert both.status_code == 422
        assert "at most one of from_node or checkpoint_id" in both.json()["error"]


def test_open_mode_lets_localhost_in_without_a_token(tmp_path: object) -> None:
    settings = Settings(home=tmp_path / "home", api_open=True)  # type: ignore[operator]
    from vetoflow.runs.store import open_service

    with (
        open_service(settings) as service,
        live_server(create_app(settings, service=service)) as url,
        client(url, token=None) as http,
    ):
        run_id = http.post("/runs", json={"scenario": scenario("o", vetoed=True)}).json()["run"]["run_id"]
        done = http.post(f"/runs/{run_id}/decision", json={"action": "reject"}).json()
        assert done["decisions"][0]["reviewer"] == "local"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--open", "--host", "0.0.0.0"], {}, "only allowed on localhost, not on 0.0.0.0"),
        (["--no-console"], {}, "no API tokens configured"),
        (["--host", "0.0.0.0", "--no-console", "--open"], {}, "only allowed on localhost"),
        ([], {"VETOFLOW_API_TOKENS": "short:ana"}, "tokens need at least 16 characters"),
    ],
)
def test_serve_refuses_unsafe_exposure(settings: Settings, args: list[str], env: dict[str, str], message: str) -> None:
    command = [sys.executable, "-m", "vetoflow", "serve", "--port", str(free_port()), *args]
    result = subprocess.run(
        command, env=env_for(settings) | env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_subprocess_answers_with_a_token(settings: Settings) -> None:
    from tests.api_support import ServeProcess

    server = ServeProcess(settings).start()
    try:
        with client(server.url) as http:
            assert http.get("/runs").json()["runs"] == []
        with client(server.url, token=None) as anon:
            assert anon.get("/runs").status_code == 401
    finally:
        server.stop()
    _ = ANA


def test_console_is_mounted_beside_the_api(tmp_path: object) -> None:
    import gradio as gr
    from pydantic import SecretStr

    from tests.api_support import TOKENS
    from vetoflow.runs.store import open_service

    settings = Settings(home=tmp_path / "home", api_tokens=SecretStr(TOKENS))  # type: ignore[operator]
    with gr.Blocks() as console:
        gr.Markdown("placeholder console")
    with (
        open_service(settings) as service,
        live_server(create_app(settings, service=service, console=console)) as url,
        client(url) as http,
    ):
        assert http.get("/console/").status_code == 200
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/runs").json()["runs"] == []


def test_investments_that_would_overflow_roi_are_refused(api: ApiEnv) -> None:
    with client(api.url) as http:
        tiny = http.post("/runs", json={"scenario": {**scenario("tiny"), "investment": 2.2e-311}})
        assert tiny.status_code == 422
        assert "scenario.investment: Input should be greater than or equal to 1" in tiny.json()["error"]
        assert http.get("/runs").json()["runs"] == []


def test_unknown_query_parameters_are_refused(api: ApiEnv) -> None:
    with client(api.url) as http:
        typo = http.get("/runs", params={"statuss": "paused"})
        assert typo.status_code == 422
        assert typo.json()["error"] == "unknown query parameter(s) 'statuss'; allowed: cursor, limit, offset, status"
        assert http.get("/runs/abc", params={"x": "1"}).json()["error"].endswith("allowed: none")
        health = http.get("/healthz", params={"x": "1"})
        assert health.status_code == 422
        assert health.json()["error"] == "unknown query parameter(s) 'x'; allowed: detail"
        assert http.get("/healthz", params={"detail": "false"}).json() == {"status": "ok"}


def test_serve_mounts_the_console_and_keeps_the_api_closed_without_tokens(settings: Settings) -> None:
    from tests.api_support import ServeProcess

    server = ServeProcess(settings, console=True, extra_env={"VETOFLOW_API_TOKENS": ""}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            root = http.get("/", follow_redirects=False)
            assert root.status_code in (302, 307)
            assert root.headers["location"].endswith("console/")
            page = http.get("/console/")
            assert page.status_code == 200
            assert "vetoflow" in page.text
            assert http.get("/runs").status_code == 401
    finally:
        server.stop()
    assert server.log_path is not None
    assert "JSON API closed (no API tokens configured" in server.log_path.read_text()


def test_serve_refuses_an_open_console_on_a_public_address(settings: Settings) -> None:
    command = [sys.executable, "-m", "vetoflow", "serve", "--port", str(free_port()), "--host", "0.0.0.0"]
    env = env_for(settings) | {"VETOFLOW_API_TOKENS": "a-long-enough-token-123:ana"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "the console has no logins, so it only binds to localhost" in result.stderr


def test_the_api_returns_the_risk_figures_the_run_view_shows(api: ApiEnv) -> None:
    with client(api.url) as http:
        run = http.post("/runs", json={"scenario": scenario("risk")}).json()
        listed = http.get("/runs").json()["runs"]
    state = api.service.view(run["run"]["run_id"]).state
    assert state.financials is not None
    assert state.forecast is not None
    assert state.forecast.outcomes is not None
    assert state.forecast.sensitivity is not None
    figures = run["state"]["financials"]
    assert figures == state.financials.model_dump(mode="json")
    assert figures["method"] == "path_wise"
    risk = ("loss_probability", "npv_p10", "npv_p90", "irr", "expected_shortfall", "never_payback_share")
    assert all(isinstance(figures[key], float) for key in risk), {key: figures[key] for key in risk}
    shown = run["state"]["forecast"]
    assert shown["outcomes"]["npv_histogram"] == state.forecast.outcomes.npv_histogram.model_dump(mode="json")
    assert shown["sensitivity"] == state.forecast.sensitivity.model_dump(mode="json")
    assert [row["loss_probability"] for row in listed] == [figures["loss_probability"]]  # the inbox's P(loss)
