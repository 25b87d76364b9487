"""The exceptions users see. Each carries its CLI exit code and HTTP status, so every edge maps them alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError


class VetoflowError(Exception):
    """A problem the user can fix (bad input, wrong state, missing configuration).

    `field` names the service parameter at fault (`checkpoint_id`, `from_node`): each edge words it in its
    own dialect (the API and console by that name, the CLI by its option, `--checkpoint`), so no message
    names another front end's syntax."""

    exit_code = 1
    http_status = 422

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def named(self, names: Mapping[str, str]) -> str:
        """The message with the field as `names` calls it (unlisted fields keep their own name)."""
        return f"{names.get(self.field, self.field)}: {self.message}" if self.field else self.message


class UsageError(VetoflowError):
    """The command line itself is malformed (exit code 2, like click's own usage errors)."""

    exit_code = 2


class RunNotFoundError(VetoflowError):
    exit_code = 5
    http_status = 404


class DecisionConflictError(VetoflowError):
    """Someone else already decided this pause."""

    exit_code = 6
    http_status = 409


class RunStateError(VetoflowError):
    """The run is not in a state that allows this (not paused for a decision, already finished): a
    conflict with the run, not bad input (HTTP 409; exit code 1 as before)."""

    http_status = 409


class RunBusyError(VetoflowError):
    """Another process holds the run's live lease: it is executing the run right now."""

    exit_code = 9
    http_status = 409


class LeaseLostError(VetoflowError):
    """This executor's lease was taken over or lapsed (a pause, an outage): it stops and writes nothing more."""

    exit_code = 9
    http_status = 409


class LeaseOutageError(LeaseLostError):
    """The lease lapsed because the database could not be reached to renew it, not because another executor
    holds it: the run stops, and asking again once the database is back is safe (HTTP 503, not a conflict; exit
    code 10, not 9: nobody else is executing the run)."""

    exit_code = 10
    http_status = 503


class ConfigurationError(VetoflowError):
    """A VETOFLOW_* setting is malformed: the message names the variable and what is allowed."""


class DatabaseUnavailableError(VetoflowError):
    """The run database cannot be reached: nothing was changed; retrying later is safe (exit code 10, HTTP 503)."""

    exit_code = 10
    http_status = 503


def database_unreachable(cause: BaseException) -> DatabaseUnavailableError:
    """The one message for a PostgreSQL that does not answer (psycopg's reason names host and port, never the
    password)."""
    reason = " ".join(str(cause).split())  # libpq's hint on a second line joins the first: one line
    return DatabaseUnavailableError(f"cannot reach PostgreSQL at VETOFLOW_DATABASE_URL: {reason}")


class TransientLLMError(Exception):
    """A retryable failure of the LLM backend (throttling, 5xx, timeouts)."""


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per bad field: `segments[0].volatility: Input should be ... (got 3.5)`."""
    lines = []
    for item in error.errors():
        loc = prefix
        for part in item["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        lines.append(f"{loc or '<root>'}: {item['msg']}{shown_input(item)}")
    return "\n".join(lines)


def shown_input(item: Mapping[str, Any]) -> str:
    """What was given, and why a strict type refused it: `(got true: true/false is not a number)`."""
    got = item.get("input")
    if isinstance(got, dict | list) or got is None:
        return ""
    text = repr(got)
    text = text if len(text) <= 80 else text[:77] + "..."
    if isinstance(got, bool):
        return f" (got {str(got).lower()}: true/false is not a number)"
    if isinstance(got, str) and item.get("type") in ("int_type", "float_type"):
        return f" (got the text {text}: write the number itself)"
    if isinstance(got, float) and item.get("type") == "int_type":
        return f" (got {text}: a whole number is needed)"
    return f" (got {text})"
