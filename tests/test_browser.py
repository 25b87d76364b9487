"""A real operator in a real browser: Debian's Chromium, headless, driven by playwright (no browser download).

Chromium is installed with apt-get by scripts/install_chromium.sh when /usr/bin/chromium is missing.
Screenshots go to the test's temp dir; with VETOFLOW_SCREENSHOT_DIR=docs (`make screenshots`) the inbox
and run view shots are also written there for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.console_helpers import ANA, Console, ensure_chromium, serve_console
from vetoflow.config import Settings
from vetoflow.scenario import load_scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console over a few runs an operator would find in the morning: three paused, one completed."""
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None)
    with serve_console(settings) as served:
        vetoed = load_scenario(EXAMPLES / "vetoed.yaml")
        served.service.start(load_scenario(EXAMPLES / "profitable.yaml"))
        served.service.start(vetoed.model_copy(update={"name": "Airport kiosks (pilot)", "investment": 1_800_000}))
        served.service.start(load_scenario(EXAMPLES / "borderline.yaml"))
        served.service.start(vetoed)
        yield served


def login(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.locator("input[type=text]").first.fill(username)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#console-banner")).to_contain_text(f"Signed in as {username}", timeout=TIMEOUT_MS)


def keep(shot: Path) -> None:
    """Copy a screenshot to VETOFLOW_SCREENSHOT_DIR when set (how docs/*.png are made)."""
    target = os.environ.get("VETOFLOW_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


def test_operator_logs_in_opens_a_vetoed_run_and_approves_it(console: Console, tmp_path: Path) -> None:
    chromium = ensure_chromium()
    [run] = [r for r in console.service.list(["paused"]) if r.name == "Retail kiosk rollout"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 640})
            login(page, console.url, *ANA)

            inbox = page.locator("#inbox-table")
            expect(inbox).to_contain_text("Retail kiosk rollout", timeout=TIMEOUT_MS)
            expect(page.locator("#inbox-count")).to_contain_text("3 runs wait")
            page.screenshot(path=tmp_path / "inbox.png", full_page=True)
            keep(tmp_path / "inbox.png")
            late = load_scenario(EXAMPLES / "vetoed.yaml").model_copy(update={"name": "Late one"})
            late_id = console.service.start(late).run.run_id
            expect(inbox).to_contain_text(late_id, timeout=15_000)  # the timer refreshed it; nobody clicked
            expect(page.locator("#inbox-count")).to_contain_text("4 runs wait")

            inbox.get_by_text("Retail kiosk rollout").first.click()
            headline = page.locator("#run-headline")
            expect(headline).to_contain_text("Retail kiosk rollout", timeout=TIMEOUT_MS)
            expect(headline).to_contain_text("paused")
            expect(page.locator("#run-reasons")).to_contain_text("below the veto threshold")
            expect(page.locator("#run-chart .js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
            for chart, name in (("#run-npv-histogram", "run_npv_histogram.png"), ("#run-tornado", "run_tornado.png")):
                expect(page.locator(f"{chart} .js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
                page.locator(chart).screenshot(path=tmp_path / name)
                keep(tmp_path / name)
            expect(page.locator("#run-npv-histogram")).to_contain_text("lose money")
            page.screenshot(path=tmp_path / "run_view.png", full_page=True)
            keep(tmp_path / "run_view.png")

            page.locator("#run-comment textarea").fill("strategic bet: first-mover in airports")
            page.locator("#run-approve").click()
            expect(page.locator("#run-confirm-text")).to_contain_text("2,500,000 USD", timeout=TIMEOUT_MS)
            page.locator("#run-confirm-yes").click()
            expect(page.locator("#run-message")).to_contain_text("approve recorded", timeout=TIMEOUT_MS)
            expect(headline).to_contain_text("completed")
            expect(page.locator("#run-summary")).to_contain_text("a human approved it anyway by ana")
            expect(page.locator("#run-history")).to_contain_text("strategic bet")
            page.screenshot(path=tmp_path / "approved.png", full_page=True)
        finally:
            browser.close()
    view = console.service.view(run.run_id)
    assert view.status == "completed"
    assert [(d.reviewer, d.action) for d in view.decisions] == [("ana", "approve")]
    for name in ("inbox.png", "run_view.png", "approved.png", "run_npv_histogram.png", "run_tornado.png"):
        assert (tmp_path / name).stat().st_size > 10_000
