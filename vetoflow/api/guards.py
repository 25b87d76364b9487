"""Request guards in front of the app: what no handler should ever see reaches none of them.

* NUL characters (raw, `%00` or `\\u0000` in JSON) in the path, query or a JSON body: PostgreSQL text cannot
  hold them and no vetoflow field needs them. 400 naming where it was.
* JSON nested deeper than `MAX_DEPTH`, or with a key repeated in one object: 400, before the parser
  recurses (Python's json would raise RecursionError, a 500).
* A `Host` header that is not one of the allowed hosts (DNS rebinding): 400, by Starlette's
  TrustedHostMiddleware (answering as JSON: api.hosts) around everything (see api.app), with `allowed_hosts` below.
* A state-changing request (POST, PUT, PATCH, DELETE) whose `Origin` names another site, or is not a
  well-formed `scheme://host[:port]`: 403. Browsers send `Origin` on such requests, so another page cannot
  drive the console (or an open API) from a visitor's browser; clients without a browser send none and are
  judged by their token or login.
* No cross-origin grants: no answer carries `Access-Control-Allow-Origin`, so another site's page cannot
  read one with the visitor's cookies (Gradio's own CORS would echo any Origin, with credentials, when
  the Host is not a localhost name).

`protect` installs all of them, in front of `serve` (api.app) and of `vetoflow ui` (ui.py) alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vetoflow.api.hosts import TrustedHosts
from vetoflow.api.limits import BodyLimit
from vetoflow.errors import VetoflowError
from vetoflow.inputs import no_repeats
from vetoflow.netloc import is_loopback

MAX_DEPTH = 32
_HOST_NAME = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]*:[0-9a-f:.]*", re.ASCII)  # a DNS name or IPv4; an IPv6 address
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects, scanning bytes outside strings (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def check_body(body: bytes) -> str | None:
    """Why a JSON body is refused, or None. Malformed JSON is left to the app's own parser and message."""
    if b"\x00" in body:
        return "the request body contains a NUL byte; NUL characters are not allowed"
    if json_depth(body) > MAX_DEPTH:
        return f"the JSON body is nested deeper than {MAX_DEPTH} levels; flatten it"
    try:  # bytes, as the app parses them (a UTF-8 BOM included); NaN and Infinity are the model's to refuse (422)
        parsed = json.loads(body, object_pairs_hook=no_repeats)
    except VetoflowError as exc:
        return f"invalid JSON body: {exc}"
    except ValueError:  # UnicodeDecodeError included
        return None
    if _has_nul(parsed):
        return "a string in the JSON body contains a NUL character (\\u0000); NUL characters are not allowed"
    return None


def is_json(content_types: list[bytes]) -> bool:
    """Whether the app may parse the body as JSON: no (or an empty) Content-Type, or any naming `json`/`*+json`.

    Media types are case-insensitive and their parameters are not part of them, so `Application/JSON;
    charset=utf-8` is JSON; every Content-Type header counts, as the app reads the first and a proxy may add one.
    """
    media_types = [value.decode("latin-1").split(";", 1)[0].strip().lower() for value in content_types]
    return not media_types or any(_json_media(media) for media in media_types)


def _json_media(media: str) -> bool:
    subtype = media.rpartition("/")[2].strip()
    return not media or subtype == "json" or subtype.endswith("+json")


def check_target(scope: Scope) -> str | None:
    """Why the path or query string is refused, or None."""
    if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return "the URL contains a NUL character (%00); NUL characters are not allowed"
    return None


def parse_origin(origin: str) -> tuple[str, str] | None:
    """(host[:port], host name) of an origin exactly as browsers send one, `scheme://host[:port]`, else None.

    Strict, because lenient parsing lets `http://127.0.0.1:18712.evil.com` pass as 127.0.0.1 (urlsplit's
    `hostname` drops a port that is not a number): no path, userinfo, or port that is not 1-65535 in digits."""
    text = origin.lower()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a port that is no number or out of range, or a bracketed host that is no IP address
        return None
    if parts.scheme not in ("http", "https") or text != f"{parts.scheme}://{parts.netloc}":
        return None  # a path, a query or fragment (even empty), or no `//`
    hostname = parts.hostname or ""
    if port == 0 or not _HOST_NAME.fullmatch(hostname):
        return None
    bare = f"[{hostname}]" if ":" in hostname else hostname
    if parts.netloc != (bare if port is None else f"{bare}:{port}"):
        return None  # userinfo (`user@host`), an empty port, or one written as `:080`
    return parts.netloc, hostname


def _origin_ok(scope: Scope, trusted: list[str]) -> bool:
    """Same site as the Host header, or one of the explicitly trusted host names (behind a proxy)."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if origin is None or scope.get("method") not in UNSAFE_METHODS:
        return True
    host = headers.get(b"host", b"").decode("latin-1").lower()
    parsed = parse_origin(origin.decode("latin-1"))
    if parsed is None:
        return False
    netloc, hostname = parsed
    return netloc == host or hostname in [t.lower() for t in trusted if t != "*"]


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """NUL, depth, repeated keys and cross-site Origin checks, before routing (JSON bodies are buffered)."""

    def __init__(self, app: ASGIApp, trusted: list[str], json_prefix_skip: str = "/console") -> None:
        self.app, self.trusted, self.skip = app, trusted, json_prefix_skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if problem := check_target(scope):
            await _answer(send, 400, problem)
            return
        if not _origin_ok(scope, self.trusted):
            await _answer(send, 403, "cross-site request refused: the Origin header names another site")
            return
        content_types = [value for name, value in scope.get("headers") or [] if name.lower() == b"content-type"]
        if scope["method"] not in UNSAFE_METHODS or not is_json(content_types) or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if problem := check_body(body):
            await _answer(send, 400, problem)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def allowed_hosts(configured: Iterable[str], bind_host: str) -> list[str]:
    """The Host names served: the configured ones, else loopback names on a loopback bind, else any."""
    hosts = [h.strip() for h in configured if h.strip()]
    if hosts:
        return hosts
    if is_loopback(bind_host):  # the same answer as `serve --open` gives: `LOCALHOST` and 127.0.0.2 too
        bound = bind_host.strip().lower()
        return [*LOOPBACK_HOSTS, *([] if bound in LOOPBACK_HOSTS else [bound])]
    return ["*"]


def protect(app: Any, hosts: list[str], *, max_body_bytes: int | None, console_prefix: str) -> None:
    """Every guard above around `app`, innermost first; the console (paths under `console_prefix`) keeps its
    own JSON bodies and upload sizes. Gradio stands its CORS aside when the parent app has Starlette's
    `CORSMiddleware`, which here allows no origin at all (a same-site page needs no grant)."""
    app.add_middleware(RequestGuard, trusted=hosts, json_prefix_skip=console_prefix)
    app.add_middleware(CORSMiddleware, allow_origins=[])
    if max_body_bytes is not None:
        app.add_middleware(BodyLimit, max_bytes=max_body_bytes, skip_prefix=console_prefix)
    app.add_middleware(TrustedHosts, allowed_hosts=hosts)  # outermost: DNS rebinding (400 as JSON)
