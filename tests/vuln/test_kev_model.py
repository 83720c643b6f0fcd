"""The KEV model: EPSS is the prior, corrections keep their signs, and scoring changes nothing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.vuln.model import KevModel


def data(seed: int = 1, n: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n).astype(float), rng.normal(size=n)])
    offset = rng.normal(-6, 1.5, n)
    eta = -0.5 + offset + 1.2 * X[:, 0] + 0.0 * X[:, 1] - 0.8 * X[:, 2]
    y = (rng.random(n) < -np.expm1(-np.exp(eta))).astype(float)
    return X, y, offset, np.full(n, 365.0)


def test_recovers_the_direction_of_each_correction() -> None:
    X, y, offset, exposure = data()
    m = KevModel(l2=1.0).fit(X, y, offset, exposure)
    assert m.coef_[0] > 0.5 and m.coef_[2] < -0.3 and abs(m.coef_[1]) < 0.5


def test_a_sign_bound_holds_even_against_the_data() -> None:
    X, y, offset, exposure = data()
    m = KevModel(l2=1.0, signs=(0, 0, 1)).fit(X, y, offset, exposure)
    assert m.coef_[2] == 0.0  # the data says negative; the bound says not below zero


def test_with_nothing_else_known_the_order_is_epss_order() -> None:
    X, y, offset, exposure = data()
    m = KevModel(l2=10.0).fit(X, y, offset, exposure)
    zeros = np.zeros((50, 3))
    off = np.linspace(-9, 2, 50)
    p = m.predict_proba(zeros, off)
    assert np.all(np.diff(p) > 0)


def test_scoring_is_read_only_and_contributions_add_up() -> None:
    X, y, offset, exposure = data(n=5000)
    m = KevModel(l2=3.0).fit(X, y, offset, exposure)
    coef = m.coef_.copy()
    eta = m.decision_function(X, offset)
    assert np.allclose(eta, m.intercept_ + offset + m.contributions(X).sum(axis=1))
    assert np.array_equal(coef, m.coef_)


@settings(max_examples=30, deadline=None)
@given(st.floats(-12, 4), st.integers(1, 730))
def test_chance_is_a_probability_that_grows_with_the_horizon(off: float, days: int) -> None:
    X, y, offset, exposure = data(n=3000)
    m = KevModel(l2=3.0).fit(X, y, offset, exposure)
    row = np.zeros((1, 3))
    short = m.predict_proba(row, np.array([off]), days)[0]
    long = m.predict_proba(row, np.array([off]), days + 30)[0]
    assert 0.0 <= short <= long <= 1.0


def test_labels_of_shorter_windows_fit_together() -> None:
    # Half the rows were watched 91 days, half 365: the yearly rate must not be pulled down by the short ones.
    X, y, offset, _ = data(seed=4, n=40000)
    rng = np.random.default_rng(0)
    exposure = np.where(rng.random(len(y)) < 0.5, 91.0, 365.0)
    eta = -0.5 + offset + 1.2 * X[:, 0] - 0.8 * X[:, 2]
    y = (rng.random(len(y)) < -np.expm1(-np.exp(eta) * exposure / 365)).astype(float)
    m = KevModel(l2=1.0).fit(X, y, offset, exposure)
    assert abs(m.intercept_ - (-0.5)) < 0.4
