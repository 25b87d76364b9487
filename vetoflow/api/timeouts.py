"""A deadline for reading each request: half-sent requests are answered 408 and closed, not held for ever.

uvicorn times out idle keep-alive connections, but not a client that connects and sends nothing, nor one
that sends half its headers or half its body and stalls (slowloris). `timed_protocol(seconds)` is
uvicorn's httptools protocol with one timer per request: armed when the connection opens and when a new
request begins, cancelled once the whole request (headers and body) has arrived. The 408 is written here,
below the app, but reads like every other error: `{"error": "..."}`.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TIMEOUT_BODY = json.dumps({"error": "request not received in time; send the whole request promptly"}).encode()


class TimedHttpToolsProtocol(HttpToolsProtocol):
    read_timeout: float = 30.0
    _read_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() now answers http.disconnect
            cycle.message_event.set()
        if cycle is None or not cycle.response_started:
            head = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            head += b"content-length: " + str(len(TIMEOUT_BODY)).encode() + b"\r\nconnection: close\r\n\r\n"
            self.transport.write(head + TIMEOUT_BODY)
        self.transport.close()


def timed_protocol(seconds: float) -> type[TimedHttpToolsProtocol]:
    """The protocol class for `uvicorn.run(..., http=...)` with a read deadline of `seconds`."""
    return type("TimedHttpTools", (TimedHttpToolsProtocol,), {"read_timeout": seconds})
