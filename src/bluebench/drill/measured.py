"""Read a run's facts as metrics: which number is a precision, recall or FPR, of what, and how sure.

The drill does not compute anything itself; every number it shows comes from a fact of the
run (``bluebench.reports.facts``). Fact keys are dotted or slashed paths such as
``evaluation.detectors.brute_force.precision`` or ``mail/kfold/fpr``; the metric is the
known metric name among the key's parts, the subject is the rest. Keys are read, never
assumed, so new facts are picked up without changes here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bluebench.reports.binding import DOMAINS, OVERALL, Subject, subject_of

__all__ = [
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "RATE_METRICS",
    "FactLike",
    "Measured",
    "read_facts",
]


class FactLike(Protocol):
    """What the drill needs of a fact (``bluebench.reports.facts.Fact`` has exactly these)."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float | int | str: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def unit(self) -> str: ...
    @property
    def source(self) -> str: ...


# Key part -> canonical metric. Order does not matter: parts are matched whole.
_KEY_METRIC = {
    "precision": "precision",
    "recall": "recall",
    "tpr": "recall",
    "detection_rate": "recall",
    "f1": "f1",
    "fpr": "fpr",
    "false_positive_rate": "fpr",
    "fp_rate": "fpr",
    "legit_fpr": "fpr",  # legitimate mail flagged as phishing or spam (three classes)
    "pr_auc": "pr_auc",
    "average_precision": "pr_auc",
    "roc_auc": "roc_auc",
    "auc": "roc_auc",
    "accuracy": "accuracy",
    "specificity": "specificity",
    "fnr": "fnr",
    "psi": "psi",
}
# Rates live in 0..1 (a fact in percent is divided by 100 when read).
RATE_METRICS = frozenset(
    {"precision", "recall", "f1", "fpr", "pr_auc", "roc_auc", "accuracy", "specificity", "fnr"}
)
# Direction of each metric: True when a larger value is the better (and the bolder) claim.
HIGHER_IS_BETTER = {
    "precision": True,
    "recall": True,
    "f1": True,
    "pr_auc": True,
    "roc_auc": True,
    "accuracy": True,
    "specificity": True,
    "fpr": False,
    "fnr": False,
    "fdr": False,
    "psi": False,
}
METRIC_NAMES = {
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "fpr": "false-positive rate",
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "accuracy": "accuracy",
    "specificity": "specificity",
    "fnr": "false-negative rate",
    "fdr": "share of alerts that were false alarms",
    "psi": "drift (PSI)",
    "mttd": "mean time to detect",
    "mttr": "mean time to respond",
}
# Key parts that say where a fact is stored, not what it is about.
_GENERIC = frozenset(
    {
        "evaluation",
        "evaluations",
        "eval",
        "metrics",
        "metric",
        "value",
        "values",
        "detectors",
        "detector",
        "rows",
        "result",
        "results",
        "run",
        "runs",
        "ci95",
        "test_metrics",
        "techniques",
    }
)
_TOKEN = re.compile(r"t\d{4}(?:\.\d{3})?|\d{4}-\d{2}(?:-\d{2})?|[a-z0-9_\-]+")
# Key parts too common in speech to show that an answer names the subject.
_NOT_NAMES = frozenset(
    {"overall", "test", "train", "counts", "all", "data", "split", "scope", "rows", "kfold"}
)
_TOKEN_ANY_CASE = re.compile(_TOKEN.pattern, re.IGNORECASE)
_RUN_ID = re.compile(r"^(?:[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f\-]{27,})$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


# Count facts whose last key part does not say what they count (``alerts/detector/brute_force``).
_COUNT_NOUNS = {
    "workspace/events": "event",
    "workspace/dataset": "event",
    "workspace/files": "file",
    "workspace/accounts": "account",
    "workspace/hosts": "host",
    "alerts/count": "alert",
    "alerts/detector": "alert",
    "alerts/detectors": "detector",
    "method/detectors": "detector",
    "incidents/count": "incident",
    "incidents/alerts": "alert",
    "network/detector": "alert",  # network/detector/D/alerts, and per_1000: alerts per 1,000 connections
    "network/connections": "connection",
}


def _tokens(key: str) -> list[str]:
    return [t for t in _TOKEN.findall(key.lower()) if not _RUN_ID.match(t)]


@dataclass(frozen=True)
class Measured:
    """One fact read as a metric (or as a count when ``metric`` is None).

    ``value``/``low``/``high`` are on the metric's own scale (rates in 0..1); ``names`` are
    the words that may name the subject in an answer (detector ids, ``mail``, techniques).
    """

    fact: FactLike
    metric: str | None
    subject: str
    names: tuple[str, ...]
    tokens: tuple[str, ...]
    value: float | None
    low: float | None
    high: float | None
    context: str = ""  # the evaluation (labels file) an ``eval/NAME/...`` fact belongs to
    about: Subject = OVERALL  # what the fact measures: the run, a detector, a technique, a model

    @property
    def key(self) -> str:
        return self.fact.key

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS

    @property
    def width(self) -> float | None:
        """Width of the interval; None when the fact has none."""
        if self.low is None or self.high is None:
            return None
        return self.high - self.low

    @property
    def kind(self) -> str:
        """detector, technique, overall, model or comparison (a baseline, an ablation, a curve point)."""
        if "curve" in self.tokens:
            return "comparison"  # a point at another threshold, not the operating point
        for k in ("detectors", "detector", "techniques", "overall"):
            if k in self.tokens:
                return k.rstrip("s")
        if self.tokens[:2] == ("mail", "rows") and "all" not in self.tokens:
            return "comparison"
        return "model"

    @property
    def noun(self) -> str:
        """What a count counts ('alert' for ``alerts/count``, 'alert/day' for ``alerts/per_day``), to
        match '212 alerts' or '40 alerts a day' in an answer."""
        parts = self.key.split("/")
        per = [t for t in self.tokens if t.startswith("per_")]
        suffix = "" if not per else "/1000" if "per_1000" in per else "/day"
        named = _COUNT_NOUNS.get("/".join(parts[:2]))
        if named:
            return named + suffix
        if self.about.kind == "domain" and parts[1:2] == ["data"]:
            return DOMAINS.get(parts[0]).noun
        tail = [t for t in self.tokens if t not in ("count", "total", "n") and not t.startswith("per_")]
        return (tail[-1] if tail else "").rstrip("s") + suffix

    @property
    def month(self) -> str | None:
        """The month a fact is about (``2020-03``), for drift by month."""
        return next((t for t in self.tokens if _MONTH.match(t)), None)

    def describe(self) -> str:
        """'precision of brute_force' / 'messages' - how questions and findings name it."""
        what = METRIC_NAMES.get(self.metric or "", self.tokens[-1] if self.tokens else self.key)
        subject = "all detectors together" if self.subject == "overall" else self.subject
        if self.context:
            subject += f" (against {self.context})"
        text = f"{what} of {subject}" if subject and self.metric else (subject or what)
        return f"{text} in {self.month}" if self.month and self.month not in subject else text

    def text(self) -> str:
        """The value as a person would say it: '0.82 (95% interval 0.71-0.90)' or '1,014'."""
        if self.value is None:
            return str(self.fact.value)
        if self.is_rate:
            v = _pct(self.value)
            if self.low is not None and self.high is not None:
                return f"{v} (95% interval {_pct(self.low)}-{_pct(self.high)})"
            return v
        if float(self.value).is_integer():
            return f"{int(self.value):,}"
        return f"{self.value:.3g}"


def _pct(x: float) -> str:
    """A rate in percent with enough digits that small rates do not show as 0%."""
    p = 100 * x
    if p == 0:
        return "0%"
    if p >= 10:
        return f"{p:.1f}%".replace(".0%", "%")
    if p >= 1:
        return f"{p:.1f}%"
    return f"{p:.2g}%"


def _metric_of(tokens: list[str]) -> tuple[str | None, int]:
    for i in range(len(tokens) - 1, -1, -1):
        m = _KEY_METRIC.get(tokens[i].replace("-", "_"))
        if m is not None:
            return m, i
    return None, -1


def _number(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        return float(x)
    return None


def read_fact(fact: FactLike) -> Measured:
    """Classify one fact: its metric (from the key, else from the source), subject and scale."""
    parts = fact.key.split("/")
    context = ""
    if parts[0] == "eval" and len(parts) > 2:
        # eval/NAME/...: NAME is the labels file the evaluation used, not what the fact is about.
        context, parts = parts[1], [parts[0], *parts[2:]]
    raw = [t for t in _TOKEN_ANY_CASE.findall("/".join(parts)) if not _RUN_ID.match(t.lower())]
    tokens = [t.lower() for t in raw]
    metric, at = _metric_of(tokens)
    if metric is None:
        metric, _ = _metric_of(_tokens(fact.source))
    keep = [
        i
        for i, t in enumerate(tokens)
        if i != at
        and t not in _GENERIC
        and not (metric == "psi" and (t in ("drift", "month", "months") or _MONTH.match(t)))
    ]
    value, low, high = _number(fact.value), fact.low, fact.high
    if metric in RATE_METRICS and value is not None:
        scale = 100.0 if ("%" in fact.unit or "percent" in fact.unit.lower() or value > 1.0) else 1.0
        value = value / scale
        low = None if low is None else low / scale
        high = None if high is None else high / scale
    names = tuple(tokens[i] for i in keep if tokens[i] not in _NOT_NAMES and not tokens[i].isdigit())
    subject = " ".join(raw[i] for i in keep)
    if tokens[:1] == ["mail"]:
        # A baseline row is named by its key alone; the model answers to 'mail' and 'phishing'.
        if parts[:2] == ["mail", "rows"] and len(parts) >= 5 and parts[2] != "all":
            names = tuple(n for n in names if n != "mail")
        elif names:
            names = (*names, "phishing")
    if parts[:2] == ["mail", "rows"] and len(parts) >= 5:
        subject = f"mail model {parts[2]} ({parts[3]} split)"
    elif parts[:2] == ["mail", "kfold"]:
        subject = "mail model (k-fold)"
    elif parts[:2] == ["mail", "classes"] and len(parts) >= 5:
        labels = "after the reviewed relabelling" if parts[2] == "after" else "on the sources' labels"
        subject = f"mail model in three classes ({parts[3].replace('_', ' ')}, {labels})"
    about = subject_of(fact.key)
    return Measured(fact, metric, subject, names, tuple(tokens), value, low, high, context, about)


def read_facts(facts: Iterable[FactLike]) -> list[Measured]:
    """Every fact read, ordered by key so that everything built on them is deterministic."""
    return sorted((read_fact(f) for f in facts), key=lambda m: m.key)
