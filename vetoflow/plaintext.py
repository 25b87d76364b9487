"""User and LLM text shown as plain text: never markup, never raw control characters.

Names, currencies, comments, errors and summaries come from people and models. In the terminal they are
wrapped in rich `Text` (no markup parsing, so `[/]` is just two characters) with control characters,
bidirectional overrides and zero-width characters shown as visible escapes (`\\x1b`), so nothing can
move the cursor, recolour the screen or hide text. In the console they become escaped HTML with no
Markdown: no links, no images, nothing fetched. In its plotly charts they become `chart_text`: plotly
renders `<b>`, `<a href>` and `<span style>` in titles, ticks, legends and hovers, and fills `%{...}`.
"""

from __future__ import annotations

import html
import re

from rich.text import Text

# C0 (but tab/newline, handled by the caller), DEL, C1, zero-width, bidi embeddings/overrides/isolates.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, *, multiline: bool = False) -> str:
    """The text with every control character shown as an escape; newlines kept only when `multiline`."""
    text = CONTROL.sub(_visible, str(value).replace("\r\n", "\n")).replace("\t", "    ")
    return text if multiline else text.replace("\n", "\\n")


def plain(value: object, *, multiline: bool = False, style: str = "") -> Text:
    """A rich Text that prints `value` as written: no markup, no control characters."""
    return Text(clean(value, multiline=multiline), style=style)


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&:])")


def md(value: object, *, multiline: bool = False) -> str:
    """User text inside one of vetoflow's Markdown templates: every Markdown and HTML character is
    backslash-escaped, so it prints as written (no links, no images fetched, no emphasis, no tags)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", clean(value, multiline=multiline))


def chart_text(value: object) -> str:
    """User text for a plotly figure (names, legends, ticks, hover labels, hover templates), shown as written.

    `&`, `<` and `>` become entities, so plotly draws a tag as its characters instead of a link or bold text;
    `%` becomes `&#37;`, so `%{x}` in a name is never filled in by a hover template or a `meta` reference.
    Plotly turns the entities back into the characters on screen (`html.unescape` reads them back)."""
    return html.escape(clean(value), quote=False).replace("%", "&#37;")
