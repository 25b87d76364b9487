"""Checking the audit log's hash chain: the live table, or a file exported from it, offline.

One walk serves both. Every row must match its own hash (an edited field is named); consecutive rows must
link (a deleted row is named by the gap it leaves). The live table also has its head, which catches the
newest rows deleted; an exported file has none, so the verdict reports the last entry's seq and hash for
the auditor to compare with the live log's head. An anchor (`SEQ:HASH`, a head noted down earlier, e.g.
in a report) catches what the chain alone cannot: someone with write access who rewrote and re-hashed
every row from some point on.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from vetoflow.db.tables import audit_head_table, audit_table
from vetoflow.errors import UsageError, VetoflowError
from vetoflow.runs.audit import COLUMNS, GENESIS, canonical, row_hash

ANCHOR = re.compile(r"^(?P<seq>[1-9][0-9]{0,17}):(?P<hash>sha256:[0-9a-f]{64})$")
MAX_FILE_BYTES = 2 * 1024**3  # an export larger than this is refused, not read half-way


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_anchor(text: str) -> Anchor:
    match = ANCHOR.match(text.strip())
    if match is None:
        raise UsageError(f"--anchor {text[:80]!r}: expected SEQ:HASH, e.g. 57:sha256:<64 hex digits>")
    return Anchor(int(match["seq"]), match["hash"])


@dataclass
class Verdict:
    ok: bool
    checked: int
    problems: list[str]
    first_seq: int | None = None
    last: Anchor | None = None  # the newest entry checked: note it down to anchor a later check
    anchors_met: list[Anchor] = field(default_factory=list)


@dataclass
class _Gap:
    """Seqs missing between two consecutive rows; in a file, rows found later out of order fill it in."""

    low: int
    high: int
    before: int
    after: int
    filled: set[int] = field(default_factory=set)

    def lines(self) -> list[str]:
        if not self.filled:
            return [f"row(s) {_span(self.low, self.high)} deleted: seq {self.after} follows seq {self.before}"]
        lines, low = [], self.low
        for seq in sorted(self.filled):
            if seq > low:
                lines.append(f"row(s) {_span(low, seq - 1)} deleted")
            low = seq + 1
        return lines + ([f"row(s) {_span(low, self.high)} deleted"] if low <= self.high else [])


def _span(low: int, high: int) -> str:
    return f"seq {low}" if low == high else f"seq {low}-{high}"


def walk(rows: Iterable[Mapping[Any, Any]], anchors: Iterable[Anchor] = (), *, from_genesis: bool) -> Verdict:
    """`rows`: entries oldest first, `details` as stored (canonical JSON text). `from_genesis`: the rows
    must begin at seq 1 (the live table); an export made with --since may begin anywhere.

    A row whose seq is not above every earlier one is named as repeated or out of order (a file's lines
    moved or copied), not as a deletion; a gap is reported as deleted only for seqs no later row fills."""
    wanted = {a.seq: a for a in anchors}
    found: list[str | _Gap] = []  # problems in the order met; a gap's wording is settled at the end
    gaps: list[_Gap] = []
    verdict = Verdict(True, 0, [])
    prev, top = (GENESIS, 0) if from_genesis else (None, None)  # the newest row so far: its hash and seq
    earlier: int | None = None
    for row in rows:
        verdict.checked += 1
        seq = int(row["seq"])
        verdict.first_seq = verdict.first_seq or seq
        advances = top is None or seq > top
        if top is not None and not advances:
            gap = next((g for g in gaps if g.low <= seq <= g.high and seq not in g.filled), None)
            if gap is not None or seq < verdict.first_seq:
                found.append(f"row seq {seq} out of order: it follows seq {earlier}")
                if gap is not None:
                    gap.filled.add(seq)
            else:
                found.append(f"row seq {seq} repeated: a row with that seq came before")
        elif top is not None and seq > top + 1:
            gaps.append(_Gap(top + 1, seq - 1, top, seq))
            found.append(gaps[-1])
        elif prev is not None and row["prev_hash"] != prev:
            found.append(f"row seq {seq}: prev_hash does not match the hash of seq {seq - 1}")
        fields = (row["at"], row["event"], row["run_id"], row["actor"], row["via"], row["details"])
        edited = f"row seq {seq} ({row['event']}, run {row['run_id']}) was edited"
        if not isinstance(row["prev_hash"], str) or not isinstance(row["hash"], str):
            found.append(f"{edited}: its hashes are not text")
        elif row_hash(row["prev_hash"], seq, fields) != row["hash"]:
            found.append(f"{edited}: it no longer matches its hash")
        anchor = wanted.pop(seq, None)
        if anchor is not None and anchor.hash != row["hash"]:
            found.append(f"row seq {seq} is not the anchored entry {anchor}: the chain was rewritten from there on")
        elif anchor is not None:
            verdict.anchors_met.append(anchor)
        if advances:
            prev, top = row["hash"], seq
            verdict.last = Anchor(seq, str(row["hash"]))
        earlier = seq
    for anchor in wanted.values():
        found.append(f"anchor {anchor}: no row seq {anchor.seq} among the entries checked")
    verdict.problems = [line for item in found for line in ([item] if isinstance(item, str) else item.lines())]
    verdict.ok = not verdict.problems
    return verdict


def verify(engine: Engine, anchors: Iterable[Anchor] = ()) -> Verdict:
    """The live log: every row from seq 1, then the head, which must name the newest row: one that is gone
    (deleted to hide deleted rows), ahead of the rows (they were deleted) or behind them (edited) is named."""
    with engine.connect() as conn:
        query = select(audit_table).order_by(audit_table.c.seq).execution_options(yield_per=500)
        verdict = walk(conn.execute(query).mappings(), anchors, from_genesis=True)
        head = conn.execute(select(audit_head_table).where(audit_head_table.c.id == 1)).mappings().first()
    last_seq, last_hash = (verdict.last.seq, verdict.last.hash) if verdict.last else (0, GENESIS)
    if head is None and verdict.last is not None:
        verdict.problems.append(
            f"the head row is missing (deleted), so rows after seq {last_seq} may have been deleted with it"
        )
    elif head is not None and head["seq"] > last_seq:
        verdict.problems.append(
            f"the newest row(s) after seq {last_seq} were deleted (the head records seq {head['seq']})"
        )
    elif head is not None and (head["seq"] != last_seq or head["hash"] != last_hash):
        verdict.problems.append(
            f"the head (seq {head['seq']}) does not match the newest row (seq {last_seq}): the head or the rows "
            "after it were edited"
        )
    verdict.ok = not verdict.problems
    return verdict


def verify_file(path: Path, anchors: Iterable[Anchor] = ()) -> Verdict:
    """An export (`vetoflow audit export` or `GET /audit`, jsonl or csv, whole or --since) checked offline.
    A run-filtered export is not a chain (other runs' rows sit between), so its gaps are reported."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"--file: cannot read {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise UsageError(f"--file: {path} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are checked")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            first = handle.readline()
            handle.seek(0)
            rows = _csv_rows(handle) if first.rstrip("\r\n") == ",".join(COLUMNS) else _jsonl_rows(handle)
            return walk(rows, anchors, from_genesis=False)
    except UnicodeDecodeError:
        raise VetoflowError(f"--file: {path} is not UTF-8 text; give the file as exported") from None


def _jsonl_rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            yield {**_columns(entry, number), "details": canonical(entry["details"])}
        except (ValueError, TypeError, KeyError) as exc:
            raise VetoflowError(f"--file line {number}: not an audit entry ({type(exc).__name__}: {exc})") from None


def _csv_rows(handle: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, entry in enumerate(csv.DictReader(handle), 2):
        columns = _columns(entry, number)
        # csv writes no null: an entry without a run (none is ever named "") reads back as one
        yield {**columns, "run_id": columns["run_id"] or None}


def _columns(entry: Mapping[str, Any], number: int) -> dict[str, Any]:
    missing = [c for c in COLUMNS if c not in entry]
    if missing:
        raise VetoflowError(f"--file line {number}: not an audit entry (no {', '.join(missing)})")
    try:
        seq = int(entry["seq"])
    except (TypeError, ValueError):
        raise VetoflowError(f"--file line {number}: seq {str(entry['seq'])[:20]!r} is not a whole number") from None
    return {**{c: entry[c] for c in COLUMNS}, "seq": seq}
