"""Durations written as `90m`, `48h`, `5d`, `2w` (or whole seconds), bounded to 1 minute - 366 days."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PATTERN = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
MIN_SECONDS, MAX_SECONDS = 60, 366 * 86400


def parse_duration(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a duration like 90m, 48h, 5d or 2w")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := PATTERN.match(value)):
        seconds = int(match.group(1)) * UNITS[match.group(2)]
    else:
        raise ValueError(f"a duration like 90m, 48h, 5d or 2w (got {value!r})")
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ValueError(f"between 1m and 366d (got {value!r})")
    return seconds


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
