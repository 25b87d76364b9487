"""The batch report: one row per source run, rewritten atomically after each replay so a batch resumes.

JSON keeps the batch options too (a second invocation with other options is refused); CSV keeps rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from vetoflow.errors import VetoflowError

FAILED = "failed"


class ReportRow(BaseModel):
    source_run_id: str
    status: str = Field(description="completed | rejected | needs approval | failed | skipped")
    replay_run_id: str | None = None
    error: str | None = None
    decision_changed: bool | None = None
    summary_changed: bool | None = None
    old_veto: bool | None = None
    new_veto: bool | None = None
    old_roi: float | None = None
    new_roi: float | None = None
    old_npv: float | None = None
    new_npv: float | None = None
    tokens: int | None = None
    grounding_flags: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        """Failed rows are retried by the next invocation; everything else is final."""
        return self.status != FAILED


class BatchOptions(BaseModel):
    from_node: str
    llm_model: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    requester: str | None = None  # who launched the batch: each replay's requester (not part of its identity)

    def identity(self) -> dict[str, Any]:
        """What names the batch: resuming it (by anyone) finds the same batch and the same replays."""
        return self.model_dump(mode="json", exclude={"requester"})


class Report(BaseModel):
    options: BatchOptions
    rows: dict[str, ReportRow] = Field(default_factory=dict)

    def done_ids(self) -> set[str]:
        return {rid for rid, row in self.rows.items() if row.done}


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise VetoflowError(f"--out: {path.name} must end in .json or .csv")
    return suffix[1:]


def load_report(path: Path, options: BatchOptions) -> Report:
    """The report at `path`, or a new one; refuses a JSON report written with other options."""
    kind = _kind(path)
    if not path.exists() or path.stat().st_size == 0:
        return Report(options=options)
    try:
        if kind == "json":
            data = json.loads(path.read_text(encoding="utf-8"))
            saved = BatchOptions.model_validate(data.get("options", {}))
            if saved.identity() != options.identity():
                raise VetoflowError(
                    f"--out: {path} was written for {saved.model_dump()}, not {options.model_dump()}; "
                    "use another report file to start a new batch"
                )
            rows = [ReportRow.model_validate(r) for r in data.get("results", [])]
        else:
            text = path.read_text(encoding="utf-8-sig")  # a spreadsheet that saved it wrote a BOM first
            rows = [ReportRow.model_validate(_from_csv(r)) for r in csv.DictReader(io.StringIO(text))]
    except (ValueError, ValidationError) as exc:
        raise VetoflowError(f"--out: cannot read report {path}: {str(exc).splitlines()[0]}") from None
    return Report(options=options, rows={r.source_run_id: r for r in rows})


def save_report(report: Report, path: Path) -> None:
    """Write to a temporary file and rename it over the report: a crash never leaves half a report."""
    rows = [r.model_dump(mode="json") for r in report.rows.values()]
    if _kind(path) == "json":
        text = json.dumps({"options": report.options.model_dump(mode="json"), "results": rows}, indent=2)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(ReportRow.model_fields))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("; ".join(v) if isinstance(v, list) else v) for k, v in row.items()})
        text = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _from_csv(record: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: (v if v != "" else None) for k, v in record.items()}
    data["grounding_flags"] = [f for f in (record.get("grounding_flags") or "").split("; ") if f]
    for key in ("decision_changed", "summary_changed", "old_veto", "new_veto"):
        if data.get(key) is not None:
            data[key] = data[key] == "True"
    data["seconds"] = float(data.get("seconds") or 0.0)
    return data
