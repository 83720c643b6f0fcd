"""Score a written answer against the run it talks about: claims, structure, coverage, length.

Everything here is rules and small counts over the answer's own words, run offline; the
answer is never sent anywhere. Each finding quotes the exact words of the answer it is about
(``answer[start:end] == quote``) and says what would be stronger. A finding is *blocking*
when an interviewer would stop trusting the answer (a claim the run does not support, an
absolute claim, no validation, no human review, far too long); everything else is advice.
``check_answer`` returns a :class:`Scorecard`; ``Scorecard.passed`` is what the CLI's exit
code reports (0 passed, 1 a blocking finding).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bluebench.drill.lexicon import (
    ABSOLUTES,
    BUZZWORDS,
    CHANGE_AFTER,
    CHANGE_BEFORE,
    CONCRETE_VERBS,
    CONFIDENCE_AFTER,
    COVERAGE,
    FILLERS,
    METRIC_PHRASES,
    STRUCTURE,
    TOOLS,
    compile_words,
)
from bluebench.drill.measured import (
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    FactLike,
    Measured,
    read_facts,
)

__all__ = [
    "BLOCKING",
    "SPEAKING_RATE",
    "Claim",
    "Finding",
    "Scorecard",
    "check_answer",
]

BLOCKING = "blocking"
ADVICE = "advice"
# Words a minute of calm technical speech; the answer should fit in about two minutes.
SPEAKING_RATE = (130, 160)
TARGET_SECONDS = 120
# Beyond this (at the faster rate) the answer cannot be said in the time, so it blocks.
RAMBLING_SECONDS = 150
TOO_SHORT_WORDS = 60
LONG_SENTENCE_WORDS = 40
# Metrics that can be read from another one the run measured: (measured metric, transform).
_DERIVED = {"fnr": "recall", "specificity": "fpr"}

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
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# "(95% interval 0.71-0.90)", "CI 0.7 to 0.9", "[0.71-0.90]": the range qualifies the figure before it.
_INTERVAL_BEFORE = re.compile(
    r"(?:interval|\bci\b|confidence|credible|between|\[|±|\+/-)[^.;\d]{0,24}$", re.IGNORECASE
)
_HEDGE = re.compile(r"\b(?:about|around|roughly|approximately|nearly|almost|some|~)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One thing the scorecard says, with the answer's own words it is about."""

    kind: str
    severity: str
    quote: str
    start: int
    end: int
    message: str
    stronger: str
    facts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "quote": self.quote,
            "span": [self.start, self.end],
            "message": self.message,
            "stronger": self.stronger,
            "facts": list(self.facts),
        }


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
class Part:
    """A part of the story (or a topic) and the words that show it, as (quote, start, end)."""

    name: str
    words: tuple[tuple[str, int, int], ...]

    @property
    def present(self) -> bool:
        return bool(self.words)

    def to_json(self) -> dict[str, Any]:
        return {"present": self.present, "words": [w[0] for w in self.words]}


@dataclass
class Scorecard:
    """The whole check; ``to_json`` is what ``drill check --json`` prints."""

    words: int
    seconds: tuple[int, int]
    claims: list[Claim]
    structure: list[Part]
    coverage: list[Part]
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKING]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "blocking": len(self.blocking),
            "advice": len(self.findings) - len(self.blocking),
            "length": {
                "words": self.words,
                "seconds": list(self.seconds),
                "words_per_minute": list(SPEAKING_RATE),
                "target_seconds": TARGET_SECONDS,
            },
            "claims": [c.to_json() for c in self.claims],
            "structure": {p.name: p.to_json() for p in self.structure},
            "coverage": {p.name: p.to_json() for p in self.coverage},
            "findings": [f.to_json() for f in self.findings],
        }


# ------------------------------------------------------------------ text helpers


def _blank_comments(text: str) -> str:
    """HTML comments (the test answers' headers) become spaces, so offsets stay the same."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: ends at . ! ? before space, at blank lines and at list items."""
    spans: list[tuple[int, int]] = []
    start = 0
    boundary = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)|\n(?=#)")
    for m in boundary.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        seg = seg.strip()
        # Leading list markers and Markdown heading marks are not part of what is said.
        mark = re.match(r"(?:#+|[-*+]|\d+[.)])\s+", seg)
        if mark:
            lead += mark.end()
            seg = seg[mark.end() :]
        if _WORD.search(seg):
            out.append((a + lead, a + lead + len(seg)))
    return out


def _sentence_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for a, b in spans:
        if a <= pos < b:
            return a, b
    return spans[-1] if spans else (0, 0)


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _decimals(s: str) -> int:
    return len(s.split(".", 1)[1]) if "." in s else 0


def _spoken_words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


# ------------------------------------------------------------------ claims


@dataclass(frozen=True)
class _Mention:
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


def _tolerance(texts: Iterable[str], percent: bool) -> float:
    """Half the last digit the claim was written with: '94%' allows 0.5 points, '0.9' 0.05."""
    d = max(_decimals(t) for t in texts)
    step = 10.0**-d
    return (step / 100 if percent else step) / 2


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
    metric: str, low: float, high: float, tol: float, facts: list[Measured], sentence: str, at: int
) -> tuple[str, Measured | None]:
    """supported / overclaim / understated, and the fact it was judged against."""
    base = _DERIVED.get(metric)
    cands = [m for m in facts if m.metric is not None and m.metric in (metric, base) and m.value is not None]
    if not cands:
        return "never_computed", None
    cands = _subject_facts(cands, sentence, at)

    def on_scale(m: Measured) -> tuple[float, float, float]:
        v = m.value if m.value is not None else 0.0
        lo = m.low if m.low is not None else v
        hi = m.high if m.high is not None else v
        if m.metric != metric:  # derived: fnr = 1 - recall, specificity = 1 - fpr
            return 1 - v, 1 - hi, 1 - lo
        return v, lo, hi

    higher = HIGHER_IS_BETTER.get(metric, True)
    within = [m for m in cands if low <= on_scale(m)[2] + tol and high >= on_scale(m)[1] - tol]
    if within:
        mid = (low + high) / 2
        return "supported", min(within, key=lambda m: (abs(on_scale(m)[0] - mid), m.key))
    # Judge against the most generous measurement: the claim is beyond even that one.
    if higher:
        best = max(cands, key=lambda m: (on_scale(m)[2], m.key))
        return ("overclaim" if low > on_scale(best)[2] + tol else "understated"), best
    best = min(cands, key=lambda m: (on_scale(m)[1], m.key))
    return ("overclaim" if high < on_scale(best)[1] - tol else "understated"), best


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


def _find_claims(text: str, spans: list[tuple[int, int]], facts: list[Measured]) -> list[Claim]:
    mentions = _metric_mentions(text)
    used = [False] * (len(text) + 1)
    claims: list[Claim] = []
    nouns = _count_nouns(facts)

    def free(a: int, b: int) -> bool:
        return not any(used[a:b])

    def take(a: int, b: int) -> None:
        for i in range(a, b):
            used[i] = True

    def rate_claim(a: int, b: int, low: float, high: float, tol: float) -> None:
        sent = _sentence_of(spans, a)
        ment = _nearest(mentions, sent, a, b)
        before, after = text[max(sent[0], a - 40) : a], text[b : min(sent[1], b + 30)]
        # The quote joins the number and its metric words unless another number sits between.
        if ment is not None and not re.search(r"\d", text[min(ment.end, b) : max(ment.start, a)]):
            quote_a, quote_b = min(a, ment.start), max(b, ment.end)
        else:
            quote_a, quote_b = a, b
        if CONFIDENCE_AFTER.match(after) or _INTERVAL_BEFORE.search(text[max(sent[0], a - 40) : a]):
            return  # a confidence level, or a bound of the interval of a figure just given
        change = CHANGE_BEFORE.search(before)
        if change or CHANGE_AFTER.match(after):
            if change:
                quote_a = min(quote_a, a - len(before) + change.start())
            claims.append(
                Claim(
                    text[quote_a:quote_b],
                    quote_a,
                    quote_b,
                    "change",
                    ment.metric if ment else None,
                    low,
                    high,
                    "not_compared",
                )
            )
            return
        if ment is None:
            claims.append(Claim(text[a:b], a, b, "rate", None, low, high, "unmatched"))
            return
        if ment.metric in ("mttd", "mttr"):
            claims.append(
                Claim(
                    text[quote_a:quote_b], quote_a, quote_b, "level", ment.metric, low, high, "never_computed"
                )
            )
            return
        verdict, fact = _judge(ment.metric, low, high, tol, facts, text[sent[0] : sent[1]], a - sent[0])
        claims.append(
            Claim(
                text[quote_a:quote_b],
                quote_a,
                quote_b,
                "rate",
                ment.metric,
                low,
                high,
                verdict,
                fact.key if fact else None,
                fact.text() if fact else None,
            )
        )

    # Ranges first ("0.80-0.92", "80 to 92%"), then ratios ("9 in 10", "286/303"), then numbers.
    for m in _RANGE.finditer(text):
        a, b = m.span()
        pct = bool(m.group(2) or m.group(4))
        x, y = _num(m.group(1)), _num(m.group(3))
        if pct:
            x, y = x / 100, y / 100
        if not (0 <= x <= 1 and 0 <= y <= 1) or x > y:
            continue
        take(a, b)
        if _INTERVAL_BEFORE.search(text[max(0, a - 40) : a]):
            continue  # the interval of a figure just given, which is judged on its own
        if re.search(r"\bfrom\s+$", text[max(0, a - 8) : a], re.IGNORECASE):
            x = y  # "went from 0.6 to 0.9": the claim about the run is the level it reached
        rate_claim(a, b, x, y, _tolerance([m.group(1), m.group(3)], pct))
    for m in _RATIO.finditer(text):
        a, b = m.span()
        if not free(a, b):
            continue
        k, n = _num(m.group(1)), _num(m.group(2))
        if n <= 0 or k > n:
            continue
        take(a, b)
        rate_claim(a, b, k / n, k / n, 0.005)
    for m in _NUMBER.finditer(text):
        a, b = m.span()
        if not free(a, b):
            continue
        take(a, b)
        raw, pct = m.group(1), bool(m.group(2))
        x = _num(raw)
        if pct:
            if x <= 100:
                rate_claim(a, b, x / 100, x / 100, _tolerance([raw], True))
            continue
        if "." in raw and 0 <= x <= 1:
            rate_claim(a, b, x, x, _tolerance([raw], False))
            continue
        sent = _sentence_of(spans, a)
        ment = _nearest(mentions, sent, a, b)
        if ment is not None and ment.metric in ("mttd", "mttr"):
            qa, qb = min(a, ment.start), max(b, ment.end)
            claims.append(Claim(text[qa:qb], qa, qb, "level", ment.metric, x, x, "never_computed"))
            continue
        noun = re.match(r"\s+([a-z][a-z\-]+)", text[b : b + 30], re.IGNORECASE)
        if noun is None:
            continue
        word = noun.group(1).lower().rstrip("s")
        qb = b + noun.end()
        day = re.match(r"\s*(?:a|per|each|every)\s+day\b|\s*daily\b", text[qb : qb + 20], re.IGNORECASE)
        if day:
            word += "/day"
            qb += day.end()
        known = nouns.get(word, [])
        if not known:
            claims.append(Claim(text[a:qb], a, qb, "count", None, x, x, "not_compared"))
            continue
        hedged = bool(_HEDGE.search(text[max(0, a - 15) : a]))
        tol = 0.1 if hedged else 0.01
        hit = next(
            (k for k in known if k.value is not None and abs(k.value - x) <= tol * max(abs(k.value), 1)), None
        )
        ref = hit or min(known, key=lambda k: (len(k.tokens), k.key))  # the run's total before a part
        claims.append(
            Claim(
                text[a:qb],
                a,
                qb,
                "count",
                None,
                x,
                x,
                "supported" if hit else "unmatched",
                ref.key,
                ref.text(),
            )
        )
    return sorted(claims, key=lambda c: c.start)


def _claim_findings(claims: list[Claim], facts: list[Measured]) -> list[Finding]:
    by_key = {m.key: m for m in facts}
    out: list[Finding] = []
    for c in claims:
        name = METRIC_NAMES.get(c.metric or "", c.metric or "")
        fact = by_key.get(c.fact) if c.fact else None
        src = f" (source: {fact.fact.source})" if fact else ""
        if c.verdict == "overclaim" and fact is not None:
            out.append(
                Finding(
                    "overclaim",
                    BLOCKING,
                    c.quote,
                    c.start,
                    c.end,
                    f"claims more than the run measured: {fact.describe()} is {fact.text()}{src}",
                    f"say the measured figure with its interval: {fact.describe()} {fact.text()}",
                    (fact.key,),
                )
            )
        elif c.verdict == "never_computed" and c.metric == "accuracy":
            continue  # reported once below as the accuracy finding
        elif c.verdict == "never_computed":
            measured = sorted({METRIC_NAMES[m.metric] for m in facts if m.metric and m.value is not None})
            out.append(
                Finding(
                    "never_computed",
                    BLOCKING,
                    c.quote,
                    c.start,
                    c.end,
                    f"the run never computed {name}; it measured: {', '.join(measured) or 'nothing'}",
                    "claim only what was measured, or say how you measured this and where the number is stored",
                )
            )
        elif c.verdict == "understated" and fact is not None:
            out.append(
                Finding(
                    "mismatch",
                    "advice",
                    c.quote,
                    c.start,
                    c.end,
                    f"does not match the run: {fact.describe()} is {fact.text()}{src}",
                    "use the measured figure so the answer can be checked",
                    (fact.key,),
                )
            )
        elif c.verdict == "unmatched" and c.kind == "count" and fact is not None:
            out.append(
                Finding(
                    "mismatch",
                    "advice",
                    c.quote,
                    c.start,
                    c.end,
                    f"no count of the run matches this; {fact.describe()} is {fact.text()}{src}",
                    "quote the stored count, or say where this number comes from",
                    (fact.key,),
                )
            )
        elif c.verdict == "unmatched" and c.kind == "rate":
            out.append(
                Finding(
                    "unattributed_number",
                    "advice",
                    c.quote,
                    c.start,
                    c.end,
                    "a rate without the metric it measures",
                    "name the metric (precision, recall, false-positive rate) and what it was measured on",
                )
            )
        elif c.verdict == "not_compared" and c.kind == "change":
            out.append(
                Finding(
                    "change_without_baseline",
                    "advice",
                    c.quote,
                    c.start,
                    c.end,
                    "a change is claimed, but the run stores no before/after to check it against",
                    "give both levels (from X to Y, on what data) instead of the relative change",
                )
            )
        if c.verdict == "supported" and fact is not None and fact.width is not None and fact.width > 0.3:
            out.append(
                Finding(
                    "wide_interval",
                    "advice",
                    c.quote,
                    c.start,
                    c.end,
                    f"matches the run, but its interval is wide: {fact.describe()} is {fact.text()}",
                    "say the interval and how many examples it rests on",
                    (fact.key,),
                )
            )
    return out


# ------------------------------------------------------------------ words and structure


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in pattern.finditer(text)]


def _part(name: str, patterns: list[str], text: str) -> Part:
    return Part(name, tuple(_matches(compile_words(patterns), text)))


def _first_sentence_with(
    text: str, spans: list[tuple[int, int]], patterns: tuple[re.Pattern[str], ...]
) -> tuple[int, int]:
    """The first sentence matching the first pattern that matches any; else the first sentence."""
    for pattern in patterns:
        for a, b in spans:
            if pattern.search(text[a:b]):
                return a, b
    return spans[0] if spans else (0, 0)


def _absence(
    kind: str,
    severity: str,
    text: str,
    spans: list[tuple[int, int]],
    anchor: tuple[re.Pattern[str], ...],
    message: str,
    stronger: str,
) -> Finding:
    """A missing topic, quoted at the sentence that most needs it (a result, an automated step)."""
    a, b = _first_sentence_with(text, spans, anchor)
    return Finding(kind, severity, text[a:b], a, b, message, stronger)


_RESULT_ANCHOR = (
    re.compile(r"precision|recall|accura|false[- ]positive|caught|reduced", re.IGNORECASE),
    re.compile(r"\d"),
)
_AUTOMATION_ANCHOR = (
    re.compile(
        r"automat|auto-|dismiss|closes|closed|block|escalat|quarantin|deleted|suppress", re.IGNORECASE
    ),
    re.compile(r"model|classifier|pipeline|detector|llm|\bai\b", re.IGNORECASE),
)


def _tools(text: str, spans: list[tuple[int, int]]) -> list[Finding]:
    tool_re, verb_re = compile_words(TOOLS), compile_words(CONCRETE_VERBS)
    out: list[Finding] = []
    for a, b in spans:
        sent = text[a:b]
        found = list(tool_re.finditer(sent))
        if not found:
            continue
        listed = len({m.group(0).lower() for m in found}) >= 3
        concrete = bool(verb_re.search(sent)) or bool(re.search(r"\d", sent))
        if concrete and not listed:
            continue
        for m in found:
            why = (
                "one of several tools named in one breath"
                if listed
                else "a tool named without what it did or measured"
            )
            out.append(
                Finding(
                    "tool_dropping",
                    "advice",
                    m.group(0),
                    a + m.start(),
                    a + m.end(),
                    why,
                    f"say what {m.group(0)} did in this work (what it detected, stored or scored) and what that measured",
                )
            )
    if len(out) >= 3:
        out = [Finding(f.kind, BLOCKING, f.quote, f.start, f.end, f.message, f.stronger) for f in out]
    return out


def _length(text: str, spans: list[tuple[int, int]], words: list[re.Match[str]]) -> list[Finding]:
    n = len(words)
    out: list[Finding] = []
    fast = n / SPEAKING_RATE[1] * 60
    slow = n / SPEAKING_RATE[0] * 60
    if fast > TARGET_SECONDS:
        # Quote the sentence during which two minutes run out, at the middle speaking rate.
        cut = int(TARGET_SECONDS / 60 * sum(SPEAKING_RATE) / 2)
        pos = words[min(cut, n - 1)].start()
        a, b = _sentence_of(spans, pos)
        severity = BLOCKING if fast > RAMBLING_SECONDS else "advice"
        out.append(
            Finding(
                "too_long",
                severity,
                text[a:b],
                a,
                b,
                f"{n} words take about {fast:.0f}-{slow:.0f} s to say; two minutes run out around here",
                "keep one situation, one action, one measured result and one lesson; cut the rest",
            )
        )
    elif 0 < n < TOO_SHORT_WORDS and spans:
        a, b = spans[0]
        out.append(
            Finding(
                "too_short",
                "advice",
                text[a:b],
                a,
                b,
                f"{n} words take under {slow:.0f} s; the interviewer will have to pull the story out",
                "add what you did, how it was measured and what it changed",
            )
        )
    for a, b in spans:
        sw = _spoken_words(text[a:b])
        if len(sw) > LONG_SENTENCE_WORDS:
            end = a + sw[11].end()
            out.append(
                Finding(
                    "long_sentence",
                    "advice",
                    text[a:end],
                    a,
                    end,
                    f"a sentence of {len(sw)} words is hard to follow when spoken",
                    "split it: one claim per sentence",
                )
            )
    for q, s, e in _matches(compile_words(FILLERS), text)[:6]:
        out.append(
            Finding("filler", "advice", q, s, e, "filler word", "drop it or replace it with a specific")
        )
    out.extend(_repeats(text, words))
    return out


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "we",
        "i",
        "it",
        "is",
        "was",
        "were",
        "be",
        "that",
        "this",
        "as",
        "at",
        "by",
        "from",
        "our",
        "my",
    ]
)


def _repeats(text: str, words: list[re.Match[str]]) -> list[Finding]:
    """Three-word phrases said three or more times: the answer circles instead of moving on."""
    low = [w.group(0).lower() for w in words]
    grams: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(low) - 2):
        g = tuple(low[i : i + 3])
        if sum(t not in _STOP for t in g) < 2:
            continue
        grams[g] += 1
        first.setdefault(g, i)
    out = []
    for g, n in sorted(grams.items(), key=lambda kv: first[kv[0]]):
        if n >= 3:
            i = first[g]
            a, b = words[i].start(), words[i + 2].end()
            out.append(
                Finding(
                    "repetition",
                    "advice",
                    text[a:b],
                    a,
                    b,
                    f"said {n} times",
                    "say it once, then move to the next point",
                )
            )
    return out[:3]


# ------------------------------------------------------------------ the check


def check_answer(answer: str, facts: Iterable[FactLike]) -> Scorecard:
    """Read an answer and compare it with the run's facts; pure, offline and deterministic."""
    measured = read_facts(facts)
    text = _blank_comments(answer)
    spans = _sentences(text)
    words = _spoken_words(text)
    n = len(words)
    seconds = (round(n / SPEAKING_RATE[1] * 60), round(n / SPEAKING_RATE[0] * 60))
    claims = _find_claims(text, spans, measured)
    structure = [_part(name, pats, text) for name, pats in STRUCTURE.items()]
    coverage = [_part(name, pats, text) for name, pats in COVERAGE.items()]
    findings = _claim_findings(claims, measured)

    for q, s, e in _matches(compile_words(["accuracy"]), text):
        numeric = any(c.metric == "accuracy" and c.start <= s < c.end for c in claims)
        has_pr = any(m.metric in ("precision", "recall") for m in measured)
        findings.append(
            Finding(
                "accuracy",
                BLOCKING if numeric else "advice",
                q,
                s,
                e,
                "accuracy hides the rare class: with few attacks among many benign events a model that flags "
                "nothing is 'accurate'"
                + ("; the run measured precision and recall instead" if has_pr else ""),
                "give precision (how many alerts were real) and recall (how many attacks were caught) with intervals",
            )
        )
    for pattern, advice in ABSOLUTES:
        for q, s, e in _matches(compile_words([pattern]), text):
            findings.append(
                Finding("absolute", BLOCKING, q, s, e, "an absolute claim no measurement supports", advice)
            )
    for q, s, e in _matches(compile_words(BUZZWORDS), text):
        findings.append(
            Finding(
                "buzzword",
                "advice",
                q,
                s,
                e,
                "a buzzword that says nothing checkable",
                "say what was built and what it measured",
            )
        )
    findings.extend(_tools(text, spans))

    cov = {p.name: p for p in coverage}
    if spans and not cov["validation"].present:
        findings.append(
            _absence(
                "missing_validation",
                BLOCKING,
                text,
                spans,
                _RESULT_ANCHOR,
                "nothing says how the result was validated (labels, held-out data, time split, intervals)",
                "say what it was measured against: which labels, which split, and the interval",
            )
        )
    if spans and not cov["human_oversight"].present:
        findings.append(
            _absence(
                "missing_human_review",
                BLOCKING,
                text,
                spans,
                _AUTOMATION_ANCHOR,
                "nothing says what a person reviews or decides",
                "say who reviews the output, what they decide, and how their verdicts feed back",
            )
        )
    if spans and not cov["trade_offs"].present:
        findings.append(
            _absence(
                "missing_trade_offs",
                "advice",
                text,
                spans,
                _RESULT_ANCHOR,
                "no trade-off is named (threshold, alert budget, precision against recall)",
                "say what you gave up for the result, e.g. the threshold and the recall it cost",
            )
        )
    if spans and not cov["limits"].present:
        findings.append(
            _absence(
                "missing_limits",
                "advice",
                text,
                spans,
                _RESULT_ANCHOR,
                "no limit or blind spot is named",
                "name what it misses or was not measured on (drift, unseen techniques)",
            )
        )
    for p in structure:
        if spans and not p.present:
            a, b = spans[0] if p.name in ("situation", "action") else spans[-1]
            findings.append(
                Finding(
                    f"missing_{p.name}",
                    "advice",
                    text[a:b],
                    a,
                    b,
                    f"no {p.name} part found in the story",
                    {
                        "situation": "open with the problem and its size (who, how many alerts, what was at stake)",
                        "action": "say what you did yourself, in the first person",
                        "result": "give the measured outcome with its interval",
                        "lesson": "close with what you would change next, from the weakest measured point",
                    }[p.name],
                )
            )
    findings.extend(_length(text, spans, words))
    findings.sort(key=lambda f: (f.severity != BLOCKING, f.start, f.kind))
    return Scorecard(n, seconds, claims, structure, coverage, findings)
