"""The approval request as operator text, on real views: a fresh pause, a revision, a release-1 pause, a finish."""

from __future__ import annotations

from pathlib import Path

from tests.test_upgrade import release1_sqlite
from vetoflow.config import Settings
from vetoflow.console.request_text import approval_request_text
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario


def test_a_paused_veto_reads_as_what_is_asked_figures_reasons_and_actions(tmp_path: Path, examples: Path) -> None:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        view = service.start(load_scenario(examples / "borderline.yaml").model_copy(update={"period_unit": "month"}))
    assert view.status == "paused"
    assert view.state.decision is not None
    text = approval_request_text(view)
    assert text.startswith(f"Decision asked: Logistics automation (run {view.run.run_id})")
    assert "The Accountant VETOED this plan. Approving overrules the veto." in text
    assert "Figures (USD, 10 months)" in text
    assert "Investment             420,000 USD" in text
    assert "P(loss) = P(NPV < 0)   55.2%" in text
    assert "Payback                9.4 months" in text
    for reason in view.state.decision.reasons:
        assert f"  - {reason}" in text
    assert "Approve: the plan goes ahead (overruling the veto)" in text
    assert "Reject: the run ends here (upholding the veto)." in text
    assert "a segment's growth per month" in text
    assert "Needs                  1 approver(s) with role approver" in text
    assert "{" not in text  # no JSON for the operator
    assert "segments.<name>" not in text


def test_a_run_paused_by_release_1_reads_the_same_way(tmp_path: Path) -> None:
    with open_service(release1_sqlite(tmp_path)) as service:
        view = service.view("5af2955ff4b7")  # revised once by ana, paused again
    text = approval_request_text(view)
    assert text.startswith("Decision asked: Logistics automation (run 5af2955ff4b7, revision 1)")
    assert "Figures (USD, 10 periods)" in text  # release 1 knew no period unit
    assert "Investment             2,000,000 USD" in text
    assert "Payback                never within 10 periods" in text
    assert "older method: sums of per-period percentiles" in text
    assert "Downside ROI (P10) is -88.1%, below the veto threshold of 0.0%." in text
    assert "P(loss)" not in text  # release 1 kept no paths: no path-wise figures invented


def test_user_text_is_shown_as_written_without_control_characters(tmp_path: Path, vetoed: Scenario) -> None:
    named = vetoed.model_copy(update={"name": "Kiosks \x1b[31mRED\u202e"})
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        text = approval_request_text(service.start(named))
    assert "Decision asked: Kiosks \\x1b[31mRED\\u202e (run " in text
    assert "\x1b" not in text


def test_a_finished_run_asks_nothing(tmp_path: Path, profitable: Scenario) -> None:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        view = service.start(profitable)
    assert view.status == "completed"
    assert approval_request_text(view) == (
        f"Nothing is asked: run {view.run.run_id} (Nordic SaaS expansion) is completed, not waiting for a decision."
    )


def test_a_plan_revised_after_a_veto_says_why_it_waits_and_what_changed_above_the_figures(
    tmp_path: Path, vetoed: Scenario
) -> None:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        run_id = service.start(vetoed).run.run_id
        view = service.decide(run_id, "revise", reviewer="bo", comment="pilot only", overrides={"investment": 30_000})
    assert view.status == "paused"
    assert view.state.decision is not None
    assert not view.state.decision.veto, "the revised figures pass: only the revise after a veto holds the run"
    text = approval_request_text(view)
    lines = text.splitlines()
    assert lines[1] == (
        "The Accountant did not veto the revised figures; it still needs a human approval. Approving overrules no veto."
    )
    assert lines[3:6] == [
        "Why it waits for you",
        "  - revised after a veto: a human must approve the revised figures",
        "",
    ]
    assert lines[6] == "Revision 1 by bo: investment → 30,000"
    assert lines[7] == "  Investment             2,500,000 USD → 30,000 USD"
    assert any(line.startswith("  ROI (P50)              -") and "% → " in line for line in lines[8:12])
    assert "  Their comment          pilot only" in lines
    assert text.index("Revision 1 by bo") < text.index("Figures (USD, 8 quarters)")
    assert "(overruling the veto)" not in text


def test_a_vetoed_revision_lists_the_veto_once_and_still_shows_what_changed(tmp_path: Path, vetoed: Scenario) -> None:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        run_id = service.start(vetoed).run.run_id
        view = service.decide(run_id, "revise", reviewer="bo", overrides={"investment": 3_000_000})
    assert view.state.decision is not None
    assert view.state.decision.veto
    text = approval_request_text(view)
    assert "The Accountant VETOED this plan. Approving overrules the veto." in text
    assert "Why it waits for you" not in text, "the veto's reasons are listed once, under 'Why it was vetoed'"
    assert "Revision 1 by bo: investment → 3,000,000" in text
    assert "  Investment             2,500,000 USD → 3,000,000 USD" in text
