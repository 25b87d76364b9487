"""What every tab shares: the service, who is deciding, number formatting, and user-facing messages."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.formatting import amount, pct, when
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import Action, User, require
from vetoflow.plaintext import md
from vetoflow.render import status_words
from vetoflow.risk.plausibility import MAX_PLAUSIBLE_ROI, SHORT_WORDS
from vetoflow.runs.index import RunRow
from vetoflow.runs.service import RunService
from vetoflow.state import PlausibilityFlag

RUNS_PAGE = 200
PROGRESS = gr.Progress()  # a default marks the handler parameter Gradio fills with a per-call tracker


@dataclass(frozen=True)
class ConsoleDeps:
    """Handed to every `render_*`: the one service, the settings, and whether logins are required."""

    service: RunService
    settings: Settings
    auth_enabled: bool
    open_reviewer: str
    directory: Directory | None = None
    oidc: bool = False

    def user(self, request: gr.Request | None) -> User:
        """Who is acting, with their roles (see `identity.directory`); refuses nothing by itself.

        Signed in through OpenID Connect, the roles come from the provider's groups claim (kept on the
        request by the sign-in gate); a request without them has no role at all (fail closed).
        """
        if self.oidc:
            from vetoflow.console.oidc_login import request_user

            found_oidc = request_user(request)
            return found_oidc or User(self.reviewer(request), frozenset(), frozenset(), "oidc")
        directory = self.directory or Directory(None)
        name = self.reviewer(request)
        found = directory.user(name) if self.auth_enabled else None
        if found is not None:
            return found
        if self.auth_enabled or directory.users_file is not None:
            try:  # an open console acts as the local operator, who must be in the users file when one exists
                return directory.reviewer(name)
            except VetoflowError:
                return User(name, frozenset(), frozenset(), "open")
        return directory.reviewer(name)

    def require(self, request: gr.Request | None, action: Action) -> User:
        return require(self.user(request), action)

    def reviewer(self, request: gr.Request | None) -> str:
        """The logged-in user is the reviewer of record; an open console records the local operator."""
        username = getattr(request, "username", None) if request is not None else None
        if username:
            return str(username)
        return self.open_reviewer


def ok(text: str) -> str:
    """A success shown in place; the text is plain (names, ids and files in it are user text)."""
    return f"✅ {md(text)}"


FIELD_PATH = re.compile(r"\b(segments|rows)\[(\d+)\]\.?")
FIELD_WORDS = {"segments": "segment", "rows": "row"}


def operator_words(line: str) -> str:
    """Field paths as an operator reads them: `segments[0].margin` becomes `segment 1 margin`."""
    field, sep, rest = line.partition(": ")
    if not sep or " " in field.strip():
        return line  # not a `field: message` line
    field = FIELD_PATH.sub(lambda m: f"{FIELD_WORDS[m.group(1)]} {int(m.group(2)) + 1} ", field)
    return field.replace("<root>", "the form").replace("_", " ").strip() + sep + rest


def problem(text: str) -> str:
    """A user error shown in place: the first line bold, the details (one per field) as a list, all plain text
    (errors quote what was typed or uploaded; in a code span a backtick in it would end the span)."""
    first, *rest = str(text).splitlines() or [""]
    details = "".join(f"\n- {md(operator_words(line.strip()))}" for line in rest if line.strip())
    return f"⚠️ **{md(first)}**{details}"


def display_table(headers: list[str], raw: list[list[Any]], shown: list[list[str]]) -> dict[str, Any]:
    """A Dataframe value that sorts by the raw values (numbers as numbers) and shows the formatted text."""
    styling = [[""] * len(headers)] * len(raw)
    metadata = {"display_value": shown, "styling": styling} if raw else None
    return {"headers": headers, "data": raw, "metadata": metadata}


def ratio(value: float | None) -> str:
    """A ratio in a listing: "31.5%", or "> 1,000% ⚠️" beyond the plausibility limit (a $1 plan's ROI of
    306,465,711% says nothing more than that; the flags column says why, the run view has the figure)."""
    if value is not None and math.isfinite(value) and abs(value) > MAX_PLAUSIBLE_ROI:
        return f"{'>' if value > 0 else '<'} {'-' if value < 0 else ''}{MAX_PLAUSIBLE_ROI:,.0%} ⚠️"
    return pct(value)


def flag_words(flags: list[PlausibilityFlag]) -> str:
    """A run's plausibility flags in a few words each ("⚠️ ROI above 1,000%"), empty without any."""
    return "; ".join(f"⚠️ {SHORT_WORDS.get(flag.code, flag.message)}" for flag in flags)


def run_rows(rows: list[RunRow], columns: list[str], currencies: Mapping[str, str] | None = None) -> list[list[Any]]:
    """Table rows with the given columns, formatted for people: money with its run's currency (`currencies`:
    run id to code, as `RunService.currencies` gives them), never a bare amount beside another currency's."""
    codes = currencies or {}
    formatters: dict[str, Any] = {
        "run id": lambda r: r.run_id,
        "name": lambda r: r.name,
        "status": status_words,  # a stalled run says for how long, as `vetoflow runs` does
        "created": lambda r: when(r.created_at),
        "updated": lambda r: when(r.updated_at),
        "investment": lambda r: amount(r.investment, codes.get(r.run_id, "")),
        "ROI": lambda r: ratio(r.roi),
        "downside ROI": lambda r: ratio(r.downside_roi),
        "NPV": lambda r: amount(r.npv, codes.get(r.run_id, "")),
        "P(loss)": lambda r: pct(r.loss_probability),
        "flags": lambda r: flag_words(r.plausibility),
        "why vetoed": lambda r: r.veto_reason or "",
        "decision": lambda r: (
            ("-" if r.veto is None else ("veto" if r.veto else "pass"))
            + (f" → {r.last_action}" if r.last_action else "")
        ),
        "reviewer": lambda r: r.reviewer or "",
    }
    return [[formatters[c](row) for c in columns] for row in rows]
