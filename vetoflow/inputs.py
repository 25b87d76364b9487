"""Strict readers for what users type or upload: no silent coercion, no last-one-wins.

JSON and YAML documents refuse repeated keys. YAML is read with the YAML 1.2 core schema's plain scalars
(`true`/`false`, decimal and `0o`/`0x`-free numbers): YAML 1.1's `yes`/`on`, sexagesimal `2:30:00`, `0x10`
and `010` stay strings, which the typed models then refuse by name. `--set KEY=VALUE` values must be
plain decimal numbers, since every revisable field is one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from vetoflow.errors import UsageError, VetoflowError

INTEGER = re.compile(r"[-+]?[0-9]+")
DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
NUMBER_HINT = "a decimal number such as 800000, 0.2 or 1.5e6"


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core plain scalars and no repeated keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise VetoflowError(f"key {key!r} appears twice (line {mark.line + 1}); give each field once")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _StrictYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(str(loader.construct_scalar(node)), 10)  # "010" is ten, not YAML 1.1's octal eight


_StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise VetoflowError(f"key {key!r} appears twice in one object; give each field once")
        result[key] = value
    return result


def _finite_only(value: str) -> float:
    raise VetoflowError(f"{value} is not a finite number; NaN and infinities are refused")


def load_json(text: str) -> Any:
    """JSON with repeated keys and NaN/Infinity refused."""
    return json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_finite_only)


def load_yaml(text: str) -> Any:
    """YAML with repeated keys refused and YAML 1.1's implicit coercions off."""
    return yaml.load(text, Loader=_StrictYamlLoader)


def parse_number(key: str, raw: str) -> int | float:
    """One `--set` value: an integer or a decimal number, written plainly; anything else is refused."""
    text = raw.strip()
    if INTEGER.fullmatch(text):
        return int(text)
    if DECIMAL.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    raise VetoflowError(f"--set {key}: {raw!r} is not a number; allowed: {NUMBER_HINT}")


def parse_assignments(assignments: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs into overrides; a key given twice is refused rather than last-one-wins."""
    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set: {item!r} is not KEY=VALUE (e.g. investment=800000)")
        if key in overrides:
            raise VetoflowError(f"--set {key}: given twice; give each field once")
        overrides[key] = parse_number(key, value)
    return overrides


def check_columns(columns: list[str], source: str) -> None:
    """A CSV header naming one column twice is ambiguous: refuse it rather than keep the last."""
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise VetoflowError(f"{source}: column {', '.join(repeated)} appears more than once; give each column once")
