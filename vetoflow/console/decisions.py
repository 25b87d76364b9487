"""Turns the run view's form into a decision: which assumptions changed become the revise overrides."""

from __future__ import annotations

import math
from typing import Any

from vetoflow.errors import VetoflowError
from vetoflow.scenario import SEGMENT_COLUMNS, Scenario

TOP_FIELDS = {"investment": float, "horizon": int, "discount_rate": float}


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VetoflowError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise VetoflowError(f"{where}: {value!r} must be a finite number")
    return number


def _changed(old: Any, new: float) -> bool:
    return old is None or not math.isclose(float(old), new, rel_tol=1e-12, abs_tol=1e-12)


def segment_table(scenario: Scenario | None) -> list[list[Any]]:
    segments = scenario.segments if scenario else []
    return [[getattr(seg, column) for column in SEGMENT_COLUMNS] for seg in segments]


def revise_overrides(scenario: Scenario, top: dict[str, Any], segments: list[list[Any]] | None) -> dict[str, Any]:
    """Only what differs from the current scenario, as `field` / `segments.<name>.<field>` overrides."""
    overrides: dict[str, Any] = {}
    for field, kind in TOP_FIELDS.items():
        if top.get(field) is None or top.get(field) == "":
            continue
        value = _number(top[field], field)
        if kind is int and value != int(value):
            raise VetoflowError(f"{field}: must be a whole number of periods, got {value}")
        if _changed(getattr(scenario, field), value):
            overrides[field] = int(value) if kind is int else value
    by_name = {seg.name: seg for seg in scenario.segments}
    for position, row in enumerate(segments or [], start=1):
        if not row or all(cell in (None, "") for cell in row):
            continue
        name = str(row[0]).strip()
        if name not in by_name:
            raise VetoflowError(
                f"segments row {position}: no segment named {name!r}; a revision changes the existing "
                f"segments ({', '.join(by_name)}), it cannot add or rename them"
            )
        for column, cell in zip(SEGMENT_COLUMNS[1:], row[1:], strict=False):
            if cell is None or cell == "":
                continue
            value = _number(cell, f"segments row {position} ({name}), column {column}")
            if _changed(getattr(by_name[name], column), value):
                overrides[f"segments.{name}.{column}"] = value
    if not overrides:
        raise VetoflowError("revise: change at least one assumption (investment, horizon, discount rate or a segment)")
    return overrides
