"""Readable differences between two state snapshots: one line per changed leaf, big arrays summarised."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

MAX_INLINE_LIST = 6
MAX_TEXT = 160


class Change(BaseModel):
    field: str
    before: Any = None
    after: Any = None
    kind: str  # "added" | "removed" | "changed"

    def describe(self) -> str:
        if self.kind == "added":
            return f"{self.field} = {short(self.after)}"
        if self.kind == "removed":
            return f"{self.field} removed (was {short(self.before)})"
        return f"{self.field}: {short(self.before)} -> {short(self.after)}"


def short(value: Any) -> str:
    """A one-line rendering: long lists become their length, long text is cut."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        if len(value) > MAX_INLINE_LIST or any(isinstance(v, dict | list) for v in value):
            return f"[{len(value)} items]"
        return "[" + ", ".join(short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(value)) + "}" if value else "{}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def diff_values(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[Change]:
    """Leaf-level changes from `before` to `after`; lists are compared whole (bands are not itemised)."""
    changes: list[Change] = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}.{key}" if prefix else str(key)
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(diff_values(old, new, path))
        elif isinstance(new, list) and isinstance(old, list) and _is_appended(old, new):
            for i, item in enumerate(new[len(old) :], len(old)):
                changes.extend(_added(f"{path}[{i}]", item))
        elif key not in before or old is None:
            changes.extend(_added(path, new))
        elif key not in after or new is None:
            changes.append(Change(field=path, before=old, kind="removed"))
        else:
            changes.append(Change(field=path, before=old, after=new, kind="changed"))
    return changes


def _is_appended(old: list[Any], new: list[Any]) -> bool:
    return len(new) > len(old) and new[: len(old)] == old


def _added(path: str, value: Any) -> list[Change]:
    """A new record (e.g. `financials`) is shown field by field, one level deep, so the figures are visible."""
    if isinstance(value, dict) and value:
        return [Change(field=f"{path}.{k}", after=v, kind="added") for k, v in value.items()]
    return [Change(field=path, after=value, kind="added")]
