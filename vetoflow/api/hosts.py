"""The Host check against DNS rebinding, refusing like every other error: 400 with `{"error": "..."}`.

Starlette's TrustedHostMiddleware still decides (its host matching and its `www.` redirect); only its
plain-text "Invalid host header" is replaced, so a client that reads errors as JSON reads this one too.
"""

from __future__ import annotations

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PASSED = "vetoflow.host_passed"
HOST_REFUSED = "invalid Host header: not a host name this server answers to (VETOFLOW_ALLOWED_HOSTS)"


async def _passed(scope: Scope, _receive: Receive, _send: Send) -> None:
    scope[PASSED] = True


class TrustedHosts:
    """TrustedHostMiddleware's verdict on each HTTP request, its refusal answered as JSON."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(_passed, allowed_hosts=allowed_hosts)
        self.other = TrustedHostMiddleware(app, allowed_hosts=allowed_hosts)  # websockets: Starlette's own answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.other(scope, receive, send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.check(scope, receive, keep)
        if scope.pop(PASSED, False):
            await self.app(scope, receive, send)
        elif answer and answer[0].get("status") == 400:
            await JSONResponse({"error": HOST_REFUSED}, status_code=400)(scope, receive, send)
        else:
            for message in answer:  # the redirect to the `www.` name Starlette makes
                await send(message)
