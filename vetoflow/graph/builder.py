"""Assembles the Supervisor graph: Forecaster -> Accountant -> Evidence -> (veto? Approval) -> Synthesizer."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from vetoflow.context import Context
from vetoflow.errors import TransientLLMError
from vetoflow.graph.routing import route_after_evidence
from vetoflow.nodes.accountant import accountant
from vetoflow.nodes.approval import approval
from vetoflow.nodes.evidence import evidence
from vetoflow.nodes.forecaster import forecaster
from vetoflow.nodes.synthesizer import synthesizer
from vetoflow.state import RunState

Graph = CompiledStateGraph[RunState, Context, RunState, RunState]  # what build_graph().compile() gives
LLM_RETRY = RetryPolicy(retry_on=TransientLLMError, max_attempts=4, initial_interval=0.5, backoff_factor=2.0)


def build_graph() -> StateGraph[RunState, Context, RunState, RunState]:
    builder = StateGraph(RunState, context_schema=Context)
    builder.add_node("forecaster", forecaster)
    builder.add_node("accountant", accountant)
    builder.add_node("evidence", evidence)
    builder.add_node("approval", approval, destinations=("forecaster", "synthesizer", END))
    builder.add_node("synthesizer", synthesizer, retry_policy=LLM_RETRY)
    builder.add_edge(START, "forecaster")
    builder.add_edge("forecaster", "accountant")
    builder.add_edge("accountant", "evidence")
    builder.add_conditional_edges("evidence", route_after_evidence)
    builder.add_edge("synthesizer", END)
    return builder
