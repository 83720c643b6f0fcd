"""The "stack" mail model (shipped): a text score, then small monotonic boosted trees.

A logistic regression over the TF-IDF of the text's words or of their letter n-grams
(``subword.py``) gives an out-of-fold text score; gradient-boosted trees read it with the
named features, rising only with the text score and each risk indicator; a sigmoid
calibrates them. Each tree's splits give every score's exact per-column contributions.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.calibration import _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_predict

from bluebench.mail.features import RISK_FEATURES
from bluebench.mail.language import balance_by_language, detect_language
from bluebench.mail.spec import Fitted, Spec, cv_folds, make_classifier, make_vectorizer
from bluebench.trees import tree_arrays, tree_contributions

__all__ = ["fit_stack", "make_booster", "named_columns", "text_weights", "tree_arrays", "tree_contributions"]


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


# The language of a text a model reads, remembered: an evaluation fits the same messages' texts
# many times (folds, left-out streams, both parts), and detecting costs about 0.5 ms a message.
_text_language = functools.lru_cache(maxsize=8192)(detect_language)


def text_weights(X: np.ndarray, y: np.ndarray, spec: Spec) -> np.ndarray | None:
    """The text score's sample weights: none (classes balanced over the whole) or balanced per language."""
    if spec.balance != "language":
        return None
    return balance_by_language([_text_language(str(t)) for t in X[:, 0]], y)


def named_columns(X: np.ndarray) -> np.ndarray:
    """The named features of a design matrix as floats (every column but the text)."""
    return np.asarray(X[:, 1:], dtype=np.float64).reshape(len(X), -1)


def fit_stack(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5, seed: int = 0) -> Fitted:
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
        w = text_weights(X, y, spec)
        params = None if w is None else {"sample_weight": w}
        text_oof = cross_val_predict(
            make_classifier(spec), Zt, y, cv=cv_folds(k, seed), method="decision_function", params=params
        )
        parts["text"] = vec
        parts["text_model"] = make_classifier(spec).fit(Zt, y, sample_weight=w)
        H = np.column_stack([text_oof, H])
    raw_oof = cross_val_predict(
        make_booster(spec, len(y)), H, y, cv=cv_folds(k, seed), method="decision_function"
    )
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
