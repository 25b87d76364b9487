"""The graph itself, compiled with an in-memory checkpointer (unit level)."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from tests.helpers import CountingSynthesizer, transient
from vetoflow.graph import Context, build_graph
from vetoflow.graph.routing import route_after_evidence
from vetoflow.scenario import Scenario
from vetoflow.state import RunState


def compile_graph() -> Any:
    return build_graph().compile(checkpointer=InMemorySaver())


def start(graph: Any, scenario: Scenario, context: Context, run_id: str = "r1") -> dict[str, Any]:
    config = {"configurable": {"thread_id": run_id}}
    graph.invoke(RunState(run_id=run_id, scenario=scenario).model_dump(mode="json"), config, context=context)
    return config


def visited(graph: Any, scenario: Scenario, context: Context) -> list[str]:
    """Nodes in the order they ran."""
    config = {"configurable": {"thread_id": "visits"}}
    state = RunState(run_id="visits", scenario=scenario).model_dump(mode="json")
    return [node for chunk in graph.stream(state, config, context=context, stream_mode="updates") for node in chunk]


def test_profitable_goes_straight_to_the_synthesizer(profitable: Scenario) -> None:
    graph, llm = compile_graph(), CountingSynthesizer()
    config = start(graph, profitable, Context(synthesizer=llm))
    snapshot = graph.get_state(config)
    assert not snapshot.next
    assert snapshot.values["outcome"] == "completed"
    assert snapshot.values["decision"]["veto"] is False
    assert llm.calls == 1
    assert visited(graph, profitable, Context(synthesizer=llm)) == [
        "forecaster",
        "accountant",
        "evidence",
        "synthesizer",
    ]


def test_vetoed_pauses_with_a_json_payload(vetoed: Scenario) -> None:
    graph, llm = compile_graph(), CountingSynthesizer()
    config = start(graph, vetoed, Context(synthesizer=llm))
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approval",)
    payload = snapshot.interrupts[0].value
    assert payload["allowed_actions"] == ["approve", "reject", "revise"]
    assert payload["figures"]["roi"] < 0
    assert payload["decision"]["reasons"][0].startswith("ROI (P50) is -")
    assert llm.calls == 0
    assert visited(graph, vetoed, Context(synthesizer=llm)) == ["forecaster", "accountant", "evidence", "__interrupt__"]


def test_router_is_the_veto(profitable: Scenario) -> None:
    graph = compile_graph()
    config = start(graph, profitable.model_copy(update={"veto_threshold": 10.0}), Context())
    state = RunState.model_validate(graph.get_state(config).values)
    assert state.decision is not None
    assert state.decision.veto
    assert route_after_evidence(state) == "approval"
    state.decision.veto = False
    state.decision.measured = state.decision.threshold
    assert route_after_evidence(state) == "synthesizer"


def test_approve_reject_and_revise(vetoed: Scenario) -> None:
    graph, llm = compile_graph(), CountingSynthesizer()
    context = Context(synthesizer=llm)
    approve = start(graph, vetoed, context, "approve")
    graph.invoke(Command(resume={"action": "approve", "reviewer": "ana", "comment": "bet"}), approve, context=context)
    assert graph.get_state(approve).values["outcome"] == "completed"
    assert llm.calls == 1

    reject = start(graph, vetoed, context, "reject")
    graph.invoke(Command(resume={"action": "reject", "reviewer": "bo"}), reject, context=context)
    values = graph.get_state(reject).values
    assert values["outcome"] == "rejected"
    assert values["summary"] is None
    assert llm.calls == 1  # reject calls no LLM

    revise = start(graph, vetoed, context, "revise")
    overrides = {"investment": 100_000, "segments.Kiosks.margin": 0.3}
    graph.invoke(
        Command(resume={"action": "revise", "reviewer": "cy", "overrides": overrides}), revise, context=context
    )
    values = graph.get_state(revise).values
    assert values["revision"] == 1
    assert values["scenario"]["investment"] == 100_000
    assert values["financials"]["investment"] == 100_000  # the Forecaster and Accountant ran again
    assert values["decision"]["veto"] is False
    assert values["outcome"] is None, "a revise that passes still waits for a human (sticky veto)"
    assert graph.get_state(revise).next == ("approval",)
    assert llm.calls == 1  # nothing summarised before the final approval
    graph.invoke(Command(resume={"action": "approve", "reviewer": "dee"}), revise, context=context)
    values = graph.get_state(revise).values
    assert values["outcome"] == "completed"
    assert [r["action"] for r in values["reviews"]] == ["revise", "approve"]
    assert "revised by cy, then approved by dee" in values["summary"]["text"]
    assert "no reason to veto" not in values["summary"]["text"]


def test_revise_that_still_fails_pauses_again(vetoed: Scenario) -> None:
    graph, context = compile_graph(), Context(synthesizer=CountingSynthesizer())
    config = start(graph, vetoed, context)
    first = graph.get_state(config).interrupts[0].id
    graph.invoke(
        Command(resume={"action": "revise", "reviewer": "cy", "overrides": {"investment": 2_000_000}}),
        config,
        context=context,
    )
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approval",)
    assert snapshot.interrupts[0].id != first
    assert snapshot.interrupts[0].value["revision"] == 1


def test_malformed_resume_keeps_the_run_paused(vetoed: Scenario) -> None:
    graph, context = compile_graph(), Context(synthesizer=CountingSynthesizer())
    config = start(graph, vetoed, context)
    for bad in [
        "yes",
        {"action": "approve"},
        {"action": "revise", "reviewer": "x"},
        {"action": "revise", "reviewer": "x", "overrides": {"investment": -3}},
    ]:
        graph.invoke(Command(resume=bad), config, context=context)
        snapshot = graph.get_state(config)
        assert snapshot.next == ("approval",)
        assert snapshot.interrupts[0].value["error"]
    graph.invoke(Command(resume={"action": "approve", "reviewer": "ana"}), config, context=context)
    assert graph.get_state(config).values["outcome"] == "completed"


def test_transient_llm_errors_are_retried_by_the_retry_policy(profitable: Scenario) -> None:
    graph, llm = compile_graph(), transient(fail_first=2)
    config = start(graph, profitable, Context(synthesizer=llm))
    assert graph.get_state(config).values["outcome"] == "completed"
    assert llm.calls == 3
