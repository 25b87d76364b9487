"""Strict readers for what users type or upload: no silent coercion, no last-one-wins.

JSON and YAML documents refuse repeated keys, keys that are not text (YAML's `? [a, b]`) and nesting
deeper than `MAX_DEPTH` (checked without recursion: 100,000 `[` are one clear error, not a crash). YAML
is read with the YAML 1.2 core schema's plain scalars (`true`/`false`, decimal and `0o`/`0x`-free
numbers): YAML 1.1's `yes`/`on`, sexagesimal `2:30:00`, `0x10` and `010` stay strings, which the typed
models then refuse by name. Numbers are plain ASCII decimal forms, tagged ones too (`!!int "1_0"`,
`!!int "0x10"` are refused by field and line: Python's int() and float() take `_` and other scripts'
digits, or raise), of at most `MAX_DIGITS` digits (int() raises over 4,300). `--set KEY=VALUE` values must
be plain decimal numbers, since every revisable field is one, and name a revisable field.
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
WHOLE_HINT = "digits 0-9 only, such as 12 or 5000"
NON_FINITE = ("nan", "inf", "infinity")
MAX_DIGITS = 100  # no vetoflow number comes near; far below what int() refuses
YAML_INT, YAML_FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
YAML_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")  # read, then refused as not finite
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
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise VetoflowError(f"a key on line {line} is a list or mapping; keys are field names (text)")
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise VetoflowError(f"key {key!r} on line {line} is not text; quote it or use a field name")
            if key in seen:
                raise VetoflowError(f"key {key!r} appears twice (line {line}); give each field once")
            seen.add(key)
            items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for item in items:  # numbers are checked here, where their field is known
                if isinstance(item, yaml.ScalarNode):
                    _plain_number(item, f"{key} (line {item.start_mark.line + 1})")
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.yaml_implicit_resolvers = {}
NULL_SCALAR = ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])

for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    NULL_SCALAR,
):
    _StrictYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _TextYamlLoader(_StrictYamlLoader):
    """The strict loader with every plain scalar read as the text written (an empty one as null): for files
    holding only text, such as the users file, whose token id `4e512345` must not become a float."""


_TextYamlLoader.yaml_implicit_resolvers = {}
_TextYamlLoader.add_implicit_resolver(NULL_SCALAR[0], re.compile(NULL_SCALAR[1]), list(NULL_SCALAR[2]))


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


def number_problem(text: str, *, whole: bool) -> str | None:
    """Why `text` is not a plain ASCII decimal number (a whole one when `whole`), or None."""
    if not (INTEGER if whole else DECIMAL).fullmatch(text):
        kind, hint = ("whole number", WHOLE_HINT) if whole else ("number", NUMBER_HINT)
        return f"{text[:40]!r} is not a {kind} written in plain decimal digits; allowed: {hint}"
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_DIGITS:
        return f"a number of {digits:,} digits; numbers have at most {MAX_DIGITS} digits"
    return None


def decimal_float(text: str, where: str) -> float:
    """A number read as text (a CSV cell, a table cell): plain decimal and finite, else refused by `where`."""
    if text.lower().lstrip("+-") in NON_FINITE:
        raise VetoflowError(f"{where}: {text!r} must be a finite number")
    if problem := number_problem(text, whole=False):
        raise VetoflowError(f"{where}: {problem}")
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise VetoflowError(f"{where}: {text!r} must be a finite number")
    return number


def _plain_number(node: yaml.ScalarNode, where: str) -> None:
    """Refuses an int- or float-tagged scalar that is not a plain decimal number (the special floats pass)."""
    text = str(node.value)
    if node.tag == YAML_FLOAT and YAML_SPECIAL_FLOAT.fullmatch(text):
        return
    if node.tag in (YAML_INT, YAML_FLOAT) and (problem := number_problem(text, whole=node.tag == YAML_INT)):
        raise VetoflowError(f"{where}: {problem}")


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    _plain_number(node, f"line {node.start_mark.line + 1}")
    return int(str(loader.construct_scalar(node)), 10)  # "010" is ten, not YAML 1.1's octal eight


def _decimal_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    _plain_number(node, f"line {node.start_mark.line + 1}")
    return loader.construct_yaml_float(node)


_StrictYamlLoader.add_constructor(YAML_INT, _decimal_int)
_StrictYamlLoader.add_constructor(YAML_FLOAT, _decimal_float)


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


_JSON_TOKENS = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|-?[0-9]+', re.DOTALL)  # strings (keys), digit runs


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise OverflowError(text)  # the caller names the field
    return int(text)


def _long_number_field(text: str) -> str:
    """Where the first over-long number of a JSON document is: its key and line."""
    key = "a value"
    for match in _JSON_TOKENS.finditer(text):
        if match.group(2):
            key = match.group(1)
        elif match.group(1) is None and len(match.group().lstrip("-")) > MAX_DIGITS:
            return f"{key} (line {text.count(chr(10), 0, match.start()) + 1})"
    return key


def load_json(text: str) -> Any:
    """JSON with repeated keys, NaN/Infinity, numbers over `MAX_DIGITS` digits and deep nesting refused."""
    if json_depth(text) > MAX_DEPTH:
        raise too_deep()
    try:
        return json.loads(text, object_pairs_hook=no_repeats, parse_constant=_finite_only, parse_int=_json_int)
    except OverflowError as exc:
        problem = number_problem(str(exc), whole=True)
        raise VetoflowError(f"{_long_number_field(text)}: {problem}") from None


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
