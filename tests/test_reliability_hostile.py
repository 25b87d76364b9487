"""Hostile input: schemathesis against the published schema, hypothesis over scenarios, and a known fake
secret hunted for in logs, state, checkpoints and API responses."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_support import ANA, SECRET, TOKENS, ServeProcess, client, live_server, scenario
from tests.helpers import CountingSynthesizer
from tests.reliability import Tally, tally
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.runs.store import open_service

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

__all__ = ["tally"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """The API on SQLite with one paused and one completed run, so run ids in examples can hit real runs."""
    settings = Settings(home=tmp_path / "home", api_tokens=SecretStr(TOKENS))
    with (
        open_service(settings, Context(synthesizer=CountingSynthesizer())) as service,
        live_server(create_app(settings, service=service)) as url,
    ):
        service.start(service_scenario("seed-paused", vetoed=True), run_id="pausedrun")
        service.start(service_scenario("seed-done"), run_id="donerun")
        yield url


def service_scenario(name: str, *, vetoed: bool = False) -> Any:
    from vetoflow.scenario import validate_scenario

    return validate_scenario(scenario(name, vetoed=vetoed))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_schema_holds_under_generated_requests(sqlite_url: str, mode: GenerationMode, tally: Tally) -> None:
    """No 500s; every status, content type and body matches the published schema; bad input is refused."""
    api_schema = schemathesis.openapi.from_url(f"{sqlite_url}/openapi.json")
    tried: list[str] = []

    @given(case=api_schema.as_strategy(generation_mode=mode))
    @hsettings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        tried.append(case.operation.label)
        # A negative case may leave the bearer header out on purpose: then it must stay out (401), or the
        # request turns valid and the negative-data check rightly complains that it was accepted.
        sent = case.headers or {}
        dropped = mode is GenerationMode.NEGATIVE and "Authorization" not in sent
        headers = {} if dropped else {"Authorization": f"Bearer {ANA}"}
        response = case.call(headers=headers)
        tally.count(hostile_tried=1, hostile_crashed=int(response.status_code >= 500))
        if mode is GenerationMode.NEGATIVE:
            try:  # invalid data answered 2xx: counted, then reported by the full check below
                case.validate_response(response, checks=[negative_data_rejection], headers=headers)
            except Exception:
                tally.count(hostile_accepted=1)
        case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={"headers": headers})

    check()
    assert len(set(tried)) >= 7  # every operation was exercised
    tally.record(f"schemathesis {mode.value} requests against /openapi.json", scenarios=len(tried))


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)
anything = st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(max_size=20))
segment = st.fixed_dictionaries(
    {
        "name": st.one_of(st.text(max_size=70), anything),
        "base_revenue": st.one_of(finite, anything),
        "margin": st.one_of(st.floats(-2, 2), anything),
    },
    optional={"growth_mean": st.one_of(st.floats(-2, 6), anything), "volatility": finite, "extra": anything},
)
hostile_scenarios = st.fixed_dictionaries(
    {
        "name": st.one_of(st.text(max_size=130), anything),
        "investment": st.one_of(st.floats(-1e13, 1e13), anything),
        "horizon": st.one_of(st.integers(-5, 200), anything),
        "discount_rate": st.one_of(st.floats(-1, 2), anything),
        "segments": st.one_of(st.lists(segment, max_size=4), anything),
    },
    optional={
        "paths": st.one_of(st.integers(0, 200_000), anything),
        "veto_threshold": st.one_of(st.floats(-2, 11), anything),
        "veto_policy": st.sampled_from(["roi", "downside_roi", "npv", ""]),
        "seed": st.integers(-1, 2**33),
        "currency": st.text(max_size=5),
    },
)
letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=30).filter(str.strip)
valid_segment = st.fixed_dictionaries(
    {
        "name": letters,
        "base_revenue": st.floats(0, 1e9),
        "margin": st.floats(-1, 1),
        "growth_mean": st.floats(-1, 1),
        "volatility": st.floats(0, 2),
    }
)
valid_scenarios = st.fixed_dictionaries(
    {
        "name": letters,
        "investment": st.floats(1, 1e12),
        "horizon": st.integers(1, 36),
        "discount_rate": st.floats(0, 1),
        "segments": st.lists(valid_segment, min_size=1, max_size=3, unique_by=lambda s: str(s["name"]).strip()),
        "paths": st.integers(100, 2_000),
        "veto_threshold": st.floats(-1, 10),
    }
)

scenarios = st.one_of(valid_scenarios, hostile_scenarios)


def test_hypothesis_scenarios_get_a_run_or_a_clear_422(sqlite_url: str, tally: Tally) -> None:
    seen: list[int] = []
    with client(sqlite_url) as http:

        @given(data=scenarios)
        @hsettings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
        def check(data: dict[str, Any]) -> None:
            body = _json_safe({"scenario": data})
            response = http.post("/runs", content=body, headers={"content-type": "application/json"})
            seen.append(response.status_code)
            wrong = response.status_code == 201 and wrongly_accepted(data, response.json())
            tally.count(hostile_tried=1, hostile_crashed=int(response.status_code >= 500), hostile_accepted=int(wrong))
            assert response.status_code in (201, 400, 422), response.text
            if response.status_code == 400:  # a NUL character anywhere: refused before the handler
                assert "NUL characters are not allowed" in response.json()["error"]
            elif response.status_code == 422:
                message = response.json()["error"]
                assert message.startswith("invalid request:\n") or "paths x horizon x segments" in message
                assert "body" in message or "paths x horizon" in message  # names where the problem is
                assert "Traceback" not in message
            else:
                assert response.json()["run"]["status"] in ("completed", "paused")

        check()
    assert {201, 422} <= set(seen)  # both kinds were generated: the property is not vacuous
    tally.record("hypothesis scenarios through POST /runs", scenarios=len(seen))


def numbers_in(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)


def wrongly_accepted(sent: dict[str, Any], run: dict[str, Any]) -> bool:
    """A run accepted although what was sent is outside the README's promises: a non-finite number, a
    boolean or text where a number belongs, or a run completed without a human on non-finite figures."""
    numeric = ("investment", "horizon", "discount_rate", "paths", "veto_threshold")
    fields = [sent.get(k) for k in numeric if k in sent]
    for segment in sent.get("segments") or []:
        fields += [segment.get(k) for k in ("base_revenue", "margin", "growth_mean", "volatility") if k in segment]
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in fields):
        return True
    figures = list(numbers_in(run["state"].get("financials") or {}))
    return run["run"]["status"] == "completed" and not all(math.isfinite(v) for v in figures)


def _json_safe(value: Any) -> bytes:
    """JSON as a hostile client would send it: NaN and Infinity included as the bare tokens."""
    import json

    def fix(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return item  # json.dumps writes NaN / Infinity
        if isinstance(item, dict):
            return {k: fix(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fix(v) for v in item]
        return item

    return json.dumps(fix(value)).encode()


def _database_bytes(settings: Settings) -> list[bytes]:
    """Every stored byte: SQLite files under home, or every row of every table in PostgreSQL."""
    if not settings.database_url:
        return [path.read_bytes() for path in settings.home.rglob("*") if path.is_file()]
    chunks: list[bytes] = []
    with psycopg.connect(settings.database_url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # names come from the catalog
                for value in row:
                    chunks.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode())
    return chunks


def test_a_known_fake_secret_never_leaks(settings: Settings, tally: Tally) -> None:
    url = settings.database_url
    if url:  # a password in the URL (the test server trusts local connections, so it is never checked)
        url = url.replace("postgres@", f"postgres:{SECRET}@")
    secret_settings = settings.model_copy(update={"database_url": url})
    tokens = f"{TOKENS},{SECRET}:eve"
    server = ServeProcess(
        secret_settings,
        extra_env={"VETOFLOW_API_TOKENS": tokens, "AWS_SECRET_ACCESS_KEY": SECRET, "VETOFLOW_FAKE_KEY": SECRET},
        log_level="debug",
    ).start()
    bodies: list[str] = []
    try:
        with client(server.url, token=SECRET) as eve, client(server.url, token=SECRET + "x") as wrong:
            run = eve.post("/runs", json={"scenario": scenario("secret-run", vetoed=True)})
            assert run.status_code == 201, run.text
            run_id = run.json()["run"]["run_id"]
            bodies += [run.text, wrong.get("/runs").text, eve.get(f"/runs/{run_id}").text]
            bodies.append(eve.post(f"/runs/{run_id}/decision", json={"action": "approve", "comment": "ok"}).text)
            bodies += [eve.get("/runs").text, eve.get(f"/runs/{run_id}/history").text, eve.get("/nope").text]
            bodies.append(httpx.get(f"{server.url}/openapi.json").text)
    finally:
        server.stop()
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert "POST /runs" in log  # the log is real, and has the requests in it
    assert SECRET not in log
    assert all(SECRET not in body for body in bodies), "a response carried the secret"
    stored = _database_bytes(secret_settings)
    assert stored
    assert all(SECRET.encode() not in chunk for chunk in stored), "the secret reached the database"
    tally.record(f"fake secret hunted in logs, state, checkpoints [{settings.backend_name}]", scenarios=2)
