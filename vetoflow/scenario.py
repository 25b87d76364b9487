"""The investment scenario a run starts from, and the only door through which it enters.

Everything is validated here, before a run exists: a refused scenario leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from vetoflow.errors import VetoflowError, describe_validation_error
from vetoflow.inputs import check_columns, decimal_float, load_json, load_yaml

MAX_FILE_BYTES = 5_000_000
MAX_SEGMENTS = 50
MAX_HORIZON = 120
MAX_PATHS = 100_000
MAX_HISTORY_POINTS = 1_000

MAX_MONEY_INPUT = 1e12
Money = Annotated[float, Field(allow_inf_nan=False)]
HistoryValue = Annotated[float, Field(ge=0, le=MAX_MONEY_INPUT, allow_inf_nan=False)]
RuleName = Literal["roi", "downside_roi", "loss_probability", "npv"]
PeriodUnit = Literal["month", "quarter", "year"]
MAX_POLICY_RULES = 6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True, strict=True)


class PolicyCombination(_Strict):
    """`any_of`: veto when any listed rule vetoes; `all_of`: veto only when every listed rule vetoes."""

    any_of: list[VetoPolicy] | None = Field(default=None, min_length=1, max_length=MAX_POLICY_RULES)
    all_of: list[VetoPolicy] | None = Field(default=None, min_length=1, max_length=MAX_POLICY_RULES)

    @model_validator(mode="after")
    def _one_kind(self) -> PolicyCombination:
        if (self.any_of is None) == (self.all_of is None):
            raise ValueError("give exactly one of any_of or all_of")
        if self.depth() > 3:
            raise ValueError("combinations nest at most 3 levels deep")
        return self

    @property
    def kind(self) -> Literal["any_of", "all_of"]:
        return "any_of" if self.any_of is not None else "all_of"

    @property
    def rules(self) -> list[VetoPolicy]:
        return self.any_of if self.any_of is not None else (self.all_of or [])

    def depth(self) -> int:
        return 1 + max((r.depth() for r in self.rules if isinstance(r, PolicyCombination)), default=0)


def _policy_kind(value: Any) -> str:
    return "rule" if isinstance(value, str) else "combination"


VetoPolicy = Annotated[
    Annotated[RuleName, Tag("rule")] | Annotated[PolicyCombination, Tag("combination")],
    Discriminator(_policy_kind),
]


class Segment(_Strict):
    """One market segment: its current revenue per period and how it is expected to move."""

    name: str = Field(min_length=1, max_length=64)
    base_revenue: Money = Field(ge=0, le=1e12, description="Revenue in the period before the first one.")
    growth_mean: float = Field(default=0.0, ge=-1, le=5, description="Mean growth per period (0.05 = 5%).")
    volatility: float = Field(default=0.1, ge=0, le=2, description="Std. dev. of growth per period.")
    margin: float = Field(ge=-1, le=1, description="Share of revenue kept as profit (0.3 = 30%).")
    history: list[HistoryValue] | None = Field(
        default=None, description="Past revenue per period, oldest first, each 0-1e12 (loaded from history_csv)."
    )

    @field_validator("history")
    @classmethod
    def _history_shape(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if not 4 <= len(value) <= MAX_HISTORY_POINTS:
            raise ValueError(f"needs between 4 and {MAX_HISTORY_POINTS} periods, got {len(value)}")
        return value


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=120)
    investment: Money = Field(ge=1, le=1e12, description="Up-front investment, in currency units.")
    horizon: int = Field(ge=1, le=MAX_HORIZON, description="Number of periods to forecast.")
    discount_rate: float = Field(ge=0, le=1, description="Discount rate per period for NPV.")
    veto_threshold: float = Field(default=0.0, ge=-1, le=10, description="Veto when ROI is below this.")
    veto_policy: VetoPolicy = Field(default="roi", description="Which rule, or combination of rules, vetoes.")
    loss_limit: float = Field(default=0.3, ge=0, le=1, description="loss_probability rule: veto above this P(NPV<0).")
    npv_floor: float = Field(
        default=0.0,
        ge=-MAX_MONEY_INPUT,
        le=MAX_MONEY_INPUT,
        description="npv rule: veto below this median NPV.",
    )
    segments: list[Segment] = Field(min_length=1, max_length=MAX_SEGMENTS)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    paths: int = Field(default=5_000, ge=100, le=MAX_PATHS, description="Monte Carlo paths.")
    currency: str = Field(default="USD", min_length=3, max_length=3)
    period_unit: PeriodUnit | None = Field(
        default=None,
        description="What one period is (labels only: charts and text); unset reads 'period'. Rates stay per period.",
        # Left out of dumps while unset, so digests of runs paused by earlier releases stay equal.
        exclude_if=lambda unit: unit is None,
    )

    @property
    def period_word(self) -> str:
        """ "month", "quarter", "year", or "period" when the scenario does not say."""
        return self.period_unit or "period"

    @model_validator(mode="after")
    def _unique_segments(self) -> Scenario:
        names = [s.name for s in self.segments]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"segment names must be unique; repeated: {', '.join(dupes)}")
        if self.paths * self.horizon * len(self.segments) > 50_000_000:
            raise ValueError("paths x horizon x segments must stay under 50,000,000 (lower paths)")
        return self


CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def check_new_scenario(scenario: Scenario) -> None:
    """What a new run's scenario must also be, checked when it starts (RunService.start) rather than by
    the model, so runs stored by earlier releases (which allowed any three characters) still load: an
    ISO 4217 currency code, and names without NUL (PostgreSQL cannot store it; every other character is
    kept and shown as written, control characters as visible escapes)."""
    if not CURRENCY_CODE.fullmatch(scenario.currency):
        raise VetoflowError(
            f"currency: {scenario.currency!r} must be three capital letters, an ISO 4217 code such as USD, EUR or GBP"
        )
    named = [("name", scenario.name)] + [(f"segments[{i}].name", s.name) for i, s in enumerate(scenario.segments)]
    for field, text in named:
        if "\x00" in text:
            raise VetoflowError(f"{field}: must not contain NUL characters")


def validate_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    """Validate plain data into a Scenario, turning pydantic's errors into one readable VetoflowError."""
    if not isinstance(data, dict):
        raise VetoflowError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise VetoflowError(f"{source} is invalid:\n{describe_validation_error(exc)}") from None


def _read_limited(path: Path, max_bytes: int) -> str:
    if not path.is_file():
        raise VetoflowError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise VetoflowError(f"{path}: file is {size:,} bytes; the limit is {max_bytes:,}")
    try:
        return path.read_text(encoding="utf-8-sig")  # a leading BOM (Excel's "CSV UTF-8", Notepad) is no content
    except UnicodeDecodeError:
        raise VetoflowError(f"{path}: not UTF-8 text") from None


SEGMENT_COLUMNS = ("name", "base_revenue", "growth_mean", "volatility", "margin")
BOM = "\ufeff"  # what Excel's "CSV UTF-8" starts with; left in, it glues itself to the first column's name


def parse_segments_csv(text: str, source: str = "segments.csv") -> list[dict[str, Any]]:
    """Columns name, base_revenue, margin (required) and growth_mean, volatility (optional)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix(BOM)))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    check_columns(columns, source)
    missing = {"name", "base_revenue", "margin"} - set(columns)
    unknown = set(columns) - set(SEGMENT_COLUMNS)
    if missing or unknown:
        raise VetoflowError(
            f"{source}: columns must be {', '.join(SEGMENT_COLUMNS)} "
            f"(missing: {', '.join(sorted(missing)) or 'none'}; unknown: {', '.join(sorted(unknown)) or 'none'})"
        )
    rows: list[dict[str, Any]] = []
    for line, row in enumerate(reader, start=2):
        if len(rows) >= MAX_SEGMENTS:
            raise VetoflowError(f"{source}: at most {MAX_SEGMENTS} segments are allowed")
        item: dict[str, Any] = {"name": (row.get("name") or "").strip()}
        for column in SEGMENT_COLUMNS[1:]:
            raw = (row.get(column) or "").strip()
            if raw:
                item[column] = decimal_float(raw, f"{source} line {line}, column {column}")
        rows.append(item)
    if not rows:
        raise VetoflowError(f"{source}: no segment rows")
    return rows


def parse_history_csv(text: str, source: str) -> list[float]:
    """A history CSV has a `revenue` column (other columns, such as `period`, are ignored)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix(BOM)))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    check_columns(columns, source)
    if "revenue" not in columns:
        raise VetoflowError(f"{source}: needs a 'revenue' column")
    values: list[float] = []
    for line, row in enumerate(reader, start=2):
        if len(values) >= MAX_HISTORY_POINTS:
            raise VetoflowError(f"{source}: at most {MAX_HISTORY_POINTS} periods of history are allowed")
        values.append(decimal_float((row.get("revenue") or "").strip(), f"{source} line {line}, column revenue"))
    return values


def _parse_document(text: str, path: Path) -> Any:
    try:
        if path.suffix.lower() == ".json":
            return load_json(text)
        return load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise VetoflowError(f"{path}: cannot parse: {exc}") from None
    except VetoflowError as exc:
        raise VetoflowError(f"{path}: {exc}") from None
    except ValueError as exc:  # a reader's own refusal: still one line, never a traceback (or an HTTP 500)
        raise VetoflowError(f"{path}: cannot read a value: {exc}") from None


def _resolve_inside(base: Path, relative: str, field: str) -> Path:
    """History and segment files must sit beside the scenario: no absolute paths, no `..` escapes."""
    candidate = (base / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(base.resolve()):
        raise VetoflowError(f"{field}: {relative!r} must be a path inside {base}")
    return candidate


def load_scenario(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> Scenario:
    """Load a scenario from YAML/JSON. `segments_csv:` and per-segment `history_csv:` are read too."""
    path = Path(path)
    data = _parse_document(_read_limited(path, max_bytes), path)
    if not isinstance(data, dict):
        raise VetoflowError(f"{path}: expected a mapping of scenario fields at the top level")
    base = path.parent
    if "segments_csv" in data:
        csv_name = data.pop("segments_csv")
        if "segments" in data:
            raise VetoflowError(f"{path}: give either segments or segments_csv, not both")
        csv_path = _resolve_inside(base, str(csv_name), "segments_csv")
        data["segments"] = parse_segments_csv(_read_limited(csv_path, max_bytes), str(csv_path))
    for index, segment in enumerate(data.get("segments") or []):
        if isinstance(segment, dict) and "history_csv" in segment:
            field = f"segments[{index}].history_csv"
            history_path = _resolve_inside(base, str(segment.pop("history_csv")), field)
            segment["history"] = parse_history_csv(_read_limited(history_path, max_bytes), str(history_path))
    return validate_scenario(data, source=str(path))


def override_target(key: str, segments: Collection[str] | None = None) -> tuple[str | None, str]:
    """(segment name or None, field) that an override key names: a top-level field by name, a segment's as
    `segments.<name>.<field>` (the name may itself contain dots: the field is the last part). With the
    scenario's `segments`, an unknown segment is named first; without, only the key's form is checked."""
    parts = key.split(".")
    if parts[0] == "segments" and len(parts) >= 3:
        name, field = ".".join(parts[1:-1]), parts[-1]
        if segments is not None and name not in segments:
            raise VetoflowError(f"{key[:200]}: no segment named {name[:64]!r}; segments are {', '.join(segments)}")
        if field not in SEGMENT_COLUMNS[1:]:
            raise VetoflowError(f"{key[:200]}: revisable segment fields are {', '.join(SEGMENT_COLUMNS[1:])}")
        return name, field
    if key in REVISABLE_FIELDS:
        return None, key
    raise VetoflowError(
        f"{key[:200]}: cannot be revised; allowed: {', '.join(REVISABLE_FIELDS)}, segments.<name>.<field>"
    )


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A revised copy, each key as `override_target` reads it."""
    data = scenario.model_dump(mode="json")
    by_name = {segment["name"]: segment for segment in data["segments"]}
    for key, value in overrides.items():
        name, field = override_target(key, by_name)
        if name is not None and by_name[name].get("history") and field in FITTED_FIELDS:
            raise VetoflowError(
                f"{key[:200]}: segment {name[:64]!r} is forecast from its history, which sets its level, growth "
                "and spread; only its margin can be revised"
            )
        (data if name is None else by_name[name])[field] = value
    return validate_scenario(data, source="revised scenario")


FITTED_FIELDS = ("base_revenue", "growth_mean", "volatility")
"""What a segment's history replaces: a revision of them would change nothing, silently."""


REVISABLE_FIELDS = ("investment", "horizon", "discount_rate", "paths", "seed")
