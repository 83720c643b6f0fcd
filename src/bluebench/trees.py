"""Exact per-feature reasons of a scikit-learn histogram boosting model, for every model that explains.

Each tree is walked from its root; when a split on column j sends a row to a child, the
change in node value is that column's contribution (Saabas' decomposition). The changes
telescope, so the bias plus a row's contributions equal its raw score (log-odds) exactly,
and a column no split on the row's path used contributes exactly 0. A missing value (NaN)
goes the way the tree learnt for missing values, as scikit-learn's own predictor sends it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: One tree as arrays: (feature, threshold, missing goes left, left, right, is leaf, value).
TreeArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def tree_arrays(booster: Any, klass: int = 0) -> list[TreeArrays]:
    """The trees of one class (0 for a binary model) as arrays; inner values shrunk like leaves."""
    out = []
    for per_class in booster._predictors:
        nodes = per_class[klass].nodes
        leaf = nodes["is_leaf"].astype(bool)
        value = nodes["value"].astype(np.float64).copy()
        value[~leaf] *= booster.learning_rate  # the grower shrinks leaves only
        out.append(
            (
                nodes["feature_idx"].astype(np.int64),
                nodes["num_threshold"].astype(np.float64),
                nodes["missing_go_to_left"].astype(bool),
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                leaf,
                value,
            )
        )
    return out


def tree_contributions(
    booster: Any, H: np.ndarray, trees: list[TreeArrays] | None = None, klass: int = 0
) -> tuple[np.ndarray, float]:
    """Per-row, per-column contributions to class ``klass``'s raw score, and the common bias."""
    n, m = H.shape
    contrib = np.zeros((n, m), dtype=np.float64)
    bias = float(np.ravel(booster._baseline_prediction)[klass])
    rows = np.arange(n)
    for feat, thr, missing_left, left, right, leaf, value in (
        trees if trees is not None else tree_arrays(booster, klass)
    ):
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
            x = H[idx, f]
            go_left = np.where(np.isnan(x), missing_left[nd], x <= thr[nd])
            child = np.where(go_left, left[nd], right[nd])
            contrib[idx, f] += value[child] - value[nd]  # each row once per step: no add.at needed
            node[idx] = child
    return contrib, bias
