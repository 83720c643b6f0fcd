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


class LeafTables:
    """The same contributions as ``tree_contributions``, read from a table per leaf: for many rows, few columns.

    A row's contributions in one tree depend only on the leaf it reaches, so each node's sum of
    changes along its path is tabled once (nodes x columns, every tree's nodes stacked).
    The rows are binned once by the model's own bin mapper, then scikit-learn's compiled
    predictor finds each row's leaf on the bins (on a copy of the tree whose values are the
    node numbers): a split on bin ``b`` is exactly ``value <= threshold[b]``, and a missing
    value has its own bin, so every row reaches the leaf the model sends it to. One sparse
    product (rows x leaves reached, times the table) then adds the leaves' rows. The table
    holds nodes x columns floats, so this suits models with tens of columns (the static PE
    model), not thousands. Built from a fitted model; reading only.
    """

    def __init__(self, booster: Any, klass: int = 0) -> None:
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

        self.booster = booster
        self.bias = float(np.ravel(booster._baseline_prediction)[klass])
        self.finders: list[Any] = []
        tables: list[np.ndarray] = []
        m = int(booster.n_features_in_)
        for (feat, _thr, _ml, left, right, leaf, value), per_class in zip(
            tree_arrays(booster, klass), booster._predictors, strict=True
        ):
            self.bias += float(value[0])
            predictor = per_class[klass]
            nodes = predictor.nodes.copy()
            nodes["value"] = np.arange(len(nodes), dtype=nodes["value"].dtype)
            self.finders.append(
                TreePredictor(nodes, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
            )
            table = np.zeros((len(nodes), m), dtype=np.float64)
            todo = [0]
            while todo:
                node = todo.pop()
                if leaf[node]:
                    continue
                for child in (int(left[node]), int(right[node])):
                    table[child] = table[node]
                    table[child, feat[node]] += value[child] - value[node]
                    todo.append(child)
            tables.append(table)
        sizes = [len(t) for t in tables]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
        self.table = np.vstack(tables) if tables else np.zeros((0, m))

    def leaves(self, H: np.ndarray) -> np.ndarray:
        """Each row's leaf in every tree, as a row of the stacked table: shape (rows, trees)."""
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        mapper = self.booster._bin_mapper
        binned = np.ascontiguousarray(mapper.transform(np.asarray(H, dtype=np.float64)))
        threads = _openmp_effective_n_threads()
        out = np.empty((len(binned), len(self.finders)), dtype=np.intp)
        for t, finder in enumerate(self.finders):
            out[:, t] = finder.predict_binned(binned, mapper.missing_values_bin_idx_, threads)
        return out + self.offsets

    def contributions(self, H: np.ndarray) -> tuple[np.ndarray, float]:
        """Per-row, per-column contributions to the raw score, and the common bias (as ``tree_contributions``)."""
        from scipy.sparse import csr_matrix

        leaves = self.leaves(H)
        n, trees = leaves.shape
        reached = csr_matrix(
            (np.ones(n * trees), leaves.ravel(), np.arange(0, n * trees + 1, trees)),
            shape=(n, len(self.table)),
        )
        return np.asarray(reached @ self.table, dtype=np.float64), self.bias
