"""The console's messages show user text as plain text (issue 13): an uploaded scenario's name, the values an
error quotes, typed run ids. The real handlers, called as plain functions on real files."""

from __future__ import annotations

import re
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps, ok, problem
from vetoflow.console.new_run import load_upload, start_new_run
from vetoflow.plaintext import md
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

LEAK = "![x](http://127.0.0.1:9/leak.png?from=console)"
UNESCAPED = re.compile(r"(?<!\\)[`\[\]<>*_]")  # any of these, not backslash-escaped, is Markdown


def markup_outside(message: str, *templates: str) -> list[str]:
    """The Markdown characters of `message` that vetoflow's own template did not put there."""
    for template in templates:
        message = message.replace(template, "")
    return UNESCAPED.findall(message)


def test_an_uploaded_scenarios_name_is_text_not_an_image(tmp_path: Path, vetoed: Scenario) -> None:
    named = vetoed.model_copy(update={"name": f"Plan {LEAK}"})
    path = tmp_path / "plan.json"
    path.write_text(named.model_dump_json())
    message, loaded_name, *_ = load_upload(str(path), 100_000)
    assert loaded_name == f"Plan {LEAK}", "the form holds the name as written"
    assert md(f"Plan {LEAK}") in message
    assert "!\\[x\\](http\\://127.0.0.1" in message, "no link, so no image is fetched"
    assert markup_outside(message) == []


def test_a_refused_upload_quotes_backticks_and_links_as_text(tmp_path: Path) -> None:
    path = tmp_path / "segments.csv"
    path.write_text(f"name,base_revenue,margin\nKiosks,`1` {LEAK} `2`,0.2\n")
    message, *_ = load_upload(str(path), 100_000)
    assert message.startswith("⚠️ **segments.csv line 2, column base\\_revenue\\: ")
    assert "'\\`1\\` !\\[x\\](http" in message
    assert markup_outside(message, "⚠️ **", "**\n\nNothing") == []


def test_every_detail_line_of_a_refusal_is_plain(tmp_path: Path, vetoed: Scenario) -> None:
    data = vetoed.model_dump(mode="json") | {"investment": f"`{LEAK}`", "currency": f"<b>{LEAK}</b>"}
    settings = Settings(home=tmp_path / "home", database_url=None)
    with open_service(settings) as service:
        deps = ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana")
        [(text, run_id)] = list(start_new_run(deps, data, None))
        assert service.list() == []
    assert run_id == ""
    first, *details = text.split("\n- ")
    assert first == "⚠️ **the form is invalid\\:**"
    assert details, "one line per refused field"
    assert all(not line.startswith("`") for line in details), "no code spans for a backtick to break out of"
    assert markup_outside(text, "⚠️ **", "**\n") == []


def test_messages_escape_what_they_quote() -> None:
    assert ok("approve recorded for `x` by **me**") == "✅ approve recorded for \\`x\\` by \\*\\*me\\*\\*"
    assert problem("no run with id '[a](http://h)'\nrun: ``") == (
        "⚠️ **no run with id '\\[a\\](http\\://h)'**\n- run\\: \\`\\`"
    )
