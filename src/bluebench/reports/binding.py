"""What a number in a sentence is bound to: the subject the sentence names and the metric it measures.

A number is only comparable with the facts of the subject its sentence names: "overall recall
was 58%" is about the run, "the log-clearing detector's false-positive rate" about
``log_cleared``, "the phishing classifier" about the mail model. :func:`subject_of` reads the
subject of a fact from its key or source; :class:`Aliases` finds where a sentence names one,
with names built from the registries (detectors' ids, titles and phrases; ATT&CK technique
ids and names; fact domains; readers), never from a list of one run's data;
:func:`metric_mentions` finds the metric words (:mod:`bluebench.reports.cues`). The drill binds
the claims of an answer with these, and ``verify`` the facts a document cites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from bluebench.attack import TECHNIQUE_NAMES
from bluebench.registry import Registry
from bluebench.reports.cues import (
    FIRING_WORDS,
    METRIC_OBJECTS,
    METRIC_PHRASES,
    OVERALL_WORDS,
    REVIEW_WORDS,
    STOPWORDS,
    SUBJECT_FILLER,
    WEAK_SUBJECT_WORDS,
    compile_words,
)

__all__ = [
    "CURVE",
    "DOMAINS",
    "OVERALL",
    "REVIEW",
    "Aliases",
    "FactDomain",
    "Mention",
    "MetricMention",
    "Subject",
    "Word",
    "content_words",
    "metric_mentions",
    "metric_of",
    "name_stems",
    "nearest",
    "stem",
    "subject_of",
]

# The order a mention lists its subjects in: a detector is what "the spraying detection" means
# before the technique of the same name; a data set only qualifies a number.
_KIND_ORDER = {"detector": 0, "technique": 1, "domain": 2, "row": 3, "overall": 4, "review": 5, "dataset": 6}


@dataclass(frozen=True, order=True)
class Subject:
    """What a fact is about: ``kind`` (overall, detector, technique, dataset, domain, row, review) and name."""

    kind: str
    name: str = ""

    def describe(self) -> str:
        """How findings name it: 'all detectors together', 'log_cleared', 'T1110.003 (password spraying)'."""
        if self.kind == "overall":
            return "all detectors together"
        if self.kind == "review":
            return "reviewers' verdicts"
        if self.kind == "curve":
            return "the score curve (other thresholds)"
        if self.kind == "technique" and self.name in TECHNIQUE_NAMES:
            return f"{self.name} ({TECHNIQUE_NAMES[self.name]})"
        if self.kind == "domain":
            return f"the {self.name} model"
        if self.kind == "row":
            domain, _, row = self.name.partition("/")
            return f"{row} ({domain} comparison)"
        return self.name


OVERALL = Subject("overall")
REVIEW = Subject("review")
#: Points of the stored score curve: the run at other thresholds, never what a claim is about.
CURVE = Subject("curve")


# ------------------------------------------------------------------ domains and the subject of a fact


@dataclass(frozen=True)
class FactDomain:
    """A domain whose facts have their own source prefix (``mail/...``), and how people name its model.

    ``own`` are the paths under the prefix that measure the domain's own model (``rows/all``,
    ``kfold``); a path under one of ``rows`` is a comparison named by its next segment
    (``rows/keyword_rules``), which a sentence must name for a number to be judged by it.
    ``noun`` is what the domain's counts count.
    """

    prefix: str
    words: tuple[str, ...]
    own: tuple[str, ...]
    rows: tuple[str, ...] = ()
    noun: str = ""

    def subject_of(self, parts: list[str]) -> Subject:
        path = "/".join(parts)
        if (
            len(parts) >= 2
            and parts[0] in self.rows
            and not any(path == o or path.startswith(o + "/") for o in self.own)
        ):
            return Subject("row", f"{self.prefix}/{parts[1]}")
        return Subject("domain", self.prefix)


#: Domains with facts of their own (``reports.facts`` resolves the sources); a new domain
#: (network, vulnerabilities, malware) registers here how people name its model, and the drill
#: and ``verify`` bind sentences to its facts.
DOMAINS: Registry[FactDomain] = Registry("fact domain")
DOMAINS.register(
    "mail",
    FactDomain(
        "mail",
        words=(
            "phishing classifier",
            "phishing model",
            "phishing filter",
            "mail classifier",
            "mail model",
            "email classifier",
            "email model",
            "spam filter",
            "classifier",
        ),
        own=("rows/all", "kfold", "data", "target_fpr", "retraining"),
        rows=("rows",),
        noun="message",
    ),
)

DOMAINS.register(
    "vuln",
    FactDomain(
        "vuln",
        words=("KEV model", "exploitation model", "vulnerability model", "vulnerability ranking"),
        own=("eval", "evaluations", "findings"),
        noun="CVE",
    ),
)

DOMAINS.register(
    "network",
    FactDomain(
        "network",
        words=("DNS name model", "DNS model", "DNS tunnel model"),
        own=("dns", "dns_eval", "connections", "detectors"),
        noun="query name",
    ),
)

DOMAINS.register(
    "malware",
    FactDomain(
        "malware",
        words=(
            "malware model",
            "malware classifier",
            "static model",
            "PE model",
            "API-sequence model",
            "behaviour model",
            "family model",
        ),
        own=("eval", "evaluations"),
        rows=("baselines",),
        noun="file",
    ),
)

_EVALUATION = ("eval", "evaluations")


def subject_of(path: str) -> Subject:
    """The subject of a fact key (``eval/NAME/...``) or source (``evaluations/ID/...``)."""
    parts = path.split("#", 1)[0].split("/")
    head, rest = parts[0], parts[1:]
    if head in _EVALUATION and len(rest) >= 3 and rest[1] in ("detectors", "techniques"):
        return Subject(rest[1][:-1], rest[2])
    if head in _EVALUATION and len(rest) >= 2 and rest[1] == "curve":
        return CURVE
    if head in ("alerts", "review", "network") and rest[:1] == ["detector"] and len(rest) >= 2:
        return Subject("detector", rest[1])
    if head == "review":
        return REVIEW
    if head == "config" and rest:
        return Subject("detector", rest[0])
    if head == "workspace" and rest[:1] == ["dataset"] and len(rest) >= 2:
        return Subject("dataset", rest[1])
    if head in DOMAINS:
        return DOMAINS.get(head).subject_of(rest)
    return OVERALL


# ------------------------------------------------------------------ words


_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’_][A-Za-z0-9]+)*")
_TECHNIQUE = re.compile(r"(?<![\w.])T\d{4}(?:\.\d{3})?(?![\w])")
_CLAUSE_BREAK = re.compile(r"[,;:.!?()\[\]\"“”`]")
# Words between two names: "brute force and password spraying" names two subjects, not one.
_COORDINATING = frozenset({"and", "or", "but", "versus", "vs", "nor", "while", "whereas"})
# Crude English endings, enough that 'cleared', 'clearing' and 'clears' read as one word.
_SUFFIXES = (
    ("ies", "y"),
    ("tions", "t"),
    ("tion", "t"),
    ("ings", ""),
    ("ing", ""),
    ("ed", ""),
    ("es", ""),
    ("s", ""),
    ("e", ""),
)


def stem(word: str) -> str:
    """'clearing', 'cleared' -> 'clear'; 'deletion', 'deleted' -> 'delet'."""
    w = word.lower()
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not (suffix == "s" and w.endswith("ss")):
            return w[: -len(suffix)] + repl
    return w


def same_stem(a: str, b: str) -> bool:
    """Equal, or one a prefix of the other when long enough to be a word ('install', 'installat')."""
    return a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))


@dataclass(frozen=True)
class Word:
    """A content word of a sentence: its stem, its span, and which clause it is in."""

    stem: str
    start: int
    end: int
    clause: int


def content_words(text: str, masked: list[tuple[int, int]]) -> list[Word]:
    """Content words with their spans; a hyphenated word keeps all its parts ('AS-REP', 'pass-the-hash')."""
    out: list[Word] = []
    clause, last = 0, 0
    for m in _WORD.finditer(text):
        if any(a <= m.start() < b for a, b in masked):
            continue
        if _CLAUSE_BREAK.search(text[last : m.start()]) or m.group(0).lower() in _COORDINATING:
            clause += 1
        last = m.end()
        parts = re.split(r"[-'’_]", m.group(0))
        low = m.group(0).lower()
        if len(parts) == 1 and (low in STOPWORDS or low in SUBJECT_FILLER):
            continue
        out.extend(
            Word(stem(p), m.start(), m.end(), clause) for p in parts if p.lower() not in SUBJECT_FILLER
        )
    return out


def name_stems(name: str) -> tuple[str, ...]:
    """A name as the stems of its content words ('a cleared log' -> ('clear', 'log'))."""
    out: list[str] = []
    for m in _WORD.finditer(name):
        parts = re.split(r"[-'’_]", m.group(0))
        for p in parts:
            low = p.lower()
            if low in SUBJECT_FILLER or (len(parts) == 1 and low in STOPWORDS):
                continue
            out.append(stem(p))
    return tuple(out)


# ------------------------------------------------------------------ the alias table


@dataclass(frozen=True)
class Mention:
    """Where a sentence names a subject, and the subjects those words can mean (preferred first)."""

    start: int
    end: int
    subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class _Alias:
    stems: frozenset[str]
    subject: Subject
    alone: bool  # a curated name (id, phrase, technique name), whose one distinctive word may name it


class Aliases:
    """Names of subjects as a sentence says them, and where a sentence says them (read-only).

    ``entries`` are (name, subject, curated): a curated name (a detector's id or phrase, a
    technique's name, a domain's words) may be named by one distinctive word of it
    ("spraying"); a descriptive one (a title) only by two words or more ("log clearing").
    """

    def __init__(self, entries: Iterable[tuple[str, Subject, bool]]) -> None:
        self._aliases: list[_Alias] = []
        for name, subject, curated in entries:
            stems = frozenset(name_stems(name))
            if stems:
                self._aliases.append(_Alias(stems, subject, curated))
        self._overall = compile_words(OVERALL_WORDS)
        self._review = compile_words(REVIEW_WORDS)
        self._claims = self._claiming()

    @classmethod
    def from_registries(cls, datasets: Iterable[str] = (), rows: Iterable[Subject] = ()) -> Aliases:
        """Detectors, techniques and domains from their registries; data sets and comparison rows given."""
        entries = list(_registry_entries())
        entries += [(d, Subject("dataset", d), True) for d in datasets]
        entries += [(r.name.partition("/")[2], r, True) for r in rows]
        return cls(entries)

    def _claiming(self) -> dict[str, tuple[Subject, ...]]:
        """Technique id -> the detectors that report exactly it, for a sentence that names only the id."""
        from bluebench.detectors import DETECTORS

        out: dict[str, list[Subject]] = {}
        for cls in DETECTORS:
            for t in cls.techniques:
                out.setdefault(t, []).append(Subject("detector", cls.id))
        return {t: tuple(s) for t, s in out.items()}

    def mentions(self, text: str, masked: Iterable[tuple[int, int]] = ()) -> list[Mention]:
        """Every place the text names a subject, in reading order; longer names win over shorter.
        Nothing inside ``masked`` spans (quoted titles, code) is read."""
        masked = list(masked)
        found: list[Mention] = []
        for m in self._overall.finditer(text):
            found.append(Mention(m.start(), m.end(), (OVERALL,)))
        for m in self._review.finditer(text):
            found.append(Mention(m.start(), m.end(), (REVIEW,)))
        for m in _TECHNIQUE.finditer(text):
            tech = m.group(0)
            found.append(
                Mention(m.start(), m.end(), (Subject("technique", tech), *self._claims.get(tech, ())))
            )
        found = [x for x in found if not any(a <= x.start < b for a, b in masked)]
        taken = [(x.start, x.end) for x in found] + masked
        found.extend(self._named(content_words(text, taken)))
        return sorted(found, key=lambda x: (x.start, x.end))

    def whole(self, name: str) -> tuple[Subject, ...]:
        """The subjects ``name`` means when it is nothing but a name (a detector id in backticks)."""
        found = self.mentions(name.strip())
        if len(found) == 1 and found[0].start == 0 and found[0].end == len(name.strip()):
            return found[0].subjects
        return ()

    def _named(self, tokens: list[Word]) -> Iterator[Mention]:
        i = 0
        while i < len(tokens):
            for k in (4, 3, 2, 1):
                window = tokens[i : i + k]
                if len(window) < k or window[0].clause != window[-1].clause:
                    continue
                subjects = self._match([t.stem for t in window])
                if subjects:
                    yield Mention(window[0].start, window[-1].end, subjects)
                    i += k
                    break
            else:
                i += 1

    def _match(self, stems: list[str]) -> tuple[Subject, ...]:
        """The subjects a run of words names: exact names first; a part of a name only when unambiguous."""
        if len(stems) == 1:  # one word names a subject only by exactly a word of a curated name
            if len(stems[0]) < 4:
                return ()  # 'out', 'all', 'lr': too short to be a name on its own
            hits = [a for a in self._aliases if a.alone and stems[0] in a.stems]
        else:
            hits = [a for a in self._aliases if all(any(same_stem(s, x) for x in a.stems) for s in stems)]
        exact = [a for a in hits if len(a.stems) == len(set(stems))]
        if all(_is_weak(s) for s in stems) and (len(stems) == 1 or not exact):
            return ()  # "log" or "new host" alone names nothing; "admin shares", a detector's phrase, does
        chosen = exact or hits
        subjects = sorted({a.subject for a in chosen}, key=lambda s: (_KIND_ORDER.get(s.kind, 9), s.name))
        per_kind: dict[str, int] = {}
        for s in subjects:
            per_kind[s.kind] = per_kind.get(s.kind, 0) + 1
        if not exact and any(n > 1 for n in per_kind.values()):
            return ()  # part of several names: which one is meant is not said
        if len(stems) == 1 and any(n > 1 for n in per_kind.values()):
            return ()
        if any(s.kind == "detector" for s in subjects):
            return tuple(subjects)
        # A technique named by its id or name alone is also what the detectors reporting it measured.
        claiming = [d for s in subjects if s.kind == "technique" for d in self._claims.get(s.name, ())]
        return tuple(dict.fromkeys([*subjects, *claiming]))


@cache
def _weak_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in WEAK_SUBJECT_WORDS)


def _is_weak(s: str) -> bool:
    return s in _weak_stems()


def _registry_entries() -> Iterator[tuple[str, Subject, bool]]:
    """Names from the registries: each detector's id, phrase and title; each technique's id and name;
    each fact domain's words."""
    from bluebench.detectors import DETECTORS

    for cls in DETECTORS:
        subject = Subject("detector", cls.id)
        yield cls.id, subject, True
        yield cls.phrase, subject, True
        yield cls.title, subject, False
    for tech, name in TECHNIQUE_NAMES.items():
        yield name, Subject("technique", tech), True
    for domain in DOMAINS:
        for words in domain.words:
            yield words, Subject("domain", domain.prefix), True


# ------------------------------------------------------------------ nearest mention, metric words


def nearest(mentions: Iterable[Mention], start: int, end: int, lo: int, hi: int) -> Mention | None:
    """The mention in ``[lo, hi)`` nearest to ``start..end``: a subject is usually named before its
    figure, so one named after it counts as further away."""
    best: tuple[int, int, Mention] | None = None
    for m in mentions:
        if not (lo <= m.start < hi):
            continue
        if m.end <= start:
            d = start - m.end
        elif m.start >= end:
            d = 3 * (m.start - end) + 20
        else:
            d = 0
        if best is None or (d, -m.start) < best[:2]:
            best = (d, -m.start, m)
    return best[2] if best else None


@dataclass(frozen=True)
class MetricMention:
    """A metric phrase: which metric, and where."""

    metric: str
    start: int
    end: int
    weak: bool = False  # what the rate is a share of ('of the labelled attacks'): a metric word nearer wins


_FIRING = compile_words(FIRING_WORDS)
_CLAUSE = re.compile(r"[.;!?]")


def metric_mentions(text: str) -> list[MetricMention]:
    """Every metric phrase of ``text``; a longer phrase hides the words inside it. "Right/correct N% of
    the time" is precision when its clause speaks of alerts firing, else accuracy (no class named)."""
    taken = [False] * len(text)
    out: list[MetricMention] = []
    for pattern, metric in METRIC_PHRASES:
        for m in compile_words([pattern]).finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            if metric == "correctness":
                metric = "precision" if _FIRING.search(_clause_of(text, m.start())) else "accuracy"
                out.append(MetricMention(metric, m.start(), m.end()))
                metric = "correctness"
                continue
            out.append(MetricMention(metric, m.start(), m.end()))
    for pattern, metric in METRIC_OBJECTS:
        for m in compile_words([pattern]).finditer(text):
            if not any(taken[m.start() : m.end()]):
                out.append(MetricMention(metric, m.start(), m.end(), weak=True))
    return sorted(out, key=lambda x: x.start)


def _clause_of(text: str, at: int) -> str:
    starts = [m.end() for m in _CLAUSE.finditer(text, 0, at)]
    end = _CLAUSE.search(text, at)
    return text[(starts[-1] if starts else 0) : (end.start() if end else len(text))]


# The last part of a fact source that names a rate, and the metric it is.
_SOURCE_METRICS = ("precision", "recall", "fpr", "f1", "pr_auc", "roc_auc", "accuracy")


def metric_of(path: str) -> str | None:
    """The rate a fact source measures ('evaluations/ID/overall/recall#low' -> 'recall'), else None."""
    last = path.split("#", 1)[0].rsplit("/", 1)[-1]
    return last if last in _SOURCE_METRICS else None
