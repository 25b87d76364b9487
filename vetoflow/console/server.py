"""`vetoflow ui`'s web server: uvicorn over the guarded app (ui.launch), in this thread or in the background.

The console is mounted into a parent app rather than served by `Blocks.launch`, because only a parent app
can put the Host, Origin and CORS guards (api.guards) outside Gradio's own middleware.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.types import ASGIApp

START_SECONDS = 60.0
STOP_SECONDS = 10.0


class ConsoleServer:
    """One uvicorn server; `close()` stops it (open event streams get `STOP_SECONDS` to end)."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=int(STOP_SECONDS)
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C), in this thread."""
        self.server.run()

    def start(self) -> ConsoleServer:
        """Serve in a background thread; returns once the server accepts connections."""
        self.thread = threading.Thread(target=self.server.run, name="vetoflow-console", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console's web server did not start (is the port in use?)")
            time.sleep(0.01)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=STOP_SECONDS + 5)
