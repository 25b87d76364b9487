"""The published schema says what the API really sends: a figure that overflowed comes back as null.

`SafeJSONResponse` turns NaN and Infinity into null (JSON has neither), so every number in a response
model may be null; the schema marks them so, or a strict client (and schemathesis) would reject a
correct response for a run whose figures could not be computed.
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


def response_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas a response can contain (transitively)."""
    components = spec.get("components", {}).get("schemas", {})
    responses = [op.get("responses", {}) for path in spec.get("paths", {}).values() for op in path.values()]
    todo, seen = _refs(responses), set[str]()
    while todo:
        name = todo.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        todo |= _refs(components[name])
    return seen


def with_nullable_figures(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """An `app.openapi` replacement: FastAPI's schema, numbers in response models marked nullable."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            components = spec.get("components", {}).get("schemas", {})
            for name in response_schemas(spec):
                components[name] = _nullable_numbers(components[name])
            app.openapi_schema = spec
        return app.openapi_schema

    return openapi
