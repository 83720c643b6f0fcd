"""How labelled mail is split: by time within each source, and the stratified k-fold that ignores time.

The time split trains on the oldest share of every source and tests on the newest, so every
test message is newer than every training message of its stream; the k-fold line shows
what a split that ignores time would have claimed instead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.markup import escape

from bluebench.mail.evaluation.metrics import Metrics, measure
from bluebench.mail.evaluation.runs import fit_model
from bluebench.mail.features import Extracted
from bluebench.mail.spec import Spec, design
from bluebench.mail.tables import rate_text, table, value_text
from bluebench.mail.train import Labelled


def _pair(v: Sequence[str] | None) -> tuple[str, str] | None:
    return None if v is None else (str(v[0]), str(v[1]))


@dataclass(frozen=True)
class SourceSplit:
    """One source's messages in the training and the test part, with the dates each spans."""

    source: str
    label: str
    train: int
    test: int
    undated: int
    train_dates: tuple[str, str] | None
    test_dates: tuple[str, str] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "label": self.label,
            "train": self.train,
            "test": self.test,
            "undated": self.undated,
            "train_dates": None if self.train_dates is None else list(self.train_dates),
            "test_dates": None if self.test_dates is None else list(self.test_dates),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SourceSplit:
        return cls(
            d["source"],
            d["label"],
            d["train"],
            d["test"],
            d["undated"],
            _pair(d["train_dates"]),
            _pair(d["test_dates"]),
        )


@dataclass(frozen=True)
class DataSplit:
    """The time split: how it was cut, the size of each part, and each source's share."""

    kind: str
    train: int
    test: int
    sources: tuple[SourceSplit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "train": self.train,
            "test": self.test,
            "sources": [s.to_json() for s in self.sources],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DataSplit:
        return cls(d["kind"], d["train"], d["test"], tuple(SourceSplit.from_json(s) for s in d["sources"]))


@dataclass(frozen=True)
class DataSummary:
    """The labelled mail evaluated and how it was split; the CLI adds the inputs it was read from."""

    messages: int
    unlabelled: int
    classes: dict[str, int]
    split: DataSplit
    paths: tuple[str, ...] | None = None
    labels: str | None = None
    unreadable: tuple[str, ...] | None = None

    def with_inputs(self, paths: Sequence[str], labels: str, unreadable: Sequence[str]) -> DataSummary:
        """The same summary naming the files read, the labels CSV and what could not be read."""
        return replace(self, paths=tuple(paths), labels=labels, unreadable=tuple(unreadable))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "messages": self.messages,
            "unlabelled": self.unlabelled,
            "classes": dict(self.classes),
            "split": self.split.to_json(),
        }
        if self.paths is not None:
            out["paths"] = list(self.paths)
        if self.labels is not None:
            out["labels"] = self.labels
        if self.unreadable is not None:
            out["unreadable"] = list(self.unreadable)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DataSummary:
        paths, unreadable = d.get("paths"), d.get("unreadable")
        return cls(
            d["messages"],
            d["unlabelled"],
            dict(d["classes"]),
            DataSplit.from_json(d["split"]),
            None if paths is None else tuple(paths),
            d.get("labels"),
            None if unreadable is None else tuple(unreadable),
        )

    def render(self) -> list[RenderableType]:
        """The data line, then each source's training and test counts with the dates each spans."""
        t = table("Time split per source", "source", "label", "train", "test")
        for s in self.split.sources:
            t.add_row(escape(s.source), s.label, _part(s.train, s.train_dates), _part(s.test, s.test_dates))
        return [f"[bold]Data[/bold]: {self.messages} messages {self.classes}; {self.split.kind}", t]


def _part(n: int, dates: tuple[str, str] | None) -> str:
    return f"{n}\n{dates[0]} to\n{dates[1]}" if dates else str(n)


def time_split(data: Labelled, share: float = 0.7) -> tuple[np.ndarray, list[SourceSplit]]:
    """Train mask: per source, messages dated up to the ``share`` quantile; ties stay together.

    Undated messages go to training (they cannot be "newer") and are counted.
    """
    n = len(data.mails)
    train = np.zeros(n, dtype=bool)
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(data.sources):
        by_source[s].append(i)
    info: list[SourceSplit] = []
    for source, idx in sorted(by_source.items()):
        dated = [i for i in idx if data.mails[i].date is not None]
        undated = [i for i in idx if data.mails[i].date is None]
        train[undated] = True
        if dated:
            stamps = sorted(_ts(data.mails[i].date) for i in dated)
            cut = stamps[max(0, math.ceil(share * len(stamps)) - 1)]
            for i in dated:
                train[i] = _ts(data.mails[i].date) <= cut
        tr = [i for i in idx if train[i]]
        te = [i for i in idx if not train[i]]
        label = data.labels[idx[0]]
        info.append(
            SourceSplit(source, label, len(tr), len(te), len(undated), _span(data, tr), _span(data, te))
        )
    return train, info


def _ts(d: datetime | None) -> float:
    return 0.0 if d is None else d.timestamp()


def _span(data: Labelled, idx: Sequence[int]) -> tuple[str, str] | None:
    ds = sorted(data.mails[i].date for i in idx if data.mails[i].date is not None)  # type: ignore[type-var]
    return (f"{ds[0]:%Y-%m-%d}", f"{ds[-1]:%Y-%m-%d}") if ds else None


def subset(data: Labelled, mask: np.ndarray) -> Labelled:
    """The labelled messages where ``mask`` is set, in their order."""
    idx = np.where(mask)[0]
    return Labelled(
        [data.mails[i] for i in idx], [data.labels[i] for i in idx], [data.sources[i] for i in idx]
    )


# The rates the k-fold line compares with the time split, in the order it states them.
GAP_RATES: tuple[str, ...] = ("recall", "fpr", "precision", "f1", "pr_auc")


@dataclass(frozen=True)
class KFold:
    """Stratified k-fold metrics (pooled verdicts) and their gap to the time split's."""

    folds: int
    metrics: Metrics
    gap: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return {"folds": self.folds, "metrics": self.metrics.to_json(), "gap": dict(self.gap)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> KFold:
        return cls(d["folds"], Metrics.from_json(d["metrics"]), dict(d["gap"]))

    def render(self) -> list[RenderableType]:
        """The k-fold line and the gap line."""
        m = self.metrics
        gaps = ", ".join(f"{n} {v:+.3f}" if v is not None else f"{n} n/a" for n, v in self.gap.items())
        return [
            f"[bold]Stratified {self.folds}-fold (ignores time)[/bold]: recall {rate_text(m.recall)}, "
            f"FPR {rate_text(m.fpr, 4)}, precision {rate_text(m.precision)}, PR-AUC {value_text(m.pr_auc.value, m.pr_auc.ci95)}",
            "  gap k-fold minus time split: " + gaps,
        ]


def kfold(
    ex: Sequence[Extracted],
    data: Labelled,
    spec: Spec,
    target_fpr: float,
    folds: int,
    bootstrap: int,
    time_split_metrics: Metrics,
) -> KFold:
    """Stratified k-fold (shuffled, ignores time): each fold's threshold from its own training part."""
    from sklearn.model_selection import StratifiedKFold

    X = design(ex, data.mails, spec)
    y = data.y
    labels = np.asarray(data.labels)
    scores = np.zeros(len(y))
    flags = np.zeros(len(y), dtype=bool)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=1).split(X, y):
        model, reads, _oof = fit_model(X, ex, data, tr, spec, target_fpr)
        scores[te] = model.scores(reads[te])
        flags[te] = scores[te] >= model.threshold
    # each fold has its own threshold: measure on the pooled verdicts (score 1/0 by flag)
    m = measure(np.where(flags, 1.0, 0.0), labels, 0.5, bootstrap)
    m = replace(m, pr_auc=measure(scores, labels, 0.5, bootstrap).pr_auc)
    gap = {k: _gap(m.value(k), time_split_metrics.value(k)) for k in GAP_RATES}
    return KFold(folds, m, gap)


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
