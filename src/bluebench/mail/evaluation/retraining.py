"""Retraining on a schedule: does the model survive drift when it learns from new mail?

The test part is scored month by month by a model refitted as labelled mail arrives,
either every message or only what the review queue showed an analyst; it tells drift that
new labels fix from misses that stay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import RenderableType

from bluebench.mail.evaluation.era import era_masks
from bluebench.mail.evaluation.metrics import FlagRates, flag_rates, rate_from_json
from bluebench.mail.evaluation.runs import fit_model
from bluebench.mail.features import Extracted
from bluebench.mail.model import MailModel
from bluebench.mail.spec import Spec, design
from bluebench.mail.tables import rate_cell, table
from bluebench.mail.train import Labelled
from bluebench.stats import Rate

# A refit waits for this many newly labelled messages: a month with two new list posts is
# not worth a refit, and each refit sets a new threshold from only the mail seen so far.
RETRAIN_MIN_NEW = 20
FEEDBACK: dict[str, str] = {
    "none": "the model trained on the training part scores every test month (the rows above)",
    "reviewed": "only the messages the model flagged come back labelled (an analyst's verdict in "
    "the review queue); a missed phishing is never learnt",
    "all": "every message comes back labelled after its month (reported phishing and ham alike): "
    "the ceiling of retraining",
}


@dataclass(frozen=True)
class Refit:
    """One refit: before which month, on how many labelled messages (how many new), its threshold."""

    before: str | None
    messages: int
    new: int
    threshold: float

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "messages": self.messages,
            "new": self.new,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class SourceRates:
    """Recall and ham FPR on one source's test messages."""

    source: str
    recall: Rate
    fpr: Rate

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, **FlagRates(self.recall, self.fpr).to_json()}


@dataclass(frozen=True)
class Retraining:
    """The test part as scored by the refitted models, for one way labels come back."""

    feedback: str
    means: str
    min_new: int
    fits: tuple[Refit, ...]
    recall: Rate
    fpr: Rate
    spam_flagged: Rate
    modern_ham_fpr: Rate
    era_matched: FlagRates
    by_source: tuple[SourceRates, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.feedback,  # report facts name list items by key: mail/retraining/all/recall
            "feedback": self.feedback,
            "means": self.means,
            "min_new": self.min_new,
            "fits": [f.to_json() for f in self.fits],
            **FlagRates(self.recall, self.fpr).to_json(),
            "spam_flagged": self.spam_flagged.to_json(),
            "modern_ham_fpr": self.modern_ham_fpr.to_json(),
            "era_matched": self.era_matched.to_json(),
            "by_source": [s.to_json() for s in self.by_source],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Retraining:
        return cls(
            d["feedback"],
            d["means"],
            d["min_new"],
            tuple(Refit(f["before"], f["messages"], f["new"], f["threshold"]) for f in d["fits"]),
            rate_from_json(d["recall"]),
            rate_from_json(d["fpr"]),
            rate_from_json(d["spam_flagged"]),
            rate_from_json(d["modern_ham_fpr"]),
            FlagRates.from_json(d["era_matched"]),
            tuple(
                SourceRates(s["source"], rate_from_json(s["recall"]), rate_from_json(s["fpr"]))
                for s in d["by_source"]
            ),
        )


def retraining_table(runs: Sequence[Retraining]) -> list[RenderableType]:
    """Recall and FPR of each way labels come back, with the number of refits; what each way means under it."""
    if not runs:
        return []
    t = table(
        f"Retraining month by month over the test part (refit once {runs[0].min_new} new messages are labelled)",
        "labels that come back",
        "refits",
        "recall",
        "ham FPR",
        "modern\nham FPR",
        right=("refits",),
    )
    for r in runs:
        t.add_row(
            r.feedback,
            str(len(r.fits) - 1),
            rate_cell(r.recall),
            rate_cell(r.fpr, 4),
            rate_cell(r.modern_ham_fpr, 3),
        )
    return [t, *(f"  [bold]{r.feedback}[/bold]: {r.means}" for r in runs)]


def _refit_monthly(
    X: np.ndarray,
    ex: Sequence[Extracted],
    data: Labelled,
    train: np.ndarray,
    spec: Spec,
    target_fpr: float,
    feedback: str,
    min_new: int,
) -> tuple[np.ndarray, np.ndarray, list[Refit]]:
    """Test scores and the threshold each was judged by, month by month, and the refits made."""
    months: dict[str, list[int]] = defaultdict(list)
    for i in np.flatnonzero(~train):
        m = data.mails[i].month
        months[m if m is not None else ""].append(int(i))
    known = train.copy()
    scores = np.zeros(len(data.labels))
    thresholds = np.zeros(len(data.labels))
    fits: list[Refit] = []
    model: MailModel | None = None
    Xs = X
    pending = 0
    for month in sorted(months):
        if model is None or (feedback != "none" and pending >= min_new):
            model, Xs, _oof = fit_model(X, ex, data, known, spec, target_fpr)
            fits.append(Refit(month or None, int(known.sum()), pending, model.threshold))
            pending = 0
        idx = np.array(months[month])
        scores[idx] = model.scores(Xs[idx])
        thresholds[idx] = model.threshold
        flag = scores[idx] >= model.threshold
        learnt = idx if feedback == "all" else idx[flag] if feedback == "reviewed" else idx[:0]
        known[learnt] = True
        pending += len(learnt)
    return scores, thresholds, fits


def retraining(
    ex: Sequence[Extracted],
    data: Labelled,
    train: np.ndarray,
    spec: Spec,
    target_fpr: float,
    feedback: str,
    min_new: int = RETRAIN_MIN_NEW,
) -> Retraining:
    """The test part scored month by month by a model refitted as labelled mail arrives.

    At the start of each calendar month that has test mail, the model is refitted on every
    message labelled so far, with its threshold from the new out-of-fold scores, once at
    least ``min_new`` messages have been labelled since the last fit. ``feedback`` (see
    ``FEEDBACK``) says which test messages come back labelled after their month. Nothing of
    a month is learnt before that month is scored, so each verdict is still on unseen mail.
    """
    if feedback not in FEEDBACK:
        raise ValueError(f"feedback must be one of {sorted(FEEDBACK)}, not {feedback!r}")
    labels = np.asarray(data.labels)
    sources = np.asarray(data.sources).astype(str)
    X = design(ex, data.mails, spec)
    scores, thresholds, fits = _refit_monthly(X, ex, data, train, spec, target_fpr, feedback, min_new)
    test = ~train
    lt, st = labels[test], sources[test]
    ft = (scores >= thresholds)[test]
    modern, matched = era_masks(st, lt)
    everything = flag_rates(ft, lt)
    by_source = []
    for s in sorted(set(st.tolist())):
        one = flag_rates(ft[st == s], lt[st == s])
        by_source.append(SourceRates(s, one.recall, one.fpr))
    return Retraining(
        feedback=feedback,
        means=FEEDBACK[feedback],
        min_new=min_new,
        fits=tuple(fits),
        recall=everything.recall,
        fpr=everything.fpr,
        spam_flagged=Rate(int((ft & (lt == "spam")).sum()), int((lt == "spam").sum())),
        modern_ham_fpr=flag_rates(ft[modern], lt[modern]).fpr,
        era_matched=flag_rates(ft[matched], lt[matched]),
        by_source=tuple(by_source),
    )
