"""The README's configuration table is generated from the settings: a changed setting without it fails."""

from __future__ import annotations

from pathlib import Path

from vetoflow.settings_table import END, START, render

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_table_matches_the_settings() -> None:
    text = README.read_text()
    assert START in text
    assert END in text
    assert render(text) == text, "run: python -m vetoflow.settings_table README.md"
