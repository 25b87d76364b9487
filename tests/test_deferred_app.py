"""`vetoflow serve`'s front: /healthz answers while the application behind it is still being built."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.api_support import live_server
from vetoflow.api.deferred import DeferredApp
from vetoflow.errors import VetoflowError


def _inner() -> FastAPI:
    started: list[bool] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started.append(True)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    def hello() -> dict[str, bool]:
        return {"started": bool(started)}

    return app


def test_health_answers_while_the_app_is_built_and_requests_wait_for_it() -> None:
    release = threading.Event()

    def build() -> FastAPI:
        release.wait(30)
        return _inner()

    front = DeferredApp(build, health=lambda: {"status": "ok", "embeddings": "loading"})
    with live_server(front) as url, ThreadPoolExecutor(1) as pool:  # type: ignore[arg-type]
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "embeddings": "loading"}
        early = pool.submit(httpx.get, f"{url}/hello", timeout=30)  # arrives before the app exists
        assert not early.done()
        release.set()
        response = early.result(timeout=30)
        assert response.json() == {"started": True}  # the inner app's lifespan ran before it was served


def test_detailed_health_says_starting_until_the_app_that_reads_the_queue_is_up() -> None:
    release = threading.Event()

    def build() -> FastAPI:
        release.wait(30)
        app = _inner()

        @app.get("/healthz")
        def healthz(detail: bool = False) -> dict[str, object]:
            return {"status": "ok", "queue": {"queue_depth": 0}} if detail else {"status": "ok"}

        return app

    front = DeferredApp(build, health=lambda: {"status": "ok", "embeddings": "loading"})
    with live_server(front) as url:  # type: ignore[arg-type]
        for asked in ("1", "true"):
            early = httpx.get(f"{url}/healthz", params={"detail": asked}, timeout=30)
            assert (early.status_code, early.json()) == (503, {"status": "starting", "embeddings": "loading"})
        assert httpx.get(f"{url}/healthz", params={"detail": "0"}, timeout=30).status_code == 200  # liveness
        release.set()
        httpx.get(f"{url}/hello", timeout=30)  # waits for the app
        ready = httpx.get(f"{url}/healthz", params={"detail": "1"}, timeout=30)
        assert (ready.status_code, ready.json()["queue"]) == (200, {"queue_depth": 0})


def test_a_failed_build_is_reported_by_health_and_every_request() -> None:
    def build() -> FastAPI:
        raise VetoflowError("VETOFLOW_UI_USERS: bad line")

    front = DeferredApp(build, health=lambda: {"status": "ok"})
    with live_server(front) as url:  # type: ignore[arg-type]
        response = httpx.get(f"{url}/runs", timeout=30)
        assert response.status_code == 503
        assert "VETOFLOW_UI_USERS: bad line" in response.json()["error"]
        health = httpx.get(f"{url}/healthz")
        assert health.status_code == 503
        assert health.json() == {"status": "error", "error": "VETOFLOW_UI_USERS: bad line"}
