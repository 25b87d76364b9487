"""The console's triage and decision-control logic as plain functions over a real service (SQLite and PostgreSQL):
what the inbox shows and filters, which buttons an operator may use and why not, what the change poll sees."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.governance_support import governed_settings, people
from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.decisions import blocked_actions, overrule_question, overrules_veto
from vetoflow.console.inbox import INBOX_COLUMNS, inbox_table
from vetoflow.console.run_controls import approval_line, colleague_notice, controls, decision_header, watch_record
from vetoflow.console.runs import RUNS_COLUMNS, find_runs
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

AMOUNT, WAITING, DUE, APPROVALS, TIER, REQUESTER = (
    INBOX_COLUMNS.index(c) for c in ("amount", "waiting", "due", "approvals", "tier", "requester")
)


def test_the_inbox_carries_numbers_for_sorting_and_money_with_its_currency(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with open_service(settings) as service:
        big = service.start(vetoed.model_copy(update={"investment": 4_800_000, "currency": "EUR"}), requester="an")
        small = service.start(vetoed.model_copy(update={"investment": 950_000, "currency": "USD"}), requester="ap2")
        items = service.inbox()
        assert [i.run.run_id for i in items] == [small.run.run_id, big.run.run_id]
        value, head = inbox_table(items, "all", users["ap1"])
        raw = {row[0]: row for row in value["data"]}
        shown = {row[0]: row for row in value["metadata"]["display_value"]}
        assert raw[big.run.run_id][AMOUNT] == 4_800_000
        assert raw[small.run.run_id][AMOUNT] < raw[big.run.run_id][AMOUNT], "a number, so it sorts as one"
        assert shown[big.run.run_id][AMOUNT] == "4,800,000 EUR"
        assert shown[small.run.run_id][AMOUNT] == "950,000 USD"
        assert shown[big.run.run_id][APPROVALS] == "0 of 2"
        assert shown[big.run.run_id][TIER] == "large"
        assert shown[small.run.run_id][TIER] == "standard"
        assert shown[big.run.run_id][REQUESTER] == "an"
        assert shown[big.run.run_id][WAITING] == "1 min"
        assert shown[big.run.run_id][DUE] == "in 48 h"
        assert "1 run · 4,800,000 EUR; 1 run · 950,000 USD" in head, "totals per currency, never added together"

        later = items[0].waiting_since + timedelta(hours=50)
        overdue, head = inbox_table(items, "overdue", users["ap1"], later)
        assert [row[0] for row in overdue["data"]] == [big.run.run_id]
        assert overdue["metadata"]["display_value"][0][DUE] == "⚠️ overdue 2 h"
        assert "1 overdue" in head

        mine, _ = inbox_table(items, "assigned to me", users["ap2"])
        assert [row[0] for row in mine["data"]] == [big.run.run_id], "ap2 started the small one (four-eyes)"
        assert inbox_table(items, "assigned to me", users["vi"])[0]["data"] == [], "a viewer is assigned nothing"

        replay = service.replay(big.run.run_id, from_node="forecaster", overrides={"investment": 300_000}).new
        assert replay.status == "paused"
        value, head = inbox_table(service.inbox(), "all", users["ap1"])
        shown = {row[0]: row for row in value["metadata"]["display_value"]}
        assert shown[replay.run.run_id][AMOUNT] == "300,000 EUR", "a replay keeps its currency"
        assert "2 runs · 5,100,000 EUR" in head


def test_the_inbox_names_a_plausibility_flag_beside_the_veto_it_waits_for(settings: Settings, vetoed: Scenario) -> None:
    starved = [s.model_copy(update={"base_revenue": 10.0}) for s in vetoed.segments]
    with open_service(settings) as service:
        flagged = service.start(vetoed.model_copy(update={"segments": starved, "name": "Starved kiosks"}))
        plain = service.start(vetoed)
        assert [flag.code for flag in flagged.state.plausibility] == ["revenue_below_1pct"]
        assert flagged.run.veto_reason is not None
        assert "below the veto threshold" in flagged.run.veto_reason, "the veto is the reason given first"
        deps = ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana")
        value, _ = inbox_table(service.inbox(), "all", deps.user(None))
    why = {row[0]: row[-1] for row in value["metadata"]["display_value"]}
    assert why[flagged.run.run_id] == f"{flagged.run.veto_reason}; ⚠️ revenue under 1% of the investment"
    assert why[plain.run.run_id] == plain.run.veto_reason, "no flag, nothing added"


def test_buttons_say_why_they_are_off_from_the_gate_s_records(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with open_service(settings) as service:
        run = service.start(vetoed.model_copy(update={"investment": 2_500_000}), requester="an").run.run_id
        view = service.view(run)
        assert blocked_actions(view, users["ap1"]) == {"approve": None, "reject": None, "revise": None}
        assert blocked_actions(view, users["an"])["approve"] == (
            "you started this run; someone else must approve it (four-eyes)"
        )
        viewer = blocked_actions(view, users["vi"])
        assert viewer["approve"] == viewer["reject"] == "your role (viewer) cannot decide"
        assert viewer["revise"] == "your role (viewer) cannot revise runs"

        before = watch_record(view, service.run_marker(run))
        assert before is not None
        approved = service.decide(run, "approve", reviewer="ap1", user=users["ap1"], comment="fine by me")
        assert approved.status == "paused"
        assert service.run_marker(run) != before["marker"], "an approval moves the run's marker"
        assert blocked_actions(approved, users["ap1"])["approve"] == (
            "already approved by you (1 of 2); needs a second approver"
        )
        assert colleague_notice(before, approved, "ap2").startswith("🔔 **ap1 approved this run**")
        assert colleague_notice(before, approved, "ap1") == "", "my own approval is no news to me"

        marker = service.change_marker()
        service.decide(run, "reject", reviewer="ap2", user=users["ap2"], comment="too big")
        assert service.change_marker() != marker
        rejected = service.view(run)
        assert colleague_notice(before, rejected, "ap3").startswith("🔔 **ap2 rejected this run**")
        assert set(blocked_actions(rejected, users["ap3"]).values()) == {"the run is rejected"}


def test_a_reviser_finds_approve_off_with_the_reason_and_the_run_not_assigned_to_him(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The console asks the gate's rule (tests/test_who_may_approve.py): here only that it shows the answer."""
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with open_service(settings) as service:
        run = service.start(vetoed, requester="an").run.run_id
        view = service.decide(run, "revise", reviewer="ap1", user=users["ap1"], overrides={"investment": 480_000})
        _, approve, reject, _, note, *_ = controls(view, users["ap1"])
        assert (approve["interactive"], reject["interactive"]) == (False, True)
        assert "**Approve** is off: you revised this run's figures; someone else must approve it (four-eyes)" in note
        mine, _ = inbox_table(service.inbox(), "assigned to me", users["ap1"])
        assert run not in [row[0] for row in mine["data"]]
        theirs, _ = inbox_table(service.inbox(), "assigned to me", users["ap2"])
        assert run in [row[0] for row in theirs["data"]]


def test_overruling_names_the_amount_and_its_currency(settings: Settings, vetoed: Scenario) -> None:
    with open_service(settings) as service:
        view = service.start(vetoed.model_copy(update={"investment": 4_800_000, "currency": "EUR"}))
        assert overrules_veto(view)
        question = overrule_question(view)
        assert "**4,800,000 EUR**" in question
        assert "below the veto threshold" in question
        assert ".." not in question, "the veto's reason ends the sentence it is quoted in, with one full stop"


def test_the_run_view_states_the_pause_s_rule_and_progress(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with open_service(settings) as service:
        run = service.start(vetoed.model_copy(update={"investment": 2_500_000}), requester="an").run.run_id
        service.decide(run, "approve", reviewer="ap1", user=users["ap1"], comment="ok")
        line = approval_line(service.view(run))
    assert line.startswith("**Tier large**: 2 distinct approver(s) with the role approver")
    assert "approved so far: ap1 (1 of 2)" in line
    assert " · due 20" in line
    assert line.endswith("requested by an (who may not approve it)")


def test_the_decision_header_says_approve_overrules_a_veto_only_when_there_is_one(
    settings: Settings, vetoed: Scenario
) -> None:
    with open_service(settings) as service:
        view = service.start(vetoed)
        assert "Approve overrules the veto" in decision_header(view)
        revised = service.decide(view.run.run_id, "revise", reviewer="bo", overrides={"investment": 30_000})
        assert revised.status == "paused"
        assert not overrules_veto(revised)
        header = decision_header(revised)
        assert "did not veto these figures: Approve lets the plan go ahead" in header
        assert "overrule" not in header
        rejected = service.decide(view.run.run_id, "reject", reviewer="bo")
        assert decision_header(rejected) == "### Your decision"


def test_the_runs_tab_shows_money_with_its_currency_absurd_ratios_readably_and_the_flags(
    settings: Settings, vetoed: Scenario, profitable: Scenario
) -> None:
    with open_service(settings) as service:
        euros = service.start(vetoed.model_copy(update={"investment": 4_800_000, "currency": "EUR"})).run.run_id
        dollars = service.start(vetoed.model_copy(update={"investment": 950_000})).run.run_id
        tiny = {"investment": 1, "name": "One dollar", "currency": "USD"}
        one_dollar = service.start(profitable.model_copy(update=tiny)).run.run_id
        deps = ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana")
        value, count = find_runs(deps, [], "")
    assert count == "3 run(s), newest first."
    shown = {row[0]: dict(zip(RUNS_COLUMNS, row, strict=True)) for row in value["metadata"]["display_value"]}
    raw = {row[0]: dict(zip(RUNS_COLUMNS, row, strict=True)) for row in value["data"]}
    assert shown[euros]["investment"] == "4,800,000 EUR"
    assert shown[euros]["NPV"].endswith(" EUR")
    assert shown[dollars]["investment"] == "950,000 USD"
    assert shown[dollars]["NPV"].endswith(" USD")
    assert shown[dollars]["flags"] == ""
    assert shown[one_dollar]["investment"] == "1 USD"
    assert shown[one_dollar]["ROI"] == "> 1,000% ⚠️"
    assert shown[one_dollar]["downside ROI"] == "> 1,000% ⚠️"
    assert shown[one_dollar]["flags"] == "⚠️ ROI above 1,000%"
    assert raw[one_dollar]["ROI"] > 1_000_000, "sorted by the figure itself"
    assert raw[euros]["investment"] == 4_800_000
