"""Ranking measures for rare positives: average precision, ROC-AUC, coverage and efficiency, with intervals.

Ties count together (a threshold takes every CVE with the same score at once, as
scikit-learn's ``average_precision_score`` does), and each measure takes bootstrap weights,
so an interval costs one sort per ranker and a cumulative sum per resample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP = 200
SEED = 20


@dataclass(frozen=True)
class Ranked:
    """One ranker's order over a population: positives in that order and where tie groups end."""

    order: np.ndarray  # indices, best first (ties by CVE order)
    ends: np.ndarray  # positions (in ``order``) where a group of equal scores ends, inclusive

    @classmethod
    def of(cls, scores: np.ndarray) -> Ranked:
        s = np.asarray(scores, dtype=np.float64)
        order = np.argsort(-s, kind="stable")
        sorted_s = s[order]
        ends = np.flatnonzero(np.r_[sorted_s[1:] != sorted_s[:-1], True])
        return cls(order, ends)


def average_precision(r: Ranked, y: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Area under the precision-recall steps, ties as one step; None without positives."""
    yw = (y.astype(np.float64) if w is None else y * w)[r.order]
    aw = (np.ones(len(y)) if w is None else w.astype(np.float64))[r.order]
    tp = np.cumsum(yw)[r.ends]
    seen = np.cumsum(aw)[r.ends]
    total = tp[-1] if len(tp) else 0.0
    if total <= 0:
        return None
    gained = np.diff(np.r_[0.0, tp])
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    return float(np.sum(gained * precision) / total)


def roc_auc(r: Ranked, y: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """P(a positive outranks a negative), ties counted half; None without both classes."""
    yw = (y.astype(np.float64) if w is None else y * w)[r.order]
    nw = ((1.0 - y) if w is None else (1.0 - y) * w)[r.order]
    pos = np.diff(np.r_[0.0, np.cumsum(yw)[r.ends]])
    neg = np.diff(np.r_[0.0, np.cumsum(nw)[r.ends]])
    P, N = pos.sum(), neg.sum()
    if P <= 0 or N <= 0:
        return None
    neg_below = N - np.cumsum(neg)
    return float(np.sum(pos * (neg_below + 0.5 * neg)) / (P * N))


def top(r: Ranked, k: int) -> np.ndarray:
    """A mask of the first ``k`` of the order (ties cut by CVE order, the same for every ranker)."""
    mask = np.zeros(len(r.order), dtype=bool)
    mask[r.order[: max(k, 0)]] = True
    return mask


@dataclass(frozen=True)
class Estimate:
    """A measure and its 95% bootstrap percentile interval."""

    value: float | None
    low: float | None
    high: float | None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": None if self.low is None else [self.low, self.high]}


def bootstrap(
    measure: Callable[[np.ndarray | None], float | None], n: int, rounds: int = BOOTSTRAP, seed: int = SEED
) -> tuple[float | None, np.ndarray]:
    """The measure on the data and on ``rounds`` Poisson-bootstrap resamples of its ``n`` rows."""
    rng = np.random.default_rng(seed)
    values = [measure(rng.poisson(1.0, n).astype(np.float64)) for _ in range(rounds)]
    return measure(None), np.array([np.nan if v is None else v for v in values])


def interval(value: float | None, resampled: np.ndarray) -> Estimate:
    ok = resampled[~np.isnan(resampled)]
    if value is None or len(ok) == 0:
        return Estimate(value, None, None)
    low, high = np.percentile(ok, [2.5, 97.5])
    return Estimate(value, float(low), float(high))
