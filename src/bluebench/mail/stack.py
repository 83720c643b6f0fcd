"""The "stack" mail model (shipped): a text score, then small monotonic boosted trees.

A logistic regression over the TF-IDF of the text's words or of their letter n-grams
(``subword.py``) gives an out-of-fold text score; gradient-boosted trees read it with the
named features, rising only with the text score and each risk indicator; a sigmoid
calibrates them. Each tree's splits give every score's exact per-column contributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.calibration import _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_predict

from bluebench.mail.features import RISK_FEATURES
from bluebench.mail.spec import Fitted, Spec, cv_folds, make_classifier, make_vectorizer


def make_booster(spec: Spec, n_samples: int = 10_000) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees over [text score, named features]; risk indicators may only raise it.

    A leaf holds at least 20 messages (scikit-learn's default) once there are 400 or more;
    a tiny training set (the shipped sample) gets smaller leaves so that the trees can split.
    """
    mono = [1] if spec.text_source != "none" else []
    mono += [1 if f in RISK_FEATURES else 0 for f in spec.features]
    return HistGradientBoostingClassifier(
        learning_rate=spec.rate,
        max_iter=spec.rounds,
        max_leaf_nodes=spec.leaves,
        min_samples_leaf=min(20, max(2, n_samples // 20)),
        monotonic_cst=mono,
        class_weight="balanced",
        early_stopping=False,
        random_state=0,
    )


def named_columns(X: np.ndarray) -> np.ndarray:
    """The named features of a design matrix as floats (every column but the text)."""
    return np.asarray(X[:, 1:], dtype=np.float64).reshape(len(X), -1)


def fit_stack(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5) -> Fitted:
    """Fit ``text -> text score``, then ``[text score, features] -> boosted trees -> sigmoid``.

    The trees learn from the *out-of-fold* text score of each training message, as they
    will see it on new mail; the sigmoid (Platt) is fitted on out-of-fold tree scores, and
    those calibrated out-of-fold scores are returned to choose the threshold.
    """
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    parts: dict[str, Any] = {"kind": "stack", "text": None, "text_model": None}
    H = named_columns(X)
    if spec.text_source != "none":
        vec = make_vectorizer(spec)
        Zt = sparse.csr_matrix(vec.fit_transform(X[:, 0]))
        text_oof = cross_val_predict(make_classifier(spec), Zt, y, cv=cv_folds(k), method="decision_function")
        parts["text"] = vec
        parts["text_model"] = make_classifier(spec).fit(Zt, y)
        H = np.column_stack([text_oof, H])
    raw_oof = cross_val_predict(make_booster(spec, len(y)), H, y, cv=cv_folds(k), method="decision_function")
    calibrator = _SigmoidCalibration().fit(raw_oof, y)
    booster = make_booster(spec, len(y)).fit(H, y)
    parts["booster"] = booster
    parts["calibrator"] = calibrator
    names = (["text_score"] if spec.text_source != "none" else []) + list(spec.features)
    contrib, _bias = tree_contributions(booster, H)
    importance: list[list[Any]] = []
    for j, name in enumerate(names):
        present = H[:, j] != 0
        if name == "text_score":  # every message has one: its mean push either way
            importance.append([name, float(np.abs(contrib[:, j]).mean())])
        elif present.any():
            importance.append([name, float(contrib[present, j].mean())])
    parts["importance"] = importance
    oof = calibrator.predict(raw_oof)
    return Fitted(parts, spec, np.asarray(oof, dtype=np.float64))


def tree_contributions(
    booster: HistGradientBoostingClassifier, H: np.ndarray, trees: list[Any] | None = None
) -> tuple[np.ndarray, float]:
    """Per-row, per-column contributions to the trees' log-odds, and the common bias.

    Each tree is walked from its root; when a split on column j moves a message to a child,
    the change in node value is that column's contribution (Saabas' decomposition). The
    changes telescope, so bias + the row's contributions equal its raw score exactly, and
    a column that no split on the message's path used contributes exactly 0.
    """
    n, m = H.shape
    contrib = np.zeros((n, m), dtype=np.float64)
    bias = float(np.ravel(booster._baseline_prediction)[0])
    rows = np.arange(n)
    for feat, thr, left, right, leaf, value in trees if trees is not None else tree_arrays(booster):
        bias += float(value[0])
        node = np.zeros(n, dtype=np.int64)
        idx = rows
        while len(idx):
            nd = node[idx]
            inner = ~leaf[nd]
            idx, nd = idx[inner], nd[inner]
            if not len(idx):
                break
            f = feat[nd]
            child = np.where(H[idx, f] <= thr[nd], left[nd], right[nd])
            contrib[idx, f] += value[child] - value[nd]  # each row once per step: no add.at needed
            node[idx] = child
    return contrib, bias


def tree_arrays(
    booster: HistGradientBoostingClassifier,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(feature, threshold, left, right, is leaf, value) of each tree; inner values shrunk like leaves."""
    out = []
    for per_class in booster._predictors:
        nodes = per_class[0].nodes
        leaf = nodes["is_leaf"].astype(bool)
        value = nodes["value"].astype(np.float64).copy()
        value[~leaf] *= booster.learning_rate  # the grower shrinks leaves only
        out.append(
            (
                nodes["feature_idx"].astype(np.int64),
                nodes["num_threshold"].astype(np.float64),
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                leaf,
                value,
            )
        )
    return out
