"""Rates at a threshold: spam never counts as a catch; PSI sees shifts, not noise; stored as before."""

from __future__ import annotations

import json

import numpy as np

from bluebench.mail.evaluation.metrics import SCORE_BANDS, Metrics, measure, psi


def test_spam_never_counts_as_a_phishing_catch() -> None:
    labels = ["phishing", "phishing", "spam", "spam", "ham", "ham", "ham", "ham"]
    scores = np.array([0.9, 0.1, 0.95, 0.2, 0.8, 0.1, 0.1, 0.1])
    m = measure(scores, labels, 0.5, bootstrap=0)
    assert (m.recall.k, m.recall.n) == (1, 2)
    assert (m.fpr.k, m.fpr.n) == (1, 4)  # ham only
    assert (m.spam_flagged.k, m.spam_flagged.n) == (1, 2)
    assert (m.precision.k, m.precision.n) == (1, 3)  # flagged spam counts against precision
    assert m.counts.to_json() == {"TP": 1, "FN": 1, "FP_ham": 1, "TN_ham": 3, "FP_spam": 1, "spam": 2}


def test_metrics_are_stored_as_the_evaluation_json_and_read_back() -> None:
    rng = np.random.default_rng(3)
    labels = ["phishing"] * 20 + ["ham"] * 30 + ["spam"] * 5
    m = measure(rng.random(55), labels, 0.5, bootstrap=50)
    stored = m.to_json()
    assert list(stored) == [
        "threshold",
        "counts",
        "precision",
        "recall",
        "f1",
        "fpr",
        "spam_flagged",
        "pr_auc",
    ]
    assert set(stored["recall"]) == {"k", "n", "value", "ci95"} and set(stored["f1"]) == {"value", "ci95"}
    again = Metrics.from_json(json.loads(json.dumps(stored)))
    assert again == m and again.to_json() == stored
    undefined = measure(np.zeros(3), ["ham"] * 3, 0.5, bootstrap=0).to_json()
    assert undefined["recall"] == {"k": 0, "n": 0, "value": None, "ci95": None}
    assert undefined["pr_auc"] == {"value": None, "ci95": None}


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
