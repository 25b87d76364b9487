"""The one exception type users see: the CLI, UI and API print it without a traceback."""

from __future__ import annotations

from pydantic import ValidationError


class VetoflowError(Exception):
    """A problem the user can fix (bad input, wrong state, missing configuration)."""

    exit_code = 1


class RunNotFoundError(VetoflowError):
    exit_code = 5


class DecisionConflictError(VetoflowError):
    """Someone else already decided this pause."""

    exit_code = 6


class TransientLLMError(Exception):
    """A retryable failure of the LLM backend (throttling, 5xx, timeouts)."""


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per bad field: `segments[0].volatility: Input should be ... (got 3.5)`."""
    lines = []
    for item in error.errors():
        loc = prefix
        for part in item["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{loc or '<root>'}: {item['msg']}{shown}")
    return "\n".join(lines)
