"""Loopback HTTP servers speaking the AWS wire formats vetoflow calls (Bedrock Converse, SageMaker).

The real boto3/botocore stack talks to them through `endpoint_url` with static fake credentials, so
retries, timeouts, signing and error parsing are the real thing. Each server answers from a script of
responses (then a default), after an optional `delay`, and records every request (`calls`, `requests`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    error_type: str | None = None
    delay: float | None = None  # None: the server's delay
    content_type: str = "application/json"
    raw: bytes | None = None


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def error(status: int, error_type: str, message: str) -> Reply:
    return Reply(status=status, body={"message": message}, error_type=error_type)


@dataclass
class FakeAWSServer:
    """`script` replies are used first, in order; then `default` (a Reply or a function of the request)."""

    default: Reply | Callable[[Recorded], Reply] = field(default_factory=Reply)
    delay: float = 0.0
    script: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests ever being answered at once (LLM concurrency caps)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def restart_max_in_flight(self) -> int:
        """Start counting the most requests at once afresh (from those in flight now); returns the old maximum."""
        with self._lock:
            before, self.max_in_flight = self.max_in_flight, self.in_flight
        return before

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAWSServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = Recorded("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
                reply = fake._next(request)
                with fake._lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                time.sleep(fake.delay if reply.delay is None else reply.delay)
                with fake._lock:
                    fake.in_flight -= 1
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("x-amzn-RequestId", f"fake-{fake.calls}")
                    if reply.error_type:
                        self.send_header("x-amzn-ErrorType", reply.error_type)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and went away
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _next(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.script:
                return self.script.pop(0)
        return self.default(request) if callable(self.default) else self.default

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def converse_reply(text: str, input_tokens: int = 1200, output_tokens: int = 180) -> Reply:
    """A successful Converse response, as Bedrock sends it."""
    return Reply(
        body={
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": 420},
        }
    )


class BedrockServer(FakeAWSServer):
    """Bedrock runtime: POST /model/{modelId}/converse."""

    def converse_bodies(self) -> list[Any]:
        return [r.json() for r in self.requests if r.path.endswith("/converse")]


def bedrock_server(text: str = "The plan pays back [1].", *, delay: float = 0.0) -> BedrockServer:
    server = BedrockServer(default=converse_reply(text), delay=delay)
    return server.start()  # type: ignore[return-value]
