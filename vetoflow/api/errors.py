"""Exceptions to JSON `{"error": ...}` responses: user errors 4xx, a database outage 503, never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.errors import VetoflowError, shown_input

log = logging.getLogger("vetoflow.api")

DATABASE_DOWN = "the run database is unavailable; nothing was changed by this request. Retry shortly."
RETRY_AFTER = {"Retry-After": "5"}  # seconds: SQLAlchemy's pre-ping and the checkpointer's pool heal by then


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def describe_request_errors(errors: Any) -> str:
    """One line per bad field, like the CLI: `body.scenario.horizon: Input should be ... (got 500)`."""
    lines = []
    for item in errors:
        loc = ".".join(str(part) for part in item.get("loc", ()))
        lines.append(f"{loc or '<request>'}: {item.get('msg', 'invalid')}{shown_input(item)}")
    return "invalid request:\n" + "\n".join(lines)


def unparseable_body(errors: Any, body: Any) -> str | None:
    """The 400 message when the body is not JSON at all, else None (then it is a 422 naming fields).

    FastAPI reports a JSON syntax error as a validation error at `body.<offset>`; the client needs the
    parser's reason and where it is, as json words it (line and column).
    """
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return None
    loc, reason = tuple(errors[0].get("loc", ())), errors[0].get("ctx", {}).get("error", "JSON decode error")
    if len(loc) != 2 or loc[0] != "body" or not isinstance(loc[1], int):
        return None  # a `Json` field's text inside a parsed body: a field error like any other
    if not isinstance(body, str):
        return f"body is not valid JSON: {reason}"
    where = json.JSONDecodeError(reason, body, loc[1])
    return f"body is not valid JSON: {reason} at line {where.lineno} column {where.colno}"


def install(app: FastAPI) -> None:
    @app.exception_handler(VetoflowError)
    async def _user_error(_request: Request, exc: VetoflowError) -> JSONResponse:
        if exc.http_status >= 500:
            log.warning("%s during %s %s: %s", type(exc).__name__, _request.method, _request.url.path, exc)
        return error_response(exc.http_status, str(exc), headers=RETRY_AFTER if exc.http_status == 503 else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        if unparseable := unparseable_body(exc.errors(), exc.body):
            return error_response(400, unparseable)
        return error_response(422, describe_request_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    for error_type in DATABASE_ERRORS:

        @app.exception_handler(error_type)
        async def _database_down(request: Request, exc: Exception) -> JSONResponse:
            log.warning("database unavailable during %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return error_response(503, DATABASE_DOWN, headers=RETRY_AFTER)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s during %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error; the run state is unchanged or resumable with retry")
