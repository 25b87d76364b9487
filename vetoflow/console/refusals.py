"""What the console says when the service refuses: operator words on top, the exception's own text (digests,
CLI commands) kept for developers under "Details".

The service's errors are written for the CLI and the API (`vetoflow runs`, `sha256:...`); an operator in the
console reads what happened and what to do next.
"""

from __future__ import annotations

FIGURES_CHANGED = (
    "The figures changed since you opened this run; review them (the view below is up to date) and decide again. "
    "Nothing was recorded."
)
