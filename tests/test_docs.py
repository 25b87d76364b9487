"""The README's configuration table is generated from the settings: a changed setting without it fails."""

from __future__ import annotations

from pathlib import Path

from vetoflow.config import Settings
from vetoflow.settings_table import END, START, render, table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_table_matches_the_settings() -> None:
    text = README.read_text()
    assert START in text
    assert END in text
    assert render(text) == text, "run: python -m vetoflow.settings_table README.md"


def test_every_setting_with_a_pattern_says_in_words_what_it_allows() -> None:
    """A regex is no help to an operator: each patterned setting names its format in the table."""
    patterned = [
        name
        for name, field in Settings.model_fields.items()
        if any(getattr(item, "pattern", None) for item in field.metadata)
    ]
    assert patterned, "the settings have patterned fields (OIDC claims, the context factory)"
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in table().splitlines()[2:]}
    for name in patterned:
        allowed = rows[f"`VETOFLOW_{name.upper()}`"]
        assert allowed not in ("", "-"), name
    assert rows["`VETOFLOW_OIDC_SCOPES`"] != rows["`VETOFLOW_CONTEXT_FACTORY`"]
