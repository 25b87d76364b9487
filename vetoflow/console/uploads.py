"""Uploaded files become form values through the same parsers the CLI uses; anything wrong is refused whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vetoflow.errors import VetoflowError, describe_validation_error
from vetoflow.scenario import SEGMENT_COLUMNS, Scenario, Segment, load_scenario, parse_segments_csv

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
CSV_SUFFIXES = (".csv",)


def _check_size(path: Path, name: str, max_bytes: int) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise VetoflowError(f"{name}: file is {size:,} bytes; the limit is {max_bytes:,}")


def validate_segments(rows: list[dict[str, Any]], source: str) -> list[Segment]:
    segments = []
    for position, row in enumerate(rows):
        try:
            segments.append(Segment.model_validate(row))
        except ValidationError as exc:
            raise VetoflowError(
                f"{source} is invalid:\n{describe_validation_error(exc, prefix=f'segments[{position}]')}"
            ) from None
    return segments


def read_upload(path: str | Path, max_bytes: int) -> tuple[Scenario | None, list[Segment]]:
    """A scenario file gives a whole scenario; a CSV gives the segments. Raises VetoflowError otherwise."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SCENARIO_SUFFIXES + CSV_SUFFIXES:
        raise VetoflowError(
            f"{name}: upload a scenario (.yaml, .yml, .json) or a segments table (.csv); got {suffix or 'no extension'}"
        )
    _check_size(path, name, max_bytes)
    if suffix in SCENARIO_SUFFIXES:
        scenario = load_scenario(path, max_bytes=max_bytes)
        return scenario, list(scenario.segments)
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM first
    except UnicodeDecodeError:
        raise VetoflowError(f"{name}: not a CSV text file (not UTF-8)") from None
    if "\x00" in text:
        raise VetoflowError(f"{name}: not a CSV text file (binary content)")
    return None, validate_segments(parse_segments_csv(text, name), name)


def segment_rows(segments: list[Segment]) -> list[list[Any]]:
    return [[getattr(seg, column) for column in SEGMENT_COLUMNS] for seg in segments]


def form_segments(table: list[list[Any]] | None) -> list[dict[str, Any]]:
    """The editable table back to segment dicts; blank rows are dropped, blank cells take the defaults."""
    rows = []
    for raw in table or []:
        if not raw or all(cell in (None, "") for cell in raw):
            continue
        item: dict[str, Any] = {}
        for column, cell in zip(SEGMENT_COLUMNS, raw, strict=False):
            if cell in (None, ""):
                continue
            item[column] = str(cell).strip() if column == "name" else cell
        rows.append(item)
    return rows
