"""The claims ``verify`` reads in a sentence: one small checker per kind of claim, in a declared order.

A checker gets a :class:`Sentence` (its text, the claims found in it, the events and alerts it
cites, the fact resolver and the workspace lookups) and returns a :class:`Problem` for every
claim of its kind that the data does not bear out. :data:`CHECKERS` is the ordered table
``Verifier.check_sentence`` runs; a new kind of claim is one function and one line there.
Reasons are reported in the order the sentence reads them (by where the claim starts), and
claims about the whole sentence after those, in the table's order. The checkers that bind a
sentence's names to what it cites (subjects of facts, detectors, techniques, actions) are in
:mod:`bluebench.reports.verify_names`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from bluebench.attack import technique_matches
from bluebench.reports.facts import FactError, Value
from bluebench.reports.verify_names import (
    check_actions,
    check_detectors,
    check_fact_metrics,
    check_fact_subjects,
    check_from_words,
    check_technique_names,
    named_detectors,
)
from bluebench.reports.verify_sentence import (
    COMMON_WORDS,
    DATE,
    STOP_WORDS,
    TEMPLATE_WORDS,
    TOKEN,
    Check,
    Checker,
    Facts,
    Problem,
    Sentence,
    Store,
    checker_table,
)

__all__ = [
    "CHECKERS",
    "DATE",
    "TOKEN",
    "Check",
    "Checker",
    "Facts",
    "Problem",
    "Sentence",
    "Store",
    "check_claims",
    "checker_table",
]

# Nouns after a count, and which distinct values of the cited events they count.
_NOUNS: dict[str, tuple[str, ...]] = {
    "account": ("user.name", "user.target.name", "accounts"),
    "user": ("user.name", "user.target.name", "accounts"),
    "host": ("host.name", "destination.address"),
    "computer": ("host.name", "destination.address"),
    "machine": ("host.name", "destination.address"),
    "server": ("host.name", "destination.address"),
    "address": ("source",),
    "source": ("source",),
    "ip": ("source",),
    "service": ("service.name",),
    "group": ("group.name",),
    "alert": ("alerts",),
    "detector": ("detectors",),
}

# Words with digits or dots that are vocabulary, not names.
# A name in backticks shaped like an identifier (a detector id, a parameter, a reader): uncited, it
# must be one the workspace knows, so `brute_forcer` or `winlogbeat` cannot slip into a report.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_WORDS_OK = {"n/a", "f1", "i.e", "e.g", "utf-8", "utf8", "ipv4", "ipv6"}

_HOST_WORDS = {"host", "server", "workstation", "computer", "machine"}

_FAILED_WORDS = {"failed", "failure", "failures", "unsuccessful"}
_SUCCESS_WORDS = {"successful", "success", "succeeded"}


# ------------------------------------------------------------------ one checker per kind of claim


def _facts(s: Sentence) -> Iterator[Problem]:
    """A number marked as a fact equals what its source recomputes to, at the precision shown."""
    for m in s.claims("fact"):
        shown, src = m.group("fval"), m.group("fsrc")
        if src is None:
            note = m.group("fnote")
            if note not in s.notes:
                yield Problem(m.start(), f"{shown} cites footnote [^{note}], which is never defined")
                continue
            src = s.notes[note]
        try:
            value = s.facts.value(src)
        except FactError as exc:
            yield Problem(m.start(), f"{shown} cites {src}: {exc}")
            continue
        if not _agrees(shown, value):
            yield Problem(m.start(), f"says {shown}, but {src} recomputes to {_show(value)}")


def _stray_footnotes(s: Sentence) -> Iterator[Problem]:
    """A footnote mark stands right after the number it sources."""
    for m in s.claims("badnote"):
        yield Problem(m.start(), f"footnote [^{m.group('bnote')}] does not follow a number")


def _code_names(s: Sentence) -> Iterator[Problem]:
    """A name in backticks is a known identifier or a value of the cited events."""
    for m in s.claims("code"):
        val = m.group("ctext").strip()
        if s.store.known_id(val):
            continue
        if not s.cited:
            if re.search(r"\d|\.[A-Za-z]", val) or _IDENTIFIER.fullmatch(val):
                yield Problem(m.start(), f"names {val!r} without citing evidence")
            continue
        if s.events and val.lower() not in s.values:
            yield Problem(m.start(), f"names {val!r}, which is not in the cited events")


def _alert_titles(s: Sentence) -> Iterator[Problem]:
    """``raised "TITLE"``: the title of an alert the sentence cites."""
    for m in s.claims("title"):
        if (instead := s.unsupported(m, "names an alert title")) is not None:
            yield from instead
            continue
        title = _quoted_text(m.group("ttext"))
        if title is None:
            yield Problem(m.start(), f"the alert title {m.group('ttext')!r} is not a valid quoted string")
        elif title not in {a.title for a in s.alerts().values()}:
            yield Problem(m.start(), f"alert title {title!r} is not that of a cited alert")


def _stored_titles(s: Sentence) -> Iterator[Problem]:
    """``titled "TITLE"``: the stored title of an incident or alert the sentence names in backticks."""
    for m in s.claims("named"):
        title = _quoted_text(m.group("ntext"))
        named = [t.group("ctext").strip() for t in s.claims("code")]
        if title is None:
            yield Problem(m.start(), f"the title {m.group('ntext')!r} is not a valid quoted string")
        elif title not in {s.store.title_of(x) for x in named}:
            yield Problem(
                m.start(),
                f"the title {title!r} is not the stored title of {', '.join(named) or 'anything named'}",
            )


def _times(s: Sentence) -> Iterator[Problem]:
    """A time is that of the first or last cited event, on its date or the day heading's."""
    for m in s.claims("dt", "time"):
        text = m.group(0)
        if (instead := s.unsupported(m, f"states the time {text}")) is not None:
            yield from instead
            continue
        if m.group("dt"):
            d, t = date.fromisoformat(m.group("dtd")), m.group("dtt")
        elif s.day is None:
            yield Problem(m.start(), f"states the time {text} with no day heading before it")
            continue
        else:
            d, t = s.day, text
        if not _time_matches(d, t, s.times):
            yield Problem(
                m.start(),
                f"states {d} {t}, but the cited events run from {_fmt(s.times[0])} to {_fmt(s.times[-1])}",
            )


def _dates(s: Sentence) -> Iterator[Problem]:
    """A date is a day on which a cited event happened."""
    for m in s.claims("date"):
        text = m.group(0)
        if (instead := s.unsupported(m, f"states the date {text}")) is not None:
            yield from instead
            continue
        if date.fromisoformat(text) not in {t.date() for t in s.times}:
            yield Problem(m.start(), f"states the date {text}, but no cited event is on that day")


def _addresses(s: Sentence) -> Iterator[Problem]:
    """An IP address is a value of the cited events."""
    for m in s.claims("ip"):
        text = m.group(0)
        if (instead := s.unsupported(m, f"names the address {text}")) is not None:
            yield from instead
        elif text.lower() not in s.values:
            yield Problem(m.start(), f"names the address {text}, which is not in the cited events")


def _techniques(s: Sentence) -> Iterator[Problem]:
    """A technique is one a cited alert reports; uncited, one some stored result knows."""
    for m in s.claims("tech"):
        text = m.group(0)
        if not s.cited:
            dets = named_detectors(s)
            techs = {t for name, _ in dets for t in s.store.detector_techniques(name) or ()}
            if techs and not any(technique_matches(text, t) for t in techs):
                names = ", ".join(sorted({n for n, _ in dets}))
                yield Problem(m.start(), f"names technique {text}, which {names} does not report")
            elif not techs and not s.store.technique_known(text):
                yield Problem(m.start(), f"names technique {text}, which no stored result has")
            continue
        techs = {t for a in s.alerts().values() for t in a.techniques}
        if not any(technique_matches(text, t) for t in techs):
            yield Problem(m.start(), f"names technique {text}, which no cited alert reports")


def _event_codes(s: Sentence) -> Iterator[Problem]:
    """``event NNNN`` is the code of a cited event."""
    for m in s.claims("evcode"):
        text = m.group(0)
        if (instead := s.unsupported(m, f"names {text}")) is not None:
            yield from instead
        elif m.group("ecode") not in {e.code for e in s.events}:
            yield Problem(m.start(), f"names {text}, which is not the code of a cited event")


def _scores(s: Sentence) -> Iterator[Problem]:
    """``score X`` is the score of a cited alert, at the precision shown."""
    for m in s.claims("score"):
        if (instead := s.unsupported(m, "states a score")) is not None:
            yield from instead
            continue
        scores = {a.score for a in s.alerts().values()}
        if not any(_agrees(m.group("sval"), x) for x in scores):
            yield Problem(
                m.start(), f"says score {m.group('sval')}, but the cited alerts score {_scores_text(scores)}"
            )


def _counts(s: Sentence) -> Iterator[Problem]:
    """Any other number counts the cited events, or their distinct values of the noun after it."""
    for m in s.claims("num"):
        text = m.group(0)
        if (instead := s.unsupported(m, f"the number {text}")) is not None:
            yield from instead
            continue
        after = s.text[m.end() :].split()[:6]
        counts = _counts_of(_noun_key(after), s)
        if not any(_agrees(text, c) for c in counts):
            yield Problem(
                m.start(),
                f"says {text} {' '.join(after[:2])}, but the cited events give {_counts_text(counts)}",
            )


def _names(s: Sentence) -> Iterator[Problem]:
    """A word shaped like a name (digits, dots, slashes) is vocabulary, an identifier or an event value."""
    for m in s.claims("ident"):
        text = m.group(0)
        if text.lower() in _WORDS_OK or s.store.known_id(text) or text.lower() in TEMPLATE_WORDS:
            continue
        if not s.cited:
            yield Problem(m.start(), f"names {text!r} without citing evidence")
        elif s.events and text.lower() not in s.values:
            yield Problem(m.start(), f"names {text!r}, which is not in the cited events")


def _outcomes(s: Sentence) -> Iterator[Problem]:
    """'failed' / 'successful' must be true of every cited event."""
    if not s.events:
        return
    low_words = {w.lower().strip(",.;:()") for w in s.text.split()}
    outcomes = {e.outcome for e in s.events}
    says_failed = bool(low_words & _FAILED_WORDS)
    says_success = bool(low_words & _SUCCESS_WORDS)
    if says_failed and not says_success and "success" in outcomes:
        yield Problem(len(s.text), "says the events failed, but some cited events succeeded")
    if says_success and not says_failed and "after" not in low_words and "failure" in outcomes:
        yield Problem(len(s.text), "says the events succeeded, but some cited events failed")


def _host_words(s: Sentence) -> Iterator[Problem]:
    """A bare word after 'host'/'server' (a summariser's invention need not look like a host name)."""
    for a, b in itertools.pairwise(s.text.split()):
        w = b.strip(",.;:()'\"")
        if a.lower() in _HOST_WORDS and w and "`" not in b and w.lower() not in COMMON_WORDS | TEMPLATE_WORDS:
            if not re.fullmatch(r"[A-Za-z][\w.\-]*", w) or w.lower() in STOP_WORDS:
                continue
            if w.lower() not in s.values and not s.store.known_id(w):
                yield Problem(len(s.text), f"names host {w!r}, which is not in the cited events")


# The claims a sentence is checked for, in order: one line per kind of claim.
CHECKERS: tuple[Checker, ...] = checker_table(
    Checker("fact", _facts),
    Checker("fact-subject", check_fact_subjects),
    Checker("fact-metric", check_fact_metrics),
    Checker("footnote", _stray_footnotes),
    Checker("code-name", _code_names),
    Checker("alert-title", _alert_titles),
    Checker("stored-title", _stored_titles),
    Checker("time", _times),
    Checker("date", _dates),
    Checker("address", _addresses),
    Checker("technique", _techniques),
    Checker("technique-name", check_technique_names),
    Checker("detector", check_detectors),
    Checker("action", check_actions),
    Checker("event-code", _event_codes),
    Checker("score", _scores),
    Checker("count", _counts),
    Checker("name", _names),
    Checker("outcome", _outcomes),
    Checker("host-word", _host_words),
    Checker("from-word", check_from_words),
)


def check_claims(s: Sentence, checkers: Iterable[Checker] = CHECKERS) -> list[str]:
    """Every checker's reasons, in the order the sentence reads (whole-sentence claims last)."""
    found = [p for c in checkers for p in c.check(s)]
    found.sort(key=lambda p: p.at)  # stable: equal positions keep the table's order
    return [p.reason for p in found]


# ------------------------------------------------------------------ helpers


def _quoted_text(text: str) -> str | None:
    """A title as written between quotes (JSON escapes), or None when its escapes are not valid."""
    try:
        value = json.loads('"' + text + '"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _agrees(shown: str, value: Value | None) -> bool:
    """The number as shown equals the value at the precision shown (strings must be equal)."""
    if value is None:
        return False
    if isinstance(value, str):
        return shown == value
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    tolerance: float = 0.5 * 10.0**-decimals + 1e-9
    return abs(_number(shown) - float(value)) <= tolerance


def _noun_key(words: list[str]) -> str:
    """The counted noun after a number: the head (last word) of the noun phrase that follows,
    which ends before a preposition, a parenthesis or code, or at punctuation."""
    head = ""
    for raw in words:
        if raw[:1] in "(`[" or raw[:1].isdigit() or raw.lower() in STOP_WORDS:
            break
        head = raw.lower().strip(",;:()")
        if raw[-1:] in ",;:()":
            break
    for stem in (head, head[:-1], head[:-2]):
        if stem in _NOUNS:
            return stem
    return ""


def _counts_of(noun: str, s: Sentence) -> list[int]:
    """The counts a number followed by ``noun`` may stand for, from the cited events."""
    evs = s.events
    if not noun:
        return [len(evs)]
    out = []
    for what in _NOUNS[noun]:
        if what == "alerts":
            out.append(len(s.alerts()))
        elif what == "detectors":
            out.append(len({a.detector for a in s.alerts().values()}))
        elif what == "accounts":
            out.append(
                len({v for e in evs for c in ("user.name", "user.target.name") if (v := e.entities.get(c))})
            )
        elif what == "source":
            out.append(len({e.source for e in evs if e.source}))
        elif what == "service.name":  # timelines leave out krbtgt, which every TGT names
            names = {e.entities[what] for e in evs if e.entities.get(what)}
            out += [len(names), len({n for n in names if not n.lower().startswith("krbtgt")})]
        else:
            out.append(len({e.entities[what] for e in evs if e.entities.get(what)}))
    return out


def _time_matches(d: date, t: str, times: list[datetime]) -> bool:
    if not times:
        return False
    fmt = "%H:%M:%S" if t.count(":") == 2 else "%H:%M"
    ends = {times[0], times[-1]}
    return any(x.date() == d and x.strftime(fmt) == t for x in ends)


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _show(v: Value | None) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _scores_text(scores: set[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in sorted(scores)) or "nothing"


def _counts_text(counts: list[int]) -> str:
    return " or ".join(str(c) for c in counts)
