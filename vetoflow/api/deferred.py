"""Answer health at once, build the rest meanwhile: a cold start's readiness check never waits for imports.

Importing Gradio and building the console takes seconds on a small CPU; the embedding model takes more.
`vetoflow serve` therefore starts uvicorn on this wrapper, which answers /healthz immediately, builds the
real application in a worker thread, runs its lifespan (Gradio's queue, the API's startup) with
asgi-lifespan, and from then on hands every request to it. Requests that arrive earlier simply wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class DeferredApp:
    """An ASGI app whose inner app is built by `build` (in a thread) after the server is up."""

    def __init__(self, build: Callable[[], ASGIApp], health: Callable[[], dict[str, str]], path: str = "/healthz"):
        self.build, self.health, self.path = build, health, path
        self.app: ASGIApp | None = None
        self.error: str | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if self.app is None and scope["type"] == "http" and path == self.path:
            await self._health(send, detailed=_asks_detail(scope))
            return
        await self._ready.wait()
        if self.app is None:
            await _json(send, 503, {"error": f"the server failed to start: {self.error}"})
            return
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._task = asyncio.create_task(self._run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop.set()
                if self._task is not None:
                    await self._task
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _run(self) -> None:
        try:
            app = await asyncio.to_thread(self.build)
            async with LifespanManager(app, startup_timeout=120, shutdown_timeout=10):
                self.app = app
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # reported by /healthz (503) and every request; the log has the traceback
            self.error = str(exc) or type(exc).__name__
            log.exception("building the application failed")
        finally:
            self._ready.set()

    async def _health(self, send: Send, *, detailed: bool) -> None:
        """Liveness says ok at once; `?detail=1` promises the queue figures, which only the built app reads,
        so until then it answers 503 `starting` rather than an "ok" without them."""
        if self.error is not None:
            await _json(send, 503, {"status": "error", "error": self.error})
        elif detailed:
            await _json(send, 503, self.health() | {"status": "starting"})
        else:
            await _json(send, 200, self.health())


def _asks_detail(scope: Scope) -> bool:
    """`?detail=...` read as FastAPI reads the app's own `detail: bool` (1, true, on, yes)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("detail", [])
    return any(value.lower() in ("1", "true", "on", "yes") for value in values)


async def _json(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
