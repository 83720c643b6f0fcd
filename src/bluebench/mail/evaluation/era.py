"""Does the model win by dates? The era-matched pair, modern ham, unseen sources and one global cut.

A model that learnt a corpus's vintage (its mail software, its headers) rather than intent
fails on mail of the same era in both classes, and on modern legitimate mail it never saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from rich.console import RenderableType

from bluebench.mail.evaluation.metrics import Metrics, flagged_rate, measure, rate_from_json
from bluebench.mail.evaluation.runs import Run, fit_spec
from bluebench.mail.features import Extracted
from bluebench.mail.spec import Spec
from bluebench.mail.tables import rate_text
from bluebench.mail.train import Labelled
from bluebench.stats import Rate


def era_masks(sources: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of modern legitimate mail's sources and of the era-matched pair (Nazario, SA ham)."""
    src = sources.astype(str)
    modern = np.char.startswith(src, "modern")
    matched = (src == "nazario") | (np.char.startswith(src, "spamassassin") & (labels == "ham"))
    return modern, matched


@dataclass(frozen=True)
class SourceFpr:
    """Ham FPR on one source's messages."""

    source: str
    fpr: Rate

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "fpr": self.fpr.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SourceFpr:
        return cls(d["source"], rate_from_json(d["fpr"]))


def by_source(run: Run, st: np.ndarray, lt: np.ndarray, modern: np.ndarray) -> list[SourceFpr]:
    """Modern ham FPR per source on the test part."""
    out = []
    for source in sorted(set(st[modern & (lt == "ham")].tolist())):
        sel = (st == source) & (lt == "ham")
        out.append(SourceFpr(source, flagged_rate(run.scores[sel], run.threshold)))
    return out


@dataclass(frozen=True)
class UnseenModern:
    """Modern ham FPR of a model trained without any of it, or a note why there is none."""

    fpr: Rate | None = None
    threshold: float | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.fpr is None:
            return {"note": self.note}
        return {"fpr": self.fpr.to_json(), "threshold": self.threshold}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> UnseenModern:
        if "fpr" not in d:
            return cls(note=d.get("note"))
        return cls(rate_from_json(d["fpr"]), d["threshold"])

    def render(self) -> list[RenderableType]:
        if self.fpr is None:
            return []
        return [
            f"[bold]Modern ham never seen in training[/bold] (trained without it): FPR {rate_text(self.fpr, 4)}"
        ]


def unseen_modern(ex: Sequence[Extracted], data: Labelled, target_fpr: float) -> UnseenModern:
    """Train on everything but modern ham; FPR on all modern ham: mail of a kind never seen."""
    sources = np.asarray(data.sources).astype(str)
    modern = np.char.startswith(sources, "modern")
    if not modern.any() or np.bincount(data.y[~modern], minlength=2).min() < 2:
        return UnseenModern(note="no source named modern* in the labels, or too little other mail")
    run = fit_spec("unseen", "", Spec(), ex, data, ~modern, modern, target_fpr)
    return UnseenModern(flagged_rate(run.scores, run.threshold), run.threshold)


@dataclass(frozen=True)
class LeftOut:
    """One modern ham source left out of training: its FPR and what flagged it."""

    source: str
    fpr: Rate
    top_reasons: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fpr": self.fpr.to_json(),
            "top_reasons": [list(r) for r in self.top_reasons],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LeftOut:
        reasons = tuple((str(f), int(n)) for f, n in d["top_reasons"])
        return cls(d["source"], rate_from_json(d["fpr"]), reasons)


def leave_source_out(ex: Sequence[Extracted], data: Labelled, target_fpr: float) -> list[LeftOut]:
    """Per modern ham source: train on everything else, FPR on all of it, and what flagged it.

    Out of distribution on purpose: the model has never seen mail of that stream, so a
    low rate here cannot come from list headers or footers it learned as benign.
    """
    sources = np.asarray(data.sources).astype(str)
    labels = np.asarray(data.labels)
    out: list[LeftOut] = []
    for source in sorted(
        {s for s, lab in zip(sources, labels, strict=True) if s.startswith("modern") and lab == "ham"}
    ):
        held = sources == source
        run = fit_spec("lso", "", Spec(), ex, data, ~held, held, target_fpr)
        assert run.model is not None
        idx = np.where(held)[0]
        flagged = [i for i, s in zip(idx, run.scores, strict=True) if s >= run.threshold]
        reasons: Counter[str] = Counter()
        if flagged:
            verdicts = run.model.score_extracted(
                [(data.mails[i].file, data.mails[i].index) for i in flagged],
                [ex[i] for i in flagged],
                run.threshold,
                3,
            )
            for v in verdicts:
                reasons.update(r.feature for r in v.reasons if r.weight > 0)
        out.append(LeftOut(source, flagged_rate(run.scores, run.threshold), tuple(reasons.most_common(6))))
    return out


@dataclass(frozen=True)
class CrossEra:
    """One global date cut (old mail trains, new mail tests), or a note why it cannot be made."""

    cut: str | None = None
    spec: str | None = None
    train: dict[str, int] | None = None
    test: dict[str, int] | None = None
    test_metrics: Metrics | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.test_metrics is None:
            return {"note": self.note}
        return {
            "cut": self.cut,
            "spec": self.spec,
            "train": self.train,
            "test": self.test,
            "test_metrics": self.test_metrics.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CrossEra:
        if "test_metrics" not in d:
            return cls(note=d.get("note"))
        return cls(
            d["cut"], d["spec"], dict(d["train"]), dict(d["test"]), Metrics.from_json(d["test_metrics"])
        )

    def render(self) -> list[RenderableType]:
        m = self.test_metrics
        if m is None:
            return []
        return [
            f"[bold]One global cut at {self.cut}[/bold] ({self.spec}; train {self.train}, test {self.test}): "
            f"recall {rate_text(m.recall)}, FPR {rate_text(m.fpr, 4)}"
        ]


def cross_era(ex: Sequence[Extracted], data: Labelled, target_fpr: float) -> CrossEra:
    """One global date cut: train on mail up to the end of 2018, test on 2019 and later."""
    cut = datetime(2019, 1, 1)
    dated = np.array([m.date is not None for m in data.mails])
    old = np.array([m.date is not None and m.date < cut for m in data.mails])
    new = dated & ~old
    labels = np.asarray(data.labels)
    if np.bincount(data.y[old], minlength=2).min() < 2 or not new.any():
        return CrossEra(note="not enough phishing and other mail before 2019-01-01, or none after")
    run = fit_spec("cross_era", "", Spec(), ex, data, old, new, target_fpr)
    return CrossEra(
        cut=cut.date().isoformat(),
        spec="shipped spec (era signals removed)",
        train=dict(Counter(labels[old].tolist())),
        test=dict(Counter(labels[new].tolist())),
        test_metrics=measure(run.scores, labels[new], run.threshold, 0),
    )
