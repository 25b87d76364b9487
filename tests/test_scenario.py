from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vetoflow.errors import VetoflowError
from vetoflow.runs.service import RunService
from vetoflow.scenario import apply_overrides, load_scenario, validate_scenario


def base() -> dict[str, Any]:
    return {
        "name": "t",
        "investment": 1000,
        "horizon": 4,
        "discount_rate": 0.05,
        "segments": [{"name": "a", "base_revenue": 100, "growth_mean": 0.01, "volatility": 0.1, "margin": 0.2}],
    }


def test_every_shipped_example_loads(examples: Path) -> None:
    files = sorted(examples.glob("*.yaml"))
    assert len(files) >= 3
    names = {load_scenario(f).name for f in files}
    assert len(names) == len(files)


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"investment": -5}, "investment", "greater than or equal to 1"),
        ({"investment": 2.2e-311}, "investment", "greater than or equal to 1"),
        ({"investment": float("nan")}, "investment", "finite number"),
        ({"segments": []}, "segments", "at least 1 item"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
        ({"horizon": "twelve"}, "horizon", "valid integer"),
        ({"horizon": 500}, "horizon", "less than or equal to 120"),
        ({"veto_policy": "vibes"}, "veto_policy.rule", "'roi', 'downside_roi', 'loss_probability' or 'npv'"),
        ({"veto_policy": {"any_of": ["roi", "vibes"]}}, "veto_policy.combination.any_of[1].rule", "'npv'"),
        ({"veto_policy": {"any_of": ["roi"], "all_of": ["npv"]}}, "veto_policy.combination", "exactly one of"),
        ({"loss_limit": 1.5}, "loss_limit", "less than or equal to 1"),
        ({"npv_floor": float("inf")}, "npv_floor", "finite number"),
        (
            {"segments": [{"name": "a", "base_revenue": 1, "margin": 0, "history": [1, 2, 3, 2e12]}]},
            "segments[0].history[3]",
            "less than or equal to 1000000000000",
        ),
        ({"paths": 10}, "paths", "greater than or equal to 100"),
    ],
)
def test_invalid_fields_are_named_with_what_is_allowed(change: dict[str, Any], field: str, allowed: str) -> None:
    with pytest.raises(VetoflowError) as info:
        validate_scenario(base() | change)
    message = str(info.value)
    assert f"\n{field}:" in message
    assert allowed in message


def test_segment_errors_point_at_the_segment() -> None:
    data = base()
    data["segments"][0]["volatility"] = 3.5
    with pytest.raises(VetoflowError, match=r"segments\[0\]\.volatility: .*less than or equal to 2 \(got 3.5\)"):
        validate_scenario(data)


def test_duplicate_segment_names_refused() -> None:
    data = base()
    data["segments"] = data["segments"] * 2
    with pytest.raises(VetoflowError, match="repeated: a"):
        validate_scenario(data)


def test_json_and_yaml_load_the_same(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(base()))
    (tmp_path / "s.yaml").write_text(
        "name: t\ninvestment: 1000\nhorizon: 4\ndiscount_rate: 0.05\nsegments:\n"
        "  - {name: a, base_revenue: 100, growth_mean: 0.01, volatility: 0.1, margin: 0.2}\n"
    )
    assert load_scenario(tmp_path / "s.json") == load_scenario(tmp_path / "s.yaml")


def test_a_10_gb_file_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: no disk used, but stat() says 10 GB
        handle.truncate(10 * 1024**3)
    with pytest.raises(VetoflowError, match=r"10,737,418,240 bytes; the limit is 5,000,000"):
        load_scenario(huge)


def test_unparseable_and_non_mapping_files(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(VetoflowError, match="cannot parse"):
        load_scenario(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(VetoflowError, match="expected a mapping"):
        load_scenario(tmp_path / "list.yaml")
    with pytest.raises(VetoflowError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")


def test_segments_csv_and_its_errors(tmp_path: Path, examples: Path) -> None:
    scenario = load_scenario(examples / "from_csv.yaml")
    assert [s.name for s in scenario.segments] == ["Online", "Stores", "Partners"]
    (tmp_path / "seg.csv").write_text("segment,revenue\nx,1\n")
    (tmp_path / "s.yaml").write_text("name: t\ninvestment: 10\nhorizon: 2\ndiscount_rate: 0\nsegments_csv: seg.csv\n")
    with pytest.raises(VetoflowError, match=r"columns must be .*missing: base_revenue, margin, name"):
        load_scenario(tmp_path / "s.yaml")
    (tmp_path / "seg.csv").write_text("name,base_revenue,margin\nx,lots,0.2\n")
    with pytest.raises(VetoflowError, match="line 2, column base_revenue: 'lots' is not a number"):
        load_scenario(tmp_path / "s.yaml")


def test_history_csv_cannot_escape_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    (tmp_path / "secret.csv").write_text("revenue\n1\n2\n3\n4\n")
    scenario = tmp_path / "inner" / "s.yaml"
    scenario.write_text(
        "name: t\ninvestment: 10\nhorizon: 2\ndiscount_rate: 0\nsegments:\n"
        "  - {name: a, base_revenue: 1, margin: 0.1, history_csv: ../secret.csv}\n"
    )
    with pytest.raises(VetoflowError, match=r"segments\[0\]\.history_csv: '../secret.csv' must be a path inside"):
        load_scenario(scenario)


def test_history_is_loaded_into_the_scenario(examples: Path) -> None:
    scenario = load_scenario(examples / "with_history.yaml")
    assert scenario.segments[0].history is not None
    assert len(scenario.segments[0].history) == 16


def test_overrides_apply_and_are_validated() -> None:
    scenario = validate_scenario(base())
    revised = apply_overrides(scenario, {"investment": 500, "segments.a.growth_mean": 0.2})
    assert revised.investment == 500
    assert revised.segments[0].growth_mean == 0.2
    assert scenario.investment == 1000  # the original is untouched
    with pytest.raises(VetoflowError, match="no segment named 'b'"):
        apply_overrides(scenario, {"segments.b.margin": 0.1})
    with pytest.raises(VetoflowError, match="name: cannot be revised"):
        apply_overrides(scenario, {"name": "other"})
    with pytest.raises(VetoflowError, match="investment: Input should be greater than or equal to 1"):
        apply_overrides(scenario, {"investment": -1})


def test_a_segment_whose_name_has_dots_can_be_revised() -> None:
    data = base()
    data["segments"][0]["name"] = "emea.north"
    revised = apply_overrides(validate_scenario(data), {"segments.emea.north.margin": 0.3})
    assert revised.segments[0].margin == 0.3
    with pytest.raises(VetoflowError, match="no segment named 'emea'"):
        apply_overrides(validate_scenario(data), {"segments.emea.north": 0.3})  # no field named: the last part is


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"currency": "usd"}, "currency: 'usd' must be three capital letters"),
        ({"currency": "12$"}, "currency: '12\\$' must be three capital letters"),
        ({"currency": "€€€"}, "an ISO 4217 code"),
        ({"name": "plan\x00b"}, "name: must not contain NUL characters"),
        ({"segments": [{"name": "a\x00b", "base_revenue": 100, "margin": 0.2}]}, r"segments\[0\]\.name: must not"),
    ],
)
def test_a_new_run_needs_a_currency_code_and_names_without_nul_and_leaves_nothing_when_refused(
    service: RunService, change: dict[str, Any], message: str
) -> None:
    scenario = validate_scenario(base() | change)  # the model still reads such values: earlier runs hold them
    with pytest.raises(VetoflowError, match=message):
        service.start(scenario)
    assert service.list() == []
