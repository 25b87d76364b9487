"""Copy one saved checkpoint of a run into a NEW run (its own thread id): the mechanics of a replay.

Why a new thread rather than a branch inside the source thread: a branch would become the source
thread's latest checkpoint, so `vetoflow show/approve` on the original run would then act on the
replay. Copying the chosen checkpoint into a fresh thread leaves every row of the original untouched,
gives the replay its own run id in the index (listed, traced, approvable like any run) and lets many
replays of one run coexist. The fork's lineage (source run, checkpoint, overrides, model) is recorded.

The copy carries the checkpoint's values, channel versions and `next`, but not its pending writes, so
everything after the checkpoint re-executes: LLM calls and the approval interrupt included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, copy_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.types import StateSnapshot

from vetoflow.errors import VetoflowError
from vetoflow.graph.names import NODE_NAMES
from vetoflow.runs.history import checkpoint_id as checkpoint_id_of

ACCOUNTANT_INPUTS = ("veto_policy", "loss_limit", "npv_floor")
"""What only the Accountant's rules read. The investment, discount rate and veto threshold are not here:
the Forecaster turns every path into NPV, ROI, IRR and P(ROI < threshold) with them, so a replay that
changes them from the Accountant would judge new inputs on the old paths' figures."""


def first_affected(overrides: dict[str, Any]) -> str | None:
    """The first node whose result the overrides change: the Accountant for its rules alone, the
    Forecaster for everything else (what it simulates, and what its per-path outcomes are made from)."""
    if not overrides:
        return None
    if all(key in ACCOUNTANT_INPUTS for key in overrides):
        return "accountant"
    return "forecaster"


def start_node(from_node: str | None, checkpoint_id: str | None, overrides: dict[str, Any]) -> str | None:
    """Where a replay with `overrides` must start: never after the first node they change.

    A later `--from` moves back to that node (so every figure after it is recomputed and any approval
    is asked again); an explicit checkpoint after it is refused by `refuse_late_checkpoint`."""
    needed = first_affected(overrides)
    if needed is None or checkpoint_id is not None:
        return from_node
    asked = from_node or "forecaster"
    return needed if NODE_NAMES.index(asked) > NODE_NAMES.index(needed) else asked


def refuse_late_checkpoint(
    source: StateSnapshot, run_id: str, checkpoint_id: str | None, overrides: dict[str, Any]
) -> None:
    """An exact checkpoint after the first node the overrides change would keep old figures: refused."""
    needed = first_affected(overrides)
    starts = next((n for n in source.next if n in NODE_NAMES), None)
    if needed and checkpoint_id and starts and NODE_NAMES.index(starts) > NODE_NAMES.index(needed):
        raise VetoflowError(
            f"{checkpoint_id} starts at {starts}, after the {needed}, which the overrides "
            f"({', '.join(overrides)}) change: the old figures and any approval would be kept under the "
            f"new scenario. Replay run {run_id} from the {needed} instead (no checkpoint, from_node {needed})",
            field="checkpoint_id",
        )


class NotReachedError(VetoflowError):
    """The run never got to the node asked for: nothing to replay from there (a batch skips it)."""


def find_checkpoint(
    history: Iterable[StateSnapshot], run_id: str, *, checkpoint_id: str | None = None, from_node: str | None = None
) -> tuple[StateSnapshot, StateSnapshot]:
    """(latest, to fork): an exact checkpoint id, or the LAST time `from_node` was about to run.

    History comes newest first and is read lazily: `--from synthesizer` prepares two snapshots, not all.
    """
    node = from_node or "forecaster"
    if checkpoint_id is None and node not in NODE_NAMES:
        raise VetoflowError(f"unknown node {node!r}; allowed: {', '.join(NODE_NAMES)}", field="from_node")
    seen: list[StateSnapshot] = []
    for snap in history:
        seen.append(snap)
        if checkpoint_id and checkpoint_id_of(snap) == checkpoint_id:
            if not snap.next:
                raise VetoflowError(f"checkpoint {checkpoint_id} is the end of run {run_id}: nothing runs after it")
            return seen[0], snap
        if not checkpoint_id and node in snap.next:
            return seen[0], snap
    if not seen:
        raise VetoflowError(f"run {run_id} has no checkpoints to replay")
    if checkpoint_id:
        raise VetoflowError(
            f"run {run_id} has no checkpoint {checkpoint_id!r} (its history lists them)", field="checkpoint_id"
        )
    ran = [n for snap in reversed(seen) for n in snap.next if not n.startswith("__")]
    raise NotReachedError(
        f"run {run_id} never reached {node} (its path: {' -> '.join(ran) or 'none'}); "
        f"pick a node it ran, or a checkpoint from its history",
        field="from_node",
    )


def copy_into_new_thread(
    saver: BaseCheckpointSaver[str],
    source: StateSnapshot,
    run_id: str,
    new_id: str,
    scenario: dict[str, Any] | None,
    *,
    inherited_veto: str | None = None,
    requester: str | None = None,
    lineage_authors: dict[str, str] | None = None,
) -> str:
    """Write `source` as the first checkpoint of thread `new_id`; returns the source checkpoint id.

    `inherited_veto`, `requester` (who asked for the replay) and `lineage_authors` (who wrote the figures
    of the runs it replays; four-eyes applies to all of them) are written as channels of their own, with a
    version, so every checkpointer stores them.
    """
    saved = saver.get_tuple(source.config)
    assert saved is not None
    checkpoint = copy_checkpoint(saved.checkpoint)
    checkpoint["id"] = str(uuid6(clock_seq=0))
    checkpoint["ts"] = datetime.now(UTC).isoformat()
    checkpoint["channel_values"]["run_id"] = new_id  # the state names its own run (approval payloads show it)
    if scenario is not None:
        checkpoint["channel_values"]["scenario"] = scenario
    channels = (("inherited_veto", inherited_veto), ("requester", requester), ("lineage_authors", lineage_authors))
    for channel, value in channels:
        if value is not None:
            checkpoint["channel_values"][channel] = value
            checkpoint["channel_versions"][channel] = max(checkpoint["channel_versions"].values())
    source_cp = checkpoint_id_of(source)
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
    return source_cp
