"""The model rows: the shipped spec, the specs that take a part away or add the era back, and their tables.

Every row is trained on the older part and tested on the newer part with the threshold set
on its own out-of-fold training scores; the baselines (``baselines.py``) come first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.markup import escape

from bluebench.mail.evaluation.era import era_masks
from bluebench.mail.evaluation.metrics import Hindsight, Metrics, flagged_rate, measure, rate_from_json
from bluebench.mail.evaluation.runs import Run
from bluebench.mail.evaluation.thresholds import hindsight
from bluebench.mail.features import ERA_FREE_FEATURES, FEATURE_NAMES, FEATURES
from bluebench.mail.spec import Spec
from bluebench.mail.tables import rate_cell, table, value_cell
from bluebench.stats import Rate

# Features an earlier session added after reading test-part errors (commit f9e8c6b): the
# ``without_late_features`` row shows what the model does without them.
LATE_FEATURES: frozenset[str] = frozenset({"in_thread", "quoted_reply"})


def group_spec(*groups: str) -> Spec:
    """Era-free named features of some groups only, no text."""
    return Spec(
        features=tuple(f.name for f in FEATURES if f.group in groups and not f.era), text_source="none"
    )


def ablation_specs() -> list[tuple[str, str, Spec]]:
    """(key, description, spec) of each model row; ``all`` is the spec ``mail train`` ships."""
    return [
        ("text_only", "text only: TF-IDF, calibrated, balanced", Spec(features=())),
        ("headers_only", "header features only", group_spec("headers")),
        ("links_only", "link features only", group_spec("links")),
        ("content_only", "content + attachment features only", group_spec("content", "attachments")),
        (
            "all",
            "all: text score + named features in the stacked model, era signals removed (issue 3's choice)",
            Spec(),
        ),
        (
            "all_words",
            "shipped model with words instead of letter n-grams in the text score (the model shipped before)",
            Spec(text_units="words"),
        ),
        (
            "all_linear",
            "all in one logistic regression (words + named features; the model shipped before that)",
            Spec(kind="linear", text_units="words"),
        ),
        (
            "without_artefact_cleaning",
            "shipped model on text with the corpus artefacts left in (forward headers, phishing@pot)",
            Spec(clean=False),
        ),
        (
            "stopwords_out",
            "shipped model with the function words of seven languages taken out",
            Spec(stopwords=True),
        ),
        (
            "all_with_era",
            "all + era signals (auth/Received/encoding features, raw text with list footers and numbers)",
            Spec(features=FEATURE_NAMES, strip_era=False, clean=False),
        ),
        (
            "without_late_features",
            "all minus the features added after looking at test-part errors (in_thread, quoted_reply)",
            Spec().with_features(f for f in ERA_FREE_FEATURES if f not in LATE_FEATURES),
        ),
        (
            "era_only",
            "era signals only: header names, mailer, Received format, year",
            Spec(features=(), text_source="era"),
        ),
    ]


@dataclass(frozen=True)
class ModelRow:
    """One model on the test part: all of it, the era-matched pair, modern ham, and hindsight."""

    key: str
    description: str
    test: Metrics
    era_matched: Metrics
    modern_ham_fpr: Rate
    hindsight: Hindsight

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "test": self.test.to_json(),
            "era_matched": self.era_matched.to_json(),
            "modern_ham_fpr": self.modern_ham_fpr.to_json(),
            "hindsight": self.hindsight.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModelRow:
        return cls(
            d["key"],
            d["description"],
            Metrics.from_json(d["test"]),
            Metrics.from_json(d["era_matched"]),
            rate_from_json(d["modern_ham_fpr"]),
            Hindsight.from_json(d["hindsight"]),
        )


def model_row(run: Run, st: np.ndarray, lt: np.ndarray, bootstrap: int) -> ModelRow:
    """Measure a run's test scores: all of the test part, the era checks and hindsight."""
    modern, matched = era_masks(st, lt)
    return ModelRow(
        run.key,
        run.description,
        measure(run.scores, lt, run.threshold, bootstrap),
        measure(run.scores[matched], lt[matched], run.threshold, 0),
        flagged_rate(run.scores[modern & (lt == "ham")], run.threshold),
        hindsight(run.scores, lt),
    )


def rows_tables(rows: Sequence[ModelRow], target_fpr: float) -> list[RenderableType]:
    """What each key means, then counts, rates and era checks per model, each table 80 columns at most."""
    out: list[RenderableType] = [f"  [bold]{r.key}[/bold]: {escape(r.description)}" for r in rows]
    counts = table(
        f"Trained on the older part, tested on the newer part. Threshold: ham FPR <= {target_fpr} "
        "on out-of-fold training scores. Recall counts phishing only, FPR ham only; spam flagged counts "
        "against precision",
        "model",
        "threshold",
        "TP",
        "FN",
        "FP\nham",
        "TN\nham",
        "spam\nflagged",
        right=("threshold", "TP", "FN", "FP\nham", "TN\nham", "spam\nflagged"),
    )
    rates = table(
        "The same models: rates with 95% Wilson intervals", "model", "recall", "ham FPR", "precision"
    )
    summary = table("The same models: F1 and PR-AUC with 95% bootstrap intervals", "model", "F1", "PR-AUC")
    for r in rows:
        m, c = r.test, r.test.counts
        counts.add_row(
            r.key,
            f"{m.threshold:.3f}",
            str(c.tp),
            str(c.fn),
            str(c.fp_ham),
            str(c.tn_ham),
            f"{c.fp_spam}/{c.spam}",
        )
        rates.add_row(r.key, value_cell(m.recall), value_cell(m.fpr, 4), value_cell(m.precision))
        summary.add_row(r.key, value_cell(m.f1), value_cell(m.pr_auc))
    era = table(
        "Era checks, same models and thresholds: era-matched pair (Nazario 2004-05 phishing vs "
        "SpamAssassin 2002 ham, test part) and modern legitimate mail (modern-ham, test part)",
        "model",
        "era-matched\nrecall",
        "era-matched\nFPR",
        "modern\nham FPR",
    )
    for r in rows:
        em = r.era_matched
        era.add_row(r.key, rate_cell(em.recall), rate_cell(em.fpr, 4), rate_cell(r.modern_ham_fpr, 4))
    return [*out, counts, rates, summary, era]
