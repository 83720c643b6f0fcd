"""The follow-ups a sharp interviewer would ask of this run, aimed at its weakest measured points.

Questions come in a fixed order: first the run's weak points (lowest precision, lowest
recall, widest interval, the false-positive rate turned into a daily load, the month with
most drift, what was never measured), then the general ones every project is asked about
(training data, leakage, drift, human review, limits). Each carries the facts a good answer
would use; numbers derived here (a daily load) show the formula and the facts they use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bluebench.drill.measured import METRIC_NAMES, FactLike, Measured, read_facts

__all__ = ["DEFAULT_VOLUME", "Question", "drill_questions"]

# An example daily volume to turn a rate into a load; a parameter the user changes, not a result.
DEFAULT_VOLUME = 40_000
_RATE_UNITS = frozenset(
    {"", "ratio", "rate", "fraction", "probability", "share", "%", "percent", "proportion"}
)
_MAX_FACTS = 6
# Fewest events a month needs before its drift (PSI) is asked about, when the run has such months.
MIN_MONTH_EVENTS = 30


@dataclass(frozen=True)
class Question:
    """One question, why it is asked of this run, and the facts (and derived figures) for the answer."""

    id: str
    topic: str
    text: str
    why: str
    facts: tuple[FactLike, ...]
    derived: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "question": self.text,
            "why": self.why,
            "facts": [
                {
                    "key": f.key,
                    "value": f.value,
                    "low": f.low,
                    "high": f.high,
                    "unit": f.unit,
                    "source": f.source,
                }
                for f in self.facts
            ],
            "derived": list(self.derived),
        }


def _subject(m: Measured) -> str:
    subject = "all detectors together" if m.subject == "overall" else (m.subject or "the run")
    return f"{subject} (against {m.context})" if m.context else subject


# Weak points are looked for among what ships first: detectors and models, then the whole run,
# then techniques; mail baselines and ablations are comparisons, not the run's own weak points.
_PREFERENCE = (("detector", "model"), ("overall",), ("technique",))


def _unit_word(m: Measured) -> str:
    """What a false-positive rate counts ('mail', 'benign event'), for 'N a day'."""
    unit = m.fact.unit.strip().lower()
    if unit not in _RATE_UNITS and not unit.startswith(("ratio", "rate", "fraction")):
        return unit
    if any(t in ("mail", "mails", "email", "ham", "phishing") for t in m.tokens):
        return "mail"
    return "event"


def _plural(word: str) -> str:
    return word if word.endswith("s") else word + "s"


def _rates(ms: list[Measured], metric: str) -> list[Measured]:
    """Rates of one metric at the most specific level the run has (see ``_PREFERENCE``)."""
    found = [m for m in ms if m.metric == metric and m.value is not None]
    for kinds in _PREFERENCE:
        level = [m for m in found if m.kind in kinds]
        if level:
            return level
    return found


def _lowest(ms: list[Measured], metric: str) -> Measured | None:
    """The most confidently weak: lowest upper bound (even the optimistic reading is low)."""
    rates = _rates(ms, metric)
    if not rates:
        return None
    return min(rates, key=lambda m: (m.high if m.high is not None else m.value or 0.0, m.value or 0.0, m.key))


def _related(ms: list[Measured], anchor: Measured, metrics: tuple[str, ...]) -> list[Measured]:
    """The anchor's sibling facts (same subject) for the given metrics, anchor first."""
    sib = [m for m in ms if m.subject == anchor.subject and m.metric in metrics and m is not anchor]
    return [anchor, *sib][:_MAX_FACTS]


def _by_tokens(ms: list[Measured], words: set[str]) -> list[Measured]:
    return [m for m in ms if words & set(m.tokens)][:_MAX_FACTS]


def _weak_points(ms: list[Measured], volume: int, budget: float | None) -> list[Question]:
    """The weak-point questions this run calls for, in a fixed order; one it has no facts for is left out."""
    found = [
        _weakest_precision(ms),
        _weakest_recall(ms),
        _widest_interval(ms),
        _fpr_at_volume(ms, volume, budget),
        _drift_month(ms),
        _unmeasured(ms),
    ]
    return [q for q in found if q is not None]


def _weakest_precision(ms: list[Measured]) -> Question | None:
    """Where an analyst's time goes: the lowest precision by the top of its interval."""
    p = _lowest(ms, "precision")
    if p is None:
        return None
    return Question(
        "weakest-precision",
        "weak point",
        f"Your weakest precision is {_subject(p)}: {p.text()}. What were its false positives, "
        "and what would you change first - the threshold, a feature, or the data?",
        "the lowest precision (by the top of its interval) is where an analyst's time goes",
        tuple(m.fact for m in _related(ms, p, ("recall", "fpr", "f1"))),
    )


def _weakest_recall(ms: list[Measured]) -> Question | None:
    """The attacks that walk past: the lowest recall by the top of its interval."""
    r = _lowest(ms, "recall")
    if r is None:
        return None
    return Question(
        "weakest-recall",
        "weak point",
        f"Recall of {_subject(r)} is {r.text()}. What did it miss, why, and how would you know "
        "in production that it is missing things?",
        "the lowest recall (by the top of its interval) is the attacks that walk past",
        tuple(m.fact for m in _related(ms, r, ("precision", "fpr", "f1"))),
    )


def _widest_interval(ms: list[Measured]) -> Question | None:
    """The number that says least: the widest interval of any precision, recall or FPR."""
    wide = [m for k in ("precision", "recall", "fpr") for m in _rates(ms, k) if m.width is not None]
    if not wide:
        return None
    w = max(wide, key=lambda m: (m.width or 0.0, m.key))
    return Question(
        "widest-interval",
        "weak point",
        f"The {w.describe()} is {w.text()}. That interval is wide: how many labelled examples "
        "is it based on, and how many more would you need before you relied on it?",
        "the widest interval is the number that says least",
        (w.fact,),
    )


def _fpr_at_volume(ms: list[Measured], volume: int, budget: float | None) -> Question | None:
    """The highest false-positive rate as a daily load: the formula and its facts are shown."""
    fprs = _rates(ms, "fpr")
    # A daily volume is counted in mails or events, not in labelled files: prefer those units.
    fprs = [m for m in fprs if _unit_word(m) != "file"] or fprs
    f = max(fprs, key=lambda m: (m.value or 0.0, m.key), default=None)
    if f is None or f.value is None:
        return None
    unit = _unit_word(f)
    lo = f.low if f.low is not None else f.value
    hi = f.high if f.high is not None else f.value
    load = f"{f.value * volume:,.0f} a day ({lo * volume:,.0f}-{hi * volume:,.0f})"
    derived = [
        f"{volume:,} {_plural(unit)} a day x {f.describe()} {f.text()} = {load} false alarms "
        f"(the volume is an example; change it with --volume-per-day)"
    ]
    against = ""
    if budget is not None:
        days = f.value * volume / budget if budget > 0 else float("inf")
        derived.append(f"against a budget of {budget:g} alerts a day: {days:.1f} times the budget")
        against = f" Your analysts can take {budget:g} alerts a day."
    return Question(
        "fpr-at-volume",
        "weak point",
        f"At your threshold the false-positive rate of {_subject(f)} is {f.text()}. On {volume:,} "
        f"{_plural(unit)} a day, how many would an analyst see?{against} Why is that acceptable?",
        "the highest false-positive rate, turned into the load a team would carry",
        tuple(m.fact for m in _related(ms, f, ("precision", "recall"))),
        tuple(derived),
    )


def _drift(ms: list[Measured]) -> list[Measured]:
    """Drift is a PSI: per month when the run has months, else any PSI it stored."""
    drift = [m for m in ms if m.value is not None and m.metric == "psi" and m.month]
    drift = drift or [m for m in ms if m.value is not None and m.metric == "psi"]
    # A month of a handful of events has a huge PSI by chance: prefer months with enough of them.
    sizes = {m.month: m.value for m in ms if m.month and m.metric is None and m.noun == "event"}
    settled = [m for m in drift if m.month and (sizes.get(m.month) or 0) >= MIN_MONTH_EVENTS]
    return settled or drift


def _drift_month(ms: list[Measured]) -> Question | None:
    """Where the validation stops applying: the month (or PSI) where the data moved most."""
    drift = _drift(ms)
    if not drift:
        return None
    d = max(drift, key=lambda m: (m.value or 0.0, m.key))
    same_month = [m for m in ms if m is not d and d.month and d.month in m.tokens and m.metric is None]
    context = [m for m in ms if "drift" in m.tokens and {"threshold", "shifted_months"} & set(m.tokens)]
    era = [m for m in _by_tokens(ms, {"cross_era", "era", "modern_ham_unseen"}) if m is not d][:3]
    return Question(
        "drift-month",
        "weak point",
        f"The largest drift is {d.describe()}: {d.text()}. How did you notice it, what "
        "did it do to precision and recall, and what triggers a retrain?",
        "the month where the data moved most is where the validation stops applying",
        tuple(m.fact for m in [d, *same_month, *context, *era][:_MAX_FACTS]),
    )


def _unmeasured(ms: list[Measured]) -> Question | None:
    """What the run never measured: facts that say so, and the usual measurements it lacks."""
    unmeasured = [
        m
        for m in ms
        if (isinstance(m.fact.value, str) and m.metric is not None)
        or {"not_measured", "unmeasured", "no_detector", "uncovered", "label_techniques_no_detector_claims"}
        & set(m.tokens)
    ]
    missing = [METRIC_NAMES[k] for k in ("precision", "recall", "fpr") if not _rates(ms, k)]
    if not _drift(ms) and not _by_tokens(ms, {"cross_era", "era", "month", "modern_ham_unseen"}):
        missing.append("performance over time (drift)")
    if not _by_tokens(ms, {"review", "verdicts", "reviewed"}):
        missing.append("reviewer verdicts (what analysts confirmed or rejected)")
    if not (unmeasured or missing):
        return None
    parts = missing + [m.describe() for m in unmeasured]
    return Question(
        "unmeasured",
        "weak point",
        f"This run does not measure: {'; '.join(parts)}. How would you answer for it without "
        "that number, and how would you measure it?",
        "what was never measured is where claims outrun evidence",
        tuple(m.fact for m in unmeasured[:_MAX_FACTS]),
    )


_GENERAL: list[tuple[str, str, str, set[str]]] = [
    (
        "training-data",
        "What data did you use - how many examples of each class, from where, from which dates - "
        "and how were the labels made and checked?",
        "every result depends on the data and the labels behind it",
        {
            "messages",
            "events",
            "files",
            "label_rows",
            "labels",
            "classes",
            "ham",
            "phishing",
            "spam",
            "attack_instances",
            "files_evaluated",
            "sources",
        },
    ),
    (
        "leakage",
        "How do you know nothing from the test data leaked into training or threshold choice - "
        "same sender, same host, same week on both sides?",
        "a random split of correlated records overstates every metric",
        {"split", "train", "test", "kfold", "gap", "oof", "cut", "time", "fold"},
    ),
    (
        "drift",
        "What happens when the data changes - a new mail template, a new logging policy - and how "
        "would you see it before the analysts do?",
        "performance measured once decays; the question is how you would notice",
        {"drift", "psi", "cross_era", "era", "month", "modern_ham_unseen", "unseen"},
    ),
    (
        "human-review",
        "What does a person check before anything is closed or escalated, and how do their "
        "verdicts change the detector?",
        "AI ranks, a person decides: the answer must name the decision and who makes it",
        {
            "verdict",
            "verdicts",
            "review",
            "reviewed",
            "true_positive",
            "false_positive",
            "needs_info",
            "incidents",
            "analyst",
            "minutes",
            "review_budget_per_1000",
        },
    ),
    (
        "limits",
        "What can it not detect, and what would you tell a lead who wanted to switch off a manual "
        "control because of it?",
        "knowing the blind spots is what makes the rest believable",
        {"fn", "missed", "skipped", "not_in_workspace", "not_measured", "no_detector", "blind", "uncovered"},
    ),
]


def drill_questions(
    facts: Iterable[FactLike], *, volume_per_day: int = DEFAULT_VOLUME, alerts_per_day: float | None = None
) -> list[Question]:
    """The run's weak-point questions, then the general ones; same facts, same questions, same order."""
    ms = read_facts(facts)
    out = _weak_points(ms, volume_per_day, alerts_per_day)
    lowest_recall = _lowest(ms, "recall")
    for qid, text, why, words in _GENERAL:
        # Per-month rows belong to the drift-month question; curve points and baselines are not
        # the run's own figures.
        if qid == "drift":
            pool = [m for m in ms if not m.month and m.kind != "comparison"]
        else:
            pool = [m for m in ms if "drift" not in m.tokens and m.kind != "comparison"]
        if qid == "human-review":
            # The verdicts themselves first, then what they say per detector.
            pool = sorted(pool, key=lambda m: (m.kind == "detector", "review" not in m.tokens, m.key))
        picked = _by_tokens(pool, words)
        if qid == "limits":
            # The largest misses first: counts of what was not found, by size, then by key.
            picked = sorted(
                (m for m in pool if words & set(m.tokens) and (m.metric is not None or (m.value or 0) > 0)),
                key=lambda m: (-(m.value or 0) if m.metric is None else 0, m.key),
            )[:_MAX_FACTS]
        if qid == "limits" and lowest_recall is not None and lowest_recall not in picked:
            picked = [lowest_recall, *picked][:_MAX_FACTS]
        out.append(Question(qid, "general", text, why, tuple(m.fact for m in picked)))
    return out
