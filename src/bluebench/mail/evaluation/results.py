"""The whole mail evaluation as one typed result: stored as JSON, read back, shown as tables.

``to_json`` writes the JSON ``bluebench mail evaluate --out`` has always written (reports and
``bench/mail_report.py`` read it back with ``from_json``); ``render`` gives the terminal
sections in order, each drawn by the part it shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.console import RenderableType
from rich.markup import escape

from bluebench.mail.evaluation.ablation import ModelRow, rows_tables
from bluebench.mail.evaluation.drift import Drift
from bluebench.mail.evaluation.era import CrossEra, LeftOut, SourceFpr, UnseenModern
from bluebench.mail.evaluation.retraining import Retraining, retraining_table
from bluebench.mail.evaluation.selection import SelectedTest, Selection
from bluebench.mail.evaluation.split import DataSummary, KFold
from bluebench.mail.evaluation.thresholds import (
    MissedPhishing,
    ThresholdRule,
    ThresholdSpread,
    thresholds_table,
)
from bluebench.mail.tables import table


@dataclass(frozen=True)
class Weight:
    """A feature (or word, or letter n-gram) of the shipped model and how much it weighs."""

    feature: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "weight": self.weight}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Weight:
        return cls(d["feature"], d["weight"])


def heaviest_table(heaviest: Sequence[Weight], words: Sequence[Weight], stack: bool) -> list[RenderableType]:
    """The shipped model's heaviest features (and, for the stack, the words of its text score)."""
    how = (
        "named features: mean contribution in log-odds where present; words: weight in the text score)"
        if stack
        else "log-odds per unit)"
    )
    t = table("", "feature", "weight", right=("weight",))
    for h in [*heaviest, *(words if stack else ())]:
        t.add_row(escape(h.feature), f"{h.weight:+.2f}")
    # the title as a line of its own: the table is narrower than what it says
    return ["Heaviest features of the shipped model (+ pushes to phishing; " + how, t]


@dataclass(frozen=True)
class MailEvaluation:
    """Every figure of ``bluebench mail evaluate``, in the order the JSON stores them.

    Parts that older evaluations lack (``threshold_spread``, ``missed_phishing``,
    ``model_kind``, ``retraining``) are None there and left out of their JSON.
    """

    target_fpr: float
    review_budget_per_1000: float
    data: DataSummary
    rows: tuple[ModelRow, ...]
    thresholds: tuple[ThresholdRule, ...]
    threshold_spread: ThresholdSpread | None
    missed_phishing: MissedPhishing | None
    dropped_risk_features: tuple[str, ...]
    heaviest: tuple[Weight, ...]
    heaviest_words: tuple[Weight, ...]
    model_kind: str | None
    kfold: KFold
    selection: Selection
    selected_test: SelectedTest
    modern_ham_by_source: tuple[SourceFpr, ...]
    modern_ham_unseen: UnseenModern
    leave_source_out: tuple[LeftOut, ...]
    cross_era: CrossEra
    drift: Drift
    retraining: tuple[Retraining, ...] | None = None

    def row(self, key: str) -> ModelRow:
        """The model row of that key (``all`` is the shipped model)."""
        return next(r for r in self.rows if r.key == key)

    def with_inputs(self, paths: Sequence[str], labels: str, unreadable: Sequence[str]) -> MailEvaluation:
        """The same evaluation naming the files it read, its labels CSV and what could not be read."""
        return replace(self, data=self.data.with_inputs(paths, labels, unreadable))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target_fpr": self.target_fpr,
            "review_budget_per_1000": self.review_budget_per_1000,
            "data": self.data.to_json(),
            "rows": [r.to_json() for r in self.rows],
            "thresholds": [t.to_json() for t in self.thresholds],
        }
        if self.threshold_spread is not None:
            out["threshold_spread"] = self.threshold_spread.to_json()
        if self.missed_phishing is not None:
            out["missed_phishing"] = self.missed_phishing.to_json()
        out["dropped_risk_features"] = list(self.dropped_risk_features)
        out["heaviest"] = [h.to_json() for h in self.heaviest]
        out["heaviest_words"] = [h.to_json() for h in self.heaviest_words]
        if self.model_kind is not None:
            out["model_kind"] = self.model_kind
        out.update(
            {
                "kfold": self.kfold.to_json(),
                "selection": self.selection.to_json(),
                "selected_test": self.selected_test.to_json(),
                "modern_ham_by_source": [s.to_json() for s in self.modern_ham_by_source],
                "modern_ham_unseen": self.modern_ham_unseen.to_json(),
                "leave_source_out": [s.to_json() for s in self.leave_source_out],
                "cross_era": self.cross_era.to_json(),
                "drift": self.drift.to_json(),
            }
        )
        if self.retraining is not None:
            out["retraining"] = [r.to_json() for r in self.retraining]
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MailEvaluation:
        spread, missed, retrain = d.get("threshold_spread"), d.get("missed_phishing"), d.get("retraining")
        return cls(
            target_fpr=d["target_fpr"],
            review_budget_per_1000=d["review_budget_per_1000"],
            data=DataSummary.from_json(d["data"]),
            rows=tuple(ModelRow.from_json(r) for r in d["rows"]),
            thresholds=tuple(ThresholdRule.from_json(t) for t in d["thresholds"]),
            threshold_spread=None if spread is None else ThresholdSpread.from_json(spread),
            missed_phishing=None if missed is None else MissedPhishing.from_json(missed),
            dropped_risk_features=tuple(d.get("dropped_risk_features") or ()),
            heaviest=tuple(Weight.from_json(h) for h in d["heaviest"]),
            heaviest_words=tuple(Weight.from_json(h) for h in d.get("heaviest_words") or ()),
            model_kind=d.get("model_kind"),
            kfold=KFold.from_json(d["kfold"]),
            selection=Selection.from_json(d["selection"]),
            selected_test=SelectedTest.from_json(d["selected_test"]),
            modern_ham_by_source=tuple(SourceFpr.from_json(s) for s in d["modern_ham_by_source"]),
            modern_ham_unseen=UnseenModern.from_json(d["modern_ham_unseen"]),
            leave_source_out=tuple(LeftOut.from_json(s) for s in d["leave_source_out"]),
            cross_era=CrossEra.from_json(d["cross_era"]),
            drift=Drift.from_json(d["drift"]),
            retraining=None if retrain is None else tuple(Retraining.from_json(r) for r in retrain),
        )

    def render(self) -> Iterator[RenderableType]:
        """The terminal sections in order: data, models, k-fold, era lines, thresholds, weights, drift."""
        yield from self.data.render()
        yield from rows_tables(self.rows, self.target_fpr)
        yield from self.kfold.render()
        yield from self.modern_ham_unseen.render()
        yield from self.cross_era.render()
        yield thresholds_table(self.thresholds)
        if self.dropped_risk_features:
            yield "risk indicators dropped because training gave them a benign weight: " + ", ".join(
                self.dropped_risk_features
            )
        yield from heaviest_table(self.heaviest, self.heaviest_words, self.model_kind == "stack")
        yield from self.drift.render()
        yield from retraining_table(self.retraining or ())
