"""The README against the code: the configuration table is generated from the settings, and the CLI's
claims (which commands take --json) are checked against the commands."""

from __future__ import annotations

import re
from pathlib import Path

import click

from vetoflow.cli.app import COMMANDS, cli
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


def _takes_json(command: click.Command) -> bool:
    if isinstance(command, click.Group):
        return any(_takes_json(sub) for sub in command.commands.values())
    return any("--json" in param.opts for param in command.params)


def test_readme_names_exactly_the_commands_that_take_json() -> None:
    """The README once said every command takes --json; it names both sides now, and they must stay true."""
    text = " ".join(README.read_text().split())
    claim = text.split("`--json` (machine-readable output for scripts) is taken by ", 1)[1].split(". ", 1)[0]
    taken, _, not_taken = claim.partition("; not by ")
    context = click.Context(cli)
    commands = {name: cli.get_command(context, name) for name in COMMANDS}
    with_json = {name for name, command in commands.items() if command and _takes_json(command)}
    assert set(re.findall(r"`([a-z]+)`", taken)) == with_json
    assert set(re.findall(r"`([a-z]+)`", not_taken)) == set(COMMANDS) - with_json
