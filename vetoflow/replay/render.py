"""Rich renderings of one replay against its original for the terminal (`vetoflow replay`)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from vetoflow.formatting import money, pct
from vetoflow.plaintext import clean, plain
from vetoflow.replay.compare import Side


def comparison_table(old: Side, new: Side) -> Table:
    table = Table(title="Original against replay", title_justify="left")
    for header in ("", "original", "replay"):
        table.add_column(header)
    rows = [
        ("run", old.run_id, new.run_id),
        ("status", old.status, new.status),
        ("investment", money(old.investment), money(new.investment)),
        ("decision", _veto(old.veto), _veto(new.veto)),
        ("ROI (P50)", pct(old.roi), pct(new.roi)),
        ("NPV", money(old.npv), money(new.npv)),
        ("model", old.model or "-", new.model or "-"),
        ("tokens", str(old.tokens or "-"), str(new.tokens or "-")),
        ("grounding flags", ", ".join(old.grounding_flags) or "-", ", ".join(new.grounding_flags) or "-"),
    ]
    for row in rows:
        style = "bold" if row[1] != row[2] else None
        table.add_row(*(plain(cell) for cell in row), style=style)
    return table


def _veto(value: bool | None) -> str:
    return "-" if value is None else ("veto" if value else "pass")


def summary_diff(lines: list[str]) -> Text:
    text = Text()
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        text.append(clean(line) + "\n", style=style)
    return text
