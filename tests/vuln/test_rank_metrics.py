"""Ranking measures agree with scikit-learn's on data with ties, and bootstrap weights of 1 change nothing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from bluebench.vuln.metrics import Ranked, average_precision, bootstrap, interval, roc_auc, top


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=80))
def test_average_precision_and_auc_match_sklearn_with_ties(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in rows], dtype=float)
    y = np.array([1.0 if b else 0.0 for _, b in rows])
    r = Ranked.of(scores)
    if y.sum() == 0:
        assert average_precision(r, y) is None
        return
    assert abs(average_precision(r, y) - average_precision_score(y, scores)) < 1e-9  # type: ignore[operator]
    if 0 < y.sum() < len(y):
        assert abs(roc_auc(r, y) - roc_auc_score(y, scores)) < 1e-9  # type: ignore[operator]
    ones = np.ones(len(y))
    assert average_precision(r, y, ones) == average_precision(r, y)


def test_top_takes_k_best_and_cuts_ties_by_order() -> None:
    r = Ranked.of(np.array([0.1, 0.9, 0.5, 0.5, 0.2]))
    assert top(r, 2).tolist() == [False, True, True, False, False]


def test_bootstrap_interval_brackets_the_value() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(3000) < 0.02).astype(float)
    s = y * 1.0 + rng.normal(0, 1, 3000)
    r = Ranked.of(s)
    value, resampled = bootstrap(lambda w: average_precision(r, y, w), len(y), rounds=50)
    est = interval(value, resampled)
    assert est.low is not None and est.high is not None
    assert est.low <= est.value <= est.high  # type: ignore[operator]
