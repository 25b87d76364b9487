"""New run: a scenario form (or an uploaded file) that starts a run and follows it node by node.

Progress comes from the run's event log (console/follow.py), not from a callback in this process, so a
run executed by a worker (queue mode) is followed exactly like one executed here (inline).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, get_args

import gradio as gr

from vetoflow.console.common import PROGRESS, ConsoleDeps, ok, problem
from vetoflow.console.follow import Launch, follow, launch
from vetoflow.console.progress import run_progress
from vetoflow.console.uploads import form_segments, read_upload, segment_rows
from vetoflow.console.words import POLICY_CHOICES, SEGMENT_HEADERS, plain_error
from vetoflow.errors import VetoflowError
from vetoflow.formatting import money, pct
from vetoflow.plaintext import md
from vetoflow.risk.policy import describe
from vetoflow.risk.words import policy_words
from vetoflow.runs.events import SETTLED
from vetoflow.runs.service import RunService
from vetoflow.runs.views import RunView
from vetoflow.scenario import PeriodUnit, Scenario, validate_scenario

DEFAULT_SEGMENTS = [["Retail", 120000, 0.03, 0.1, 0.25], ["Online", 80000, 0.05, 0.15, 0.3]]
GENERIC_PERIOD = "period"  # the unit list's "not said" choice: the scenario keeps no period_unit
FORM_FIELDS = 9  # name, investment, horizon, discount rate, threshold, policy, seed, paths, currency; then segments
FINISH_SECONDS = 30.0  # inline: how long to let `start` finish its bookkeeping after the run settled


class ProgressBar(Protocol):
    """What `gr.Progress` is to a handler: `progress((done, total), desc=...)`."""

    def __call__(self, progress: tuple[int, int], desc: str | None = None) -> Any: ...


@dataclass
class NewRunPanel:
    run_id: gr.Textbox
    open_button: gr.Button


def _outcome(view: RunView) -> str:
    """What the run came to, under its progress (which already says how it settled, and why)."""
    run = view.run
    figures = f"ROI {pct(run.roi)}, downside ROI {pct(run.downside_roi)}, NPV {money(run.npv)}"
    if view.status == "paused":
        return f"🟡 **Vetoed: {md(run.name)} waits in the Inbox** ({figures})."
    if view.status == "completed":
        summary = view.state.summary.text if view.state.summary else ""
        return f"🟢 **Completed: no veto** ({figures}).\n\n" + "\n\n".join(md(line) for line in summary.splitlines())
    if run.error:
        return f"**{md(run.name)} is {view.status}:** {md(plain_error(run.error))}. Open it for the details."
    return f"**{md(run.name)} is {view.status}.**"


def start_new_run(
    deps: ConsoleDeps, data: dict[str, Any], request: gr.Request | None, progress: ProgressBar | None = None
) -> Iterator[tuple[str, str]]:
    """The Start run button: check the form, start the run, then (progress text, run id) as it goes."""
    try:
        deps.require(request, "start")
        scenario = deps.service.context.budget.check(validate_scenario(data, source="the form"))
    except VetoflowError as exc:
        yield problem(str(exc)) + "\n\nNo run was started.", ""
        return
    launched = launch(deps.service, scenario, deps.reviewer(request))
    header = f"⏳ **{md(scenario.name)}** started ({scenario.paths:,} paths x {scenario.horizon} periods)"
    wait = deps.settings.api_wait_seconds if deps.service.queued else None
    yield from follow_new_run(deps.service, launched, header, progress, max_seconds=wait)


def follow_new_run(
    service: RunService,
    launched: Launch,
    header: str,
    progress: ProgressBar | None = None,
    *,
    max_seconds: float | None = None,
) -> Iterator[tuple[str, str]]:
    """The run's progress from its event log, one update per event, then what it came to."""
    text = header
    for events in follow(service, launched, max_seconds=max_seconds):
        shown = run_progress(events)
        if progress is not None:
            progress(shown.bar(), desc=shown.bar_label())
        text = f"{header}\n\n{shown.text}"
        yield text, launched.run_id if events else ""
    launched.done.wait(FINISH_SECONDS)  # inline: `start` ends with the governance records of the pause
    if launched.error is not None:
        yield f"{text}\n\n{problem(str(launched.error))}", launched.run_id if _exists(service, launched) else ""
        return
    view = launched.view if launched.view is not None and launched.view.status in SETTLED else None
    try:
        view = view or service.view(launched.run_id)
    except VetoflowError as exc:
        yield f"{text}\n\n{problem(str(exc))}", launched.run_id
        return
    if view.status in SETTLED:
        yield f"{text}\n\n{_outcome(view)}", launched.run_id
        return
    later = "It goes on without this page: **Open this run** follows it in the Run view."
    yield f"{text}\n\n⏳ {later}", launched.run_id


def _exists(service: RunService, launched: Launch) -> bool:
    try:
        service.row(launched.run_id)
    except VetoflowError:
        return False
    return True


def form_cannot_show(scenario: Scenario) -> str | None:
    """The form holds one veto rule with its default limits; anything else would be lost silently."""
    defaults = Scenario.model_fields
    if isinstance(scenario.veto_policy, str) and (
        scenario.loss_limit == defaults["loss_limit"].default and scenario.npv_floor == defaults["npv_floor"].default
    ):
        return None
    return (
        f"This scenario's veto policy ({policy_words(describe(scenario.veto_policy))}, loss limit "
        f"{scenario.loss_limit:.0%}, NPV floor {money(scenario.npv_floor)}) cannot be shown in this form; "
        "ask an administrator to start it from the file."
    )


def load_upload(path: str | None, max_bytes: int) -> tuple[Any, ...]:
    """The upload box: (message, the form's FORM_FIELDS values and segment rows, history series by segment), each
    skipped when the file is refused. The message is plain text: the file names the scenario and its segments."""
    keep = tuple(gr.skip() for _ in range(FORM_FIELDS + 2))  # the fields, the segment rows, the period unit
    if not path:
        return ("", *keep, gr.skip())
    try:
        scenario, parsed = read_upload(path, max_bytes)
    except VetoflowError as exc:
        return (problem(str(exc)) + "\n\nNothing was changed and no run was started.", *keep, gr.skip())
    kept = {s.name: s.history for s in parsed if s.history}
    rows = segment_rows(parsed)
    if scenario is None:
        text = ok(f"{len(rows)} segment(s) loaded from the CSV; check the form and press Start run.")
        return (text, *keep[:-2], rows, gr.skip(), kept)
    if unshown := form_cannot_show(scenario):
        return (problem(unshown) + "\n\nNothing was changed and no run was started.", *keep, gr.skip())
    values: tuple[Any, ...] = (scenario.name, scenario.investment, scenario.horizon, scenario.discount_rate)
    values += (scenario.veto_threshold, scenario.veto_policy, scenario.seed, scenario.paths, scenario.currency)
    unit = scenario.period_unit or GENERIC_PERIOD
    return (ok(f"Scenario {scenario.name!r} loaded; press Start run."), *values, rows, unit, kept)


def start_control(deps: ConsoleDeps, request: gr.Request | None) -> tuple[Any, str]:
    """The Start run button as this user may use it: off, with the reason, without the `start` grant."""
    try:
        deps.require(request, "start")
    except VetoflowError as exc:
        return gr.update(interactive=False), f"**Start run** is off: {md(str(exc))}"
    return gr.update(interactive=True), ""


def render_new_run(deps: ConsoleDeps) -> NewRunPanel:
    gr.Markdown("Fill in the scenario, or upload a scenario (YAML/JSON) or a segments table (CSV) to fill it.")
    upload = gr.File(label="Scenario .yaml/.yml/.json or segments .csv", type="filepath", elem_id="new-upload")
    upload_message = gr.Markdown(elem_id="new-upload-message")
    with gr.Row():
        name = gr.Textbox(label="Name", value="New investment", elem_id="new-name")
        investment = gr.Number(label="Investment", value=1_000_000, elem_id="new-investment")
        horizon = gr.Number(label="Horizon (periods)", value=12, elem_id="new-horizon")  # no precision: never rounded
        rate = gr.Number(label="Discount rate per period", value=0.02, elem_id="new-rate")
    with gr.Row():
        threshold = gr.Number(label="Veto threshold (0.1 = 10% ROI)", value=0.0, elem_id="new-threshold")
        policy = gr.Radio(POLICY_CHOICES, value="roi", label="Veto when", elem_id="new-policy")
        seed = gr.Number(label="Seed", value=42)  # a fraction is refused by the model, naming the field
        paths = gr.Number(label="Monte Carlo paths", value=5000)
        currency = gr.Textbox(label="Currency", value="USD", max_length=3)
    segments = gr.Dataframe(
        value=DEFAULT_SEGMENTS,
        headers=list(SEGMENT_HEADERS),
        datatype=["str", "number", "number", "number", "number"],
        type="array",
        interactive=True,
        label="Segments (growth, volatility and margin as fractions: 0.05 = 5%)",
        elem_id="new-segments",
    )
    start = gr.Button("Start run", variant="primary", elem_id="new-start")
    start_note = gr.Markdown(elem_id="new-start-note")  # why Start run is off for this user, if it is
    progress_box = gr.Markdown(elem_id="new-progress")
    with gr.Row():
        run_id = gr.Textbox(label="Run id", interactive=False, elem_id="new-run-id", scale=4)
        open_button = gr.Button("Open this run", scale=1, elem_id="new-open")
    histories = gr.State({})  # history series of uploaded segments, by name: the form has no column for them
    period_unit = gr.Dropdown(
        [GENERIC_PERIOD, *get_args(PeriodUnit)], value=GENERIC_PERIOD, label="One period is a", elem_id="new-unit"
    )
    form = [name, investment, horizon, rate, threshold, policy, seed, paths, currency, segments, period_unit]

    def on_upload(path: str | None) -> tuple[Any, ...]:
        return load_upload(path, deps.settings.max_file_bytes)

    def start_run(
        run_name: str,
        run_investment: float | None,
        run_horizon: float | None,
        run_rate: float | None,
        run_threshold: float | None,
        run_policy: str,
        run_seed: float | None,
        run_paths: float | None,
        run_currency: str,
        run_segments: list[list[Any]] | None,
        run_period_unit: str | None,
        run_histories: dict[str, list[float]] | None,
        request: gr.Request,
        progress: gr.Progress = PROGRESS,
    ) -> Iterator[tuple[str, str]]:
        data: dict[str, Any] = {
            "name": run_name,
            "investment": run_investment,
            "horizon": run_horizon,
            "discount_rate": run_rate,
            "veto_threshold": run_threshold,
            "veto_policy": run_policy,
            "seed": run_seed,
            "paths": run_paths,
            "currency": run_currency,
            "segments": form_segments(run_segments),
            "period_unit": None if run_period_unit in (None, "", GENERIC_PERIOD) else run_period_unit,
        }
        data = {k: v for k, v in data.items() if v is not None and v != ""}
        for segment in data.get("segments", []):
            if history := (run_histories or {}).get(segment.get("name", "")):
                segment["history"] = history
        yield from start_new_run(deps, data, request, progress)

    upload.upload(on_upload, inputs=[upload], outputs=[upload_message, *form, histories], api_name="load_upload")
    # queue mode: the handler only polls the event log while a worker executes, so it needs no slot of its own
    limit = None if deps.service.queued else "default"
    outputs = [progress_box, run_id]
    start.click(start_run, inputs=[*form, histories], outputs=outputs, api_name="start_run", concurrency_limit=limit)

    def may_start(request: gr.Request) -> tuple[Any, str]:
        return start_control(deps, request)

    gr.on(None, may_start, outputs=[start, start_note], api_visibility="private")  # when the page loads
    return NewRunPanel(run_id=run_id, open_button=open_button)
