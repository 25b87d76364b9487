"""The README's configuration table, generated from the settings' own field descriptions (never drifts).

`python -m vetoflow.settings_table README.md` rewrites the table between its two markers;
`tests/test_docs.py` fails when the README and the settings disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic_core import PydanticUndefined

from vetoflow.config import Settings

START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        return "see below" if name == "bedrock_prices" else "-"
    value = field.default
    if value is None or value is PydanticUndefined:
        return "unset"
    return f"`{value}`"


def _allowed(name: str) -> str:
    """Bounds and choices, read from the field's own constraints."""
    field = Settings.model_fields[name]
    choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
    if choices:
        return ", ".join(f"`{c}`" for c in choices)
    bounds = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(item, attr, None) is not None:
                bounds.append(f"{sign} {getattr(item, attr):,}")
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "allowed" in extra:  # a pattern's meaning in words (the regex itself is in config.py)
        bounds.append(str(extra["allowed"]))
    return ", ".join(bounds) or "-"


def table() -> str:
    rows = ["| variable | meaning | allowed | default |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `VETOFLOW_{name.upper()}` | {meaning} | {_allowed(name)} | {_default(name)} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text()))


if __name__ == "__main__":
    main()
