"""Strict readers for what users type or upload: no silent coercion, no last-one-wins.

JSON and YAML documents refuse repeated keys, keys that are not text (YAML's `? [a, b]`) and nesting
deeper than `MAX_DEPTH` (checked without recursion: 100,000 `[` are one clear error, not a crash). YAML
is read with the YAML 1.2 core schema's plain scalars (`true`/`false`, decimal and `0o`/`0x`-free
numbers): YAML 1.1's `yes`/`on`, sexagesimal `2:30:00`, `0x10` and `010` stay strings, which the typed
models then refuse by name. `--set KEY=VALUE` values must be plain decimal numbers, since every
revisable field is one, and name a revisable field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import yaml

from vetoflow.errors import UsageError, VetoflowError

INTEGER = re.compile(r"[-+]?[0-9]+")
DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
NUMBER_HINT = "a decimal number such as 800000, 0.2 or 1.5e6"
MAX_DEPTH = 32  # as the HTTP API's request guard: no vetoflow document nests half as deep
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)  # strings skipped whole, then brackets


def too_deep(where: str = "") -> VetoflowError:
    return VetoflowError(f"nested deeper than {MAX_DEPTH} levels{where}; vetoflow documents are flat")


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core plain scalars, text keys only, no repeated keys and bounded nesting."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """PyYAML composes recursively: refuse a deep document before Python's recursion limit does."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise too_deep(f" (line {event.start_mark.line + 1})")
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise VetoflowError(f"a key on line {line} is a list or mapping; keys are field names (text)")
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise VetoflowError(f"key {key!r} on line {line} is not text; quote it or use a field name")
            if key in seen:
                raise VetoflowError(f"key {key!r} appears twice (line {line}); give each field once")
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


class _TextYamlLoader(_StrictYamlLoader):
    """The strict loader with every plain scalar read as the text written (an empty one as null): for files
    holding only text, such as the users file, whose token id `4e512345` must not become a float."""


_TextYamlLoader.yaml_implicit_resolvers = {}
_TextYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class _QuotingDumper(yaml.SafeDumper):
    """SafeDumper that also quotes what `load_yaml` would read as a number or boolean (YAML 1.2's plain
    scalars: `4e512345` is a float there, while YAML 1.1, which SafeDumper follows, leaves it unquoted)."""


for _tag, _regexp in (
    (tag, regexp) for resolvers in _StrictYamlLoader.yaml_implicit_resolvers.values() for tag, regexp in resolvers
):
    _QuotingDumper.add_implicit_resolver(_tag, _regexp, None)


def dump_yaml(data: Any) -> str:
    """YAML that `load_yaml` reads back exactly as written (keys in the order given)."""
    return yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


def load_yaml_text(text: str) -> Any:
    """`load_yaml` for documents of text only: no scalar is turned into a number or boolean."""
    return yaml.load(text, Loader=_TextYamlLoader)


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(str(loader.construct_scalar(node)), 10)  # "010" is ten, not YAML 1.1's octal eight


_StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: a key repeated in one object is refused, not last-one-wins."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise VetoflowError(f"key {key!r} appears twice in one object; give each field once")
        result[key] = value
    return result


def _finite_only(value: str) -> float:
    raise VetoflowError(f"{value} is not a finite number; NaN and infinities are refused")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays/objects outside strings, found without recursion."""
    depth = deepest = 0
    for match in _JSON_NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def load_json(text: str) -> Any:
    """JSON with repeated keys, NaN/Infinity and deep nesting refused."""
    if json_depth(text) > MAX_DEPTH:
        raise too_deep()
    return json.loads(text, object_pairs_hook=no_repeats, parse_constant=_finite_only)


def load_yaml(text: str) -> Any:
    """YAML with repeated or non-text keys and deep nesting refused, and YAML 1.1's implicit coercions off."""
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


def parse_assignments(
    assignments: tuple[str, ...] | list[str], check_key: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """`KEY=VALUE` pairs into overrides; a key given twice is refused rather than last-one-wins.

    `check_key` (the caller's list of revisable fields) sees each key before its value is parsed, so
    `--set name=foo` says that `name` cannot be revised rather than that `foo` is not a number.
    """
    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set: {item!r} is not KEY=VALUE (e.g. investment=800000)")
        if key in overrides:
            raise VetoflowError(f"--set {key}: given twice; give each field once")
        if check_key is not None:
            check_key(key)
        overrides[key] = parse_number(key, value)
    return overrides


def check_columns(columns: list[str], source: str) -> None:
    """A CSV header naming one column twice is ambiguous: refuse it rather than keep the last."""
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise VetoflowError(f"{source}: column {', '.join(repeated)} appears more than once; give each column once")
