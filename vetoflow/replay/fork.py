"""Replay one run from a saved checkpoint as a fork, stored as a NEW run (its own thread id).

Why a new thread rather than a branch inside the source thread: a branch would become the source
thread's latest checkpoint, so `vetoflow show/approve` on the original run would then act on the
replay. Copying the chosen checkpoint into a fresh thread leaves every row of the original untouched,
gives the replay its own run id in the index (listed, traced, approvable like any run) and lets many
replays of one run coexist. The fork's lineage (source run, checkpoint, overrides, model) is recorded.

The copy carries the checkpoint's values, channel versions and `next`, but not its pending writes, so
everything after the checkpoint re-executes: LLM calls and the approval interrupt included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import copy_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.types import StateSnapshot

from vetoflow.errors import VetoflowError
from vetoflow.graph.context import Context
from vetoflow.replay.lineage import lineage_for, new_row
from vetoflow.runs.service import RunService, RunView, StepCallback
from vetoflow.scenario import apply_overrides
from vetoflow.state import RunState

NODES = ("forecaster", "accountant", "approval", "synthesizer")


ACCOUNTANT_INPUTS = ("investment", "discount_rate", "veto_threshold", "veto_policy")


def first_affected(overrides: dict[str, Any]) -> str | None:
    """The first node whose result the overrides change: the Forecaster for what it simulates (paths,
    horizon, seed, segments), the Accountant for what only the arithmetic uses (investment, rate)."""
    if not overrides:
        return None
    if all(key in ACCOUNTANT_INPUTS for key in overrides):
        return "accountant"
    return "forecaster"


def _start_for(from_node: str | None, checkpoint_id: str | None, overrides: dict[str, Any]) -> str | None:
    """Where a replay with `overrides` must start: never after the first node they change.

    A later `--from` moves back to that node (so every figure after it is recomputed and any approval
    is asked again); an explicit checkpoint after it is refused with the reason."""
    needed = first_affected(overrides)
    if needed is None:
        return from_node
    if checkpoint_id is not None:
        return from_node
    asked = from_node or "forecaster"
    return needed if NODES.index(asked) > NODES.index(needed) else asked


class NotReachedError(VetoflowError):
    """The run never got to the node asked for: nothing to replay from there (a batch skips it)."""


def _config(run_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": run_id}}


def find_checkpoint(
    history: Iterable[StateSnapshot], run_id: str, *, checkpoint_id: str | None = None, from_node: str | None = None
) -> tuple[StateSnapshot, StateSnapshot]:
    """(latest, to fork): an exact checkpoint id, or the LAST time `from_node` was about to run.

    History comes newest first and is read lazily: `--from synthesizer` prepares two snapshots, not all.
    """
    node = from_node or "forecaster"
    if checkpoint_id is None and node not in NODES:
        raise VetoflowError(f"--from: unknown node {node!r}; allowed: {', '.join(NODES)}")
    seen: list[StateSnapshot] = []
    for snap in history:
        seen.append(snap)
        if checkpoint_id and snap.config["configurable"]["checkpoint_id"] == checkpoint_id:
            if not snap.next:
                raise VetoflowError(f"checkpoint {checkpoint_id} is the end of run {run_id}: nothing runs after it")
            return seen[0], snap
        if not checkpoint_id and node in snap.next:
            return seen[0], snap
    if not seen:
        raise VetoflowError(f"run {run_id} has no checkpoints to replay")
    if checkpoint_id:
        raise VetoflowError(
            f"--checkpoint: run {run_id} has no checkpoint {checkpoint_id!r} (see: vetoflow trace {run_id})"
        )
    ran = [n for snap in reversed(seen) for n in snap.next if not n.startswith("__")]
    raise NotReachedError(
        f"--from {node}: run {run_id} never reached {node} (its path: {' -> '.join(ran) or 'none'}); "
        f"pick a node it ran, or a checkpoint from: vetoflow trace {run_id}"
    )


def fork_run(service: RunService, run_id: str, **options: Any) -> RunView:
    """Copy the chosen checkpoint into a new run, apply overrides, run it on; return the new run's view.

    Takes the keyword options of `replay`."""
    return replay(service, run_id, **options)[1]


def replay(
    service: RunService,
    run_id: str,
    *,
    checkpoint_id: str | None = None,
    from_node: str | None = None,
    overrides: dict[str, Any] | None = None,
    context: Context | None = None,
    llm_model: str | None = None,
    on_step: StepCallback | None = None,
) -> tuple[RunView, RunView]:
    """Like `fork_run`, returning (the source run as it stands, the replay): one history read serves both."""
    source_row = service.index.get(run_id)  # RunNotFoundError for an unknown id
    from_node = _start_for(from_node, checkpoint_id, overrides or {})
    latest, source = find_checkpoint(
        service.graph.get_state_history(_config(run_id)), run_id, checkpoint_id=checkpoint_id, from_node=from_node
    )
    needed = first_affected(overrides or {})
    starts = next((n for n in source.next if n in NODES), None)
    if needed and checkpoint_id and starts and NODES.index(starts) > NODES.index(needed):
        raise VetoflowError(
            f"--checkpoint {checkpoint_id} starts at {starts}, after the {needed}, which the overrides "
            f"({', '.join(overrides or {})}) change: the old figures and any approval would be kept under the "
            f"new scenario. Replay from {needed} instead: vetoflow replay {run_id} --from {needed}"
        )
    values = dict(source.values)
    scenario = RunState.model_validate(values).scenario
    if overrides:
        scenario = apply_overrides(scenario, overrides)  # VetoflowError naming the bad key or value
    service.context.budget.check(scenario)
    saver = service.graph.checkpointer
    if saver is None or isinstance(saver, bool):
        raise VetoflowError("replay needs a graph compiled with a durable checkpointer")
    saved = saver.get_tuple(source.config)
    assert saved is not None
    new_id = uuid.uuid4().hex[:12]
    checkpoint = copy_checkpoint(saved.checkpoint)
    checkpoint["id"] = str(uuid6(clock_seq=0))
    checkpoint["ts"] = datetime.now(UTC).isoformat()
    checkpoint["channel_values"]["run_id"] = new_id  # the state names its own run (approval payloads show it)
    if overrides:
        checkpoint["channel_values"]["scenario"] = scenario.model_dump(mode="json")
    source_cp = str(source.config["configurable"]["checkpoint_id"])
    metadata: Any = {
        "source": "fork",
        "step": saved.metadata.get("step", -1),
        "parents": {},
        "vetoflow_replay_of": run_id,
        "vetoflow_checkpoint": source_cp,
    }
    saver.put(
        {"configurable": {"thread_id": new_id, "checkpoint_ns": ""}},
        checkpoint,
        metadata,
        dict(checkpoint["channel_versions"]),
    )
    node = from_node or next(n for n in source.next if not n.startswith("__"))
    name = f"{source_row.name[:150]} (replay of {run_id})"  # tells replays apart in `vetoflow runs`
    lineage_row = new_row(run_id, new_id, source_cp, node, overrides=overrides or {}, llm_model=llm_model)
    lineage_for(service.index.engine).record_with_run(lineage_row, name, scenario.investment)
    runner = RunService(service.graph, service.index, context or service.context)
    old = RunView(run=source_row, state=dict(latest.values), next_nodes=list(latest.next))
    return old, runner.run_forked(new_id, on_step=on_step)
