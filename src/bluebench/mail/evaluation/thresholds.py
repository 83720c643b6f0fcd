"""The threshold on the test part: each way of choosing it, how firm it is, and what it lets through.

Tuned thresholds come from out-of-fold training scores; only *hindsight* is set on the test
part itself, as a diagnosis that never ships: the ceiling of any threshold rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from rich.console import RenderableType

from bluebench.mail.evaluation.metrics import AtThreshold, Hindsight, at_threshold
from bluebench.mail.evaluation.runs import Run
from bluebench.mail.evaluation.selection import SELECTION_MAX_FPR
from bluebench.mail.features import FEATURE_INDEX, FEATURES, RISK_FEATURES, Extracted
from bluebench.mail.model import threshold_for_budget, threshold_for_fpr
from bluebench.mail.tables import rate_cell, table
from bluebench.stats import Rate


def hindsight(scores: np.ndarray, lt: np.ndarray, max_fpr: float = SELECTION_MAX_FPR) -> Hindsight:
    """Recall at the lowest threshold whose FPR on the test part's own ham is <= ``max_fpr``.

    Diagnosis only, never shipped: the threshold is learnt from the messages it is measured
    on, so this is the ceiling of any threshold rule. Below the target, the model cannot
    rank the test mail well enough; above it, the shipped threshold did not carry over.
    """
    at = at_threshold(scores, lt, threshold_for_fpr(scores, lt == "ham", max_fpr))
    return Hindsight(max_fpr, at.threshold, at.recall, at.fpr)


@dataclass(frozen=True)
class ThresholdRule:
    """One way of choosing the threshold and what it gives on the test part."""

    rule: str
    threshold: float
    recall: Rate
    fpr: Rate
    flagged_per_1000: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            **AtThreshold(self.threshold, self.recall, self.fpr).to_json(),
            "flagged_per_1000": self.flagged_per_1000,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ThresholdRule:
        at = AtThreshold.from_json(d)
        return cls(d["rule"], at.threshold, at.recall, at.fpr, d["flagged_per_1000"])


def thresholds_table(rules: Sequence[ThresholdRule]) -> RenderableType:
    """Recall, ham FPR and the flagged share of each threshold rule."""
    t = table(
        "Threshold choices for the shipped model (test part)",
        "rule",
        "threshold",
        "recall",
        "ham FPR",
        "flagged\nper 1,000",
        right=("threshold", "flagged\nper 1,000"),
    )
    for r in rules:
        flagged = "n/a" if r.flagged_per_1000 is None else f"{r.flagged_per_1000:.1f}"
        t.add_row(r.rule, f"{r.threshold:.4f}", rate_cell(r.recall), rate_cell(r.fpr, 4), flagged)
    return t


def threshold_rules(
    run: Run, lt: np.ndarray, train_labels: np.ndarray, budget: float, target_recall: float = 0.95
) -> list[ThresholdRule]:
    """Recall and FPR on the test part at each way of choosing the threshold.

    Tuned thresholds come from out-of-fold training scores; the review budget is applied to
    the test scores themselves (a budget is a capacity, not something to learn).
    """
    rows = []
    tb = threshold_for_budget(run.scores, budget)
    assert run.oof is not None
    oof_phish = np.sort(run.oof[train_labels == "phishing"])
    k = int(np.floor((1 - target_recall) * len(oof_phish)))
    tr = float(oof_phish[k]) if len(oof_phish) else 0.5
    for name, t in (
        ("tuned to the target ham FPR (out-of-fold training scores)", run.threshold),
        (f"tuned to recall >= {target_recall:g} (out-of-fold training scores)", tr),
        ("0.5 (calibrated probability)", 0.5),
        (f"review budget: top {budget:g} of every 1,000 test messages", tb),
    ):
        flag = run.scores >= t
        at = at_threshold(run.scores, lt, t)
        per_1000 = 1000 * float(flag.mean()) if len(flag) else None
        rows.append(ThresholdRule(name, at.threshold, at.recall, at.fpr, per_1000))
    return rows


@dataclass(frozen=True)
class ThresholdSpread:
    """How far the tuned threshold moves when the training ham is resampled, and its test-part ends."""

    target_fpr: float
    ham: int
    ham_allowed_above: int
    resamples: int
    median: float
    ci90: tuple[float, float]
    top_ham_scores: tuple[float, ...]
    test_at_low: AtThreshold | None = None
    test_at_high: AtThreshold | None = None

    def on_test(self, scores: np.ndarray, lt: np.ndarray) -> ThresholdSpread:
        """The same spread with recall and ham FPR on the test part at both ends of its interval."""
        low, high = (at_threshold(scores, lt, t) for t in self.ci90)
        return replace(self, test_at_low=low, test_at_high=high)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target_fpr": self.target_fpr,
            "ham": self.ham,
            "ham_allowed_above": self.ham_allowed_above,
            "resamples": self.resamples,
            "median": self.median,
            "ci90": list(self.ci90),
            "top_ham_scores": list(self.top_ham_scores),
        }
        if self.test_at_low is not None:
            out["test_at_low"] = self.test_at_low.to_json()
        if self.test_at_high is not None:
            out["test_at_high"] = self.test_at_high.to_json()
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ThresholdSpread:
        low, high = d.get("test_at_low"), d.get("test_at_high")
        return cls(
            d["target_fpr"],
            d["ham"],
            d["ham_allowed_above"],
            d["resamples"],
            d["median"],
            (d["ci90"][0], d["ci90"][1]),
            tuple(d["top_ham_scores"]),
            None if low is None else AtThreshold.from_json(low),
            None if high is None else AtThreshold.from_json(high),
        )


def threshold_spread(
    oof: np.ndarray, ham: np.ndarray, target_fpr: float, resamples: int = 1000, seed: int = 0
) -> ThresholdSpread:
    """How far the tuned threshold moves when the training ham is resampled (bootstrap).

    At a target of 0.1% with about a thousand ham, the threshold is set by the one or two
    highest out-of-fold ham scores; the spread says how much that choice rests on them.
    """
    scores = oof[ham]
    rng = np.random.default_rng(seed)
    ts = np.array(
        [
            threshold_for_fpr(
                scores[rng.integers(0, len(scores), len(scores))], np.ones(len(scores), bool), target_fpr
            )
            for _ in range(resamples)
        ]
    )
    return ThresholdSpread(
        target_fpr=target_fpr,
        ham=len(scores),
        ham_allowed_above=int(np.floor(target_fpr * len(scores))),
        resamples=resamples,
        median=float(np.median(ts)),
        ci90=(float(np.quantile(ts, 0.05)), float(np.quantile(ts, 0.95))),
        top_ham_scores=tuple(float(x) for x in np.sort(scores)[::-1][:5]),
    )


# What a phishing message asks of its reader, read from the named features: a message with
# none of these can only ask for a reply (advance-fee, romance and job scams, sextortion).
MECHANISMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "credential or account language, a form or a password field",
        ("credential_terms", "html_form", "password_field"),
    ),
    ("a link", ("link_count",)),
    # the attachment features that are risk indicators (a PDF or report data is not one)
    (
        "a risky attachment",
        tuple(f.name for f in FEATURES if f.group == "attachments" and f.name in RISK_FEATURES),
    ),
)


@dataclass(frozen=True)
class Carried:
    """The missed and the caught phishing that carry one mechanism."""

    carries: str
    missed: int
    caught: int

    def to_json(self) -> dict[str, Any]:
        return {"carries": self.carries, "missed": self.missed, "caught": self.caught}


@dataclass(frozen=True)
class MissedPhishing:
    """The caught and the missed test phishing, counted by what each carries."""

    threshold: float
    missed: int
    caught: int
    rows: tuple[Carried, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "missed": self.missed,
            "caught": self.caught,
            "rows": [r.to_json() for r in self.rows],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MissedPhishing:
        rows = tuple(Carried(r["carries"], r["missed"], r["caught"]) for r in d["rows"])
        return cls(d["threshold"], d["missed"], d["caught"], rows)


def what_phishing_carries(
    scores: np.ndarray, t: float, extracted: Sequence[Extracted], lt: np.ndarray
) -> MissedPhishing:
    """The caught and the missed phishing counted by what each carries (``MECHANISMS``).

    Says what kind of mail the misses are: a miss with no credential language, link or risky
    attachment is a scam that asks for a reply, not a lure to a page or a file.
    """
    phish = np.flatnonzero(lt == "phishing")
    caught = scores[phish] >= t
    values = np.array([extracted[i].values for i in phish.tolist()]).reshape(len(phish), len(FEATURE_INDEX))
    has = np.column_stack(
        [(values[:, [FEATURE_INDEX[f] for f in names]] != 0).any(axis=1) for _, names in MECHANISMS]
    )
    rows = [
        Carried(name, int((has[:, j] & ~caught).sum()), int((has[:, j] & caught).sum()))
        for j, (name, _) in enumerate(MECHANISMS)
    ]
    none = ~has.any(axis=1)
    rows.append(Carried("none of these", int((none & ~caught).sum()), int((none & caught).sum())))
    return MissedPhishing(t, int((~caught).sum()), int(caught.sum()), tuple(rows))
