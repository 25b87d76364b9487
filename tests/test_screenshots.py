"""Every console tab in a real browser against a real `vetoflow ui` process: the README's screenshots.

Debian's Chromium (headless, driven by playwright) logs in to a `vetoflow ui` subprocess on loopback whose
home holds the sample knowledge base and a morning's runs. Each tab is checked for the text an operator
needs, then photographed into the test's temp dir; the inbox is also read and photographed at phone width
(390 px). `make screenshots` (VETOFLOW_SCREENSHOT_DIR=docs) also copies the pictures into docs/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from tests.conftest import env_for
from tests.console_helpers import ANA, USERS, chromium_browser, ensure_chromium, free_port
from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "vetoflow" / "examples"
TIMEOUT_MS = 90_000
PHONE: ViewportSize = {"width": 390, "height": 844}  # an iPhone 12-14 viewport, CSS pixels
READABLE_PX = 90  # the narrowest an inbox column may get on a phone: "⚠️ overdue 2 h" still reads
SHOTS = (
    "inbox.png", "run_view.png", "run_fan_chart.png", "run_npv_histogram.png", "run_tornado.png",
    "run_decided.png", "new_run.png", "runs.png", "knowledge.png", "trace.png", "compare.png",
)  # fmt: skip


@dataclass
class Morning:
    url: str
    vetoed: str  # the run the operator approves
    borderline: str
    replay: str  # the borderline plan replayed with a smaller investment: what Compare shows


def seed(settings: Settings) -> tuple[str, str, str]:
    """The knowledge base (through the real `vetoflow ingest`), then the runs an operator finds in the morning."""
    ingest = [sys.executable, "-m", "vetoflow", "ingest", str(EXAMPLES / "knowledge")]
    done = subprocess.run(ingest, env=env_for(settings), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    with open_service(settings) as service:
        service.start(load_scenario(EXAMPLES / "profitable.yaml"))
        pilot = load_scenario(EXAMPLES / "vetoed.yaml").model_copy(
            update={"name": "Airport kiosks (pilot)", "investment": 950_000}
        )
        service.start(pilot)
        borderline = service.start(load_scenario(EXAMPLES / "borderline.yaml")).run.run_id
        overrides = {"investment": 300_000, "segments.Warehousing.margin": 0.3}
        replay = service.replay(borderline, from_node="forecaster", overrides=overrides).new.run.run_id
        vetoed = service.start(load_scenario(EXAMPLES / "vetoed.yaml")).run.run_id
    return vetoed, borderline, replay


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Morning]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None)
    vetoed, borderline, replay = seed(settings)
    port = free_port()
    env = env_for(settings) | {"VETOFLOW_UI_USERS": USERS}
    command = [sys.executable, "-m", "vetoflow", "ui", "--port", str(port)]
    log = (tmp_path_factory.mktemp("log") / "ui.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"vetoflow ui exited with {process.returncode}"
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "vetoflow ui did not answer within 120 s"
            time.sleep(0.5)
        yield Morning(url, vetoed, borderline, replay)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def keep(shot: Path) -> None:
    """Copy a screenshot to VETOFLOW_SCREENSHOT_DIR when set (how docs/*.png are made)."""
    target = os.environ.get("VETOFLOW_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


def snap(page: Page, folder: Path, name: str, selector: str | None = None) -> None:
    page.wait_for_timeout(600)  # let plotly finish its transitions
    if selector:
        page.locator(selector).screenshot(path=folder / name)
    else:
        page.screenshot(path=folder / name, full_page=True)
    keep(folder / name)


def login(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("input[type=text]").first.fill(ANA[0])
    page.locator("input[type=password]").fill(ANA[1])
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#console-banner")).to_contain_text(f"Signed in as {ANA[0]}", timeout=TIMEOUT_MS)


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def pick(page: Page, dropdown: str, run_id: str) -> None:
    """Filter the dropdown to the run's own label ("name · id · status": a replay's name holds its source's id)."""
    field = page.locator(f"{dropdown} input")
    field.click()
    field.fill(f"· {run_id} ·")
    field.press("Enter")
    expect(field).to_have_value(re.compile(re.escape(run_id)))


def inbox_and_run_view(page: Page, morning: Morning, folder: Path) -> None:
    """The inbox, then the vetoed run before the decision (request as text, its JSON behind the developers' toggle,
    sources with passages, charts) and after it (summary, sources)."""
    inbox = page.locator("#inbox-table")
    expect(inbox).to_contain_text("Retail kiosk rollout", timeout=TIMEOUT_MS)
    expect(inbox).to_contain_text("Airport kiosks (pilot)")
    snap(page, folder, "inbox.png")

    inbox.get_by_text("Retail kiosk rollout").first.click()
    expect(page.locator("#run-headline")).to_contain_text("paused", timeout=TIMEOUT_MS)
    text = page.locator("#run-request textarea").input_value(timeout=TIMEOUT_MS)
    assert text.startswith(f"Decision asked: Retail kiosk rollout (run {morning.vetoed})")
    assert "Figures (USD, 8 quarters)" in text
    assert "The Accountant VETOED this plan" in text
    payload = page.locator("#run-payload")  # the raw JSON waits behind the developers' toggle
    expect(payload).to_be_hidden()
    assert "{" not in text, "the request reads as text, not JSON"
    evidence = page.locator("#run-evidence")  # the sources with their passages, while the run still waits
    expect(evidence).to_contain_text("Evidence from the knowledge base", timeout=TIMEOUT_MS)
    expect(evidence).to_contain_text("Past investment: the kiosk pilot (retail-kiosks-pilot.md)")
    expect(evidence).to_contain_text("The pilot review recommended against a large rollout")
    expect(page.locator("#run-summary")).to_contain_text("No summary yet")  # before any decision, no LLM call
    chart = page.locator("#run-chart")
    expect(chart.locator(".js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
    expect(chart).to_contain_text("investment $2.5M")
    expect(chart).to_contain_text("no break-even within 8 quarters")
    expect(chart).to_contain_text("quarter 8")
    expect(page.locator("#run-npv-histogram")).to_contain_text("lose money")
    expect(page.locator("#run-tornado")).to_contain_text("Sensitivity: median NPV")
    snap(page, folder, "run_view.png")
    snap(page, folder, "run_fan_chart.png", "#run-chart")
    snap(page, folder, "run_npv_histogram.png", "#run-npv-histogram")
    snap(page, folder, "run_tornado.png", "#run-tornado")
    page.get_by_text("Details for developers").click()
    expect(payload).to_be_visible(timeout=TIMEOUT_MS)
    expect(payload).to_contain_text("digest")
    page.get_by_text("Details for developers").click()  # closed again for the photograph after the decision
    expect(payload).to_be_hidden(timeout=TIMEOUT_MS)

    page.locator("#run-comment textarea").fill("strategic bet: first-mover in kiosks")
    page.locator("#run-approve").click()  # overruling a veto: the console asks to confirm the amount first
    expect(page.locator("#run-confirm-text")).to_contain_text("2,500,000", timeout=TIMEOUT_MS)
    page.locator("#run-confirm-yes").click()
    expect(page.locator("#run-message")).to_contain_text("approve recorded", timeout=TIMEOUT_MS)
    summary = page.locator("#run-summary")
    expect(summary).to_contain_text("a human approved it anyway by ana", timeout=TIMEOUT_MS)
    expect(summary).to_contain_text("Sources")
    expect(page.locator("#run-history")).to_contain_text("strategic bet")
    assert page.locator("#run-request textarea").input_value().startswith("Nothing is asked")
    snap(page, folder, "run_decided.png")


def other_tabs(page: Page, morning: Morning, folder: Path) -> None:
    """New run, Runs, Knowledge and Trace (of the run just approved)."""
    open_tab(page, "New run")
    expect(page.locator("#new-start")).to_be_visible(timeout=TIMEOUT_MS)
    snap(page, folder, "new_run.png")

    open_tab(page, "Runs")
    page.locator("#runs-refresh").click()
    runs = page.locator("#runs-table")
    expect(runs).to_contain_text("Logistics automation", timeout=TIMEOUT_MS)
    expect(runs).to_contain_text("completed")
    snap(page, folder, "runs.png")

    open_tab(page, "Knowledge")
    listed = page.get_by_text("retail-kiosks-pilot.md").filter(visible=True).first
    expect(listed).to_be_visible(timeout=TIMEOUT_MS)
    snap(page, folder, "knowledge.png")

    open_tab(page, "Trace")
    trace_box = page.locator("textarea[placeholder='e.g. 1e3b83d13732']:visible")
    trace_box.fill(morning.vetoed)
    page.get_by_role("button", name="Show trace").click()
    expect(page.get_by_text("synthesizer").filter(visible=True).first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("approve by ana").filter(visible=True).first).to_be_visible()
    snap(page, folder, "trace.png")


def compare_tab(page: Page, morning: Morning, folder: Path) -> None:
    open_tab(page, "Compare")
    page.wait_for_timeout(2_000)  # opening the tab refreshes both run lists; let that land first
    pick(page, "#compare-a", morning.borderline)
    pick(page, "#compare-b", morning.replay)
    page.locator("#compare-go").click()
    message = page.locator("#compare-message")
    expect(message).to_contain_text(f"({morning.borderline}) against", timeout=TIMEOUT_MS)
    expect(message).to_contain_text(f"({morning.replay})")
    expect(page.locator("#compare-inputs")).to_contain_text("Warehousing: margin", timeout=TIMEOUT_MS)
    expect(page.locator("#compare-inputs")).to_contain_text("420,000")
    expect(page.locator("#compare-figures")).to_contain_text("55.2%")
    expect(page.locator("#compare-chart")).to_contain_text(f"A {morning.borderline}: 55% lose money")
    snap(page, folder, "compare.png")


CHART_GEOMETRY = """(chart) => {
  const box = (el) => { const b = el.getBoundingClientRect();
    return {text: el.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom}; };
  const all = (selector) => [...chart.querySelectorAll(selector)].map(box);
  return {plot: box(chart.querySelector(".main-svg")), titles: all(".gtitle, .gtitle-subtitle, .annotation-text"),
          ticks: all(".xtick text"), axis_titles: all(".xtitle, .x2title, .x3title"), legend: all(".legend"),
          labels: all(".textpoint text")};
}"""


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"])


def assert_chart_fits(page: Page, selector: str) -> None:
    """Nothing drawn outside the chart (a title wider than the plot is cut off, a rotated tick reads "perio"),
    the legend clear of the axis, the break-even label clear of the titles: measured, not eyeballed."""
    shape = page.locator(selector).evaluate(CHART_GEOMETRY)
    plot = shape["plot"]
    assert shape["titles"], f"{selector} has titles"
    for part in (*shape["titles"], *shape["ticks"], *shape["axis_titles"], *shape["labels"]):
        inside = plot["left"] - 1 <= part["left"] and part["right"] <= plot["right"] + 1
        inside = inside and plot["top"] - 1 <= part["top"] and part["bottom"] <= plot["bottom"] + 1
        assert inside, f"{selector}: {part['text']!r} is cut off ({part} outside {plot})"
    for legend in shape["legend"]:
        for part in (*shape["ticks"], *shape["axis_titles"]):
            assert not overlap(legend, part), f"{selector}: the legend covers {part['text']!r}"
    for label in shape["labels"]:
        for title in shape["titles"]:
            assert not overlap(label, title), f"{selector}: {label['text']!r} collides with {title['text']!r}"


def test_on_a_390_px_phone_every_inbox_column_is_readable_the_charts_fit_and_both_are_photographed(
    morning: Morning, tmp_path: Path
) -> None:
    """The inbox keeps every column readable at phone width (the table scrolls sideways instead of squeezing),
    and a run's charts fit the screen: titles, ticks and labels inside the plot, nothing drawn over another."""
    with sync_playwright() as playwright, chromium_browser(playwright) as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        login(page, morning.url)
        cells = page.locator("#inbox-table [role=gridcell]")
        expect(cells.filter(has_text="Airport kiosks (pilot)").first).to_be_visible(timeout=TIMEOUT_MS)
        headers = page.locator("#inbox-table [role=columnheader]")
        assert headers.count() == 10
        for locator in (*headers.all(), *cells.all()):
            box = locator.bounding_box()
            assert box is not None
            assert box["width"] >= READABLE_PX, f"{locator.inner_text()!r} is squeezed to {box['width']:.0f} px"
        amount = cells.filter(has_text="950,000").first.bounding_box()
        assert amount is not None
        assert amount["height"] < 60, "the amount reads on one line, not a character per line"
        snap(page, tmp_path, "inbox_phone.png")

        page.goto(f"{morning.url}?run={morning.borderline}")  # 10 periods, break-even in period 9.6
        chart = page.locator("#run-chart")
        expect(chart.locator(".js-plotly-plot")).to_be_visible(timeout=TIMEOUT_MS)
        expect(chart).to_contain_text("break-even: period 9.6")
        expect(page.locator("#run-tornado")).to_contain_text("Sensitivity: median NPV")
        page.wait_for_timeout(600)  # let plotly finish laying out
        for selector in ("#run-chart", "#run-npv-histogram", "#run-tornado"):
            assert_chart_fits(page, selector)
        snap(page, tmp_path, "run_chart_phone.png", "#run-chart")
    assert (tmp_path / "inbox_phone.png").stat().st_size > 10_000


def test_every_tab_shows_what_an_operator_needs_and_is_photographed(morning: Morning, tmp_path: Path) -> None:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            login(page, morning.url)
            inbox_and_run_view(page, morning, tmp_path)
            other_tabs(page, morning, tmp_path)
            compare_tab(page, morning, tmp_path)
        finally:
            browser.close()
    for name in SHOTS:
        assert (tmp_path / name).stat().st_size > 10_000, name
