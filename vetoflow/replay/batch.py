"""Batch replay: the service picks saved runs; keep this machine's shard, replay each with bounded concurrency.

Threads, not processes: a replay spends its time waiting on the LLM, and LangGraph graphs and both
checkpointers are safe to share across threads (SQLite serialises writes on one locked connection,
PostgreSQL uses its pool). One run's failure is a report row; the batch goes on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from pydantic import BaseModel, Field

from vetoflow.clock import utcnow
from vetoflow.errors import VetoflowError
from vetoflow.replay.compare import NEEDS_APPROVAL, compare
from vetoflow.replay.report import BatchOptions, Report, ReportRow
from vetoflow.runs.fork import NotReachedError
from vetoflow.runs.service import RunService
from vetoflow.runs.views import RunView


class BatchSummary(BaseModel):
    selected: int
    already_done: int
    replayed: int
    by_status: dict[str, int] = Field(default_factory=dict)
    decision_changed: int = 0
    summary_changed: int = 0
    flagged: int = 0
    tokens: int = 0
    wall_s: float = 0.0


def parse_shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise VetoflowError(f"--shard: {text!r} must be i/n with 0 <= i < n, e.g. 0/2 and 1/2")
    return i, n


def shard_of(run_id: str, count: int) -> int:
    """Stable across machines and Python runs (unlike hash()): every id lands in exactly one shard."""
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big") % count


def read_ids(path: Path) -> list[str]:
    """One run id per line; blank lines and # comments ignored. UTF-8, a leading BOM allowed (Notepad and Excel
    write one: left in, it would glue itself to the first id, which then matches no run)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise VetoflowError(f"--ids: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise VetoflowError(f"--ids: {path} is not UTF-8 text (one run id per line)") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def replay_one(service: RunService, source_id: str, options: BatchOptions, previous: ReportRow | None) -> ReportRow:
    """Replay one run; never raises. A failed earlier replay of it is retried from its own checkpoint."""
    start = time.perf_counter()
    try:
        retried = _retry_previous(service, previous)
        if retried is not None:
            return _row(service.view(source_id), retried, time.perf_counter() - start)
        replayed = service.replay(
            source_id,
            from_node=options.from_node,
            overrides=options.overrides,
            llm_model=options.llm_model,
            requester=options.requester,
            via="batch",
        )
        return _row(replayed.old, replayed.new, time.perf_counter() - start)
    except NotReachedError as exc:
        return ReportRow(source_run_id=source_id, status="skipped", error=str(exc), finished_at=utcnow())
    except Exception as exc:  # one bad run must not stop the batch: it becomes a failed row
        return ReportRow(
            source_run_id=source_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - start,
            finished_at=utcnow(),
        )


def _retry_previous(service: RunService, previous: ReportRow | None) -> RunView | None:
    if previous is None or previous.replay_run_id is None:
        return None
    replay_id = previous.replay_run_id
    if service.row(replay_id).status != "failed":
        return service.view(replay_id)
    return service.retry(replay_id)


def _row(old: RunView, new: RunView, seconds: float) -> ReportRow:
    result = compare(old, new)
    status = result.new.status
    return ReportRow(
        source_run_id=old.run.run_id,
        status=status,
        replay_run_id=new.run.run_id,
        error=new.run.error if status == "failed" else None,
        decision_changed=result.decision_changed,
        summary_changed=result.summary_changed,
        old_veto=result.old.veto,
        new_veto=result.new.veto,
        old_roi=result.old.roi,
        new_roi=result.new.roi,
        old_npv=result.old.npv,
        new_npv=result.new.npv,
        tokens=result.new.tokens,
        grounding_flags=result.new.grounding_flags,
        seconds=round(seconds, 4),
        finished_at=utcnow(),
    )


def run_batch(
    service: RunService,
    run_ids: Sequence[str],
    report: Report,
    *,
    concurrency: int = 4,
    on_row: Callable[[ReportRow], None] | None = None,
) -> BatchSummary:
    """Replay `run_ids` not already done in `report`; `on_row` sees each row (save it, advance a bar)."""
    if concurrency < 1:
        raise VetoflowError("--concurrency must be at least 1")
    done = report.done_ids()
    todo = [rid for rid in run_ids if rid not in done]
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="replay")
    futures = [pool.submit(replay_one, service, rid, report.options, report.rows.get(rid)) for rid in todo]
    recorded: set[Future[ReportRow]] = set()

    def record(future: Future[ReportRow]) -> None:
        recorded.add(future)
        row = future.result()
        report.rows[row.source_run_id] = row
        if on_row:
            on_row(row)

    try:
        for future in as_completed(futures):
            record(future)
    except BaseException:  # Ctrl-C: drop what has not started, keep the rows of what finishes meanwhile
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            if future not in recorded and future.done() and not future.cancelled():
                record(future)
        raise
    finally:
        pool.shutdown(wait=True)
    summary = summarize(report, [*run_ids], len(run_ids) - len(todo), len(todo))
    summary.wall_s = round(time.perf_counter() - started, 3)
    return summary


def summarize(report: Report, run_ids: Sequence[str], already_done: int, replayed: int) -> BatchSummary:
    rows = [report.rows[rid] for rid in run_ids if rid in report.rows]
    summary = BatchSummary(selected=len(run_ids), already_done=already_done, replayed=replayed)
    for row in rows:
        summary.by_status[row.status] = summary.by_status.get(row.status, 0) + 1
        summary.decision_changed += bool(row.decision_changed)
        summary.summary_changed += bool(row.summary_changed)
        summary.flagged += bool(row.grounding_flags)
        summary.tokens += row.tokens or 0
    return summary


__all__ = ["NEEDS_APPROVAL", "BatchSummary", "parse_shard", "read_ids", "run_batch", "shard_of"]
