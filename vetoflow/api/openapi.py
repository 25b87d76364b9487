"""The published schema says what the API really sends: a figure that overflowed comes back as null.

`SafeJSONResponse` turns NaN and Infinity into null (JSON has neither), so every number in a response
model may be null; the schema marks them so, or a strict client (and schemathesis) would reject a
correct response for a run whose figures could not be computed.

Requests are another matter: the server refuses null (and NaN) in a scenario, so a schema used by both
sides (a scenario's `Segment` is in the run body and in every run returned) is copied: responses point
at `Segment-Output`, nullable, and requests keep `Segment` exactly as the model validates it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

REF = "#/components/schemas/"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(REF)} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def _nullable_numbers(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_numbers(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "number":
        rest = {key: value for key, value in node.items() if key not in ("type", "minimum", "maximum")}
        number = {key: value for key, value in node.items() if key in ("type", "minimum", "maximum")}
        return {**rest, "anyOf": [number, {"type": "null"}]}
    return {key: _nullable_numbers(value) for key, value in node.items()}


def _reachable(spec: dict[str, Any], roots: Any) -> set[str]:
    components = spec.get("components", {}).get("schemas", {})
    todo, seen = _refs(roots), set[str]()
    while todo:
        name = todo.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        todo |= _refs(components[name])
    return seen


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in spec.get("paths", {}).values() for op in path.values()]


def response_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas a response can contain (transitively)."""
    return _reachable(spec, [op.get("responses", {}) for op in _operations(spec)])


def request_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas a request (parameters, body) can contain (transitively)."""
    return _reachable(spec, [{k: v for k, v in op.items() if k != "responses"} for op in _operations(spec)])


def _retarget(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_retarget(item, renamed) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.removeprefix(REF) in renamed:
        return {**node, "$ref": REF + renamed[ref.removeprefix(REF)]}
    return {key: _retarget(value, renamed) for key, value in node.items()}


def split_shared_schemas(spec: dict[str, Any]) -> None:
    """Give responses their own copy (`<name>-Output`) of each schema requests use too, so marking
    response numbers nullable leaves the request schema as the server validates it."""
    components = spec.get("components", {}).get("schemas", {})
    outputs = response_schemas(spec)
    renamed = {name: f"{name}-Output" for name in sorted(outputs & request_schemas(spec))}
    clash = set(renamed.values()) & set(components)
    if clash:
        raise RuntimeError(f"OpenAPI: cannot copy shared schemas, names taken: {', '.join(sorted(clash))}")
    for name in outputs:
        components[renamed.get(name, name)] = _retarget(components[name], renamed)
    for op in _operations(spec):
        if "responses" in op:
            op["responses"] = _retarget(op["responses"], renamed)


def with_nullable_figures(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """An `app.openapi` replacement: FastAPI's schema, numbers in response models (only) marked nullable."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            split_shared_schemas(spec)
            components = spec.get("components", {}).get("schemas", {})
            for name in response_schemas(spec):
                components[name] = _nullable_numbers(components[name])
            app.openapi_schema = spec
        return app.openapi_schema

    return openapi
