"""The numbers in a written answer, each read as a claim about the run and compared with its facts.

A claim is read in four steps, each a function here:

1. the **value** as written (:func:`bluebench.drill.figures.figures`): a range, a ratio, a
   percentage, a fraction or a number ("10k");
2. the **metric** it measures: the metric phrase nearest to it in its sentence
   (:func:`bluebench.reports.binding.metric_mentions`: "precision", "right 9 times in 10 when
   it fired", "missed"), or for a number the noun after it ("66 alerts", "40 alerts a day");
3. the **subject** it is about (:class:`bluebench.drill.subjects.Binder`): named in its sentence,
   else in the sentence before, else the run as a whole;
4. the **comparison** (:func:`judge_rate`, :func:`_judge_count`) with that subject's facts only:
   within the measured interval is supported, beyond it an overclaim, short of it understated;
   a metric the run never measured is ``never_computed``, one not measured for the subject
   named ``not_measured``; an unnamed claim true of one detector but not of the run is
   ``which_subject``; a count the run contradicts is ``contradicts``.

Changes ("up 30%") and levels (MTTD) are kept, not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bluebench.drill.figures import INTERVAL_BEFORE, Figure, figures
from bluebench.drill.lexicon import (
    ABSOLUTES,
    CHANGE_AFTER,
    CHANGE_BEFORE,
    CONFIDENCE_AFTER,
    CONTEXT_NOUNS,
    COUNT_BOUNDS,
    COUNT_NOUNS,
    NEUTRAL_MODIFIERS,
    NOT_MEASURED,
    PART_OF_ONE,
    PER_THOUSAND,
    RUN_CONTEXT,
    compile_words,
)
from bluebench.drill.measured import HIGHER_IS_BETTER, Measured
from bluebench.drill.subjects import Binder, Bound
from bluebench.drill.text import affirmed, sentence_of
from bluebench.reports.binding import OVERALL, Aliases, MetricMention, Subject, metric_mentions
from bluebench.reports.cues import compile_phrase

__all__ = ["Claim", "Judgement", "find_claims", "judge_rate"]

# Metrics read from another one the run measured, as 1 - it: fnr from recall, specificity from
# fpr, and the share of alerts that were false alarms (false-discovery rate) from precision.
_DERIVED = {"fnr": "recall", "specificity": "fpr", "fdr": "precision"}
# Times to detect and respond: levels a run of detectors never measures.
_LEVELS = ("mttd", "mttr")


@dataclass(frozen=True)
class Claim:
    """A number (or an absolute) in the answer, what it measures, what it is about, how it compares."""

    quote: str
    start: int
    end: int
    kind: str  # rate | count | change | level | absolute
    metric: str | None
    low: float
    high: float
    verdict: str  # supported | overclaim | understated | never_computed | not_measured | which_subject
    #               | contradicts | unmatched | not_compared
    fact: str | None = None
    measured: str | None = None
    subject: str | None = None  # what it was judged as being about ('all detectors together', 'log_cleared')
    bound: str = "none"  # how the subject was found: named | sentence before | none
    also: str | None = None  # which_subject: the fact of another subject that the figure does match
    bolder: bool = False  # which_subject: the figure claims more than the run as a whole measured

    def to_json(self) -> dict[str, Any]:
        return {
            "quote": self.quote,
            "span": [self.start, self.end],
            "kind": self.kind,
            "metric": self.metric,
            "claimed": [self.low, self.high] if self.low != self.high else self.low,
            "subject": self.subject,
            "bound": self.bound,
            "verdict": self.verdict,
            "fact": self.fact,
            "measured": self.measured,
            "also": self.also,
        }


@dataclass(frozen=True)
class Judgement:
    """A figure compared with the facts of its subject: the verdict and the facts it rests on."""

    verdict: str
    fact: Measured | None = None
    subject: Subject | None = None
    also: Measured | None = None
    bolder: bool = False


@dataclass(frozen=True)
class _Reading:
    """An answer as the claim readers see it: text, sentences, metric phrases, subjects, the run's facts."""

    text: str
    spans: list[tuple[int, int]]
    metrics: list[MetricMention]
    binder: Binder
    facts: list[Measured]
    counts: dict[str, list[Measured]]


def find_claims(text: str, spans: list[tuple[int, int]], facts: list[Measured]) -> list[Claim]:
    """Every figure and absolute of the answer read as a claim and compared with the run, in reading order."""
    rows = sorted({m.about for m in facts if m.about.kind == "row"})
    units = [m.span() for m in re.finditer(PER_THOUSAND, text, re.IGNORECASE)]
    binder = Binder(text, spans, Aliases.from_registries(rows=rows), units)
    r = _Reading(text, spans, metric_mentions(text), binder, facts, _count_facts(facts))
    claims = [c for f in figures(text) if (c := _claim(r, f)) is not None]
    claims.extend(_absolute_claims(r))
    return sorted(claims, key=lambda c: (c.start, c.end))


def _claim(r: _Reading, f: Figure) -> Claim | None:
    """A rate or a number; a fraction followed by a count noun ('0.8 alerts a day') is a number."""
    if f.rate and not (f.form == "fraction" and _count_noun(r.text, f.end) is not None):
        return _rate_claim(r, f)
    return _number_claim(r, f)


def _make(
    r: _Reading, a: int, b: int, kind: str, metric: str | None, f: Figure, j: Judgement, bound: Bound
) -> Claim:
    """A claim quoting ``text[a:b]`` with the judgement's facts."""
    return Claim(
        r.text[a:b],
        a,
        b,
        kind,
        metric,
        f.low,
        f.high,
        j.verdict,
        j.fact.key if j.fact else None,
        j.fact.text() if j.fact else None,
        j.subject.describe() if j.subject else None,
        bound.how if bound.named else "none",
        j.also.key if j.also else None,
        j.bolder,
    )


# ------------------------------------------------------------------ the metric


# "recall was 94.4% (286/303)", "75%: they confirmed 9 of 12": the second figure restates the first.
_RESTATED = re.compile(r"[^\d]*\d[\d.,]*\s*%?\s*(?:\(\s*|:[^\d(]{0,30})")


# A number standing alone, not a digit inside a name or id ('T1110.003', 'ws01').
_A_NUMBER = re.compile(r"(?<![\w.])\d")
_AFTER_FIGURE = re.compile(r"(?<![\w.])\d[\d.,]*\s*%?\s*$")


def _nearest(
    text: str, mentions: list[MetricMention], sent: tuple[int, int], start: int, end: int
) -> MetricMention | None:
    """The metric phrase a number belongs to: nearest in its sentence, earlier ones preferred, never
    one with another number between them ('18%: 41 of its 50 alerts were real' has two)."""
    best: tuple[int, MetricMention] | None = None
    for m in mentions:
        if not (sent[0] <= m.start < sent[1]):
            continue
        between = text[min(m.end, end) : max(m.start, start)]
        if _A_NUMBER.search(between) and not (m.end <= start and _RESTATED.fullmatch(between)):
            continue
        owned = m.end <= start and _AFTER_FIGURE.search(text[max(0, m.start - 20) : m.start])
        if owned and not re.fullmatch(r"\s*\(\s*", between):
            continue  # the words right after another number belong to it ('10.6% of benign files')
        if m.end <= start:
            d = start - m.end + (30 if m.weak else 0)
        elif m.start >= end:
            # A phrase right after the figure ('41 of 50 alerts were real') is its own; one further on
            # more likely starts the next claim.
            d = m.start - end + (0 if between.isspace() else 12) + (30 if m.weak else 0)
        else:
            d = 0
        if d <= 60 and (best is None or d < best[0]):
            best = (d, m)
    return best[1] if best else None


def _quote(text: str, f: Figure, ment: MetricMention | None) -> tuple[int, int]:
    """The quote joins the number and its metric words unless another number sits between."""
    a, b = f.start, f.end
    if ment is not None and not re.search(r"\d", text[min(ment.end, b) : max(ment.start, a)]):
        return min(a, ment.start), max(b, ment.end)
    return a, b


def _rate_claim(r: _Reading, f: Figure) -> Claim | None:
    """A rate: its metric phrase, its subject, then the comparison with that subject's facts."""
    a, b, text = f.start, f.end, r.text
    sent = sentence_of(r.spans, a)
    ment = _nearest(text, r.metrics, sent, a, b)
    before, after = text[max(sent[0], a - 40) : a], text[b : min(sent[1], b + 30)]
    if CONFIDENCE_AFTER.match(after) or INTERVAL_BEFORE.search(before):
        return None  # a confidence level, or a bound of the interval of a figure just given
    qa, qb = _quote(text, f, ment)
    none = Bound(())
    change = CHANGE_BEFORE.search(before)
    if change or CHANGE_AFTER.match(after):
        if change:
            qa = min(qa, a - len(before) + change.start())
        return _make(r, qa, qb, "change", ment.metric if ment else None, f, Judgement("not_compared"), none)
    if ment is None:
        return _make(r, a, b, "rate", None, f, Judgement("unmatched"), none)
    if ment.metric in _LEVELS:
        return _make(r, qa, qb, "level", ment.metric, f, Judgement("never_computed"), none)
    bound = r.binder.at(a, b)
    judged = judge_rate(ment.metric, f.low, f.high, f.tolerance, bound, r.facts)
    return _make(r, qa, qb, "rate", ment.metric, f, judged, bound)


def _number_claim(r: _Reading, f: Figure) -> Claim | None:
    """A plain number: a level the run never measures (MTTD), else a count."""
    a, b = f.start, f.end
    ment = _nearest(r.text, r.metrics, sentence_of(r.spans, a), a, b)
    if ment is not None and ment.metric in _LEVELS:
        qa, qb = min(a, ment.start), max(b, ment.end)
        return _make(r, qa, qb, "level", ment.metric, f, Judgement("never_computed"), Bound(()))
    return _count_claim(r, f)


# ------------------------------------------------------------------ the comparison of a rate


def judge_rate(
    metric: str, low: float, high: float, tol: float, bound: Bound, facts: list[Measured]
) -> Judgement:
    """Compare ``low..high`` (± ``tol``) with the facts of the bound subject; unnamed, with the run's."""
    base = _DERIVED.get(metric)
    pool = [m for m in facts if m.metric is not None and m.metric in (metric, base) and m.value is not None]
    if not pool:
        return Judgement("never_computed")
    for s in bound.subjects:
        cands = [m for m in pool if m.about == s]
        if cands:
            verdict, fact = _compare(metric, low, high, tol, cands)
            return Judgement(verdict, fact, s)
    if bound.named and any(s.kind != "dataset" for s in bound.subjects):
        return Judgement("not_measured", None, bound.subjects[0])
    own = [m for m in pool if m.about.kind not in ("row", "curve")]
    whole = [m for m in own if m.about == OVERALL] or _single_subject(own)
    if not whole:
        verdict, fact = _compare(metric, low, high, tol, own or pool)
        return Judgement(verdict, fact, None)
    verdict, fact = _compare(metric, low, high, tol, whole)
    if verdict != "supported":
        parts = [m for m in own if m.about != whole[0].about]
        within = [m for m in parts if _within(metric, low, high, tol, m)]
        if within:
            mid = (low + high) / 2
            also = min(within, key=lambda m: (abs(_on_scale(metric, m)[0] - mid), m.key))
            return Judgement("which_subject", fact, whole[0].about, also, verdict == "overclaim")
    return Judgement(verdict, fact, whole[0].about)


def _single_subject(facts: list[Measured]) -> list[Measured]:
    """Facts of the one subject that measured this metric (only the mail model has a PR-AUC), else none."""
    return facts if len({m.about for m in facts}) == 1 else []


def _on_scale(metric: str, m: Measured) -> tuple[float, float, float]:
    """A fact's value, low and high on the claim's scale: fnr = 1 - recall, specificity = 1 - fpr."""
    v = m.value if m.value is not None else 0.0
    lo = m.low if m.low is not None else v
    hi = m.high if m.high is not None else v
    if m.metric != metric:
        return 1 - v, 1 - hi, 1 - lo
    return v, lo, hi


def _within(metric: str, low: float, high: float, tol: float, m: Measured) -> bool:
    _, lo, hi = _on_scale(metric, m)
    return low <= hi + tol and high >= lo - tol


def _compare(metric: str, low: float, high: float, tol: float, cands: list[Measured]) -> tuple[str, Measured]:
    """Within some candidate's interval is supported; else judged against the most generous one."""
    within = [m for m in cands if _within(metric, low, high, tol, m)]
    if within:
        mid = (low + high) / 2
        return "supported", min(within, key=lambda m: (abs(_on_scale(metric, m)[0] - mid), m.key))
    if HIGHER_IS_BETTER.get(metric, True):
        best = max(cands, key=lambda m: (_on_scale(metric, m)[2], m.key))
        return ("overclaim" if low > _on_scale(metric, best)[2] + tol else "understated"), best
    best = min(cands, key=lambda m: (_on_scale(metric, m)[1], m.key))
    return ("overclaim" if high < _on_scale(metric, best)[1] - tol else "understated"), best


# ------------------------------------------------------------------ absolutes are claims too


def _absolute_claims(r: _Reading) -> Iterator[Claim]:
    """'zero false positives' claims precision 100% and FPR 0; 'never misses' recall 100%."""
    for pattern, _advice, implied in ABSOLUTES:
        for a, b in affirmed(compile_words([pattern]), r.text):
            bound = r.binder.at(a, b)
            for metric, value in implied:
                j = judge_rate(metric, value, value, 0.0, bound, r.facts)
                f = Figure(a, b, value, value, 0.0, True)
                yield _make(r, a, b, "absolute", metric, f, j, bound)


# ------------------------------------------------------------------ counts


_NOUN_WORDS = "|".join(COUNT_NOUNS)
_AFTER_NUMBER = re.compile(
    rf"\s+((?:[A-Za-z][\w'-]*\s+){{0,2}}?)({_NOUN_WORDS})\b(\s*(?:a|per|each|every)\s+day\b|\s+daily\b|{PER_THOUSAND})?",
    re.IGNORECASE,
)
_BOUNDS = [(compile_phrase(rf"(?:^|[\s(])(?:{p})\s*$"), how) for p, how in COUNT_BOUNDS]


def _count_noun(text: str, end: int) -> tuple[str, int, list[re.Match[str]]] | None:
    """The counted noun after a number ('alert', 'alert/day'), where the quote ends, and the words between."""
    m = _AFTER_NUMBER.match(text, end)
    if m is None:
        return None
    word = m.group(2).lower()
    noun = next(n for pattern, n in COUNT_NOUNS.items() if re.fullmatch(pattern, word))
    between = list(re.finditer(r"[\w'-]+", text[: m.end(1)]))
    between = [w for w in between if w.start() >= m.start(1)]
    per = "" if not m.group(3) else "/1000" if re.fullmatch(PER_THOUSAND, m.group(3), re.I) else "/day"
    return noun + per, m.end(), between


def _count_facts(facts: list[Measured]) -> dict[str, list[Measured]]:
    """Count facts by the thing they count; daily rates ('alerts/per_day') under 'alert/day'."""
    out: dict[str, list[Measured]] = {}
    for m in facts:
        if m.metric is None and m.value is not None and m.tokens and m.about.kind not in ("row", "curve"):
            out.setdefault(m.noun, []).append(m)
    return out


def _a_part(r: _Reading, f: Figure, modifiers: list[re.Match[str]], noun: str, sent: tuple[int, int]) -> bool:
    """The number counts a part of the run (an example, a budget, a subset), which it stores no count of.

    A word between number and noun keeps it a count of the whole when it is neutral ('10,011 Windows
    events') or names a subject ('11 brute-force alerts'); any other word makes it a part.
    """
    before, after = r.text[max(sent[0], f.start - 60) : f.start], r.text[f.end : sent[1]]
    if NOT_MEASURED.search(before) or PART_OF_ONE[0].search(before) or PART_OF_ONE[1].match(after):
        return True
    named = [(m.start, m.end) for m in r.binder.mentions]
    for w in modifiers:
        if w.group(0).lower() not in NEUTRAL_MODIFIERS and not any(a <= w.start() < b for a, b in named):
            return True
    return noun.split("/")[0] in CONTEXT_NOUNS and not RUN_CONTEXT.search(r.text[sent[0] : sent[1]])


def _count_claim(r: _Reading, f: Figure) -> Claim | None:
    """A count: the noun after it says what is counted; it must agree with that subject's stored count."""
    found = _count_noun(r.text, f.end)
    if found is None:
        return None
    noun, qb, modifiers = found
    sent = sentence_of(r.spans, f.start)
    if _a_part(r, f, modifiers, noun, sent):
        return _make(r, f.start, qb, "count", None, f, Judgement("not_compared"), Bound(()))
    # A subject named between the number and its noun ('11 brute-force alerts') is what it counts.
    inside = [m for m in r.binder.mentions if f.end <= m.start < qb]
    bound = (
        Bound(inside[0].subjects, r.text[inside[0].start : inside[0].end], "named")
        if inside
        else r.binder.at(f.start, f.end)
    )
    how = next((h for p, h in _BOUNDS if p.search(r.text[max(sent[0], f.start - 24) : f.start])), "exact")
    judged = _judge_count(f, how, bound, r.counts.get(noun, []))
    return _make(r, f.start, qb, "count", None, f, judged, bound)


def _judge_count(f: Figure, how: str, bound: Bound, pool: list[Measured]) -> Judgement:
    """supported / contradicts against the bound subject's counts (the run's when none is named)."""
    if not pool:
        return Judgement("not_compared")
    whole = [m for m in pool if m.about == OVERALL] or pool
    cands, subject = whole, whole[0].about
    for s in bound.subjects:
        own = [m for m in pool if m.about == s]
        if own:
            cands, subject = own, s
            break
    hit = next((m for m in cands if _count_agrees(f, how, float(m.value or 0))), None)
    if hit is not None:
        return Judgement("supported", hit, subject)
    # The stored count nearest to the claim says best what it contradicts ('40 detectors': 23 registered).
    ref = min(cands, key=lambda k: (abs(float(k.value or 0) - f.low), len(k.tokens), k.key))
    if not bound.named:
        also = next(
            (m for m in pool if m.about != subject and _count_agrees(f, how, float(m.value or 0))), None
        )
        if also is not None:
            return Judgement("which_subject", ref, subject, also)
    return Judgement("contradicts", ref, subject)


def _count_agrees(f: Figure, how: str, v: float) -> bool:
    """The stored count ``v`` agrees with the number as written and rounded ('about 10,000', 'over 10k')."""
    x = f.low
    if how == "at_least":
        return v >= x * 0.995
    if how == "at_most":
        return v <= x * 1.005
    if how == "nearly":
        return x * 0.9 <= v <= x * 1.005
    decimals = 0 if float(x).is_integer() else len(str(x).split(".")[1])
    if round(v, decimals) == x:
        return True
    tol = 0.1 if how == "about" or f.rounded else 0.01
    return abs(v - x) <= tol * max(abs(v), 1.0)
