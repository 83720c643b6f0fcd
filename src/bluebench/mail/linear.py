"""The "linear" mail model: TF-IDF and named features in one calibrated logistic regression.

A ColumnTransformer joins TF-IDF over subject and body with the named features (max-abs
scaled, so an absent feature stays exactly 0), then a class-balanced logistic regression
is calibrated with Platt scaling on out-of-fold scores (``CalibratedClassifierCV(ensemble=False)``):
a score splits exactly into weight x value per word and feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler

from bluebench.mail.features import RISK_FEATURES
from bluebench.mail.spec import Fitted, Spec, cv_folds, make_classifier, make_vectorizer


def make_features(spec: Spec) -> ColumnTransformer:
    """TF-IDF over column 0 (unless the spec has no text) and max-abs scaled named features."""
    transformers: list[tuple[str, Any, Any]] = []
    if spec.text_source != "none":
        transformers.append(("text", make_vectorizer(spec), 0))
    if spec.features:
        transformers.append(("signals", MaxAbsScaler(), list(range(1, 1 + len(spec.features)))))
    return ColumnTransformer(transformers, sparse_threshold=1.0)


def fit_linear(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5, seed: int = 0) -> Fitted:
    """Fit (see :func:`fit_once`); risk indicators that learn a negative weight are dropped.

    A risk indicator (``features.RISK_FEATURES``) may only raise a score: when the training
    data is too thin to show that (three zipped DMARC reports and no zipped phish), the
    feature is removed and the model refitted, and the metadata says so.
    """
    dropped: list[str] = []
    for _ in range(3):
        fitted = fit_once(X, y, spec, folds, seed)
        coef = coefficients(fitted.model)
        offset = len(coef) - len(spec.features)
        bad = [f for i, f in enumerate(spec.features) if f in RISK_FEATURES and coef[offset + i] < 0]
        if not bad:
            break
        dropped.extend(bad)
        keep = [i for i, f in enumerate(spec.features) if f not in bad]
        X = np.concatenate([X[:, :1], X[:, [1 + i for i in keep]]], axis=1)
        spec = spec.with_features(spec.features[i] for i in keep)
    fitted.dropped = dropped
    return fitted


def coefficients(model: Pipeline) -> np.ndarray:
    """The logistic regression's weights, one per column the features step makes."""
    calibrated: CalibratedClassifierCV = model.named_steps["classifier"]
    return np.asarray(calibrated.calibrated_classifiers_[0].estimator.coef_).ravel()


def fit_once(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5, seed: int = 0) -> Fitted:
    """Fit ``features -> calibrated classifier`` and return out-of-fold calibrated scores too.

    The features (TF-IDF vocabulary and IDF, scaling) are fitted once on the training data:
    they never see labels. Calibration refits the classifier on k folds and fits a sigmoid
    on the out-of-fold decision values; the same folds give the out-of-fold scores returned
    here, passed through that sigmoid: honest training scores for choosing a threshold.
    """
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    features = make_features(spec)
    Z = sparse.csr_matrix(features.fit_transform(X))
    calibrated = CalibratedClassifierCV(
        make_classifier(spec), method="sigmoid", cv=cv_folds(k, seed), ensemble=False
    )
    calibrated.fit(Z, y)
    decision = cross_val_predict(
        make_classifier(spec), Z, y, cv=cv_folds(k, seed), method="decision_function"
    )
    oof = calibrated.calibrated_classifiers_[0].calibrators[0].predict(decision)
    model = Pipeline([("features", features), ("classifier", calibrated)])
    return Fitted(model, spec, np.asarray(oof, dtype=np.float64))
