"""Strict types at every input edge (issue 12, defect 10): nothing is coerced, repeated keys are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.api_support import ApiEnv, api, client, scenario
from tests.conftest import EXAMPLES
from tests.test_cli import as_json, vetoflow
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.inputs import load_yaml, parse_assignments
from vetoflow.scenario import apply_overrides, load_scenario, parse_history_csv, parse_segments_csv

__all__ = ["api"]

PLAN = (EXAMPLES / "vetoed.yaml").read_text()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("field", "written", "message"),
    [
        ("investment", "true", "investment: Input should be a valid number (got true: true/false is not a number)"),
        ("investment", "yes", "investment: Input should be a valid number (got the text 'yes'"),
        ("horizon", "0x10", "horizon: Input should be a valid integer (got the text '0x10'"),
        ("horizon", "2:30:00", "horizon: Input should be a valid integer (got the text '2:30:00'"),
        ("horizon", "12.0", "horizon: Input should be a valid integer (got 12.0: a whole number is needed)"),
        ("name", "2031", "name: Input should be a valid string (got 2031)"),
    ],
)
def test_yaml_scenarios_are_not_coerced(tmp_path: Path, field: str, written: str, message: str) -> None:
    lines = [f"{field}: {written}" if line.startswith(f"{field}:") else line for line in PLAN.splitlines()]
    with pytest.raises(VetoflowError) as refused:
        load_scenario(_write(tmp_path, "plan.yaml", "\n".join(lines)))
    assert message in str(refused.value)


def test_json_true_is_not_one(tmp_path: Path) -> None:
    data = json.loads(json.dumps(load_scenario(EXAMPLES / "vetoed.yaml").model_dump(mode="json")))
    data["segments"][0]["margin"] = True
    with pytest.raises(VetoflowError, match=r"segments\[0\]\.margin: Input should be a valid number \(got true"):
        load_scenario(_write(tmp_path, "plan.json", json.dumps(data)))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("plan.yaml", PLAN + "\ninvestment: 1\n"),
        ("plan.json", '{"name": "a", "name": "b"}'),
        ("plan.yaml", "name: a\nsegments:\n  - {name: A, margin: 0.1, margin: 0.9, base_revenue: 1}\n"),
    ],
)
def test_repeated_keys_in_a_document_are_refused(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(VetoflowError, match=r"appears twice.*give each field once"):
        load_scenario(_write(tmp_path, name, text))


def test_yaml_1_1_coercions_stay_text() -> None:
    loaded = load_yaml("a: yes\nb: 0x10\nc: 2:30:00\nd: 010\ne: on\nf: 2025-01-01\ng: 1.5e3\nh: true")
    assert loaded == {
        "a": "yes",
        "b": "0x10",
        "c": "2:30:00",
        "d": 10,
        "e": "on",
        "f": "2025-01-01",
        "g": 1500.0,
        "h": 1,
    }
    assert loaded["h"] is True  # YAML 1.2's own booleans are kept, and refused by the number fields


def test_repeated_csv_columns_are_refused() -> None:
    with pytest.raises(VetoflowError, match=r"segments\.csv: column margin appears more than once"):
        parse_segments_csv("name,base_revenue,margin,margin\nA,1,0.1,0.9\n", "segments.csv")
    with pytest.raises(VetoflowError, match=r"h\.csv: column revenue appears more than once"):
        parse_history_csv("revenue,revenue\n1,2\n3,4\n5,6\n7,8\n", "h.csv")


@pytest.mark.parametrize("value", ["yes", "true", "0x10", "2:30:00", "1_000", "nan", "inf", "1e999", "", "12abc"])
def test_set_values_must_be_plain_numbers(value: str) -> None:
    with pytest.raises(VetoflowError) as refused:
        parse_assignments([f"investment={value}"])
    assert str(refused.value) == (
        f"--set investment: {value!r} is not a number; allowed: a decimal number such as 800000, 0.2 or 1.5e6"
    )


def test_set_keeps_numbers_and_refuses_a_key_given_twice() -> None:
    assert parse_assignments(["investment=900000", "discount_rate=0.05", "horizon=+10", "paths=2e3"]) == {
        "investment": 900000,
        "discount_rate": 0.05,
        "horizon": 10,
        "paths": 2000.0,
    }
    with pytest.raises(VetoflowError, match="--set investment: given twice"):
        parse_assignments(["investment=1", "investment=2"])
    with pytest.raises(VetoflowError, match=r"horizon: Input should be a valid integer \(got 2000.0"):
        apply_overrides(load_scenario(EXAMPLES / "vetoed.yaml"), {"horizon": 2e3})


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_revise_with_yes_is_refused_and_the_run_stays_paused(settings: Settings) -> None:
    started = vetoflow(settings, "run", EXAMPLES / "vetoed.yaml", "--json")
    run_id = as_json(started)["run"]["run_id"]
    refused = vetoflow(settings, "revise", run_id, "--set", "investment=yes", "--reviewer", "ana")
    assert refused.returncode == 1
    assert "Error: --set investment: 'yes' is not a number" in refused.stderr
    hex_horizon = vetoflow(settings, "replay", run_id, "--set", "horizon=0x10")
    assert hex_horizon.returncode == 1
    assert "Error: --set horizon: '0x10' is not a number" in hex_horizon.stderr
    shown = as_json(vetoflow(settings, "show", run_id, "--json"))
    assert shown["run"]["status"] == "paused"
    assert shown["decisions"] == []


def test_api_refuses_booleans_and_text_for_numbers(api: ApiEnv) -> None:
    with client(api.url) as http:
        flag = http.post("/runs", json={"scenario": {**scenario("flag"), "investment": True}})
        assert flag.status_code == 422
        assert "body.scenario.investment: Input should be a valid number (got true" in flag.json()["error"]
        paused = http.post("/runs", json={"scenario": scenario("p", vetoed=True)}).json()["run"]["run_id"]
        for value in (True, "yes", 12.5):
            key = "horizon" if value == 12.5 else "investment"
            bad = http.post(f"/runs/{paused}/decision", json={"action": "revise", "overrides": {key: value}})
            assert bad.status_code == 422, bad.text
            assert f"{key}: Input should be a valid" in bad.json()["error"]
    assert [r.status for r in api.service.list()] == ["paused"]
    assert api.service.view(paused).decisions == []


HUGE = "9" * 5001  # Python's int() refuses over 4,300 digits with a ValueError


def _plan_with(line: str) -> str:
    key = line.split(":", 1)[0]
    return "\n".join(line if old.startswith(f"{key}:") else old for old in PLAN.splitlines())


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('horizon: !!int "1_0"', "horizon (line 4): '1_0' is not a whole number written in plain decimal digits"),
        ('investment: !!float "1_000_000"', "investment (line 3): '1_000_000' is not a number written in plain"),
        ('investment: !!int "0x10"', "investment (line 3): '0x10' is not a whole number written in plain decimal"),
        ('investment: !!float "١٢٣"', "investment (line 3): '١٢٣' is not a number written in plain decimal digits"),
        (f"investment: {HUGE}", "investment (line 3): a number of 5,001 digits; numbers have at most 100 digits"),
    ],
)
def test_yaml_numbers_are_plain_ascii_decimals_even_when_tagged(tmp_path: Path, written: str, message: str) -> None:
    with pytest.raises(VetoflowError) as refused:
        load_scenario(_write(tmp_path, "plan.yaml", _plan_with(written)))
    assert str(refused.value).startswith(f"{tmp_path / 'plan.yaml'}: {message}")
    assert len(str(refused.value).splitlines()) == 1


def test_a_json_number_too_long_to_read_is_refused_by_field(tmp_path: Path) -> None:
    text = load_scenario(EXAMPLES / "vetoed.yaml").model_dump_json(indent=1)
    huge = re.sub(r'"base_revenue": [0-9.]+', f'"base_revenue": -{HUGE}', text, count=1)
    with pytest.raises(VetoflowError) as refused:
        load_scenario(_write(tmp_path, "plan.json", huge))
    line = huge[: huge.index(HUGE)].count("\n") + 1
    too_long = "a number of 5,001 digits; numbers have at most 100 digits"
    assert str(refused.value) == f"{tmp_path / 'plan.json'}: base_revenue (line {line}): {too_long}"


@pytest.mark.parametrize("cell", ["1_000", "١٢٣", "0x10", "1,000", "１２"])
def test_csv_numbers_are_plain_ascii_decimals(cell: str) -> None:
    with pytest.raises(VetoflowError) as refused:
        parse_segments_csv(f'name,base_revenue,margin\nKiosks,"{cell}",0.2\n', "segments.csv")
    assert str(refused.value) == (
        f"segments.csv line 2, column base_revenue: {cell!r} is not a number written in plain decimal digits; "
        "allowed: a decimal number such as 800000, 0.2 or 1.5e6"
    )
    assert parse_segments_csv("name,base_revenue,margin\nKiosks,1.5e3,-.2\n")[0] | {} == {
        "name": "Kiosks",
        "base_revenue": 1500.0,
        "margin": -0.2,
    }


@pytest.mark.slow  # a whole `vetoflow` process
def test_cli_refuses_a_hex_investment_in_one_line(settings: Settings, tmp_path: Path) -> None:
    refused = vetoflow(settings, "run", _write(tmp_path, "plan.yaml", _plan_with('investment: !!int "0x10"')))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'plan.yaml'}: investment (line 3): '0x10' is not a whole number written in plain "
        "decimal digits; allowed: digits 0-9 only, such as 12 or 5000"
    ]


def test_api_upload_refuses_a_number_too_long_to_read(api: ApiEnv) -> None:
    plan = _plan_with(f"horizon: {HUGE}").encode()
    with client(api.url) as http:
        refused = http.post("/runs/upload", files=[("scenario", ("plan.yaml", plan))])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"].endswith(
        "horizon (line 4): a number of 5,001 digits; numbers have at most 100 digits"
    )
    assert api.service.list() == []
