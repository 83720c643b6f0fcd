"""What a ``verify`` checker reads: one sentence, the claims found in it and what it cites.

:data:`TOKEN` finds the claims (one named group per kind), :class:`Sentence` carries the cited
events and alerts with the lookups a checker needs (:class:`Store`, :class:`Facts`), and a
:class:`Checker` pairs a stable name with the function that judges one kind of claim. The
checkers themselves are in :mod:`bluebench.reports.verify_checks` and
:mod:`bluebench.reports.verify_names`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bluebench.attack import TECHNIQUE_NAMES
from bluebench.reports.binding import Aliases, Mention
from bluebench.reports.evidence import AlertInfo, Ev
from bluebench.reports.facts import Value
from bluebench.reports.timeline import ACTION_PHRASES

# ------------------------------------------------------------------ the claims a sentence can make

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
DATE = r"\d{4}-\d{2}-\d{2}"
_FACT_MARK = r"(?:\{fact:(?P<fsrc>[^}\s]+)\}|\[\^(?P<fnote>f\d+)\])"
# One alternative per kind of claim (or citation); a checker asks for its kinds by group name.
TOKEN = re.compile(
    "|".join(
        [
            rf"(?P<fact>(?P<fval>{DATE}|\d{{4}}-\d{{2}}|{_NUM}){_FACT_MARK})",
            r"(?P<code>(?P<fence>`+)(?P<ctext>.+?)(?P=fence))",
            r"(?P<cite>\[(?P<label>[ES]\d+)\])",
            r"(?P<inline>\[(?P<ikind>ev|alert):(?P<ids>[0-9A-Za-z,\-]+)\])",
            r"(?P<badnote>\[\^(?P<bnote>[^\]]+)\])",
            r'(?P<title>raised "(?P<ttext>(?:[^"\\]|\\.)*)")',
            r'(?P<named>titled "(?P<ntext>(?:[^"\\]|\\.)*)")',
            rf"(?P<dt>(?P<dtd>{DATE})[ T](?P<dtt>\d{{2}}:\d{{2}}(?::\d{{2}})?))",
            rf"(?P<date>{DATE})",
            r"(?P<time>\b\d{2}:\d{2}(?::\d{2})?\b)",
            r"(?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}\b)",
            r"(?P<tech>\bT\d{4}(?:\.\d{3})?\b)",
            r"(?P<evcode>\bevent (?P<ecode>\d{1,6})\b)",
            r"(?P<score>\bscore (?P<sval>\d+(?:\.\d+)?))",
            rf"(?P<num>(?<![\w.]){_NUM}(?![\w]))",
            r"(?P<ident>\b[A-Za-z0-9][A-Za-z0-9_\-]*(?:[.\\@$/][A-Za-z0-9_\-]+)+\b|\b[A-Za-z_\-]*\d[A-Za-z0-9_\-]*\b)",
        ]
    )
)

STOP_WORDS = {
    "for",
    "from",
    "on",
    "by",
    "in",
    "to",
    "targeting",
    "among",
    "with",
    "over",
    "and",
    "of",
    "at",
    "against",
    "involving",
    "between",
    "during",
    "within",
    "behind",
}
COMMON_WORDS = {
    "the",
    "a",
    "an",
    "its",
    "their",
    "this",
    "that",
    "same",
    "one",
    "each",
    "several",
    "named",
    "called",
}


def _template_words() -> set[str]:
    words: set[str] = set()
    for pair in ACTION_PHRASES.values():
        for text in pair:
            words.update(text.lower().split())
    for name in TECHNIQUE_NAMES.values():
        words.update(name.lower().split())
    return words


# Words the timeline's own sentence templates use: never taken for names.
TEMPLATE_WORDS = _template_words()

# ------------------------------------------------------------------ what a checker reads


class Facts(Protocol):
    """Recomputes a fact from its source (``FactResolver`` is one)."""

    def value(self, reference: str) -> Value | None: ...


class Store(Protocol):
    """The workspace lookups checkers need (``Verifier`` is one); read-only and cached there."""

    def known_id(self, token: str) -> bool: ...
    def title_of(self, ident: str) -> str | None: ...
    def technique_known(self, tech: str) -> bool: ...
    def alerts_named(self, alert_ids: Iterable[str]) -> dict[str, AlertInfo]: ...
    def alerts_of(self, event_ids: Iterable[str]) -> dict[str, AlertInfo]: ...
    def aliases(self) -> Aliases: ...
    def detector_techniques(self, detector: str) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class Problem:
    """A claim the data does not bear out: where it starts in the sentence, and why it fails."""

    at: int
    reason: str


@dataclass
class Sentence:
    """One sentence and what it rests on: the claims found in it, what it cites, where to look up."""

    text: str
    day: date | None  # the day heading above it, for times written without a date
    tokens: list[re.Match[str]]
    cited: bool  # it cites something, even something not stored
    events: list[Ev]
    alert_ids: set[str]  # alerts cited as a whole (their events are among ``events``)
    notes: dict[str, str]  # footnote label -> fact source
    facts: Facts
    store: Store
    times: list[datetime] = field(init=False)
    values: set[str] = field(init=False)
    _alerts: dict[str, AlertInfo] | None = field(default=None, init=False, repr=False)
    _mentions: list[Mention] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.times = sorted(e.at for e in self.events if e.at)
        self.values = _entity_values(self.events)

    def claims(self, *kinds: str) -> list[re.Match[str]]:
        """The sentence's tokens of these kinds (group names of :data:`TOKEN`), in reading order."""
        return [m for m in self.tokens if any(m.group(k) for k in kinds)]

    def alerts(self) -> dict[str, AlertInfo]:
        """The alerts the sentence speaks of: those it cites, else those its events belong to."""
        if self._alerts is None:
            if self.alert_ids:
                self._alerts = self.store.alerts_named(self.alert_ids)
            else:
                self._alerts = dict(self.store.alerts_of(e.id for e in self.events))
        return self._alerts

    def marks(self) -> list[tuple[int, int]]:
        """Spans of fact marks after their numbers ('{fact:SOURCE}', '[^f3]'): the source is not the sentence's words."""
        return [(m.end("fval"), m.end()) for m in self.claims("fact")]

    def plain(self) -> str:
        """The text with fact marks, code and quoted titles blanked (same length), for reading its words."""
        spans = self.marks() + [(m.start(), m.end()) for m in self.claims("code", "title", "named")]
        chars = list(self.text)
        for a, b in spans:
            chars[a:b] = " " * (b - a)
        return "".join(chars)

    def mentions(self) -> list[Mention]:
        """Where the sentence names a subject (a detector, technique, data set, the run), outside quoted titles."""
        if self._mentions is None:
            aliases = self.store.aliases()
            code = self.claims("code")
            quoted = [(m.start(), m.end()) for m in (*self.claims("title", "named"), *code)] + self.marks()
            found = aliases.mentions(self.text, quoted)
            # A name in backticks is a subject only as a whole (`brute_force`, `evtx`), never a path's part.
            found += [
                Mention(m.start(), m.end(), subj) for m in code if (subj := aliases.whole(m.group("ctext")))
            ]
            self._mentions = sorted(found, key=lambda x: (x.start, x.end))
        return self._mentions

    def unsupported(self, m: re.Match[str], what: str) -> list[Problem] | None:
        """None when cited events can judge the claim; else what to say instead.

        Citing nothing is a problem; citing only what is not stored is not one here, because the
        citation has already failed.
        """
        if not self.cited:
            return [Problem(m.start(), f"{what} without citing evidence")]
        return None if self.events else []


Check = Callable[[Sentence], Iterable[Problem]]


@dataclass(frozen=True)
class Checker:
    """One kind of claim: a stable name (tests and docs refer to it) and the function checking it."""

    name: str
    check: Check


def checker_table(*checkers: Checker) -> tuple[Checker, ...]:
    """The checkers in order; a name registered twice is a mistake, so it raises."""
    seen: set[str] = set()
    for c in checkers:
        if c.name in seen:
            raise KeyError(f"claim checker already registered: {c.name}")
        seen.add(c.name)
    return checkers


def _entity_values(evs: Iterable[Ev]) -> set[str]:
    """Every entity value of the events, lower-cased, with domain-qualified forms split too."""
    out: set[str] = set()
    for e in evs:
        for v in e.entities.values():
            low = v.lower()
            out.add(low)
            if "\\" in low:
                out.add(low.split("\\", 1)[1])
            if "@" in low:
                out.add(low.split("@", 1)[0])
            out.add(low.split(".", 1)[0] if not re.fullmatch(r"[\d.]+", low) else low)
    return out
