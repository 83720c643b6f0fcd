"""The names in a sentence, checked against what that sentence cites, never against the run at large.

A number cited as a fact must be about the subject its sentence names there (``log_cleared``'s
precision is not ``brute_force``'s) and measure the metric it is called; a detector named in a
sentence that cites alerts must have raised one of them; a technique's name must be that of a
cited alert's technique (or, uncited, of the detector the sentence names); an action ("log
cleared", "account deletion") must be what a cited event did; a plain word after "from" must be
a value of the cited events. Each is one checker in :data:`bluebench.reports.verify_checks.CHECKERS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from bluebench.attack import TECHNIQUE_NAMES, technique_matches
from bluebench.reports.binding import (
    CURVE,
    OVERALL,
    REVIEW,
    content_words,
    metric_mentions,
    metric_of,
    name_stems,
    nearest,
    subject_of,
)
from bluebench.reports.cues import compile_words
from bluebench.reports.timeline import ACTION_PHRASES
from bluebench.reports.verify_sentence import COMMON_WORDS, STOP_WORDS, TEMPLATE_WORDS, Problem, Sentence

__all__ = [
    "check_actions",
    "check_detectors",
    "check_fact_metrics",
    "check_fact_subjects",
    "check_from_words",
    "check_technique_names",
    "named_detectors",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Subjects a fact about the whole run may stand next to without being about something else.
_RUN_LEVEL = frozenset({OVERALL.kind, CURVE.kind, REVIEW.kind, "domain"})
# Words a sentence may put after "from" without naming anything ("from one source", "from outside").
_FROM_OK = _words(
    "one several many multiple different outside inside there here it them which where each all both "
    "another other these those then now detector detectors alert alerts account accounts host hosts "
    "address addresses source sources event events"
)
_SNAKE_ID = re.compile(r"(?<![\w`])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w`])")
# The tail a timeline writes after what happened: "(event 4768; AS-REP roasting, T1558.004)".
_TECHNIQUE_TAIL = re.compile(r"\([^()]*\bT\d{4}(?:\.\d{3})?\b[^()]*\)")


def _fact_source(s: Sentence, m: re.Match[str]) -> str | None:
    src = m.group("fsrc")
    return src if src is not None else s.notes.get(m.group("fnote"))


def check_fact_subjects(s: Sentence) -> Iterator[Problem]:
    """A number cited as a fact is about what its sentence names nearest to it."""
    for m in s.claims("fact"):
        src = _fact_source(s, m)
        if src is None:
            continue  # an undefined footnote is the fact checker's to report
        about = subject_of(src)
        named = nearest(s.mentions(), m.start(), m.end(), 0, len(s.text))
        if named is None or about in named.subjects:
            continue
        if about.kind in _RUN_LEVEL and all(x.kind in _RUN_LEVEL for x in named.subjects):
            continue
        words = s.text[named.start : named.end]
        yield Problem(
            m.start(),
            f"{m.group('fval')} cites {src}, which is about {about.describe()}, but the sentence names {words!r}",
        )


def check_fact_metrics(s: Sentence) -> Iterator[Problem]:
    """A number cited as a fact measures the metric its sentence calls it ('recall 0.58' is a recall)."""
    said = [m for m in metric_mentions(s.plain()) if not m.weak]
    for m in s.claims("fact"):
        src = _fact_source(s, m)
        want = metric_of(src) if src else None
        if want is None:
            continue
        before = [x for x in said if x.end <= m.start() and m.start() - x.end <= 120]
        if not before or re.search(r"\d", s.text[before[-1].end : m.start()]):
            continue  # no metric word leads to it, or another number stands between
        if before[-1].metric != want:
            yield Problem(
                m.start(),
                f"{m.group('fval')} is called {s.text[before[-1].start : before[-1].end]!r}, but {src} is {want}",
            )


def named_detectors(s: Sentence) -> list[tuple[str, int]]:
    """Detector ids the sentence names (in backticks, or a bare snake_case id), with where."""
    found = [(m.group("ctext").strip(), m.start()) for m in s.claims("code")]
    found += [(m.group(0), m.start()) for m in _SNAKE_ID.finditer(s.text)]
    return [(name, at) for name, at in found if s.store.detector_techniques(name) is not None]


def check_detectors(s: Sentence) -> Iterator[Problem]:
    """A detector named in a sentence that cites events raised one of the cited alerts."""
    if not s.events:
        return
    raised = {a.detector for a in s.alerts().values()}
    for name, at in named_detectors(s):
        if name not in raised:
            shown = ", ".join(sorted(raised)) or "no stored detector"
            yield Problem(at, f"names detector {name!r}, but the cited alerts are from {shown}")


@cache
def _technique_names() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each technique's name as a pattern, longest first; names the timeline also uses for an action
    ("account creation") are left to the action checker."""
    actions = {p.lower() for pair in ACTION_PHRASES.values() for p in pair}
    pairs = [(name, tech) for tech, name in TECHNIQUE_NAMES.items() if name.lower() not in actions]
    pairs.sort(key=lambda p: -len(p[0]))
    return tuple((compile_words([re.escape(name)]), tech) for name, tech in pairs)


def _quoted(s: Sentence) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in s.claims("title", "named", "code")]


def check_technique_names(s: Sentence) -> Iterator[Problem]:
    """A technique named in words ("password spraying") is one the cited alerts report, or uncited,
    one the detector the sentence names reports."""
    if s.events:
        techs = {t for a in s.alerts().values() for t in a.techniques}
        whose = "no cited alert reports it"
    else:
        dets = named_detectors(s)
        if s.cited or not dets:
            return
        techs = {t for name, _ in dets for t in s.store.detector_techniques(name) or ()}
        whose = f"{', '.join(sorted({n for n, _ in dets}))} does not report it"
        if not techs:
            return  # a rule-driven detector takes its techniques from its rules
    taken = _quoted(s)
    for pattern, tech in _technique_names():
        for m in pattern.finditer(s.text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            if not any(technique_matches(tech, t) for t in techs):
                yield Problem(m.start(), f"names {m.group(0)!r} ({tech}), but {whose}")


@cache
def _action_phrases() -> dict[frozenset[str], str]:
    """The timeline's words for each action, as stem sets: {'log', 'clear'} -> 'log-cleared'."""
    out: dict[frozenset[str], str] = {}
    for action, pair in ACTION_PHRASES.items():
        for phrase in pair:
            stems = frozenset(name_stems(phrase))
            if stems:
                out.setdefault(stems, action)
    return out


def check_actions(s: Sentence) -> Iterator[Problem]:
    """What a sentence says happened ("Log cleared by", "account deletion") is what a cited event did."""
    if not s.events:
        return
    actions = {e.action for e in s.events if e.action}
    masked = _quoted(s) + [(m.start(), m.end()) for m in _TECHNIQUE_TAIL.finditer(s.text)]
    words = content_words(s.text, masked)
    phrases = _action_phrases()
    i = 0
    while i < len(words):
        for k in (5, 4, 3, 2, 1):
            window = words[i : i + k]
            if len(window) < k or window[0].clause != window[-1].clause:
                continue
            action = phrases.get(frozenset(w.stem for w in window))
            if action is None:
                continue
            if action not in actions:
                said = s.text[window[0].start : window[-1].end]
                shown = ", ".join(sorted(actions)) or "nothing"
                yield Problem(window[0].start, f"says {said!r}, but the cited events are {shown}")
            i += k
            break
        else:
            i += 1


_FROM = re.compile(r"\bfrom\s+([^\s`\"“(\[]+)", re.IGNORECASE)


def check_from_words(s: Sentence) -> Iterator[Problem]:
    """A plain word after 'from' in a sentence citing events is one of their values ("from FINANCE")."""
    if not s.events:
        return
    quoted = _quoted(s)
    for m in _FROM.finditer(s.text):
        w = m.group(1).strip(",.;:()'\"")
        low = w.lower()
        if not w or any(a <= m.start(1) < b for a, b in quoted) or not re.fullmatch(r"[A-Za-z][\w.\-]*", w):
            continue
        if low in COMMON_WORDS | STOP_WORDS | TEMPLATE_WORDS | _FROM_OK or low in s.values:
            continue
        if not s.store.known_id(w):
            yield Problem(m.start(1), f"names {w!r} after 'from', which is not in the cited events")
