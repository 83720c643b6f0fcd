"""The whole mail evaluation in order: split, model rows, the shipped model's checks, selection, drift.

Every figure is computed here and stored as JSON; nothing is typed by hand. See the
package docstring for what each part measures and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bluebench.mail.evaluation.ablation import ablation_specs, model_row
from bluebench.mail.evaluation.baselines import keyword_run, tfidf_lr_run
from bluebench.mail.evaluation.drift import drift
from bluebench.mail.evaluation.era import by_source, cross_era, era_masks, leave_source_out, unseen_modern
from bluebench.mail.evaluation.metrics import flagged_rate, measure
from bluebench.mail.evaluation.results import MailEvaluation, Weight
from bluebench.mail.evaluation.retraining import retraining
from bluebench.mail.evaluation.runs import Run, fit_spec
from bluebench.mail.evaluation.selection import SelectedTest, Selection, select
from bluebench.mail.evaluation.split import DataSplit, DataSummary, kfold, time_split
from bluebench.mail.evaluation.thresholds import (
    hindsight,
    threshold_rules,
    threshold_spread,
    what_phishing_carries,
)
from bluebench.mail.features import Extracted, extract
from bluebench.mail.model import DEFAULT_TARGET_FPR
from bluebench.mail.spec import Spec
from bluebench.mail.train import Labelled

Progress = Callable[[str], None]


@dataclass(frozen=True)
class _Parts:
    """What every step reads: the extracted messages, the split, and the test part's labels and sources."""

    ex: list[Extracted]
    data: Labelled
    train: np.ndarray
    labels: np.ndarray
    lt: np.ndarray
    st: np.ndarray

    @property
    def test(self) -> np.ndarray:
        return ~self.train


def evaluate(
    data: Labelled,
    target_fpr: float = DEFAULT_TARGET_FPR,
    review_budget: float = 400.0,
    share: float = 0.7,
    folds: int = 5,
    bootstrap: int = 300,
    progress: Progress | None = None,
    retrain_feedback: Sequence[str] = ("reviewed", "all"),
) -> MailEvaluation:
    """The whole evaluation (see the package docstring), typed; ``to_json()`` stores it.

    ``retrain_feedback``: the ways labels come back for :func:`retraining` (each refits the
    model several times; empty skips it).
    """
    say = progress or (lambda _m: None)
    say(f"extracting features of {len(data.mails)} messages")
    ex = [extract(m) for m in data.mails]
    labels = np.asarray(data.labels)
    train, split_info = time_split(data, share)
    p = _Parts(ex, data, train, labels, labels[~train], np.asarray(data.sources)[~train])
    summary = DataSummary(
        messages=len(data.mails),
        unlabelled=len(data.unlabelled),
        classes=dict(Counter(data.labels)),
        split=DataSplit(
            f"per source, oldest {share:.0%} train, newest test",
            int(train.sum()),
            int(p.test.sum()),
            tuple(split_info),
        ),
    )
    runs = _runs(p, target_fpr, say)
    rows = tuple(model_row(r, p.st, p.lt, bootstrap) for r in runs)
    main = next(r for r in runs if r.key == "all")
    assert main.model is not None and main.oof is not None
    say("k-fold")
    kf = kfold(ex, data, Spec(), target_fpr, folds, bootstrap, next(r for r in rows if r.key == "all").test)
    say("selection on the validation split")
    selection = select(ex, data, train, bootstrap)
    say("selected configuration on the test part (once)")
    selected = _selected_test(p, selection, bootstrap)
    modern, _matched = era_masks(p.st, p.lt)
    by_main = by_source(main, p.st, p.lt, modern)
    say("unseen modern ham")
    unseen = unseen_modern(ex, data, target_fpr)
    say("leave one modern source out")
    left_out = leave_source_out(ex, data, target_fpr)
    say("cross-era split")
    era_cut = cross_era(ex, data, target_fpr)
    say("drift")
    months = drift(main, ex, data, train, p.test)
    refits = []
    for feedback in retrain_feedback:
        say(f"retraining month by month ({feedback} labelled)")
        refits.append(retraining(ex, data, train, Spec(), target_fpr, feedback))
    return MailEvaluation(
        target_fpr=target_fpr,
        review_budget_per_1000=review_budget,
        data=summary,
        rows=rows,
        thresholds=tuple(threshold_rules(main, p.lt, labels[train], review_budget)),
        threshold_spread=threshold_spread(main.oof, labels[train] == "ham", target_fpr).on_test(
            main.scores, p.lt
        ),
        missed_phishing=what_phishing_carries(
            main.scores, main.threshold, [ex[i] for i in np.flatnonzero(p.test)], p.lt
        ),
        dropped_risk_features=tuple(main.model.meta.get("dropped", [])),
        heaviest=tuple(Weight(n, w) for n, w in main.model.heaviest(20)),
        heaviest_words=tuple(Weight(n, w) for n, w in main.model.heaviest_words(20)),
        model_kind=main.model.spec.kind,
        kfold=kf,
        selection=selection,
        selected_test=selected,
        modern_ham_by_source=tuple(by_main),
        modern_ham_unseen=unseen,
        leave_source_out=tuple(left_out),
        cross_era=era_cut,
        drift=months,
        retraining=tuple(refits) if retrain_feedback else None,
    )


def _runs(p: _Parts, target_fpr: float, say: Progress) -> list[Run]:
    """The baselines, then every ablation spec, each fitted on the training part."""
    runs: list[Run] = []
    say("baselines")
    runs.append(keyword_run(p.ex, p.data, p.train, p.test, target_fpr))
    runs.append(tfidf_lr_run(p.ex, p.data, p.train, p.test))
    for key, desc, spec in ablation_specs():
        say(f"training {key}")
        runs.append(fit_spec(key, desc, spec, p.ex, p.data, p.train, p.test, target_fpr))
    return runs


def _selected_test(p: _Parts, selection: Selection, bootstrap: int) -> SelectedTest:
    """The configuration chosen on validation, trained on the whole training part, run once on the test part."""
    c = selection.chosen
    desc = f"{c.name}, threshold at out-of-fold ham FPR <= {c.target_fpr:g} (chosen on validation)"
    run = fit_spec("selected", desc, c.spec, p.ex, p.data, p.train, p.test, c.target_fpr)
    modern, matched = era_masks(p.st, p.lt)
    return SelectedTest(
        test=measure(run.scores, p.lt, run.threshold, bootstrap),
        era_matched=measure(run.scores[matched], p.lt[matched], run.threshold, 0),
        modern_ham_fpr=flagged_rate(run.scores[modern & (p.lt == "ham")], run.threshold),
        modern_ham_by_source=tuple(by_source(run, p.st, p.lt, modern)),
        hindsight=hindsight(run.scores, p.lt),
    )
