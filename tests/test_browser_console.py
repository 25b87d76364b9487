"""The operator console as a finance lead uses it, in Debian's Chromium against a real `vetoflow ui` process:
the comment belongs to the run shown, a decision goes to the run shown and never to an id typed but not opened,
overruling a veto asks for a reason and a confirmation naming the
amount, a link opens a run (whose chart draws a segment named like a link as text), a colleague's decision
shows up without a reload, a run executing in another process shows its nodes as they go, the inbox sorts
money as numbers with its currency, the runs list follows runs started and decided elsewhere, and a comment
being typed survives a colleague's revise and decision.
(A 390 px phone reading the inbox is in tests/test_screenshots.py, which
photographs it for the README.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api_support import stop_process, wait_for
from tests.conftest import ROOT, env_for
from tests.console_helpers import ANA, BO, chromium_browser, vetoflow_ui_process
from tests.fakes.bedrock_server import BedrockServer
from vetoflow.config import Settings
from vetoflow.identity.passwords import hash_password
from vetoflow.identity.users_file import add_user
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

TIMEOUT_MS = 60_000
EVIL_LINK = '<a href="https://evil.example">x</a>'


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright, chromium_browser(playwright) as launched:
        yield launched


def start(settings: Settings, scenario: Scenario, **update: object) -> str:
    with open_service(settings) as service:
        view = service.start(scenario.model_copy(update=update))
    assert view.status == "paused"
    return view.run.run_id


def signed_in(browser: Browser, url: str, who: tuple[str, str]) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(url)
    page.locator("input[type=text]").first.fill(who[0])
    page.locator("input[type=password]").fill(who[1])
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#console-banner")).to_contain_text(f"Signed in as {who[0]}", timeout=TIMEOUT_MS)
    return page


def open_from_inbox(page: Page, name: str) -> None:
    page.get_by_role("tab", name="Inbox").click()
    page.locator("#inbox-table [role=gridcell]").filter(has_text=name).first.click()
    expect(page.locator("#run-headline")).to_contain_text(name, timeout=TIMEOUT_MS)


def decisions(settings: Settings, run_id: str) -> list[tuple[str, str, str]]:
    with open_service(settings) as service:
        return [(d.reviewer, d.action, d.comment) for d in service.view(run_id).decisions]


def test_the_comment_never_carries_over_to_the_next_run(home: Settings, browser: Browser, vetoed: Scenario) -> None:
    first = start(home, vetoed, name="First kiosks")
    second = start(home, vetoed, name="Second kiosks")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        comment = page.locator("#run-comment textarea")
        open_from_inbox(page, "First kiosks")
        comment.fill("typed on the first run, never sent")
        open_from_inbox(page, "Second kiosks")
        expect(comment).to_have_value("")  # opening another run empties the box

        open_from_inbox(page, "First kiosks")
        comment.fill("margins too thin")
        page.locator("#run-reject").click()
        expect(page.locator("#run-message")).to_contain_text("reject recorded", timeout=TIMEOUT_MS)
        open_from_inbox(page, "Second kiosks")
        expect(comment).to_have_value("")  # the first run's reason is not waiting here for the next click
        page.locator("#run-reject").click()
        expect(page.locator("#run-message")).to_contain_text("reject recorded", timeout=TIMEOUT_MS)
    assert decisions(home, first) == [("ana", "reject", "margins too thin")]
    assert decisions(home, second) == [("ana", "reject", "")]


def test_a_run_id_typed_but_not_opened_never_receives_the_decision(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    shown = start(home, vetoed, name="Shown kiosks")
    typed = start(home, vetoed, name="Typed kiosks")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        open_from_inbox(page, "Shown kiosks")
        expect(page).to_have_url(re.compile(rf"\?run={shown}$"), timeout=TIMEOUT_MS)
        page.locator("#run-comment textarea").fill("margins too thin")
        page.locator("#run-thread-text textarea").fill("a note on the run shown")
        page.locator("#run-id textarea, #run-id input").first.fill(typed)  # overwritten, Open not pressed
        page.locator("#run-reject").click()
        message = page.locator("#run-message")
        expect(message).to_contain_text(
            f"The Run id box names {typed} but the run shown is {shown}", timeout=TIMEOUT_MS
        )
        expect(message).to_contain_text("nothing was recorded")
        page.locator("#run-thread-add").click()
        expect(page.locator("#run-thread-message")).to_contain_text("nothing was recorded", timeout=TIMEOUT_MS)
        expect(page.locator("#run-headline")).to_contain_text("Shown kiosks")
        expect(page.locator("#run-headline")).to_contain_text("paused")
        expect(page).to_have_url(re.compile(rf"\?run={shown}$"))  # typing an id never changes the link
        expect(page.locator("#run-comment textarea")).to_have_value("margins too thin")  # kept to send again

        page.locator("#run-open").click()
        expect(page.locator("#run-headline")).to_contain_text("Typed kiosks", timeout=TIMEOUT_MS)
        expect(page).to_have_url(re.compile(rf"\?run={typed}$"), timeout=TIMEOUT_MS)
        expect(page.locator("#run-comment textarea")).to_have_value("")  # the other run's reason is not carried
        expect(page.locator("#run-thread-text textarea")).to_have_value("")
    assert decisions(home, typed) == []
    assert decisions(home, shown) == []
    with open_service(home) as service:
        assert service.view(typed).comments == service.view(shown).comments == []


def test_overruling_a_veto_needs_a_reason_and_a_confirmation_naming_the_amount(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    run_id = start(home, vetoed, name="Airport kiosks", investment=4_800_000, currency="EUR")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        open_from_inbox(page, "Airport kiosks")
        page.locator("#run-approve").click()
        expect(page.locator("#run-message")).to_contain_text("needs a reason", timeout=TIMEOUT_MS)
        expect(page.locator("#run-confirm-yes")).to_be_hidden()

        page.locator("#run-comment textarea").fill("first mover in airports")
        page.locator("#run-approve").click()
        confirm = page.locator("#run-confirm-text")
        expect(page.locator("#run-confirm-yes")).to_be_visible(timeout=TIMEOUT_MS)
        expect(confirm).to_contain_text("4,800,000 EUR")
        assert repeated_ids(page) == [], "every element the console names is named once, the question's box too"
        page.locator("#run-confirm-cancel").click()
        expect(page.locator("#run-confirm-yes")).to_be_hidden(timeout=TIMEOUT_MS)
        assert decisions(home, run_id) == [], "nothing is recorded before the confirmation"

        page.locator("#run-approve").click()
        expect(confirm).to_contain_text("4,800,000 EUR", timeout=TIMEOUT_MS)
        page.locator("#run-confirm-yes").click()
        expect(page.locator("#run-message")).to_contain_text("approve recorded", timeout=TIMEOUT_MS)
        expect(page.locator("#run-headline")).to_contain_text("completed")
    assert decisions(home, run_id) == [("ana", "approve", "first mover in airports")]


def test_a_link_opens_the_run_and_the_address_names_the_open_run(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    hostile = [vetoed.segments[0].model_copy(update={"name": EVIL_LINK}), *vetoed.segments[1:]]
    linked = start(home, vetoed, name="Linked kiosks", segments=hostile)
    other = start(home, vetoed, name="Other kiosks")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        page.goto(f"{url}?run={linked}")
        expect(page.locator("#run-headline")).to_contain_text("Linked kiosks", timeout=TIMEOUT_MS)
        chart = page.locator("#run-chart")
        expect(chart.locator(".js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
        expect(chart).to_contain_text(f"{EVIL_LINK} (P50, band P10-P90)")  # a segment's name, drawn as written
        # plotly draws a link as an SVG <a xlink:href> (which a[href*=...] never matches): none in the chart
        expect(chart.locator("svg a")).to_have_count(0)
        expect(page.get_by_text("Use via API")).to_have_count(0)  # no developer footer for operators
        expect(page.get_by_role("tab", name="Run", exact=True)).to_have_attribute("aria-selected", "true")
        open_from_inbox(page, "Other kiosks")
        expect(page).to_have_url(re.compile(rf"\?run={other}$"), timeout=TIMEOUT_MS)
        page.locator("#run-trace-link").click()
        expect(page.get_by_role("tab", name="Trace", exact=True)).to_have_attribute("aria-selected", "true")
        expect(page.get_by_role("heading", name=f"Other kiosks {other}")).to_be_visible(timeout=TIMEOUT_MS)

        page.goto(f"{url}?run=doesnotexist")  # a stale or mistyped link: operator words, no CLI hint
        expect(page.locator("#run-message")).to_have_text("⚠️ No run with that id; open one from the Inbox or Runs.",
                                                          timeout=TIMEOUT_MS)  # fmt: skip


def test_a_colleague_s_decision_appears_in_an_open_run_view_without_a_reload(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    """...and what I was typing survives it: kept through their revise, moved to "Add a comment" by their reject."""
    run_id = start(home, vetoed, name="Contested kiosks")
    with vetoflow_ui_process(home) as url:
        mine = signed_in(browser, url, ANA)
        mine.goto(f"{url}?run={run_id}")
        expect(mine.locator("#run-headline")).to_contain_text("paused", timeout=TIMEOUT_MS)
        typed = mine.locator("#run-comment textarea")
        typed.fill("I was about to approve")

        with open_service(home) as service:  # bo revises from the CLI, say
            service.decide(run_id, "revise", reviewer="bo", overrides={"investment": 2_000_000})
        message = mine.locator("#run-message")
        expect(message).to_contain_text("bo revised this run", timeout=20_000)
        expect(mine.locator("#run-headline")).to_contain_text("revision 1", timeout=20_000)
        expect(message).to_contain_text("it is now paused")  # still naming bo, not a bare change of status
        expect(typed).to_have_value("I was about to approve")

        theirs = signed_in(browser, url, BO)
        theirs.goto(f"{url}?run={run_id}")
        expect(theirs.locator("#run-headline")).to_contain_text("revision 1", timeout=TIMEOUT_MS)
        theirs.locator("#run-comment textarea").fill("too risky")
        theirs.locator("#run-reject").click()
        expect(theirs.locator("#run-message")).to_contain_text("reject recorded", timeout=TIMEOUT_MS)

        expect(message).to_contain_text("bo rejected this run", timeout=20_000)
        expect(mine.locator("#run-headline")).to_contain_text("rejected")
        expect(mine.locator("#run-history")).to_contain_text("too risky")
        expect(mine.locator("#run-decide")).to_be_hidden()
        expect(mine.locator("#run-draft-note")).to_contain_text("Your comment was not sent: bo rejected this run first")
        expect(mine.locator("#run-thread-text textarea")).to_have_value("I was about to approve")
        mine.locator("#run-thread-add").click()
        expect(mine.locator("#run-thread")).to_contain_text("ana: I was about to approve", timeout=TIMEOUT_MS)


def test_a_run_started_in_another_process_shows_its_nodes_then_how_it_ended_without_a_reload(
    home: Settings, browser: Browser, profitable: Scenario, bedrock: BedrockServer
) -> None:
    """`vetoflow run` in its own process, with a Forecaster that takes 10 s and a loopback Bedrock that takes 6 s
    to answer the Synthesizer; the console, opened on the run by its link, follows the run's event log."""
    bedrock.delay = 6.0
    home.home.mkdir(parents=True, exist_ok=True)
    plan = home.home.parent / "watched.json"
    plan.write_text(profitable.model_copy(update={"name": "Watched kiosks"}).model_dump_json())
    env = env_for(home) | {"PYTHONPATH": str(ROOT), "VETOFLOW_TEST_SLOW_SECONDS": "10", "VETOFLOW_LLM": "bedrock"}
    env |= {"VETOFLOW_CONTEXT_FACTORY": "tests.worker_clients:make_context"}
    env |= {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url}
    with vetoflow_ui_process(home) as url, open_service(home) as service:
        page = signed_in(browser, url, ANA)
        command = [sys.executable, "-m", "vetoflow", "run", str(plan)]
        runner = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(service.list, timeout=60, what="the run's row")
            [row] = service.list()
            page.goto(f"{url}?run={row.run_id}")
            page.evaluate("window.openedOnce = true")  # gone if the page reloads
            live = page.locator("#run-progress")
            expect(live).to_contain_text("Forecaster: simulating revenue paths", timeout=TIMEOUT_MS)
            expect(page.locator("#run-headline")).to_contain_text("running")
            expect(live).to_contain_text("Synthesizer: writing the summary", timeout=TIMEOUT_MS)
            expect(live).to_contain_text("✓ Forecaster: revenue paths simulated")
            expect(live).to_contain_text("✓ Accountant: ROI, NPV, payback computed")
            expect(live).to_contain_text("Completed in", timeout=TIMEOUT_MS)
            expect(live).to_contain_text("✓ Synthesizer: summary written")
            expect(page.locator("#run-headline")).to_contain_text("completed")
            expect(page.locator("#run-message")).to_contain_text("it is now completed")
            expect(page.locator("#run-summary")).to_contain_text("The plan pays back")
            assert page.evaluate("window.openedOnce") is True
            assert runner.wait(60) == 0
        finally:
            stop_process(runner)


def test_the_inbox_sorts_money_as_numbers_with_its_currency_and_keys_open_a_run(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    start(home, vetoed, name="Big EUR plan", investment=4_800_000, currency="EUR")
    start(home, vetoed, name="Small USD plan", investment=950_000, currency="USD")
    start(home, vetoed, name="Middle EUR plan", investment=1_800_000, currency="EUR")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        expect(page.locator("#inbox-count")).to_contain_text("2 runs · 6,600,000 EUR; 1 run · 950,000 USD")
        amounts = page.locator("#inbox-table [role=gridcell][data-col='2']")
        expect(amounts).to_have_count(3, timeout=TIMEOUT_MS)
        header = page.locator("#inbox-table [role=columnheader]").filter(has_text="amount").first
        header.hover()
        header.locator("button.cell-menu-button").click()
        page.get_by_text("Sort ascending").click()
        expect(amounts.first).to_have_text("950,000 USD", timeout=TIMEOUT_MS)  # as text it would come last
        assert amounts.all_inner_texts() == ["950,000 USD", "1,800,000 EUR", "4,800,000 EUR"]

        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("j")
        page.keyboard.press("j")
        marker = page.locator("#inbox-table .vf-cursor")
        expect(marker).to_contain_text("Middle EUR plan")
        start(home, vetoed, name="Late USD plan", investment=1_000_000, currency="USD")  # as from the CLI
        expect(page.locator("#inbox-count")).to_contain_text("2 runs · 1,950,000 USD", timeout=TIMEOUT_MS)
        expect(amounts).to_have_count(4)
        expect(marker).to_have_count(1)
        expect(marker).to_contain_text("Middle EUR plan")  # the marker follows the run, not the row position
        help_text = page.get_by_text("move down / up the inbox")
        expect(help_text).to_be_hidden()
        page.keyboard.press("?")  # the short help panel
        expect(help_text).to_be_visible(timeout=TIMEOUT_MS)
        page.keyboard.press("o")
        expect(page.locator("#run-headline")).to_contain_text("Middle EUR plan", timeout=TIMEOUT_MS)


def test_the_runs_list_shows_runs_started_and_decided_elsewhere_without_a_click(
    home: Settings, browser: Browser, vetoed: Scenario
) -> None:
    decided = start(home, vetoed, name="Decided elsewhere")
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ANA)
        page.get_by_role("tab", name="Runs", exact=True).click()
        runs = page.locator("#runs-table")
        expect(runs).to_contain_text("Decided elsewhere", timeout=TIMEOUT_MS)
        expect(runs).not_to_contain_text("rejected")
        start(home, vetoed, name="Started elsewhere")  # as from the CLI
        with open_service(home) as service:
            service.decide(decided, "reject", reviewer="bo")
        expect(runs).to_contain_text("Started elsewhere", timeout=20_000)  # Search was never pressed
        expect(runs).to_contain_text("rejected", timeout=20_000)
        expect(page.locator("#runs-count")).to_contain_text("2 run(s)")


def repeated_ids(page: Page) -> list[str]:
    """The ids the console gives its elements (`elem_id`: run-..., inbox-...) that the page carries twice."""
    script = """() => { const seen = {};
        for (const e of document.querySelectorAll('[id]')) seen[e.id] = (seen[e.id] || 0) + 1;
        return Object.keys(seen).filter(id => seen[id] > 1); }"""
    ours = re.compile(r"^(run|inbox|runs|new|console|revise|trace|compare|knowledge|queue)-")
    return [name for name in page.evaluate(script) if ours.match(name)]


def test_serve_s_console_opens_a_linked_run_too(home: Settings, browser: Browser, vetoed: Scenario) -> None:
    linked = start(home, vetoed, name="Served kiosks")
    with vetoflow_ui_process(home, command="serve") as url:
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        complaints: list[str] = []
        page.on("console", lambda message: complaints.append(message.text) if message.type == "error" else None)
        page.goto(url)
        expect(page.get_by_role("button", name="Login")).to_be_visible(timeout=TIMEOUT_MS)
        assert httpx.get(url.split("/console")[0] + "/favicon.ico", follow_redirects=True).status_code == 200
        page = signed_in(browser, url, ANA)
        page.goto(f"{url.removesuffix('/')}?run={linked}")  # /console?run=ID, as a notification links it
        expect(page.locator("#run-headline")).to_contain_text("Served kiosks", timeout=TIMEOUT_MS)
        expect(page.get_by_role("tab", name="Run", exact=True)).to_have_attribute("aria-selected", "true")
    assert complaints == [], "the sign-in page loads without an error (a missing /favicon.ico was one)"


def test_a_signed_in_viewer_finds_start_run_and_knowledge_writes_off_with_the_reason(
    home: Settings, browser: Browser
) -> None:
    add_user(home.home / "users.yaml", "vi", ["viewer"], hash_password("Viewer-Pass-2026"))
    with vetoflow_ui_process(home) as url:
        page = signed_in(browser, url, ("vi", "Viewer-Pass-2026"))
        page.get_by_role("tab", name="New run", exact=True).click()
        expect(page.locator("#new-start")).to_be_disabled(timeout=TIMEOUT_MS)
        expect(page.locator("#new-start-note")).to_contain_text("vi (viewer) may not start runs")
        page.get_by_role("tab", name="Knowledge", exact=True).click()
        expect(page.get_by_role("button", name="Add to the knowledge base")).to_be_disabled(timeout=TIMEOUT_MS)
        expect(page.get_by_role("button", name="Remove")).to_be_disabled()
        expect(page.locator("#knowledge-message")).to_contain_text("vi (viewer) may not start runs")
