"""An ASGI middleware that makes the client's address known to the login check (for throttling).

Gradio's `auth=` callable only receives user name and password; it runs inside the request's task, so a
context variable set here is visible to it. The address is the TCP peer (no forwarded headers trusted).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from vetoflow.identity.directory import client_address


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = client_address.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(token)
