"""The numbers in a written answer, each read as a claim about the run and compared with its facts.

A claim is read in four steps, each a function here:

* the *value* as written (:func:`_figures`): a range ("0.80-0.92", "80 to 92%"), a ratio
  ("9 in 10", "286/303"), a percentage or fraction, or a plain number; each character once;
* the *metric* it measures: the metric phrase nearest to it in its sentence (:func:`_nearest`),
  or for a plain number the noun after it ("66 alerts", "40 alerts a day");
* the *subject* it is about (:func:`_subject_facts`): the detector, technique or model the
  sentence names nearest to the figure, else the run's own figures;
* the *comparison* (:func:`_compare`): within the subject's measured interval is supported,
  beyond the most generous one an overclaim, short of it understated; a metric the run never
  measured is ``never_computed``. Changes ("up 30%") and levels (MTTD) are kept, not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bluebench.drill.lexicon import (
    CHANGE_AFTER,
    CHANGE_BEFORE,
    CONFIDENCE_AFTER,
    METRIC_PHRASES,
    compile_words,
)
from bluebench.drill.measured import HIGHER_IS_BETTER, Measured
from bluebench.drill.text import sentence_of

__all__ = ["Claim", "find_claims"]

# Metrics that can be read from another one the run measured: (measured metric, transform).
_DERIVED = {"fnr": "recall", "specificity": "fpr"}
# Times to detect and respond: levels a run of detectors never measures.
_LEVELS = ("mttd", "mttr")

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# A number that is not part of a word, date, time, version or technique id (T1110.003).
_NUMBER = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})(?!\.\d|,\d|[\w:/\-])(\s*(?:%|percent\b|per cent\b))?", re.IGNORECASE
)
_RATIO = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})\s*(?:/|\bout\s+of\b|\bin\s+every\b|\bin\b|\bof\b)\s*(?:the\s+)?({_NUM})(?![\w.:/\-]|,\d)",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"(?<![\w.,/:\-])({_NUM})(\s*%)?\s*(?:-|–|—|to)\s*({_NUM})(\s*(?:%|percent\b))?(?![\w.:/\-]|,\d)",
    re.IGNORECASE,
)
# "(95% interval 0.71-0.90)", "CI 0.7 to 0.9", "[0.71-0.90]": the range qualifies the figure before it.
_INTERVAL_BEFORE = re.compile(
    r"(?:interval|\bci\b|confidence|credible|between|\[|±|\+/-)[^.;\d]{0,24}$", re.IGNORECASE
)
_HEDGE = re.compile(r"\b(?:about|around|roughly|approximately|nearly|almost|some|~)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    """A number in the answer, what it seems to measure, and how it compares with the run."""

    quote: str
    start: int
    end: int
    kind: str  # rate | count | change | level
    metric: str | None
    low: float
    high: float
    verdict: str  # supported | overclaim | never_computed | understated | unmatched | not_compared
    fact: str | None = None
    measured: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "quote": self.quote,
            "span": [self.start, self.end],
            "kind": self.kind,
            "metric": self.metric,
            "claimed": [self.low, self.high] if self.low != self.high else self.low,
            "verdict": self.verdict,
            "fact": self.fact,
            "measured": self.measured,
        }


@dataclass(frozen=True)
class Figure:
    """A value as the answer writes it: its span, and low..high (equal unless a range)."""

    start: int
    end: int
    low: float
    high: float
    tolerance: float  # half the last digit written
    rate: bool  # on a 0..1 scale (a percentage, fraction, ratio or range); else a plain number


@dataclass(frozen=True)
class _Reading:
    """An answer as the claim readers see it: text, sentence spans, metric phrases, the run's facts."""

    text: str
    spans: list[tuple[int, int]]
    mentions: list[_Mention]
    facts: list[Measured]
    counts: dict[str, list[Measured]]


def find_claims(text: str, spans: list[tuple[int, int]], facts: list[Measured]) -> list[Claim]:
    """Every figure of the answer read as a claim and compared with the run, in reading order."""
    r = _Reading(text, spans, _metric_mentions(text), facts, _count_nouns(facts))
    claims: list[Claim] = []
    for f in _figures(text):
        claim = _rate_claim(r, f) if f.rate else _number_claim(r, f)
        if claim is not None:
            claims.append(claim)
    return sorted(claims, key=lambda c: c.start)


# ------------------------------------------------------------------ the value


def _figures(text: str) -> list[Figure]:
    """Ranges first, then ratios, then numbers; characters read as one figure are not read again."""
    used = [False] * (len(text) + 1)
    out: list[Figure] = []
    for read in (_ranges, _ratios, _numbers):
        out.extend(read(text, used))  # each reader marks what it reads in ``used``
    return out


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
        if _INTERVAL_BEFORE.search(text[max(0, a - 40) : a]):
            continue  # the interval of a figure just given, which is judged on its own
        if re.search(r"\bfrom\s+$", text[max(0, a - 8) : a], re.IGNORECASE):
            x = y  # "went from 0.6 to 0.9": the claim about the run is the level it reached
        yield Figure(a, b, x, y, _tolerance([m.group(1), m.group(3)], pct), True)


def _ratios(text: str, used: list[bool]) -> Iterator[Figure]:
    """ "9 in 10", "286/303": a rate written as k of n."""
    for m in _RATIO.finditer(text):
        a, b = m.span()
        if any(used[a:b]):
            continue
        k, n = _num(m.group(1)), _num(m.group(2))
        if n <= 0 or k > n:
            continue
        _take(used, a, b)
        yield Figure(a, b, k / n, k / n, 0.005, True)


def _numbers(text: str, used: list[bool]) -> Iterator[Figure]:
    """A percentage (up to 100) or a fraction is a rate; any other number is plain."""
    for m in _NUMBER.finditer(text):
        a, b = m.span()
        if any(used[a:b]):
            continue
        _take(used, a, b)
        raw, pct = m.group(1), bool(m.group(2))
        x = _num(raw)
        if pct:
            if x <= 100:
                yield Figure(a, b, x / 100, x / 100, _tolerance([raw], True), True)
        elif "." in raw and 0 <= x <= 1:
            yield Figure(a, b, x, x, _tolerance([raw], False), True)
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


# ------------------------------------------------------------------ the metric


@dataclass(frozen=True)
class _Mention:
    """A metric phrase of the answer: which metric, and where."""

    metric: str
    start: int
    end: int


def _metric_mentions(text: str) -> list[_Mention]:
    """Every metric phrase; a longer phrase hides the words inside it."""
    taken = [False] * len(text)
    out: list[_Mention] = []
    for pattern, metric in METRIC_PHRASES:
        for m in compile_words([pattern]).finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            out.append(_Mention(metric, m.start(), m.end()))
    return sorted(out, key=lambda x: x.start)


def _nearest(mentions: list[_Mention], sent: tuple[int, int], start: int, end: int) -> _Mention | None:
    """The metric phrase a number belongs to: nearest in its sentence, earlier ones preferred."""
    best: tuple[int, _Mention] | None = None
    for m in mentions:
        if not (sent[0] <= m.start < sent[1]):
            continue
        if m.end <= start:
            d = start - m.end
        elif m.start >= end:
            d = m.start - end + 12
        else:
            d = 0
        if d <= 60 and (best is None or d < best[0]):
            best = (d, m)
    return best[1] if best else None


def _quote(text: str, f: Figure, ment: _Mention | None) -> tuple[int, int]:
    """The quote joins the number and its metric words unless another number sits between."""
    a, b = f.start, f.end
    if ment is not None and not re.search(r"\d", text[min(ment.end, b) : max(ment.start, a)]):
        return min(a, ment.start), max(b, ment.end)
    return a, b


def _rate_claim(r: _Reading, f: Figure) -> Claim | None:
    """A rate: its metric phrase, then (for a measured metric) its subject and the comparison."""
    a, b, text = f.start, f.end, r.text
    sent = sentence_of(r.spans, a)
    ment = _nearest(r.mentions, sent, a, b)
    before, after = text[max(sent[0], a - 40) : a], text[b : min(sent[1], b + 30)]
    if CONFIDENCE_AFTER.match(after) or _INTERVAL_BEFORE.search(before):
        return None  # a confidence level, or a bound of the interval of a figure just given
    qa, qb = _quote(text, f, ment)
    change = CHANGE_BEFORE.search(before)
    if change or CHANGE_AFTER.match(after):
        if change:
            qa = min(qa, a - len(before) + change.start())
        metric = ment.metric if ment else None
        return Claim(text[qa:qb], qa, qb, "change", metric, f.low, f.high, "not_compared")
    if ment is None:
        return Claim(text[a:b], a, b, "rate", None, f.low, f.high, "unmatched")
    if ment.metric in _LEVELS:
        return Claim(text[qa:qb], qa, qb, "level", ment.metric, f.low, f.high, "never_computed")
    verdict, fact = _judge(ment.metric, f, r.facts, text[sent[0] : sent[1]], a - sent[0])
    return Claim(
        text[qa:qb],
        qa,
        qb,
        "rate",
        ment.metric,
        f.low,
        f.high,
        verdict,
        fact.key if fact else None,
        fact.text() if fact else None,
    )


def _number_claim(r: _Reading, f: Figure) -> Claim | None:
    """A plain number: a level the run never measures (MTTD), else a count."""
    a, b = f.start, f.end
    ment = _nearest(r.mentions, sentence_of(r.spans, a), a, b)
    if ment is not None and ment.metric in _LEVELS:
        qa, qb = min(a, ment.start), max(b, ment.end)
        return Claim(r.text[qa:qb], qa, qb, "level", ment.metric, f.low, f.high, "never_computed")
    return _count_claim(r, f)


def _count_claim(r: _Reading, f: Figure) -> Claim | None:
    """A count: the noun after it says what is counted ("66 alerts", "40 alerts a day"); it is
    supported when a stored count of that noun agrees (within 10% when hedged, else 1%)."""
    a, b, x, text = f.start, f.end, f.low, r.text
    noun = re.match(r"\s+([a-z][a-z\-]+)", text[b : b + 30], re.IGNORECASE)
    if noun is None:
        return None
    word = noun.group(1).lower().rstrip("s")
    qb = b + noun.end()
    day = re.match(r"\s*(?:a|per|each|every)\s+day\b|\s*daily\b", text[qb : qb + 20], re.IGNORECASE)
    if day:
        word += "/day"
        qb += day.end()
    known = r.counts.get(word, [])
    if not known:
        return Claim(text[a:qb], a, qb, "count", None, x, x, "not_compared")
    hedged = bool(_HEDGE.search(text[max(0, a - 15) : a]))
    tol = 0.1 if hedged else 0.01
    hit = next(
        (k for k in known if k.value is not None and abs(k.value - x) <= tol * max(abs(k.value), 1)), None
    )
    ref = hit or min(known, key=lambda k: (len(k.tokens), k.key))  # the run's total before a part
    verdict = "supported" if hit else "unmatched"
    return Claim(text[a:qb], a, qb, "count", None, x, x, verdict, ref.key, ref.text())


def _count_nouns(facts: list[Measured]) -> dict[str, list[Measured]]:
    """Count facts by the thing they count; daily rates ('alerts/per_day') under 'alert/day'."""
    out: dict[str, list[Measured]] = {}
    for m in facts:
        if m.metric is not None or m.value is None or not m.tokens:
            continue
        daily = [t for t in m.tokens if t.startswith("per_")]
        if daily:
            noun = next((t for t in m.tokens if not t.startswith("per_")), "").rstrip("s")
            out.setdefault(noun + "/day", []).append(m)
        else:
            out.setdefault(m.noun, []).append(m)
    return out


# ------------------------------------------------------------------ the subject and the comparison


def _name_pattern(name: str) -> re.Pattern[str]:
    """How an answer names a subject: 'password_spray' as 'password spray', 'password-spraying'.

    The first two words of an id are enough ('admin share' for admin_share_access), and the
    last word may carry an ending ('spraying').
    """
    words = [w for w in re.split(r"[_\s]+", name) if w][:2]
    if len(words) == 1 and re.fullmatch(r"t\d{4}(?:\.\d{3})?", words[0]):
        return re.compile(rf"(?<![\w.-]){re.escape(words[0])}(?![\w.]|-\w)", re.IGNORECASE)
    body = r"[\s_-]".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w-]){body}\w*", re.IGNORECASE)


def _subject_facts(cands: list[Measured], sentence: str, at: int) -> list[Measured]:
    """The candidates whose subject the sentence names nearest to the claim (at ``at``), else all.

    Comparison rows (a baseline, an ablation) count only when the sentence names them; the run's
    own figures are the ones a claim is about otherwise.
    """
    distance: dict[int, int] = {}
    for i, m in enumerate(cands):
        spots = [mt.start() for n in m.names for mt in _name_pattern(n).finditer(sentence)]
        if spots:
            # A subject is usually named before its figure; one named after it is further away.
            distance[i] = min(at - s if s <= at else 3 * (s - at) + 20 for s in spots)
    if distance:
        best = min(distance.values())
        return [m for i, m in enumerate(cands) if distance.get(i) == best]
    return [m for m in cands if m.kind != "comparison"] or cands


def _judge(
    metric: str, f: Figure, facts: list[Measured], sentence: str, at: int
) -> tuple[str, Measured | None]:
    """supported / overclaim / understated (never_computed), and the fact it was judged against."""
    base = _DERIVED.get(metric)
    cands = [m for m in facts if m.metric is not None and m.metric in (metric, base) and m.value is not None]
    if not cands:
        return "never_computed", None
    return _compare(metric, f, _subject_facts(cands, sentence, at))


def _on_scale(metric: str, m: Measured) -> tuple[float, float, float]:
    """A fact's value, low and high on the claim's scale: fnr = 1 - recall, specificity = 1 - fpr."""
    v = m.value if m.value is not None else 0.0
    lo = m.low if m.low is not None else v
    hi = m.high if m.high is not None else v
    if m.metric != metric:
        return 1 - v, 1 - hi, 1 - lo
    return v, lo, hi


def _compare(metric: str, f: Figure, cands: list[Measured]) -> tuple[str, Measured]:
    """Within some candidate's interval is supported; else judged against the most generous one."""
    low, high, tol = f.low, f.high, f.tolerance
    within = [
        m for m in cands if low <= _on_scale(metric, m)[2] + tol and high >= _on_scale(metric, m)[1] - tol
    ]
    if within:
        mid = (low + high) / 2
        return "supported", min(within, key=lambda m: (abs(_on_scale(metric, m)[0] - mid), m.key))
    if HIGHER_IS_BETTER.get(metric, True):
        best = max(cands, key=lambda m: (_on_scale(metric, m)[2], m.key))
        return ("overclaim" if low > _on_scale(metric, best)[2] + tol else "understated"), best
    best = min(cands, key=lambda m: (_on_scale(metric, m)[1], m.key))
    return ("overclaim" if high < _on_scale(metric, best)[1] - tol else "understated"), best
