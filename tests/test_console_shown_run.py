"""The run view acts on the run it shows, as plain functions over a real service (SQLite and PostgreSQL):
decisions, revises and comments never go to an id typed in the Run id box but not opened, they carry the digest
of the figures shown, opening a run empties both comment boxes, and a colleague's comment reaches the open view.
"""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr
import pytest

from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps, problem
from vetoflow.console.refusals import FIGURES_CHANGED, NO_SUCH_RUN
from vetoflow.console.run_controls import acting_on
from vetoflow.console.run_evidence import comment_handler
from vetoflow.console.run_view import RunViewPanel, render_run_view
from vetoflow.context import Context
from vetoflow.errors import VetoflowError
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.identity.roles import BUILTIN_ROLES, User
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import Forecast

BO = User("bo", frozenset({"approver"}), BUILTIN_ROLES["approver"])


class HeldForecast:
    """The real Monte Carlo forecast, held on its `hold_on`-th call until the test lets it go: a colleague's
    revise seen running."""

    def __init__(self, hold_on: int) -> None:
        self.calls, self.hold_on = 0, hold_on
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, scenario: Scenario) -> Forecast:
        self.calls += 1
        if self.calls == self.hold_on:
            self.entered.set()
            assert self.release.wait(30)
        return run_forecast(scenario)


def deps_for(service: RunService, settings: Settings) -> ConsoleDeps:
    return ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana")


def run_view(deps: ConsoleDeps) -> RunViewPanel:
    with gr.Blocks():
        return render_run_view(deps)


def at(panel: RunViewPanel, outputs: tuple[Any, ...], component: Any) -> Any:
    """The value `outputs` (a handler's answer) gives `component`."""
    return outputs[panel.outputs.index(component)]


def by_id(panel: RunViewPanel, elem_id: str) -> Any:
    return next(c for c in panel.outputs if getattr(c, "elem_id", None) == elem_id)


def digest_of(service: RunService, run_id: str) -> str:
    pending = service.view(run_id).pending
    assert pending is not None, "a paused run carries its approval payload"
    return str(pending.digest)


def opened_paused(
    service: RunService, settings: Settings, scenario: Scenario
) -> tuple[str, RunViewPanel, dict[str, Any]]:
    """A vetoed run started and opened in a fresh run view: its id, the view, and the run as shown (what the
    decision handlers act on)."""
    run_id = service.start(scenario).run.run_id
    panel = run_view(deps_for(service, settings))
    return run_id, panel, at(panel, panel.load(run_id, None), panel.shown_run)


def recorded(service: RunService, run_id: str) -> list[tuple[str, str, str]]:
    view = service.view(run_id)
    return [(d.reviewer, d.action, d.comment) for d in view.decisions] + [
        (c.author, "comment", c.text) for c in view.comments
    ]


def test_decisions_and_comments_go_to_the_run_shown_never_to_an_id_typed_but_not_opened(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    shown = service.start(vetoed.model_copy(update={"name": "Shown kiosks"})).run.run_id
    typed = service.start(vetoed.model_copy(update={"name": "Typed kiosks"})).run.run_id
    deps = deps_for(service, settings)
    panel = run_view(deps)
    opened = panel.load(shown, None)
    state = at(panel, opened, panel.shown_run)
    assert state == {"run": shown, "digest": digest_of(service, shown)}
    assert at(panel, opened, panel.shown_id) == shown, "the address bar follows this, not the Run id box"

    handlers = panel.handlers
    refusals = [
        handlers["reject"](typed, "margins too thin", state, None),
        handlers["approve"](typed, "first mover", state, None),
        handlers["confirm"](typed, "first mover", state, typed, None),
        handlers["revise"](typed, "cheaper", 1_000.0, None, None, None, state, None),
        handlers["reject"]("", "margins too thin", state, None),
    ]
    for refused in refusals[:-1]:
        assert refused[0].startswith(f"⚠️ **The Run id box names {typed} but the run shown is {shown}")
    for refused in refusals:
        assert "nothing was recorded" in refused[0]
        assert all(value == gr.skip() for value in refused[1:]), "the view stays on the run shown"
    assert refusals[-1][0].startswith(f"⚠️ **The Run id box is empty but the run shown is {shown}")
    note, thread, text = comment_handler(deps)(typed, "A's note", state, None)  # type: ignore[arg-type]
    assert note.startswith(f"⚠️ **The Run id box names {typed}")
    assert (thread, text) == (gr.skip(), gr.skip()), "the note stays in the box to send where it belongs"
    assert recorded(service, typed) == []
    assert recorded(service, shown) == []

    nothing_open = handlers["reject"](shown, "no", None, None)
    assert nothing_open[0].startswith("⚠️ **No run is open")

    note, thread, text = comment_handler(deps)(f"  {shown} ", "pilot said no", state, None)  # type: ignore[arg-type]
    assert note == f"✅ comment added to {shown}"
    assert "pilot said no" in thread
    assert text == ""
    done = handlers["reject"](shown, "margins too thin", state, None)
    assert done[0] == f"✅ reject recorded for {shown} by ana; the run is now rejected."
    assert recorded(service, shown) == [("ana", "reject", "margins too thin"), ("ana", "comment", "pilot said no")]
    assert recorded(service, typed) == []
    assert at(panel, done, panel.shown_run) == {"run": shown, "digest": None}, "settled: no figures to approve"


def test_a_decision_on_figures_that_changed_since_they_were_shown_is_refused(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    run_id, panel, state = opened_paused(service, settings, vetoed)
    service.decide(run_id, "revise", reviewer="bo", user=BO, overrides={"investment": vetoed.investment * 2})
    assert service.view(run_id).status == "paused"

    refused = panel.handlers["reject"](run_id, "margins too thin", state, None)
    assert refused[0] == problem(FIGURES_CHANGED), "operator words, not the service's digests"
    assert "sha256:" not in refused[0]
    details = at(panel, refused, by_id(panel, "run-error-details"))
    assert details.startswith(
        "**The refusal, as raised:** the figures changed since you opened this run (you saw sha256"
    )
    assert [d.action for d in service.view(run_id).decisions] == ["revise"], "nothing recorded by ana"
    fresh = at(panel, refused, panel.shown_run)
    assert fresh == {"run": run_id, "digest": digest_of(service, run_id)}, "the new figures are shown"
    assert at(panel, refused, by_id(panel, "run-comment")) == gr.skip(), "the reason stays to send again"

    done = panel.handlers["reject"](run_id, "margins too thin", fresh, None)
    assert done[0].startswith(f"✅ reject recorded for {run_id}")


def test_acting_on_reads_the_run_shown_and_the_digest_of_its_figures() -> None:
    shown = {"run": "run-a", "digest": "sha256:abc"}
    assert acting_on(" run-a ", shown) == ("run-a", "sha256:abc")
    assert acting_on("run-a", {"run": "run-a", "digest": None}) == ("run-a", None)
    with pytest.raises(VetoflowError, match="names run-b but the run shown is run-a"):
        acting_on("run-b", shown)
    with pytest.raises(VetoflowError, match="No run is open"):
        acting_on("run-a", None)


def test_opening_another_run_empties_both_comment_boxes_and_a_reload_keeps_them(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    first = service.start(vetoed).run.run_id
    second = service.start(vetoed).run.run_id
    panel = run_view(deps_for(service, settings))
    decision_box, thread_box = by_id(panel, "run-comment"), by_id(panel, "run-thread-text")
    panel.load(first, None)
    opened = panel.load(second, None)
    assert at(panel, opened, decision_box) == gr.update(value="")
    assert at(panel, opened, thread_box) == gr.update(value="")
    assert at(panel, opened, panel.shown_id) == second

    watched = opened[-2]
    service.decide(second, "approve", reviewer="bo", user=BO, comment="strategic")
    reloaded = panel.watch(second, watched, None)
    assert reloaded[0].startswith("🔔 **bo approved this run**")
    assert at(panel, reloaded, thread_box) == gr.skip(), "a reload of the same run keeps a note being typed"


def test_my_own_revise_empties_the_comment_box_before_the_revised_figures_are_decided(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    run_id, panel, state = opened_paused(service, settings, vetoed)
    revised = panel.handlers["revise"](run_id, "cheaper kiosks", 900_000.0, None, None, None, state, None)
    assert revised[0] == f"✅ revise recorded for {run_id} by ana; the run is now paused."
    assert at(panel, revised, by_id(panel, "run-comment")) == gr.update(value=""), "the revise's reason is not reused"
    assert at(panel, revised, panel.shown_run) == {"run": run_id, "digest": digest_of(service, run_id)}
    assert recorded(service, run_id) == [("ana", "revise", "cheaper kiosks")]


def test_a_colleague_s_comment_reaches_the_open_run_view_and_leaves_the_rest_as_it_is(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    panel = run_view(deps_for(service, settings))
    opened = panel.load(run_id, None)
    watched = opened[-2]
    assert panel.watch(run_id, watched, None)[1:-1] == tuple(gr.skip() for _ in panel.outputs[1:-1])

    before = service.run_marker(run_id)
    service.comment(run_id, BO, "the pilot review said no to a big rollout", via="cli")
    assert service.run_marker(run_id) != before, "a comment moves the run's marker"

    polled = panel.watch("another id being typed", watched, None)
    thread = at(panel, polled, by_id(panel, "run-thread"))
    assert "**bo**: the pilot review said no to a big rollout" in thread
    record = at(panel, polled, panel.watched)
    assert record["marker"] == service.run_marker(run_id)
    assert record["comments"] == 1
    untouched = [c for c in panel.outputs if c not in (by_id(panel, "run-thread"), panel.watched)]
    assert all(at(panel, polled, c) == gr.skip() for c in untouched), "the comment, form and confirmation stay"
    assert panel.watch(run_id, record, None)[1:-1] == tuple(gr.skip() for _ in panel.outputs[1:-1])


def test_approve_on_figures_that_changed_since_they_were_shown_reloads_them_instead_of_asking(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    run_id, panel, state = opened_paused(service, settings, vetoed)
    service.decide(run_id, "revise", reviewer="bo", user=BO, overrides={"investment": 3_000_000})
    decision = service.view(run_id).state.decision
    assert decision is not None
    assert decision.veto, "still vetoed: Approve would ask to overrule"

    answered = panel.handlers["approve"](run_id, "strategic bet", state, None)
    assert answered[0].startswith("⚠️ **The figures changed since you opened this run; review them")
    confirm_box = by_id(panel, "run-confirm")
    asked = answered[panel.outputs.index(confirm_box) + 2]
    assert at(panel, answered, confirm_box) == gr.update(visible=False), "no question about figures not on screen"
    assert asked is None, "nothing to confirm"
    assert "3,000,000 USD" in at(panel, answered, by_id(panel, "run-figures")), "the new figures are shown"
    fresh = at(panel, answered, panel.shown_run)
    assert fresh == {"run": run_id, "digest": digest_of(service, run_id)}
    assert at(panel, answered, by_id(panel, "run-comment")) == gr.skip(), "the reason stays to send again"
    assert recorded(service, run_id) == [("bo", "revise", "")]

    asking = panel.handlers["approve"](run_id, "strategic bet", fresh, None)
    assert "**3,000,000 USD**" in at(panel, asking, by_id(panel, "run-confirm-text")), "asked about what is shown"


def test_a_colleague_s_revise_keeps_my_comment_and_names_who_revised_until_it_pauses_again(
    home: Settings, vetoed: Scenario
) -> None:
    held = HeldForecast(hold_on=2)  # the start's forecast runs freely, the revise's is held
    with open_service(home, Context(forecast=held)) as service:
        run_id = service.start(vetoed).run.run_id
        panel = run_view(deps_for(service, home))
        comment = by_id(panel, "run-comment")
        watched = at(panel, panel.load(run_id, None), panel.watched)
        revise = {"reviewer": "cy", "comment": "more paths", "overrides": {"investment": 30_000}}
        elsewhere = threading.Thread(target=service.decide, args=(run_id, "revise"), kwargs=revise)  # the CLI, say
        elsewhere.start()
        try:
            assert held.entered.wait(30)
            running = panel.watch(run_id, watched, None)
        finally:
            held.release.set()
            elsewhere.join(30)
        assert running[0].startswith("🔔 **cy revised this run** while you were looking (")
        assert running[0].endswith("; it is now **running**. The view below is up to date.")
        assert at(panel, running, comment) == gr.skip(), "the half-typed comment on a run still open stays"

        paused = panel.watch(run_id, at(panel, running, panel.watched), None)
        assert service.view(run_id).status == "paused"
        assert paused[0].startswith("🔔 **cy revised this run** while you were looking ("), "still says who did it"
        assert paused[0].endswith("; it is now **paused**. The view below is up to date.")
        assert at(panel, paused, comment) == gr.skip()
        assert at(panel, paused, panel.watched)["named"] == "", "settled: a later change of status reads as such"


def test_a_colleague_s_decision_moves_my_unsent_comment_to_the_thread_box_with_a_note_where_the_decision_was(
    service: RunService, settings: Settings, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    other = service.start(vetoed).run.run_id
    deps = deps_for(service, settings)
    panel = run_view(deps)
    opened = panel.load(run_id, None)
    state, watched = at(panel, opened, panel.shown_run), at(panel, opened, panel.watched)
    note, decision_box, thread_box = (by_id(panel, i) for i in ("run-draft-note", "run-comment", "run-thread-text"))
    service.decide(run_id, "reject", reviewer="bo", user=BO, comment="too risky")

    polled = panel.watch(run_id, watched, None, "  I was about to approve ", "a note already here")
    assert polled[0].startswith("🔔 **bo rejected this run** while you were looking")
    assert at(panel, polled, note) == (
        "✋ **Your comment was not sent**: bo rejected this run first. It is now in **Add a comment** below; "
        "press **Add comment** to keep it in the run's thread."
    )
    assert at(panel, polled, thread_box) == gr.update(value="a note already here\n\nI was about to approve")
    assert at(panel, polled, decision_box) == gr.update(value=""), "the decision box, now hidden, holds nothing"
    assert recorded(service, run_id) == [("bo", "reject", "too risky")], "nothing sent in ana's name"

    posted = comment_handler(deps)(run_id, "I was about to approve", state, None)  # type: ignore[arg-type]
    assert posted[0] == f"✅ comment added to {run_id}"
    assert recorded(service, run_id)[-1] == ("ana", "comment", "I was about to approve")
    assert at(panel, panel.load(other, None), note) == "", "the note belongs to the run it was about"

    untyped = at(panel, panel.load(other, None), panel.watched)
    service.decide(other, "reject", reviewer="bo", user=BO)
    quiet = panel.watch(other, untyped, None, "", "")
    assert at(panel, quiet, note) == gr.skip(), "nothing typed, nothing moved"
    assert at(panel, quiet, thread_box) == gr.skip()


def test_a_link_to_no_run_says_so_in_operator_words_with_the_cli_hint_behind_details(
    service: RunService, settings: Settings
) -> None:
    panel = run_view(deps_for(service, settings))
    opened = panel.load("doesnotexist", None)
    assert opened[0] == problem(NO_SUCH_RUN)
    assert opened[0] == "⚠️ **No run with that id; open one from the Inbox or Runs.**"
    details = at(panel, opened, by_id(panel, "run-error-details"))
    assert details == "**The refusal, as raised:** no run with id 'doesnotexist' (list runs with\\: vetoflow runs)"
    assert at(panel, opened, panel.shown_run) is None
