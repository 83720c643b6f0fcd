"""The evaluation's parts: time split per source, spam kept out of recall, PSI, thresholds."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.mail.evaluate import (
    SCORE_BANDS,
    hindsight,
    measure,
    psi,
    threshold_spread,
    time_split,
    what_phishing_carries,
)
from bluebench.mail.features import FEATURE_INDEX, Extracted
from bluebench.mail.model import threshold_for_budget, threshold_for_fpr
from bluebench.mail.train import Labelled
from bluebench.sources.mailparse import Mail


def _mail(i: int, day: int) -> Mail:
    return Mail(file=f"m{i}.eml", index=1, headers=[], date=datetime(2024, 1, day))


def test_time_split_trains_on_the_oldest_of_each_source_and_keeps_ties_together() -> None:
    days = {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "b": [20, 21, 21, 21, 22]}
    data = Labelled()
    i = 0
    for source, ds in days.items():
        for d in ds:
            data.mails.append(_mail(i, d))
            data.labels.append("ham" if source == "a" else "phishing")
            data.sources.append(source)
            i += 1
    train, info = time_split(data, share=0.7)
    a = train[:10]
    assert a.tolist() == [True] * 7 + [False] * 3
    b = train[10:]
    assert b.tolist() == [True, True, True, True, False]  # the three messages of day 21 stay together
    by = {s["source"]: s for s in info}
    assert by["a"]["test_dates"] == ["2024-01-08", "2024-01-10"]
    for src, idx in (("a", range(10)), ("b", range(10, 15))):
        newest_train = max(data.mails[j].date for j in idx if train[j])  # type: ignore[type-var]
        oldest_test = min(data.mails[j].date for j in idx if not train[j])  # type: ignore[type-var]
        assert newest_train < oldest_test, src


def test_spam_never_counts_as_a_phishing_catch() -> None:
    labels = ["phishing", "phishing", "spam", "spam", "ham", "ham", "ham", "ham"]
    scores = np.array([0.9, 0.1, 0.95, 0.2, 0.8, 0.1, 0.1, 0.1])
    m = measure(scores, labels, 0.5, bootstrap=0)
    assert m["recall"]["k"] == 1 and m["recall"]["n"] == 2
    assert m["fpr"]["k"] == 1 and m["fpr"]["n"] == 4  # ham only
    assert m["spam_flagged"]["k"] == 1 and m["spam_flagged"]["n"] == 2
    assert m["precision"]["k"] == 1 and m["precision"]["n"] == 3  # flagged spam counts against precision
    assert m["counts"] == {"TP": 1, "FN": 1, "FP_ham": 1, "TN_ham": 3, "FP_spam": 1, "spam": 2}


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    same = psi(ref, rng.normal(0, 1, 5000))
    moved = psi(ref, rng.normal(1.5, 1, 5000))
    assert same is not None and same < 0.05
    assert moved is not None and moved > 0.25
    assert psi(ref, ref[:5]) is None  # too few to say
    flat = psi(np.zeros(100), np.r_[np.zeros(50), np.ones(50)])
    assert flat is not None and flat > 0.25


def test_thresholds_respect_the_target_fpr_and_the_budget() -> None:
    scores = np.r_[np.linspace(0, 0.5, 1000), np.linspace(0.4, 1, 100)]
    ham = np.r_[np.ones(1000, bool), np.zeros(100, bool)]
    t = threshold_for_fpr(scores, ham, 0.001)
    assert (scores[ham] >= t).sum() <= 1
    assert (scores[ham] >= np.nextafter(t, 0)).sum() >= 1  # the lowest such threshold
    tb = threshold_for_budget(scores, 50)
    assert (scores >= tb).sum() == 55  # 50 per 1,000 of 1,100 messages


def test_choices_are_made_on_a_validation_split_inside_the_training_part() -> None:
    from pathlib import Path

    from bluebench.mail.evaluate import (
        CANDIDATE_TARGET_FPR,
        CANDIDATES,
        SELECTION_MAX_FPR,
        VALIDATION_CUTS,
        _select,
    )
    from bluebench.mail.features import extract
    from bluebench.mail.labels import load_labels
    from bluebench.mail.train import attach_labels
    from bluebench.sources.mailparse import read_mail

    folder = Path(__file__).resolve().parents[1] / "data" / "mail"
    data = attach_labels(read_mail([str(folder)]), load_labels(folder / "labels.csv"))
    ex = [extract(m) for m in data.mails]
    train, _ = time_split(data, 0.7)
    sel = _select(ex, data, train, 0)
    # every development and validation message is in the training part: the test part is
    # never read; the folds validate on disjoint, ever newer mail
    folds = sel["split"]["folds"]
    assert [f["cut"] for f in folds] == list(VALIDATION_CUTS)
    assert all(f["development"] + f["validation"] <= int(train.sum()) for f in folds)
    assert sum(f["validation"] for f in folds) == sel["split"]["validation"]
    assert folds[-1]["development"] + folds[-1]["validation"] == int(train.sum())
    assert [f["development"] for f in folds] == sorted(f["development"] for f in folds)
    assert len(sel["candidates"]) == len(CANDIDATES) * len(CANDIDATE_TARGET_FPR)
    ok = [c for c in sel["candidates"] if c["validation"]["fpr"]["value"] <= SELECTION_MAX_FPR]
    chosen = next(
        c
        for c in sel["candidates"]
        if (c["name"], c["target_fpr"]) == (sel["chosen"]["name"], sel["chosen"]["target_fpr"])
    )
    if ok:
        assert chosen["validation"]["recall"]["value"] == max(c["validation"]["recall"]["value"] for c in ok)
    else:
        assert chosen["validation"]["fpr"]["value"] == min(
            c["validation"]["fpr"]["value"] for c in sel["candidates"]
        )


def test_score_psi_in_fixed_bands_ignores_moves_inside_a_band() -> None:
    rng = np.random.default_rng(1)
    ref = np.clip(0.990 + rng.normal(0, 0.002, 400), 0, 1)
    surer = np.clip(ref + 0.004, 0, 1)  # every score a little higher, none leaves the top band
    quantile = psi(ref, surer)
    banded = psi(ref, surer, edges=SCORE_BANDS)
    assert quantile is not None and quantile > 0.25
    assert banded is not None and banded < 0.01
    # a real move across bands still shows
    lower = psi(ref, np.clip(ref - 0.4, 0, 1), edges=SCORE_BANDS)
    assert lower is not None and lower > 0.25


def test_threshold_spread_brackets_the_tuned_threshold() -> None:
    rng = np.random.default_rng(2)
    ham = rng.beta(1, 20, 1000)
    scores = np.concatenate([ham, rng.beta(20, 1, 300)])
    is_ham = np.arange(len(scores)) < 1000
    sp = threshold_spread(scores, is_ham, 0.001, resamples=200)
    t = threshold_for_fpr(scores, is_ham, 0.001)
    assert sp["ham"] == 1000 and sp["ham_allowed_above"] == 1
    assert sp["ci90"][0] <= sp["median"] <= sp["ci90"][1]
    assert sp["ci90"][0] <= t <= np.nextafter(sp["ci90"][1], 1.0)
    assert sp["top_ham_scores"] == sorted(sp["top_ham_scores"], reverse=True)
    assert sp["top_ham_scores"][0] == ham.max()
    # the same seed gives the same spread
    assert threshold_spread(scores, is_ham, 0.001, resamples=200) == sp


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=60),
    st.lists(st.floats(0, 1), min_size=1, max_size=30),
    st.floats(0, 0.2),
)
def test_hindsight_is_the_best_recall_any_threshold_reaches_within_the_ham_fpr(
    ham: list[float], phish: list[float], max_fpr: float
) -> None:
    scores = np.array(ham + phish)
    lt = np.array(["ham"] * len(ham) + ["phishing"] * len(phish))
    h = hindsight(scores, lt, max_fpr)
    assert h["max_fpr"] == max_fpr and h["fpr"]["k"] <= max_fpr * len(ham)
    # no threshold (every score, and just above it) keeps the ham FPR within max_fpr and catches more
    for t in np.concatenate([scores, np.nextafter(scores, 2.0)]):
        flag = scores >= t
        if flag[: len(ham)].sum() <= max_fpr * len(ham):
            assert flag[len(ham) :].sum() <= h["recall"]["k"]


def test_a_ham_scored_exactly_one_stays_below_a_zero_fpr_threshold() -> None:
    # a saturated calibrated score is exactly 1.0: the threshold must lie above it, not on it
    t = threshold_for_fpr(np.array([1.0, 0.2, 0.9]), np.array([True, True, False]), 0.0)
    assert t > 1.0
    assert threshold_for_budget(np.array([1.0, 0.5]), 0.0) > 1.0


def test_misses_are_counted_by_what_the_phishing_carries() -> None:
    def ex(*names: str) -> Extracted:
        v = np.zeros(len(FEATURE_INDEX))
        for n in names:
            v[FEATURE_INDEX[n]] = 1.0
        return Extracted(v)

    extracted = [
        ex("link_count", "credential_terms"),  # caught lure
        ex("attach_executable"),  # missed lure with a file
        ex(),  # missed: asks only for a reply
        ex(),  # caught, nothing to carry
        ex("link_count"),  # ham: never counted
    ]
    scores = np.array([0.9, 0.1, 0.2, 0.8, 0.95])
    lt = np.array(["phishing", "phishing", "phishing", "phishing", "ham"])
    got = what_phishing_carries(scores, 0.5, extracted, lt)
    rows = {r["carries"]: (r["missed"], r["caught"]) for r in got["rows"]}
    assert (got["missed"], got["caught"]) == (2, 2)
    assert rows["a link"] == (0, 1) and rows["a risky attachment"] == (1, 0)
    assert rows["credential or account language, a form or a password field"] == (0, 1)
    assert rows["none of these"] == (1, 1)


def test_retraining_learns_each_month_only_after_scoring_it() -> None:
    from pathlib import Path

    import pytest

    from bluebench.mail.evaluate import retraining
    from bluebench.mail.features import extract
    from bluebench.mail.labels import load_labels
    from bluebench.mail.spec import Spec
    from bluebench.mail.train import attach_labels
    from bluebench.sources.mailparse import read_mail

    folder = Path(__file__).resolve().parents[1] / "data" / "mail"
    data = attach_labels(read_mail([str(folder)]), load_labels(folder / "labels.csv"))
    ex = [extract(m) for m in data.mails]
    train, _ = time_split(data, 0.7)
    test_idx = np.flatnonzero(~train)
    # spread the test part over months, two messages a month, so that refits have room
    for k, i in enumerate(test_idx):
        data.mails[i].date = datetime(2030 + k // 24, 1 + (k // 2) % 12, 1)
    month_of = {int(i): data.mails[i].month for i in test_idx}
    runs = {
        fb: retraining(ex, data, train, Spec(), 0.001, fb, min_new=1) for fb in ("none", "reviewed", "all")
    }

    assert len(runs["none"]["fits"]) == 1 and runs["none"]["fits"][0]["messages"] == int(train.sum())
    every = runs["all"]["fits"]
    # every label comes back: a refit before each month after the first, on exactly the
    # training part and the test months before it
    assert len(every) == len(set(month_of.values()))
    for f in every:
        assert f["messages"] == int(train.sum()) + sum(m < f["before"] for m in month_of.values())
    # reviewed: only flagged messages come back, so never more than every message
    reviewed = runs["reviewed"]["fits"]
    assert len(reviewed) > 1  # the sample model flags some test mail, so reviews come back
    assert all(f["new"] >= 1 for f in reviewed[1:])
    for f in reviewed:
        assert f["messages"] <= int(train.sum()) + sum(m < f["before"] for m in month_of.values())
    flagged_by_review = runs["reviewed"]["recall"]["k"] + runs["reviewed"]["fpr"]["k"]
    flagged_by_review += runs["reviewed"]["spam_flagged"]["k"]
    assert reviewed[-1]["messages"] <= int(train.sum()) + flagged_by_review
    for r in runs.values():
        assert r["recall"]["n"] == int((np.asarray(data.labels)[test_idx] == "phishing").sum())
        assert sum(s["recall"]["n"] for s in r["by_source"]) == r["recall"]["n"]
    with pytest.raises(ValueError, match="feedback"):
        retraining(ex, data, train, Spec(), 0.001, "sometimes")
