"""The chance that CISA adds a CVE to KEV within a horizon: EPSS as the prior, learned corrections on top.

The model is a proportional-hazards regression with EPSS's logit as a fixed offset::

    eta = intercept_ + logit(EPSS) + X @ coef_          (log of the yearly hazard)
    P(added within h days) = 1 - exp(-exp(eta) * h / 365)

so a CVE about which nothing else is known is ranked exactly as EPSS ranks it, and every
correction is a term ``coef_[j] * X[:, j]`` that a reason can quote. Training days with
different label windows (three months, six months) fit together through the ``h`` term.
Weights are held to zero unless the data pull them away (an L2 penalty on standardised
features), and a feature whose sign is fixed (``FEATURES[j].sign``: more public exploit code
never lowers a score) is bounded to it. Higher scores mean more likely to be exploited.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

YEAR_DAYS = 365.0


class KevModel(BaseEstimator):  # type: ignore[misc]
    """Regularised, sign-constrained hazard regression with an offset (scikit-learn conventions).

    ``l2`` is the penalty on standardised weights; ``signs`` the allowed sign per feature
    (+1: not below 0, -1: not above 0, 0: free). ``fit`` sets ``coef_``, ``intercept_``,
    ``scale_`` and ``n_iter_``; scoring never changes them.
    """

    def __init__(self, l2: float = 10.0, signs: tuple[int, ...] | None = None) -> None:
        self.l2 = l2
        self.signs = signs

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        offset: np.ndarray,
        exposure_days: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> KevModel:
        """Fit on rows with their EPSS offset and the days each row's label covered."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        scale = X.std(axis=0)
        scale[scale < 1e-9] = 1.0
        Z = X / scale
        base = np.asarray(offset, dtype=np.float64) + np.log(
            np.asarray(exposure_days, dtype=np.float64) / YEAR_DAYS
        )
        signs = self.signs or (0,) * X.shape[1]
        bounds = [(None, None)] + [
            (0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs
        ]
        # Start the intercept at the base rate so the first steps are not spent finding it.
        rate = max(float(np.sum(w * y)), 0.5) / float(np.sum(w * np.exp(base)))
        start = np.concatenate([[np.log(rate)], np.zeros(X.shape[1])])
        res = minimize(
            _loss, start, args=(Z, y, w, base, float(self.l2)), jac=True, method="L-BFGS-B", bounds=bounds
        )
        self.intercept_ = float(res.x[0])
        self.coef_ = res.x[1:] / scale
        self.scale_ = scale
        self.n_iter_ = int(res.nit)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The log yearly hazard: higher means more likely to be added to KEV."""
        terms: np.ndarray = np.asarray(X, dtype=np.float64) @ self.coef_
        eta: np.ndarray = self.intercept_ + np.asarray(offset, dtype=np.float64) + terms
        return eta

    def predict_proba(self, X: np.ndarray, offset: np.ndarray, horizon_days: float = YEAR_DAYS) -> np.ndarray:
        """P(added to KEV within ``horizon_days``), from 0 to 1; higher means more likely."""
        hazard = np.exp(np.minimum(self.decision_function(X, offset), 50.0))
        p: np.ndarray = -np.expm1(-hazard * horizon_days / YEAR_DAYS)
        return p

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Each feature's term in the log hazard, row by row (what a reason quotes)."""
        terms: np.ndarray = np.asarray(X, dtype=np.float64) * self.coef_
        return terms

    def get_state(self) -> dict[str, Any]:
        """The learned numbers as plain JSON (for the model file's metadata)."""
        return {"intercept": self.intercept_, "coef": self.coef_.tolist(), "l2": self.l2}


def _loss(
    params: np.ndarray, Z: np.ndarray, y: np.ndarray, w: np.ndarray, base: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Penalised negative log-likelihood of the complementary log-log model, and its gradient."""
    eta = np.minimum(params[0] + base + Z @ params[1:], 30.0)
    lam = np.exp(eta)
    # log P(y=1) = log(1 - exp(-lam)); log P(y=0) = -lam
    nll = -np.sum(w * (y * np.log(-np.expm1(-np.maximum(lam, 1e-300))) - (1 - y) * lam))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = np.where(lam > 1e-8, lam / np.expm1(np.maximum(lam, 1e-300)), 1.0 - lam / 2)
    g_eta = w * (lam * (1 - y) - y * ratio)
    beta = params[1:]
    loss = nll + 0.5 * l2 * float(beta @ beta)
    grad = np.concatenate([[g_eta.sum()], Z.T @ g_eta + l2 * beta])
    return float(loss), grad
