"""Numbers as people write them: signs, separators, scientific notation, currencies, scales and words.

`read_numbers(line)` returns every number in a line with the value it states (signed) and the half step
of its written precision ("1.2M" is 1,150,000-1,250,000; "576,000" is rounded to thousands). Numbers
glued to letters (P50, Q3, v2) and citation markers ([1]) are labels, not figures. Small number words
standing alone ("one of the risks", "two segments") are prose; number words count with a scale or a
percent ("ninety percent", "twelve million") or from thirteen up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["ratio", "money", "plain"]
CURRENCY_SYMBOLS = "$€£¥"
CURRENCY_CODES = ("USD", "EUR", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "CAD", "AUD", "CNY", "INR")
_CODES = "|".join(CURRENCY_CODES)
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")

NUMERAL = re.compile(
    r"(?<![\w.\[])"
    rf"(?P<sign>[-−–])?(?P<cur>[{CURRENCY_SYMBOLS}]|(?:{_CODES})\s?)?(?P<sign2>[-−–])?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<exp>[+-]?\d{1,3})|\s?[x×*]\s?10(?:\^|\*\*)?(?P<exp2>[-+]?\d{1,3}|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]{1,4}))?"
    r"(?:\s?(?P<unit>%|percent\b|per\s?cent\b|pct\b|k\b|K\b|thousand\b|m\b|M\b|mn\b|MM\b|million\b|bn\b|B\b"
    r"|billion\b|x\b))?"
    rf"(?:\s?(?P<cur2>{_CODES})\b)?"
    r"(?![\w\]])"
)
SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mm": 1e6, "million": 1e6}
SCALES |= {"bn": 1e9, "b": 1e9, "billion": 1e9}
PERCENT = {"%", "percent", "per cent", "pct"}

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
ONES += " seventeen eighteen nineteen"
WORD_VALUES = {word: float(i) for i, word in enumerate(ONES.split())}
WORD_VALUES |= {
    w: float(10 * i)
    for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2)
}
WORD_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
WORD = re.compile(r"[A-Za-z]+")
_JOINERS = {"and", "-"}


@dataclass(frozen=True)
class Written:
    """One number as written: its span, the value it states, the half step of its precision."""

    text: str
    start: int
    end: int
    value: float
    tolerance: float
    kind: Kind
    signed: bool  # an explicit minus sign was written


def _half_step(digits: str, decimals: int) -> float:
    """Half the last written unit; whole numbers of 1000+ are taken as rounded to their last non-zero digit."""
    if decimals:
        return 0.5 * 10.0**-decimals
    plain = digits.replace(",", "").lstrip("0") or "0"
    zeros = len(plain) - len(plain.rstrip("0")) if len(plain) >= 4 else 0
    return 0.5 * 10.0**zeros


def _exponent(match: re.Match[str]) -> int:
    raw = match.group("exp") or match.group("exp2")
    return int(raw.translate(_SUPERSCRIPT)) if raw else 0


def _numeral(match: re.Match[str]) -> Written:
    raw = match.group("num")
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    value = float(raw.replace(",", ""))
    tolerance = (
        _half_step(raw, decimals) if not match.group("exp") and not match.group("exp2") else 0.5 * 10.0**-decimals
    )
    scale = 10.0 ** _exponent(match)
    unit = re.sub(r"\s+", " ", (match.group("unit") or "").lower())
    kind: Kind = "plain"
    if unit in PERCENT:
        scale, kind = scale / 100, "ratio"
    elif unit in SCALES:
        scale, kind = scale * SCALES[unit], "money"
    if match.group("cur") or match.group("cur2"):
        kind = "money" if kind != "ratio" else kind
    signed = bool(match.group("sign") or match.group("sign2"))
    sign = -1.0 if signed else 1.0
    text = match.group(0).strip()
    return Written(text, match.start(), match.end(), sign * value * scale, tolerance * scale, kind, signed)


def _words(line: str) -> list[Written]:
    """Runs of number words ("ninety-five percent", "twelve point five million", "one hundred and twenty")."""
    found: list[Written] = []
    tokens = [(m.group(0).lower(), m.start(), m.end()) for m in WORD.finditer(line)]
    i = 0
    while i < len(tokens):
        if tokens[i][0] not in WORD_VALUES and not (tokens[i][0] == "a" and _scale_follows(tokens, i + 1)):
            i += 1
            continue
        j, parsed = _parse_words(line, tokens, i)
        value, decimals, scale, strong = parsed
        start, end = tokens[i][1], tokens[j - 1][2]
        tolerance = 0.5 * 10.0 ** (-decimals) * scale if decimals else _half_step(str(round(value)), 0)
        kind: Kind = "money" if scale > 1 else "plain"
        percent = re.match(r"\s?(percent|per cent)\b", line[end:], re.IGNORECASE)
        if percent:
            value, tolerance, kind, end, strong = value / 100, tolerance / 100, "ratio", end + percent.end(), True
        if strong:
            negative = bool(re.search(r"(?:minus|negative)\s+$", line[:start], re.IGNORECASE))
            found.append(Written(line[start:end], start, end, -value if negative else value, tolerance, kind, negative))
        i = j
    return found


def _parse_words(line: str, tokens: list[tuple[str, int, int]], i: int) -> tuple[int, tuple[float, int, float, bool]]:
    """(index after the run, (value, decimals written, last scale word, counts as a figure))."""
    total, current, decimals, scale, strong, j = 0.0, 0.0, -1, 1.0, False, i
    while j < len(tokens):
        word = tokens[j][0]
        if j > i and line[tokens[j - 1][2] : tokens[j][1]].strip() not in ("", "-"):
            break
        following = tokens[j + 1][0] if j + 1 < len(tokens) else ""
        if word in WORD_VALUES and decimals < 0:
            current += WORD_VALUES[word]
            strong |= WORD_VALUES[word] >= 13
        elif word in WORD_VALUES and WORD_VALUES[word] < 10:
            decimals += 1
            current += WORD_VALUES[word] * 10.0**-decimals
        elif word == "a" and j == i:
            current = 1.0
        elif word == "point" and decimals < 0 and following in WORD_VALUES:
            decimals = 0
        elif word == "hundred" and decimals < 0:
            current, strong = max(current, 1.0) * 100, True
        elif word in WORD_SCALES:
            total, current, scale, strong = total + current * WORD_SCALES[word], 0.0, WORD_SCALES[word], True
        elif not (word == "and" and following in WORD_VALUES and j > i):
            break
        j += 1
    if tokens[j - 1][0] in ("and", "point"):
        j -= 1
    return j, (total + current, max(decimals, 0), scale, strong)


def _scale_follows(tokens: list[tuple[str, int, int]], index: int) -> bool:
    return index < len(tokens) and tokens[index][0] in WORD_SCALES


def read_numbers(line: str) -> list[Written]:
    """Every number written in `line`, in order of appearance."""
    numbers = [_numeral(m) for m in NUMERAL.finditer(line)]
    numbers += [w for w in _words(line) if not any(n.start < w.end and w.start < n.end for n in numbers)]
    return sorted((n for n in numbers if math.isfinite(n.value)), key=lambda n: n.start)
