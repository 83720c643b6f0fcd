"""Score a written answer against the run it talks about: claims, structure, coverage, length.

Everything here is rules and small counts over the answer's own words, run offline; the
answer is never sent anywhere. Each finding quotes the exact words of the answer it is about
(``answer[start:end] == quote``) and says what would be stronger. A finding is *blocking*
when an interviewer would stop trusting the answer (a claim the run does not support, an
absolute claim, no validation, no human review, far too long); everything else is advice.
``check_answer`` reads the answer once (its numbers become claims in :mod:`.claims`), runs
each rule of ``_RULES`` over it and assembles a :class:`Scorecard`; ``Scorecard.passed`` is
what the CLI's exit code reports (0 passed, 1 a blocking finding).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bluebench.drill.claims import Claim, find_claims
from bluebench.drill.figures import INTERVAL_BEFORE
from bluebench.drill.lexicon import (
    ABSOLUTES,
    ACCURACY_PRAISED,
    BUZZWORDS,
    CONCRETE_VERBS,
    COVERAGE,
    FILLERS,
    NO_HUMAN,
    STRUCTURE,
    TOOLS,
    compile_words,
)
from bluebench.drill.measured import METRIC_NAMES, FactLike, Measured, read_facts
from bluebench.drill.text import affirmed, blank_comments, denied, sentence_of, sentences, spoken_words
from bluebench.reports.binding import metric_mentions

__all__ = [
    "BLOCKING",
    "SPEAKING_RATE",
    "Finding",
    "Part",
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


@dataclass(frozen=True)
class _Answer:
    """An answer as every rule reads it: text (comments blanked), sentences, words, claims, the run."""

    text: str
    spans: list[tuple[int, int]]
    words: list[re.Match[str]]
    claims: list[Claim]
    facts: list[Measured]
    structure: list[Part]
    coverage: list[Part]


def _read(answer: str, facts: list[Measured]) -> _Answer:
    """Read the answer once, so every rule quotes the same spans, words and claims."""
    text = blank_comments(answer)
    spans = sentences(text)
    return _Answer(
        text,
        spans,
        spoken_words(text),
        find_claims(text, spans, facts),
        facts,
        [_part(name, pats, text) for name, pats in STRUCTURE.items()],
        [_part(name, pats, text) for name, pats in COVERAGE.items()],
    )


def check_answer(answer: str, facts: Iterable[FactLike]) -> Scorecard:
    """Read an answer and compare it with the run's facts; pure, offline and deterministic."""
    ans = _read(answer, read_facts(facts))
    findings = [f for rule in _RULES for f in rule(ans)]
    findings.sort(key=lambda f: (f.severity != BLOCKING, f.start, f.kind))
    n = len(ans.words)
    seconds = (round(n / SPEAKING_RATE[1] * 60), round(n / SPEAKING_RATE[0] * 60))
    return Scorecard(n, seconds, ans.claims, ans.structure, ans.coverage, findings)


# ------------------------------------------------------------------ claims


def _claim_findings(ans: _Answer) -> list[Finding]:
    """What each claim's comparison with the run calls for; a supported one may still be too vague."""
    by_key = {m.key: m for m in ans.facts}
    out: list[Finding] = []
    for c in ans.claims:
        fact = by_key.get(c.fact) if c.fact else None
        found = _verdict_finding(c, fact, ans.facts)
        if found is not None:
            out.append(found)
        wide = fact is not None and fact.width is not None and fact.width > 0.3
        if c.verdict == "supported" and c.kind != "absolute" and wide and fact is not None:
            out.append(
                _about(
                    c,
                    "wide_interval",
                    ADVICE,
                    f"matches the run, but its interval is wide: {fact.describe()} is {fact.text()}",
                    "say the interval and how many examples it rests on",
                    (fact.key,),
                )
            )
    return out


def _about(
    c: Claim, kind: str, severity: str, message: str, stronger: str, facts: tuple[str, ...] = ()
) -> Finding:
    """A finding that quotes the claim's own words."""
    return Finding(kind, severity, c.quote, c.start, c.end, message, stronger, facts)


def _verdict_finding(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    """What a verdict calls for: a claim the run does not bear out blocks; a mismatch or a vague figure advises."""
    if c.kind == "absolute":
        return None  # reported once per phrase, by the absolutes rule, with what the run measured
    if c.metric == "accuracy" and c.verdict in ("never_computed", "not_measured"):
        return None  # reported once, by the accuracy rule
    build = _VERDICT_FINDINGS.get(c.verdict)
    return build(c, fact, facts) if build is not None else None


def _src(fact: Measured) -> str:
    return f" (source: {fact.fact.source})"


def _overclaim(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    if fact is None:
        return None
    return _about(
        c,
        "overclaim",
        BLOCKING,
        f"claims more than the run measured: {fact.describe()} is {fact.text()}{_src(fact)}",
        f"say the measured figure with its interval: {fact.describe()} {fact.text()}",
        (fact.key,),
    )


def _measured_names(facts: list[Measured]) -> str:
    return ", ".join(sorted({METRIC_NAMES[m.metric] for m in facts if m.metric and m.value is not None}))


def _never_computed(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding:
    name = METRIC_NAMES.get(c.metric or "", c.metric or "")
    return _about(
        c,
        "never_computed",
        BLOCKING,
        f"the run never computed {name}; it measured: {_measured_names(facts) or 'nothing'}",
        "claim only what was measured, or say how you measured this and where the number is stored",
    )


def _not_measured(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding:
    name = METRIC_NAMES.get(c.metric or "", c.metric or "")
    for_whom = sorted({m.about.describe() for m in facts if m.metric == c.metric and m.value is not None})
    shown = ", ".join(for_whom[:4]) + (f" and {len(for_whom) - 4} more" if len(for_whom) > 4 else "")
    return _about(
        c,
        "never_computed",
        BLOCKING,
        f"the run did not measure {name} for {c.subject}; it measured it for: {shown or 'nothing'}",
        f"claim only what was measured for {c.subject}, or name the subject the figure belongs to",
    )


def _which_subject(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    also = next((m for m in facts if m.key == c.also), None)
    if fact is None or also is None:
        return None
    what = "a count" if c.kind == "count" else "a figure"
    return _about(
        c,
        "which_subject",
        BLOCKING if c.bolder else ADVICE,
        f"{what} with no subject is about the whole run, where {fact.describe()} is {fact.text()}"
        f"{_src(fact)}; it matches {also.describe()} ({also.text()}) instead",
        f"say which one: '{also.about.describe()} had ...', or give the whole run's figure",
        (fact.key, also.key),
    )


def _wrong_count(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    if fact is None:
        return None
    return _about(
        c,
        "wrong_count",
        BLOCKING,
        f"contradicts the run: {fact.describe()} is {fact.text()}{_src(fact)}",
        "quote the stored count, or round it out loud ('about 10,000', 'over 10k')",
        (fact.key,),
    )


def _understated(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    if fact is None:
        return None
    return _about(
        c,
        "mismatch",
        ADVICE,
        f"does not match the run: {fact.describe()} is {fact.text()}{_src(fact)}",
        "use the measured figure so the answer can be checked",
        (fact.key,),
    )


def _unmatched(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    if c.kind != "rate":
        return None
    return _about(
        c,
        "unattributed_number",
        ADVICE,
        "a rate without the metric it measures",
        "name the metric (precision, recall, false-positive rate) and what it was measured on",
    )


def _not_compared(c: Claim, fact: Measured | None, facts: list[Measured]) -> Finding | None:
    if c.kind != "change":
        return None
    return _about(
        c,
        "change_without_baseline",
        ADVICE,
        "a change is claimed, but the run stores no before/after to check it against",
        "give both levels (from X to Y, on what data) instead of the relative change",
    )


_VERDICT_FINDINGS: dict[str, Callable[[Claim, Measured | None, list[Measured]], Finding | None]] = {
    "overclaim": _overclaim,
    "never_computed": _never_computed,
    "not_measured": _not_measured,
    "which_subject": _which_subject,
    "contradicts": _wrong_count,
    "understated": _understated,
    "unmatched": _unmatched,
    "not_compared": _not_compared,
}


# ------------------------------------------------------------------ words and structure


def _accuracy(ans: _Answer) -> list[Finding]:
    """Accuracy hides the rare class: offered as a figure or as the result ("it is accurate") it blocks;
    the word in passing ("we avoided accuracy") advises."""
    has_pr = any(m.metric in ("precision", "recall") for m in ans.facts)
    out: list[Finding] = []
    for m in metric_mentions(ans.text):
        if m.metric != "accuracy":
            continue
        numeric = any(c.metric == "accuracy" and c.start <= m.start < c.end for c in ans.claims)
        word = ans.text[m.start : m.end]
        praised = word.lower() != "accuracy" or bool(ACCURACY_PRAISED.match(ans.text, m.start))
        claimed = numeric or (praised and not denied(ans.text, m.start))
        out.append(
            Finding(
                "accuracy",
                BLOCKING if claimed else ADVICE,
                word,
                m.start,
                m.end,
                "accuracy hides the rare class: with few attacks among many benign events a model that flags "
                "nothing is 'accurate'"
                + ("; the run measured precision and recall instead" if has_pr else ""),
                "give precision (how many alerts were real) and recall (how many attacks were caught) with intervals",
            )
        )
    return out


def _absolutes(ans: _Answer) -> list[Finding]:
    """'never misses', 'zero false positives': claims no measurement can support; when they claim a rate,
    the message says what the run measured for that subject."""
    out: list[Finding] = []
    for pattern, advice, _implied in ABSOLUTES:
        for s, e in affirmed(compile_words([pattern]), ans.text):
            if _closes_interval(ans.text, s):
                continue
            measured = [
                f"{METRIC_NAMES[c.metric]} of {c.subject} is {c.measured}"
                for c in ans.claims
                if c.kind == "absolute" and (c.start, c.end) == (s, e) and c.metric and c.measured
            ]
            said = "; the run measured " + " and ".join(measured) if measured else ""
            out.append(
                Finding(
                    "absolute",
                    BLOCKING,
                    ans.text[s:e],
                    s,
                    e,
                    f"an absolute claim no measurement supports{said}",
                    advice,
                )
            )
    return out


def _closes_interval(text: str, at: int) -> bool:
    """'(95% interval 44-100%)': the top of an interval just given is its bound, not a perfect-rate claim."""
    before = text[max(0, at - 60) : at]
    low = re.search(r"\d[\d.,]*\s*%?\s*(?:-|–|—|to)\s*$", before)
    return low is not None and bool(INTERVAL_BEFORE.search(before[: low.start()]))


def _removed_human(ans: _Answer) -> list[Finding]:
    """Taking the person out of the decision ('closes alerts by itself') blocks: AI ranks, a person decides."""
    review = _review_facts(ans.facts)
    return [
        Finding(
            "removed_human",
            BLOCKING,
            ans.text[s:e],
            s,
            e,
            "takes the person out of the decision; " + review,
            "say what a person still decides (verdict before anything is closed) and where automation stops",
            tuple(k for k in ("review/reviewed", "incidents/count") if any(m.key == k for m in ans.facts)),
        )
        for s, e in affirmed(compile_words(NO_HUMAN), ans.text)
    ]


def _review_facts(facts: list[Measured]) -> str:
    """What the run records of people's decisions, for the message of a removed-human finding."""
    by_key = {m.key: m for m in facts}
    reviewed, incidents = by_key.get("review/reviewed"), by_key.get("incidents/count")
    if reviewed is None:
        return "this run records no reviewer verdicts: nothing in it shows that automation decided safely"
    if incidents is None:
        return f"in this run people recorded {reviewed.text()} verdicts (source: {reviewed.fact.source})"
    return (
        f"in this run people recorded verdicts on {reviewed.text()} of {incidents.text()} incidents "
        f"(sources: {reviewed.fact.source}, {incidents.fact.source})"
    )


def _buzzwords(ans: _Answer) -> list[Finding]:
    """Words that sound like results and say nothing checkable."""
    return [
        Finding(
            "buzzword",
            ADVICE,
            q,
            s,
            e,
            "a buzzword that says nothing checkable",
            "say what was built and what it measured",
        )
        for q, s, e in _matches(compile_words(BUZZWORDS), ans.text)
    ]


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


def _tools(ans: _Answer) -> list[Finding]:
    """Tools named without what they did, or several in one breath; three or more such block."""
    text, spans = ans.text, ans.spans
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


# What an answer must speak to, and the sentence a missing one is quoted at:
# (coverage topic, finding kind, severity, anchor, message, stronger).
_MISSING_COVERAGE: tuple[tuple[str, str, str, tuple[re.Pattern[str], ...], str, str], ...] = (
    (
        "validation",
        "missing_validation",
        BLOCKING,
        _RESULT_ANCHOR,
        "nothing says how the result was validated (labels, held-out data, time split, intervals)",
        "say what it was measured against: which labels, which split, and the interval",
    ),
    (
        "human_oversight",
        "missing_human_review",
        BLOCKING,
        _AUTOMATION_ANCHOR,
        "nothing says what a person reviews or decides",
        "say who reviews the output, what they decide, and how their verdicts feed back",
    ),
    (
        "trade_offs",
        "missing_trade_offs",
        ADVICE,
        _RESULT_ANCHOR,
        "no trade-off is named (threshold, alert budget, precision against recall)",
        "say what you gave up for the result, e.g. the threshold and the recall it cost",
    ),
    (
        "limits",
        "missing_limits",
        ADVICE,
        _RESULT_ANCHOR,
        "no limit or blind spot is named",
        "name what it misses or was not measured on (drift, unseen techniques)",
    ),
)
_STRUCTURE_ADVICE = {
    "situation": "open with the problem and its size (who, how many alerts, what was at stake)",
    "action": "say what you did yourself, in the first person",
    "result": "give the measured outcome with its interval",
    "lesson": "close with what you would change next, from the weakest measured point",
}


def _missing_coverage(ans: _Answer) -> list[Finding]:
    """No validation or no human review blocks; no trade-off or limit advises."""
    if not ans.spans:
        return []
    cov = {p.name: p for p in ans.coverage}
    return [
        _absence(kind, severity, ans.text, ans.spans, anchor, message, stronger)
        for topic, kind, severity, anchor, message, stronger in _MISSING_COVERAGE
        if not cov[topic].present
    ]


def _missing_structure(ans: _Answer) -> list[Finding]:
    """A story part not found: quoted at the first sentence (situation, action) or the last."""
    out: list[Finding] = []
    for p in ans.structure:
        if ans.spans and not p.present:
            a, b = ans.spans[0] if p.name in ("situation", "action") else ans.spans[-1]
            out.append(
                Finding(
                    f"missing_{p.name}",
                    ADVICE,
                    ans.text[a:b],
                    a,
                    b,
                    f"no {p.name} part found in the story",
                    _STRUCTURE_ADVICE[p.name],
                )
            )
    return out


# ------------------------------------------------------------------ length


def _length(ans: _Answer) -> list[Finding]:
    """Too long to say in two minutes (far too long blocks), too short, long sentences, fillers, repeats."""
    text, spans, words = ans.text, ans.spans, ans.words
    n = len(words)
    out: list[Finding] = []
    fast = n / SPEAKING_RATE[1] * 60
    slow = n / SPEAKING_RATE[0] * 60
    if fast > TARGET_SECONDS:
        # Quote the sentence during which two minutes run out, at the middle speaking rate.
        cut = int(TARGET_SECONDS / 60 * sum(SPEAKING_RATE) / 2)
        pos = words[min(cut, n - 1)].start()
        a, b = sentence_of(spans, pos)
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
        sw = spoken_words(text[a:b])
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


# The rules of the scorecard, in the order their findings are listed (before sorting by severity).
_RULES: tuple[Callable[[_Answer], list[Finding]], ...] = (
    _claim_findings,
    _accuracy,
    _absolutes,
    _removed_human,
    _buzzwords,
    _tools,
    _missing_coverage,
    _missing_structure,
    _length,
)
