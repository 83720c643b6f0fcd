"""The values an answer writes, before anything is known of what they measure.

A range ("0.80-0.92", "80 to 92%"), a ratio ("9 in 10", "286/303", "9 times out of 10"), a
percentage, a fraction, or a plain number ("10,011", "10k", "1.2 million"); each character is
read as part of one figure only, ranges first. Figures that are not claims about the run (a
date, a time, a version, a technique id, a bound of an interval just given) are left out here
or by the claim readers in :mod:`bluebench.drill.claims`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["INTERVAL_BEFORE", "Figure", "figures"]

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# "10k", "1.2 million": the writer rounded, so the number is read as approximate.
_MAGNITUDE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_SCALE = r"(?:\s*(k|m|mn|bn)\b|\s+(thousand|million|billion)\b)"
# A number that is not part of a word, date, time, version or technique id (T1110.003).
_NUMBER = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})(?:{_SCALE}|(?!\.\d|,\d|[\w:/\-]))(\s*(?:%|percent\b|per cent\b))?",
    re.IGNORECASE,
)
_RATIO = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})\s*(?:times\s+)?(?:/|\bout\s+of(?:\s+every)?\b|\bin\s+every\b|\bin\b|\bof\b)"
    rf"\s*(?:(?:the|its|their|our)\s+)?({_NUM})(?!\.\d|[\w:/\-]|,\d)",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})(\s*%)?\s*(?:-|–|—|to)\s*({_NUM})(\s*(?:%|percent\b))?(?!\.\d|[\w:/\-]|,\d)",
    re.IGNORECASE,
)
# Numbers said in words, for rates said that way ("nine in ten") and "a dozen"; a number word alone
# ("one detector") is too common in speech to read as a count.
_ONE_TO_TWENTY = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {w: i for i, w in enumerate(_ONE_TO_TWENTY.split())} | {
    "a": 1,
    "half": 1,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "a hundred": 100,
    "a thousand": 1000,
    "ten thousand": 10_000,
}
_WORDS = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_WORD_RATIO = re.compile(
    rf"(?<![\w.,/:\-])({_WORDS}|{_NUM})\s+(?:times\s+)?(?:out\s+of(?:\s+every)?|in(?:\s+every)?|of\s+every)\s+"
    rf"({_WORDS}|{_NUM})\b(?!\.\d|,\d)",
    re.IGNORECASE,
)
_SHARES = {
    "half": 1 / 2,
    "a third": 1 / 3,
    "one third": 1 / 3,
    "two thirds": 2 / 3,
    "a quarter": 1 / 4,
    "one quarter": 1 / 4,
    "three quarters": 3 / 4,
    "a fifth": 1 / 5,
    "four fifths": 4 / 5,
    "a tenth": 1 / 10,
    "nine tenths": 9 / 10,
}
_SHARE = re.compile(
    r"\b(" + "|".join(w.replace(" ", r"\s+") for w in sorted(_SHARES, key=len, reverse=True)) + r")\s+of\b",
    re.IGNORECASE,
)
_DOZEN = re.compile(r"\b(a|two|three|four|five|six)\s+dozen\b", re.IGNORECASE)
# "(95% interval 0.71-0.90)", "CI 0.7 to 0.9", "[0.71-0.90]": the range qualifies the figure before it.
INTERVAL_BEFORE = re.compile(
    r"(?:interval|\bci\b|confidence|credible|between|\[|±|\+/-)[^.;\d]{0,24}$", re.IGNORECASE
)


@dataclass(frozen=True)
class Figure:
    """A value as the answer writes it: its span, and low..high (equal unless a range)."""

    start: int
    end: int
    low: float
    high: float
    tolerance: float  # half the last digit written
    rate: bool  # on a 0..1 scale (a percentage, fraction, ratio or range); else a plain number
    form: str = "number"  # range | ratio | percent | fraction | number
    rounded: bool = False  # written with a magnitude ("10k"): approximate by the writer's own words


def figures(text: str) -> list[Figure]:
    """Ranges first, then ratios, then numbers; characters read as one figure are not read again."""
    used = [False] * (len(text) + 1)
    out: list[Figure] = []
    for read in (_ranges, _ratios, _word_ratios, _shares, _dozens, _numbers):
        out.extend(read(text, used))  # each reader marks what it reads in ``used``
    return sorted(out, key=lambda f: f.start)


def _take(used: list[bool], a: int, b: int) -> None:
    for i in range(a, b):
        used[i] = True


def _ranges(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "0.80-0.92", "80 to 92%": a claim that the rate lies in the range."""
    for m in _RANGE.finditer(text):
        a, b = m.span()
        pct = bool(m.group(2) or m.group(4))
        x, y = _num(m.group(1)), _num(m.group(3))
        if pct:
            x, y = x / 100, y / 100
        if not (0 <= x <= 1 and 0 <= y <= 1) or x > y:
            continue
        _take(used, a, b)
        if INTERVAL_BEFORE.search(text[max(0, a - 40) : a]):
            continue  # the interval of a figure just given, which is judged on its own
        if re.search(r"\bfrom\s+$", text[max(0, a - 8) : a], re.IGNORECASE):
            x = y  # "went from 0.6 to 0.9": the claim about the run is the level it reached
        yield Figure(a, b, x, y, _tolerance([m.group(1), m.group(3)], pct), True, "range")


def _ratios(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "9 in 10", "286/303", "9 times out of 10": a rate written as k of n."""
    for m in _RATIO.finditer(text):
        a, b = m.span()
        if any(used[a:b]):
            continue
        k, n = _num(m.group(1)), _num(m.group(2))
        if n <= 0 or k > n:
            continue
        _take(used, a, b)
        yield Figure(a, b, k / n, k / n, min(0.005, 0.5 / n), True, "ratio")  # "1 in 10,000" is exact


def _word_ratios(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "nine in ten", "one out of every fifty", "19 in every twenty": a rate in words."""
    for m in _WORD_RATIO.finditer(text):
        a, b = m.span()
        if any(used[a:b]):
            continue
        k, n = _value(m.group(1)), _value(m.group(2))
        if n <= 0 or k > n:
            continue
        _take(used, a, b)
        yield Figure(a, b, k / n, k / n, min(0.005, 0.5 / n), True, "ratio")  # "1 in 10,000" is exact


def _shares(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "three quarters of our alerts", "half of the attacks": a rate in words."""
    for m in _SHARE.finditer(text):
        a, b = m.start(1), m.end(1)
        if not any(used[a:b]):
            _take(used, a, b)
            x = _SHARES[" ".join(m.group(1).lower().split())]
            yield Figure(a, b, x, x, 0.05, True, "ratio")


def _dozens(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "a dozen incidents": a count the writer rounded."""
    for m in _DOZEN.finditer(text):
        a, b = m.span()
        if not any(used[a:b]):
            _take(used, a, b)
            n = 12 * _NUMBER_WORDS.get(m.group(1).lower(), 1)
            yield Figure(a, b, n, n, 0.0, False, "number", rounded=True)


def _value(word: str) -> float:
    return float(_NUMBER_WORDS[word.lower()]) if word.lower() in _NUMBER_WORDS else _num(word)


def _numbers(text: str, used: list[bool]) -> Iterator[Figure]:
    """A percentage (up to 100) or a fraction is a rate; any other number is plain."""
    for m in _NUMBER.finditer(text):
        a, b = m.span()
        if any(used[a:b]):
            continue
        _take(used, a, b)
        raw, pct = m.group(1), bool(m.group(4))
        scale = m.group(2) or m.group(3)
        x = _num(raw)
        if scale:
            x *= _MAGNITUDE[scale.lower()]
            yield Figure(a, b, x, x, 0.0, False, "number", rounded=True)
        elif pct:
            if x <= 100:
                yield Figure(a, b, x / 100, x / 100, _tolerance([raw], True), True, "percent")
        elif "." in raw and 0 <= x <= 1:
            yield Figure(a, b, x, x, _tolerance([raw], False), True, "fraction")
        else:
            yield Figure(a, b, x, x, 0.0, False)


def _tolerance(texts: Iterable[str], percent: bool) -> float:
    """Half the last digit the claim was written with: '94%' allows 0.5 points, '0.9' 0.05."""
    d = max(_decimals(t) for t in texts)
    step = 10.0**-d
    return (step / 100 if percent else step) / 2


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _decimals(s: str) -> int:
    return len(s.split(".", 1)[1]) if "." in s else 0
