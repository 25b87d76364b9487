"""The run view's renderings and the revise form's overrides, on plain data (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vetoflow.console.decisions import revise_overrides
from vetoflow.console.present import summary
from vetoflow.errors import VetoflowError
from vetoflow.runs.index import RunRow
from vetoflow.runs.service import RunView

SCENARIO: dict[str, Any] = {
    "investment": 1000.0,
    "horizon": 8,
    "discount_rate": 0.03,
    "segments": [{"name": "Kiosks", "base_revenue": 10.0, "growth_mean": 0.0, "volatility": 0.1, "margin": 0.1}],
}


def view_with(state: dict[str, Any], status: str = "completed") -> RunView:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    row = RunRow(run_id="r1", name="n", status=status, created_at=now, updated_at=now)  # type: ignore[arg-type]
    return RunView(run=row, state=state)


def test_summary_shows_citations_and_grounding_flags_when_the_client_gives_them() -> None:
    text = summary(
        view_with(
            {
                "summary": {
                    "text": "line one\n\nline two",
                    "model": "claude",
                    "offline": False,
                    "citations": [{"source": "policy.pdf", "page": 3}, "memo.md"],
                    "grounding_flags": ["unsupported: 12% growth"],
                }
            }
        )
    )
    assert "**Summary** (claude)" in text
    assert "1. policy.pdf (3)\n2. memo.md" in text
    assert "**Grounding flags**: unsupported\\: 12% growth" in text  # escaped: no autolink, no markup
    assert "No summary yet" in summary(view_with({}, status="paused"))


def test_revise_overrides_are_only_what_changed() -> None:
    table = [["Kiosks", 10.0, 0.0, 0.1, 0.25]]
    top = {"investment": 1000.0, "horizon": 10, "discount_rate": 0.03}
    assert revise_overrides(SCENARIO, top, table) == {"horizon": 10, "segments.Kiosks.margin": 0.25}


@pytest.mark.parametrize(
    ("top", "table", "expected"),
    [
        ({"horizon": 8.5}, [], "horizon: must be a whole number"),
        ({"investment": "lots"}, [], "investment: 'lots' is not a number"),
        ({}, [["Kiosks", 10.0, 0.0, 0.1, "inf"]], "must be a finite number"),
        ({}, [["Vending", 1, 0, 0, 0]], "no segment named 'Vending'"),
        ({"investment": 1000.0}, [["Kiosks", 10.0, 0.0, 0.1, 0.1]], "change at least one assumption"),
    ],
)
def test_revise_form_errors_name_the_field(top: dict[str, Any], table: list[list[Any]], expected: str) -> None:
    with pytest.raises(VetoflowError, match=expected):
        revise_overrides(SCENARIO, top, table)
