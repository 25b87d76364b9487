"""The digest of what an approver is shown: figures, decision, reasons, scenario and revision.

Canonical JSON (sorted keys, no spaces, floats by `repr`) hashed with SHA-256, so the same run state gives
the same digest in every process and any change (a revise, a replay, new figures) gives another.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from vetoflow.state import RunState

DIGEST_PREFIX = "sha256:"
FIELDS = ("figures", "decision", "scenario", "revision")


def shown(run_id: str, scenario: Mapping[str, Any], revision: int, figures: Any, decision: Any) -> dict[str, Any]:
    """Exactly the content the digest covers (the decision carries its reasons)."""
    return {"run_id": run_id, "scenario": scenario, "revision": revision, "figures": figures, "decision": decision}


def json_safe(value: Any) -> Any:
    """Non-finite numbers (an incredible figure the Accountant vetoed) as the strings "NaN", "Infinity",
    "-Infinity": every JSON this package writes (digests, audit, notifications) stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def digest_of(content: Mapping[str, Any]) -> str:
    safe = json_safe(content)
    canonical = json.dumps(safe, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return DIGEST_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def run_digest(state: Mapping[str, Any] | RunState) -> str:
    """The digest of a run state at a pause: typed, or as stored in its checkpoint (normalised first, so
    both spellings of one state give one digest)."""
    typed = state if isinstance(state, RunState) else RunState.model_validate(dict(state))
    state = typed.model_dump(mode="json")
    return digest_of(
        shown(
            str(state["run_id"]),
            state["scenario"],
            int(state.get("revision", 0)),
            state.get("financials"),
            state.get("decision"),
        )
    )
