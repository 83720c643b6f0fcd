"""What the evaluation measures at a threshold: counts, Wilson rates, bootstrap F1 and PR-AUC, PSI.

Recall counts phishing only; the false-positive rate counts ham only; spam flagged as
phishing is counted on its own and against precision, never for recall. Each result type
is stored as the JSON the evaluation has always written (``to_json``/``from_json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from bluebench.stats import Rate


def rate_from_json(d: Mapping[str, Any]) -> Rate:
    """A stored rate; its value and interval are recomputed from the counts, as they were made."""
    return Rate(int(d["k"]), int(d["n"]))


def _pair(v: Sequence[float] | None) -> tuple[float, float] | None:
    return None if v is None else (float(v[0]), float(v[1]))


@dataclass(frozen=True)
class Estimate:
    """A value with its percentile-bootstrap 95% interval (F1, PR-AUC); None where undefined."""

    value: float | None
    ci95: tuple[float, float] | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The interval under the name a ``Rate`` gives it, so both read alike."""
        return self.ci95

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": None if self.ci95 is None else list(self.ci95)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Estimate:
        return cls(d.get("value"), _pair(d.get("ci95")))


@dataclass(frozen=True)
class Counts:
    """Confusion counts at a threshold: phishing caught or missed, ham and spam flagged or not."""

    tp: int
    fn: int
    fp_ham: int
    tn_ham: int
    fp_spam: int
    spam: int

    def to_json(self) -> dict[str, int]:
        return {
            "TP": self.tp,
            "FN": self.fn,
            "FP_ham": self.fp_ham,
            "TN_ham": self.tn_ham,
            "FP_spam": self.fp_spam,
            "spam": self.spam,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Counts:
        return cls(d["TP"], d["FN"], d["FP_ham"], d["TN_ham"], d["FP_spam"], d["spam"])


@dataclass(frozen=True)
class Metrics:
    """A model's verdicts at one threshold against the labels, each rate with its interval."""

    threshold: float
    counts: Counts
    precision: Rate
    recall: Rate
    f1: Estimate
    fpr: Rate
    spam_flagged: Rate
    pr_auc: Estimate

    def value(self, name: str) -> float | None:
        """The value of one of the rates by its stored name (``recall``, ``fpr``, ``f1``, ...)."""
        rate: Rate | Estimate = getattr(self, name)
        return rate.value

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "counts": self.counts.to_json(),
            "precision": self.precision.to_json(),
            "recall": self.recall.to_json(),
            "f1": self.f1.to_json(),
            "fpr": self.fpr.to_json(),
            "spam_flagged": self.spam_flagged.to_json(),
            "pr_auc": self.pr_auc.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Metrics:
        return cls(
            d["threshold"],
            Counts.from_json(d["counts"]),
            rate_from_json(d["precision"]),
            rate_from_json(d["recall"]),
            Estimate.from_json(d["f1"]),
            rate_from_json(d["fpr"]),
            rate_from_json(d["spam_flagged"]),
            Estimate.from_json(d["pr_auc"]),
        )


@dataclass(frozen=True)
class FlagRates:
    """Recall (phishing) and FPR (ham), with their counts, of messages flagged by any rule."""

    recall: Rate
    fpr: Rate

    def to_json(self) -> dict[str, Any]:
        return {"recall": self.recall.to_json(), "fpr": self.fpr.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FlagRates:
        return cls(rate_from_json(d["recall"]), rate_from_json(d["fpr"]))


@dataclass(frozen=True)
class AtThreshold:
    """Recall and ham FPR when the scores at or above ``threshold`` are flagged."""

    threshold: float
    recall: Rate
    fpr: Rate

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "recall": self.recall.to_json(), "fpr": self.fpr.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AtThreshold:
        return cls(d["threshold"], rate_from_json(d["recall"]), rate_from_json(d["fpr"]))


@dataclass(frozen=True)
class Hindsight:
    """Recall and ham FPR at the threshold set on the test part's own ham (diagnosis, never shipped)."""

    max_fpr: float
    threshold: float
    recall: Rate
    fpr: Rate

    def to_json(self) -> dict[str, Any]:
        return {"max_fpr": self.max_fpr, **AtThreshold(self.threshold, self.recall, self.fpr).to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Hindsight:
        at = AtThreshold.from_json(d)
        return cls(d["max_fpr"], at.threshold, at.recall, at.fpr)


def measure(
    scores: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    threshold: float,
    bootstrap: int = 300,
    seed: int = 0,
) -> Metrics:
    """Precision, recall, F1, FPR (ham), spam flagged, PR-AUC and confusion counts, with 95% intervals."""
    lab = np.asarray(labels)
    phish, ham, spam = lab == "phishing", lab == "ham", lab == "spam"
    flag = scores >= threshold
    tp, fn = int((flag & phish).sum()), int((~flag & phish).sum())
    fp_ham, tn = int((flag & ham).sum()), int((~flag & ham).sum())
    fp_spam = int((flag & spam).sum())
    y = phish.astype(int)
    pr_auc = float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else None
    f1_ci, auc_ci = _bootstrap(scores, y, flag, bootstrap, seed)
    return Metrics(
        threshold=threshold,
        counts=Counts(tp, fn, fp_ham, tn, fp_spam, int(spam.sum())),
        precision=Rate(tp, tp + fp_ham + fp_spam),
        recall=Rate(tp, tp + fn),
        f1=Estimate(_f1(tp, fp_ham + fp_spam, fn), _pair(f1_ci)),
        fpr=Rate(fp_ham, fp_ham + tn),
        spam_flagged=Rate(fp_spam, int(spam.sum())),
        pr_auc=Estimate(pr_auc, _pair(auc_ci)),
    )


def _f1(tp: int, fp: int, fn: int) -> float | None:
    d = 2 * tp + fp + fn
    return None if d == 0 else 2 * tp / d


def _bootstrap(
    scores: np.ndarray, y: np.ndarray, flag: np.ndarray, n: int, seed: int
) -> tuple[list[float] | None, list[float] | None]:
    """Percentile bootstrap (resampling messages) for F1 and PR-AUC."""
    if n <= 0 or len(y) < 2:
        return None, None
    rng = np.random.default_rng(seed)
    f1s: list[float] = []
    aucs: list[float] = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        yi, fi = y[i], flag[i]
        tp = int((fi & (yi == 1)).sum())
        fp = int((fi & (yi == 0)).sum())
        fn = int((~fi & (yi == 1)).sum())
        v = _f1(tp, fp, fn)
        if v is not None:
            f1s.append(v)
        if 0 < yi.sum() < len(yi):
            aucs.append(float(average_precision_score(yi, scores[i])))
    f1_ci = [float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))] if f1s else None
    auc_ci = [float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))] if aucs else None
    return f1_ci, auc_ci


def flag_rates(flag: np.ndarray, lt: np.ndarray) -> FlagRates:
    """Recall (phishing) and FPR (ham) with their counts, of messages flagged by any rule."""
    phish, ham = lt == "phishing", lt == "ham"
    return FlagRates(
        Rate(int((flag & phish).sum()), int(phish.sum())), Rate(int((flag & ham).sum()), int(ham.sum()))
    )


def at_threshold(scores: np.ndarray, lt: np.ndarray, t: float) -> AtThreshold:
    """Recall (phishing) and FPR (ham) with their counts when scores >= t are flagged."""
    rates = flag_rates(scores >= t, lt)
    return AtThreshold(t, rates.recall, rates.fpr)


def flagged_rate(scores: np.ndarray, t: float) -> Rate:
    """The share of these messages (all of one class) scored at or above ``t``."""
    return Rate(int((scores >= t).sum()), len(scores))


# The score's PSI uses fixed probability bands, not quantiles of the reference: the reference
# is out-of-fold training scores, the month's scores come from the model fitted on all of
# them, which is surer of itself; with quantile bins, phishing scores piled just below 1
# that move a little higher all fall in the top bin, and the index reads as a large shift
# although no message crossed a band that matters. Fixed bands count only such crossings.
SCORE_BANDS: np.ndarray = np.linspace(0.0, 1.0, 11)


def psi(
    expected: np.ndarray,
    actual: np.ndarray,
    bins: int = 10,
    min_n: int = 30,
    edges: np.ndarray | None = None,
) -> float | None:
    """Population stability index of ``actual`` against ``expected``.

    Bins are quantile bins of ``expected`` unless fixed ``edges`` are given. Rule of thumb:
    < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 a shift worth retraining for. Counts are
    smoothed by half a message per bin: with a few dozen messages, empty bins would
    otherwise make the index explode without any shift. None below ``min_n``.
    """
    if len(expected) < min_n or len(actual) < min_n:
        return None
    if edges is None:
        edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        # a constant feature in training: one bin for that value, one for the rest
        ce = np.array([np.sum(expected == edges[0]), np.sum(expected != edges[0])], dtype=float)
        ca = np.array([np.sum(actual == edges[0]), np.sum(actual != edges[0])], dtype=float)
    else:
        inner = edges[1:-1]
        k = len(edges) - 1
        ce = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=k).astype(float)
        ca = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=k).astype(float)
    e = (ce + 0.5) / (ce.sum() + 0.5 * len(ce))
    a = (ca + 0.5) / (ca.sum() + 0.5 * len(ca))
    return float(np.sum((a - e) * np.log(a / e)))
