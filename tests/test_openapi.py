"""The published schema matches what SafeJSONResponse sends (overflowed figures arrive as null) and what a
request may carry (null is refused there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.openapi.utils import get_openapi
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.api_support import TOKENS
from vetoflow.api import create_app
from vetoflow.api.openapi import request_schemas, response_schemas
from vetoflow.api.schemas import finite
from vetoflow.config import Settings


def numbers(node: Any, path: str = "") -> list[tuple[str, dict[str, Any], Any]]:
    """Every `{"type": "number"}` with its path and the node that holds it."""
    found: list[tuple[str, dict[str, Any], Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and value.get("type") == "number":
                found.append((f"{path}/{key}", value, node))
            found += numbers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, dict) and item.get("type") == "number":
                found.append((f"{path}/{index}", item, node))
            found += numbers(item, f"{path}/{index}")
    return found


def test_every_number_a_response_can_carry_may_be_null(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, api_tokens=SecretStr(TOKENS)))
    spec = TestClient(app).get("/openapi.json").json()
    components = spec["components"]["schemas"]
    in_responses = response_schemas(spec)
    assert {"RunOut", "Financials", "Outcomes"} <= in_responses
    for name in in_responses:
        for where, _, holder in numbers(components[name], name):
            assert isinstance(holder, list), f"{where} cannot be null"
            assert {"type": "null"} in holder, f"{where} cannot be null"


def test_request_schemas_are_the_models_own_so_scenario_numbers_cannot_be_null(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, api_tokens=SecretStr(TOKENS)))
    spec = TestClient(app).get("/openapi.json").json()
    components = spec["components"]["schemas"]
    unchanged = get_openapi(title=app.title, version=app.version, routes=app.routes)["components"]["schemas"]
    in_requests = request_schemas(spec)
    assert {"CreateRunIn", "Scenario-Input", "Segment"} <= in_requests
    assert not in_requests & response_schemas(spec)
    for name in in_requests:
        assert components[name] == unchanged[name], f"{name} differs from what the server validates"
    segments = components["Scenario-Input"]["properties"]["segments"]["items"]["$ref"]
    assert segments == "#/components/schemas/Segment"
    for field in ("base_revenue", "growth_mean", "volatility", "margin"):
        assert components["Segment"]["properties"][field]["type"] == "number", field
    history = components["Segment"]["properties"]["history"]["anyOf"]
    assert {"type": "null"} in history  # no history at all is allowed, a null value inside it is not
    assert next(branch for branch in history if branch.get("type") == "array")["items"]["type"] == "number"
    returned = components["Scenario-Output"]["properties"]["segments"]["items"]["$ref"]
    assert returned == "#/components/schemas/Segment-Output"
    assert {"type": "null"} in components["Segment-Output"]["properties"]["margin"]["anyOf"]


def test_non_finite_figures_are_sent_as_null() -> None:
    assert finite({"roi": float("inf"), "bands": [1.0, float("nan")], "n": 3}) == {
        "roi": None,
        "bands": [1.0, None],
        "n": 3,
    }
