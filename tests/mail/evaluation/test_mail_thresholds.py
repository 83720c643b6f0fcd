"""Thresholds on the test part: tuned ones hold their target, hindsight is the ceiling, misses are named."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.mail.evaluation.thresholds import (
    MissedPhishing,
    ThresholdSpread,
    hindsight,
    threshold_spread,
    what_phishing_carries,
)
from bluebench.mail.features import FEATURE_INDEX, Extracted
from bluebench.mail.model import threshold_for_budget, threshold_for_fpr


def test_thresholds_respect_the_target_fpr_and_the_budget() -> None:
    scores = np.r_[np.linspace(0, 0.5, 1000), np.linspace(0.4, 1, 100)]
    ham = np.r_[np.ones(1000, bool), np.zeros(100, bool)]
    t = threshold_for_fpr(scores, ham, 0.001)
    assert (scores[ham] >= t).sum() <= 1
    assert (scores[ham] >= np.nextafter(t, 0)).sum() >= 1  # the lowest such threshold
    tb = threshold_for_budget(scores, 50)
    assert (scores >= tb).sum() == 55  # 50 per 1,000 of 1,100 messages


def test_threshold_spread_brackets_the_tuned_threshold() -> None:
    rng = np.random.default_rng(2)
    ham = rng.beta(1, 20, 1000)
    scores = np.concatenate([ham, rng.beta(20, 1, 300)])
    is_ham = np.arange(len(scores)) < 1000
    sp = threshold_spread(scores, is_ham, 0.001, resamples=200)
    t = threshold_for_fpr(scores, is_ham, 0.001)
    assert sp.ham == 1000 and sp.ham_allowed_above == 1
    assert sp.ci90[0] <= sp.median <= sp.ci90[1]
    assert sp.ci90[0] <= t <= np.nextafter(sp.ci90[1], 1.0)
    assert list(sp.top_ham_scores) == sorted(sp.top_ham_scores, reverse=True)
    assert sp.top_ham_scores[0] == ham.max()
    # the same seed gives the same spread
    assert threshold_spread(scores, is_ham, 0.001, resamples=200) == sp
    # on the test part: recall and ham FPR at both ends, stored after the spread itself
    lt = np.where(is_ham, "ham", "phishing")
    tested = sp.on_test(scores, lt)
    assert tested.test_at_low is not None and tested.test_at_low.threshold == sp.ci90[0]
    stored = tested.to_json()
    assert list(stored)[-2:] == ["test_at_low", "test_at_high"]
    assert ThresholdSpread.from_json(stored) == tested


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
    assert h.max_fpr == max_fpr and h.fpr.k <= max_fpr * len(ham)
    assert list(h.to_json()) == ["max_fpr", "threshold", "recall", "fpr"]
    # no threshold (every score, and just above it) keeps the ham FPR within max_fpr and catches more
    for t in np.concatenate([scores, np.nextafter(scores, 2.0)]):
        flag = scores >= t
        if flag[: len(ham)].sum() <= max_fpr * len(ham):
            assert flag[len(ham) :].sum() <= h.recall.k


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
    rows = {r.carries: (r.missed, r.caught) for r in got.rows}
    assert (got.missed, got.caught) == (2, 2)
    assert rows["a link"] == (0, 1) and rows["a risky attachment"] == (1, 0)
    assert rows["credential or account language, a form or a password field"] == (0, 1)
    assert rows["none of these"] == (1, 1)
    assert MissedPhishing.from_json(got.to_json()) == got
