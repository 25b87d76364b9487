"""The console's every action through `gradio_client`, against a real server on loopback (SQLite).

One server per module (launching costs seconds); each test starts the runs it needs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from tests.console_helpers import ANA, BO, Console, overrule_veto, serve_console
from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.console.runs import RUNS_COLUMNS
from vetoflow.context import Context
from vetoflow.plaintext import md
from vetoflow.scenario import Scenario, load_scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"
MESSAGE, HEADLINE, FIGURES, CHART, REASONS, PAYLOAD = range(6)
INVESTMENT, HORIZON, RATE, SEGMENTS, SUMMARY, HISTORY = range(6, 12)
REQUEST_TEXT, NPV_HISTOGRAM, TORNADO, EVIDENCE, THREAD = range(12, 17)


@pytest.fixture(scope="module")
def synthesizer() -> CountingSynthesizer:
    return CountingSynthesizer()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, synthesizer: CountingSynthesizer) -> Iterator[Console]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, max_file_bytes=20_000)
    with serve_console(settings, Context(synthesizer=synthesizer)) as served:
        yield served


@pytest.fixture(scope="module")
def ana(console: Console) -> Client:
    return Client(console.url, auth=ANA, verbose=False)


@pytest.fixture(scope="module")
def bo(console: Console) -> Client:
    return Client(console.url, auth=BO, verbose=False)


def vetoed_run(console: Console, name: str = "Retail kiosk rollout") -> str:
    scenario = load_scenario(EXAMPLES / "vetoed.yaml").model_copy(update={"name": name})
    view = console.service.start(scenario)
    assert view.status == "paused"
    return view.run.run_id


def table(value: dict[str, Any]) -> list[list[Any]]:
    return list(value["data"])


def run_count(console: Console) -> int:
    return len(console.service.list(limit=10_000))


def test_inbox_lists_paused_runs_newest_first(console: Console, ana: Client, profitable: Scenario) -> None:
    older = vetoed_run(console, "Inbox older")
    newer = vetoed_run(console, "Inbox newer")
    done = console.service.start(profitable).run.run_id
    rows, count = ana.predict(api_name="/inbox")
    ids = [row[0] for row in table(rows)]
    assert ids.index(newer) < ids.index(older)
    assert done not in ids
    assert rows["headers"] == [
        "run id", "name", "amount", "waiting", "due", "approvals", "tier", "requester", "P(loss)", "why vetoed",
    ]  # fmt: skip
    row = table(rows)[ids.index(newer)]
    shown = rows["metadata"]["display_value"][ids.index(newer)]
    assert row[1] == "Inbox newer"
    assert row[2] == 2_500_000
    assert shown[2] == "2,500,000 USD"
    assert row[8] == 1.0
    assert shown[8] == "100.0%"  # every simulated kiosk rollout loses money
    assert "below the veto threshold" in row[9]
    assert f"{len(ids)} runs wait" in count


def test_open_shows_figures_chart_reasons_and_payload(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    out = ana.predict(run_id, api_name="/open_run")
    assert out[MESSAGE] == ""
    assert "Retail kiosk rollout" in out[HEADLINE]
    assert "paused" in out[HEADLINE]
    for label in ("ROI (P50)", "Downside ROI (P10)", "NPV", "Payback", "**VETO**"):
        assert label in out[FIGURES]
    assert "vetoed" in out[REASONS]
    assert "below the veto threshold" in out[REASONS]
    assert out[PAYLOAD]["run_id"] == run_id
    assert out[PAYLOAD]["decision"]["veto"] is True
    traces = out[CHART]["plot"]
    assert "Kiosks (P50, band P10-P90)" in traces
    assert "Revenue (P50, band P10-P90)" in traces
    assert out[INVESTMENT] == 2_500_000
    assert out[HORIZON] == 8
    assert [row[0] for row in table(out[SEGMENTS])] == ["Kiosks", "Accessories"]
    assert table(out[HISTORY]) == []
    missing = ana.predict("nope", api_name="/open_run")
    assert missing[MESSAGE] == "⚠️ **No run with that id; open one from the Inbox or Runs.**"


def test_approve_records_the_logged_in_user_and_completes(console: Console, bo: Client) -> None:
    run_id = vetoed_run(console)
    out = overrule_veto(bo, run_id, "strategic bet")
    assert "approve recorded" in out[MESSAGE]
    assert "completed" in out[MESSAGE]
    assert "completed" in out[HEADLINE]
    assert "a human approved it anyway by bo" in out[SUMMARY]
    assert '"strategic bet"' in out[SUMMARY]
    [decision] = table(out[HISTORY])
    assert decision[1:4] == ["bo", "approve", "strategic bet"]
    view = console.service.view(run_id)
    assert view.status == "completed"
    assert view.state.reviews[-1].reviewer == "bo"


def test_reject_ends_the_run_without_a_summary(console: Console, ana: Client, synthesizer: CountingSynthesizer) -> None:
    run_id = vetoed_run(console)
    calls = synthesizer.calls
    ana.predict(run_id, api_name="/open_run")
    out = ana.predict(run_id, "margins too thin", api_name="/reject")
    assert "rejected" in out[HEADLINE]
    assert table(out[HISTORY])[0][1:4] == ["ana", "reject", "margins too thin"]
    assert console.service.view(run_id).state.outcome == "rejected"
    assert synthesizer.calls == calls


def test_revise_reruns_with_only_the_changed_assumptions(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    opened = ana.predict(run_id, api_name="/open_run")
    segments = opened[SEGMENTS]
    segments["data"][0][4] = 0.9  # Kiosks margin 0.12 -> 0.9
    out = ana.predict(run_id, "cheaper kiosks", 900_000, 8, 0.03, segments, api_name="/revise")
    assert "revise recorded" in out[MESSAGE], out[MESSAGE]
    [decision] = table(out[HISTORY])
    assert decision[1:4] == ["ana", "revise", "cheaper kiosks"]
    assert decision[4] == "investment → 900,000; Kiosks: margin → 0.9"
    view = console.service.view(run_id)
    assert view.run.revision == 1
    assert view.state.scenario.investment == 900_000
    assert view.state.decision is not None
    assert not view.state.decision.veto, "a 90% margin on a smaller investment passes the Accountant"
    assert view.status == "paused", "but the veto is cleared only by a human approving the revised figures"
    assert "revised after a veto\\: a human must approve the revised figures" in out[EVIDENCE]
    assert "Revision 1 by ana" in out[EVIDENCE]
    assert "| Investment | 2,500,000 USD | 900,000 USD |" in out[EVIDENCE]
    approved = ana.predict(run_id, "final figures", api_name="/approve")
    assert "completed" in approved[HEADLINE], approved[MESSAGE]
    assert "revised by ana, then approved by ana" in approved[SUMMARY]


def test_revise_refuses_no_change_and_unknown_segments(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    opened = ana.predict(run_id, api_name="/open_run")
    same = ana.predict(run_id, "", 2_500_000, 8, 0.03, opened[SEGMENTS], api_name="/revise")
    assert "change at least one assumption" in same[MESSAGE]
    renamed = copy.deepcopy(opened[SEGMENTS])
    renamed["data"][0][0] = "Vending"
    out = ana.predict(run_id, "", 2_500_000, 8, 0.03, renamed, api_name="/revise")
    assert "no segment named 'Vending'" in out[MESSAGE]
    bad = ana.predict(run_id, "", -5, 8, 0.03, opened[SEGMENTS], api_name="/revise")
    assert "investment" in bad[MESSAGE]
    assert "greater than or equal to 1" in bad[MESSAGE]
    assert console.service.view(run_id).status == "paused"
    assert console.service.view(run_id).decisions == []


def test_deciding_a_finished_run_says_who_decided(console: Console, ana: Client, bo: Client) -> None:
    run_id = vetoed_run(console)
    ana.predict(run_id, api_name="/open_run")
    bo.predict(run_id, api_name="/open_run")
    refused = ana.predict(run_id, "  ", api_name="/approve")
    assert "Overruling a veto needs a reason" in refused[MESSAGE]
    assert console.service.view(run_id).status == "paused"
    overrule_veto(ana, run_id, "worth the risk")
    late = bo.predict(run_id, "me too", api_name="/reject")
    assert f"run {run_id} was already decided\\: approve by ana" in late[MESSAGE]
    assert "completed" in late[HEADLINE]
    assert "bo** (their reject came too late: someone decided first): me too" in late[THREAD]
    late_approve = bo.predict(run_id, "agreed", api_name="/approve")
    assert f"run {run_id} was already decided\\: approve by ana" in late_approve[MESSAGE], late_approve[MESSAGE]
    assert "figures changed" not in late_approve[MESSAGE]


def test_comments_are_added_without_deciding_and_shown_as_plain_text(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    ana.predict(run_id, api_name="/open_run")
    note, thread, box = ana.predict(run_id, "see <b>pilot</b> [review](http://x)", api_name="/comment")
    assert f"comment added to {run_id}" in note
    assert box == ""
    assert "**ana**: see \\<b\\>pilot\\</b\\> \\[review\\](http\\://x)" in thread
    assert console.service.view(run_id).status == "paused"
    opened = ana.predict(run_id, api_name="/open_run")
    assert opened[THREAD] == thread
    other = vetoed_run(console, "Another kiosk rollout")
    refused, _, _ = ana.predict(other, "meant for the run shown", api_name="/comment")
    assert f"The Run id box names {other} but the run shown is {run_id}" in refused, "typed, never opened"
    assert console.service.view(other).comments == []
    assert "Evidence from the knowledge base" in opened[EVIDENCE] or "No documents" in opened[EVIDENCE]
    refused, _, _ = ana.predict(run_id, "   ", api_name="/comment")
    assert "cannot be empty" in refused


def form(scenario: Scenario) -> list[Any]:
    rows = [[s.name, s.base_revenue, s.growth_mean, s.volatility, s.margin] for s in scenario.segments]
    segments = {"headers": ["name", "base_revenue", "growth_mean", "volatility", "margin"], "data": rows}
    return [scenario.name, scenario.investment, scenario.horizon, scenario.discount_rate, scenario.veto_threshold,
            scenario.veto_policy, scenario.seed, scenario.paths, scenario.currency, segments,
            scenario.period_unit or "period"]  # fmt: skip


def test_new_run_streams_each_node_then_lands_in_the_inbox(console: Console, ana: Client, vetoed: Scenario) -> None:
    job = ana.submit(*form(vetoed.model_copy(update={"name": "Streamed veto"})), api_name="/start_run")
    final_text, run_id = job.result(timeout=120)
    updates = [text for text, _ in job.outputs()]
    assert len(updates) >= 3, "started, then one update per event of the run's log"
    forecaster_done = next(text for text in updates if "✓ Forecaster" in text)
    assert "✓ Accountant" not in forecaster_done
    assert "✓ Accountant" in final_text
    assert "Paused for approval" in final_text
    assert "waits in the Inbox" in final_text
    rows, _ = ana.predict(api_name="/inbox")
    assert run_id in [row[0] for row in table(rows)]


def test_new_run_without_veto_ends_in_a_summary(console: Console, ana: Client, profitable: Scenario) -> None:
    final_text, run_id = ana.predict(*form(profitable), api_name="/start_run")
    assert "Completed: no veto" in final_text
    assert "offline summary" in final_text
    assert "✓ Synthesizer" in final_text
    assert console.service.view(run_id).status == "completed"
    assert profitable.period_unit == "quarter"
    assert console.service.view(run_id).state.scenario.period_unit == "quarter", "the form keeps the period unit"


def test_new_run_with_absurd_numbers_starts_nothing(console: Console, ana: Client, vetoed: Scenario) -> None:
    before = run_count(console)
    values = form(vetoed)
    values[1] = 1e15  # investment
    values[9]["data"][0][4] = 7  # margin
    text, run_id = ana.predict(*values, api_name="/start_run")
    assert "the form is invalid" in text
    assert "No run was started" in text
    assert md("investment: Input should be less than or equal to 1000000000000") in text
    assert "segment 1 margin" in text
    assert run_id == ""
    assert run_count(console) == before


def upload(client: Client, path: Path) -> tuple[Any, ...]:
    return tuple(client.predict(handle_file(str(path)), api_name="/load_upload"))


def test_uploads_fill_the_form(console: Console, ana: Client, tmp_path: Path) -> None:
    out = upload(ana, EXAMPLES / "vetoed.yaml")
    assert "loaded" in out[0]
    assert out[1] == "Retail kiosk rollout"
    assert out[2] == 2_500_000
    assert [row[0] for row in table(out[10])] == ["Kiosks", "Accessories"]
    assert out[11] == "quarter", "the period unit comes with the file"
    out = upload(ana, EXAMPLES / "segments.csv")
    assert "3 segment(s) loaded" in out[0]
    assert table(out[10])[0] == ["Online", 90000, 0.05, 0.12, 0.32]


@pytest.mark.parametrize("typed", [(2, "horizon", 8.7), (6, "seed", 42.9), (7, "paths", 200.5)])
def test_new_run_refuses_a_fraction_where_a_whole_number_goes(
    console: Console, ana: Client, vetoed: Scenario, typed: tuple[int, str, float]
) -> None:
    """The form's number boxes pass what was typed: 8.7 periods is refused by name, never rounded to 9."""
    position, field, value = typed
    before = run_count(console)
    values = form(vetoed)
    values[position] = value
    text, run_id = ana.predict(*values, api_name="/start_run")
    assert md(f"{field}: Input should be a valid integer (got {value}: a whole number is needed)") in text
    assert "No run was started" in text
    assert (run_id, run_count(console)) == ("", before)


def test_revise_refuses_a_fractional_horizon(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    opened = ana.predict(run_id, api_name="/open_run")
    out = ana.predict(run_id, "", 2_500_000, 8.7, 0.03, opened[SEGMENTS], api_name="/revise")
    assert md("horizon: must be a whole number of periods, got 8.7") in out[MESSAGE]
    assert console.service.view(run_id).decisions == []


@pytest.mark.parametrize(
    "case",
    [
        ("notes.txt", "name,margin\n", "upload a scenario (.yaml, .yml, .json) or a segments table (.csv); got .txt"),
        ("image.csv", "\x89PNG\x00\x00binary", "not a CSV text file"),
        ("wrong.csv", "segment,revenue\nA,1\n", "columns must be name, base_revenue, growth_mean"),
        ("absurd.csv", "name,base_revenue,margin\nA,1e20,0.2\n", "segment 1 base revenue: Input should be less"),
        ("nan.csv", "name,base_revenue,margin\nA,nan,0.2\n", "must be a finite number"),
        ("huge.csv", "name,base_revenue,margin\n" + "A,1,0.1\n" * 4000, "the limit is 20,000"),
        ("broken.yaml", "name: [unclosed", "cannot parse"),
        ("bad.json", '{"name": "x", "investment": -1}', "investment: Input should be greater than or equal to 1"),
        (
            "combined.yaml",
            "name: x\ninvestment: 1000\nhorizon: 4\ndiscount_rate: 0.1\nveto_policy: {any_of: [roi, npv]}\n"
            "segments: [{name: a, base_revenue: 100, margin: 0.2}]\n",
            "veto policy (any of (ROI (P50), median NPV), loss limit 30%, NPV floor 0) cannot be shown in this form",
        ),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message(
    console: Console, ana: Client, tmp_path: Path, case: tuple[str, str, str]
) -> None:

    filename, content, expected = case
    path = tmp_path / filename
    path.write_bytes(content.encode("latin-1"))
    before = run_count(console)
    out = upload(ana, path)
    assert md(expected) in out[0], out[0]  # shown as plain text
    assert "Nothing was changed and no run was started" in out[0]
    assert run_count(console) == before


def test_runs_tab_filters_by_status_and_searches(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console, "Searchable Zebra plan")
    rows, count = ana.predict(["paused"], "zebra", api_name="/list_runs")
    assert [row[0] for row in table(rows)] == [run_id]
    assert "matching" in count
    rows, _ = ana.predict(["completed"], "zebra", api_name="/list_runs")
    assert table(rows) == []
    rows, _ = ana.predict([], run_id[:6], api_name="/list_runs")
    assert run_id in [row[0] for row in table(rows)]


def test_runs_tab_sorts_money_and_ratios_as_numbers_and_shows_them_formatted(
    console: Console, ana: Client, vetoed: Scenario
) -> None:
    for investment in (200_000.0, 2_500_000.0, 950_000.0):
        console.service.start(vetoed.model_copy(update={"investment": investment, "name": "Sortable plan"}))
    rows, _ = ana.predict([], "sortable", api_name="/list_runs")
    at = RUNS_COLUMNS.index("investment")
    raw = [row[at] for row in table(rows)]
    assert all(isinstance(value, float) for value in raw), "sorting 2,500,000 before 200,000 as text is gone"
    shown = [row[at] for row in rows["metadata"]["display_value"]]
    assert {"200,000 USD", "2,500,000 USD", "950,000 USD"} <= set(shown), "money with its currency, as in the inbox"
    roi = RUNS_COLUMNS.index("ROI")
    assert all(isinstance(row[roi], float) for row in table(rows))


def test_wrong_password_is_refused(console: Console) -> None:
    with pytest.raises(ValueError, match=r"(?i)could not login|incorrect"):
        Client(console.url, auth=("ana", "wrong"), verbose=False)


def test_run_view_shows_the_npv_histogram_and_the_tornado(console: Console, ana: Client) -> None:
    run_id = vetoed_run(console)
    opened = ana.predict(run_id, api_name="/open_run")
    histogram, tornado = (json.loads(plot["plot"]) for plot in opened[NPV_HISTOGRAM : TORNADO + 1])
    assert "100% lose money (NPV < 0)" in histogram["layout"]["title"]["text"]
    assert tornado["layout"]["title"]["text"].startswith("Sensitivity: median NPV")
    assert "Kiosks: margin" in tornado["data"][0]["y"]
    assert not any(label.startswith("segments.") for label in tornado["data"][0]["y"])
