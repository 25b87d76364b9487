"""What the console says when the service refuses: operator words on top, the refusal as raised (digests, CLI
commands) kept for developers under "Details".

The service's errors are written for the CLI and the API (`vetoflow runs`, `sha256:8b8e...`); an operator in the
console reads what happened and what to do next.
"""

from __future__ import annotations

from vetoflow.errors import RunNotFoundError, VetoflowError
from vetoflow.plaintext import md
from vetoflow.runs.gate import DigestMismatchError

FIGURES_CHANGED = (
    "The figures changed since you opened this run; review them (the view below is up to date) and decide again. "
    "Nothing was recorded."
)
NO_SUCH_RUN = "No run with that id; open one from the Inbox or Runs."


def operator_words(exc: VetoflowError) -> tuple[str, str]:
    """(what the operator reads, the details for developers: the refusal as raised, "" when the words are it)."""
    if isinstance(exc, DigestMismatchError):
        return FIGURES_CHANGED, details(exc)
    if isinstance(exc, RunNotFoundError):
        return NO_SUCH_RUN, details(exc)
    return str(exc), ""


def details(exc: VetoflowError) -> str:
    return f"**The refusal, as raised:** {md(str(exc))}"
