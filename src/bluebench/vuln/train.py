"""Fit the KEV model on earlier ranking days only, choosing its penalty on days before those it is tested on.

On a day ``d`` before the training cut-off ``at``, the candidates are the CVEs EPSS scores on
``d`` that are not yet in KEV, their features are what was known on ``d``, and the label is
whether CISA added them after ``d`` and by ``min(d + horizon, at)``: outcomes known on ``at``,
never later. The penalty is chosen by forward validation (fit on the days before ``v``, labels
cut at ``v``; judge on ``v``); with a single training day, by stratified folds of that day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.errors import BluebenchError
from bluebench.vuln.features import FEATURES, build_features
from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.metrics import Ranked, average_precision
from bluebench.vuln.model import YEAR_DAYS, KevModel

L2_GRID: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
MIN_LABEL_DAYS = 60  # a training day needs at least this many days of outcomes after it
SPACING_DAYS = 60  # training days at least this far apart (weekly snapshots would repeat one another)
FOLDS = 5


@dataclass
class Day:
    """One training day: features of its candidates, their labels and how many days the labels cover."""

    day: date
    X: np.ndarray
    offset: np.ndarray
    added: np.ndarray  # day of the KEV addition as days after ``day`` (inf when not added by the cut-off)
    exposure_days: int

    def labels(self, until: date) -> tuple[np.ndarray, int]:
        """Labels and exposure when outcomes are known up to ``until`` (at most a horizon)."""
        days = min((until - self.day).days, self.exposure_days)
        return (self.added <= days).astype(np.float64), days


@dataclass
class Training:
    """A fitted model and how it was chosen, for the model file's metadata and the docs."""

    model: KevModel
    days: list[dict[str, Any]]
    selection: list[dict[str, Any]]
    method: str
    at: date
    horizon_days: int
    notes: list[str] = field(default_factory=list)


def training_days(available: list[date], at: date) -> list[date]:
    """EPSS days at least MIN_LABEL_DAYS before ``at``, SPACING_DAYS apart, walking back from the latest."""
    chosen: list[date] = []
    for d in sorted(available, reverse=True):
        if (at - d).days < MIN_LABEL_DAYS:
            continue
        if chosen and (chosen[-1] - d).days < SPACING_DAYS:
            continue
        chosen.append(d)
    return sorted(chosen)


def day_set(kb: KnowledgeBase, day: date, at: date, horizon_days: int) -> Day:
    """The candidates of ``day`` with labels from KEV entries added after it and by ``at``."""
    k = kb.at(day)
    f = build_features(k)
    candidates = pc.invert(pc.is_valid(f.facts["kev_added"])).to_numpy(zero_copy_only=False)
    kev = kb.kev.table
    later = kev.filter(
        pc.and_(
            pc.greater(kev["date_added"], pa.scalar(day, pa.date32())),
            pc.less_equal(kev["date_added"], pa.scalar(at, pa.date32())),
        )
    )
    when = dict(zip(later["cve"].to_pylist(), later["date_added"].to_pylist(), strict=True))
    cves = f.cves.to_pylist()
    added = np.array([(when[c] - day).days if c in when else np.inf for c in cves], dtype=np.float64)
    exposure = min((at - day).days, horizon_days)
    return Day(day, f.X[candidates], f.offset[candidates], added[candidates], exposure)


def _fit(days: list[Day], until: date, l2: float) -> KevModel:
    X = np.vstack([d.X for d in days])
    off = np.concatenate([d.offset for d in days])
    ys, exps = [], []
    for d in days:
        y, e = d.labels(until)
        ys.append(y)
        exps.append(np.full(len(y), float(e)))
    signs = tuple(f.sign for f in FEATURES)
    return KevModel(l2=l2, signs=signs).fit(X, np.concatenate(ys), off, np.concatenate(exps))


def _gain(model: KevModel, d: Day, at: date) -> float | None:
    """log(AP of the model / AP of EPSS alone) on day ``d`` with outcomes up to ``at``."""
    y, _ = d.labels(at)
    if y.sum() == 0:
        return None
    ap_model = average_precision(Ranked.of(model.decision_function(d.X, d.offset)), y)
    ap_epss = average_precision(Ranked.of(d.offset), y)
    if not ap_model or not ap_epss:
        return None
    return float(np.log(ap_model / ap_epss))


def _forward(days: list[Day], at: date, l2: float) -> list[float]:
    """Gains on each day after the first, fitted on the days before it with labels cut at it."""
    out = []
    for i in range(1, len(days)):
        g = _gain(_fit(days[:i], days[i].day, l2), days[i], at)
        if g is not None:
            out.append(g)
    return out


def _folds(day: Day, at: date, l2: float) -> list[float]:
    """Gains on stratified folds of one day (used when there is only one training day)."""
    y, _ = day.labels(at)
    rng = np.random.default_rng(7)
    fold = np.empty(len(y), dtype=int)
    for cls in (0.0, 1.0):
        idx = np.flatnonzero(y == cls)
        fold[idx] = rng.permutation(len(idx)) % FOLDS
    out = []
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        part = Day(day.day, day.X[tr], day.offset[tr], day.added[tr], day.exposure_days)
        test = Day(day.day, day.X[te], day.offset[te], day.added[te], day.exposure_days)
        g = _gain(_fit([part], at, l2), test, at)
        if g is not None:
            out.append(g)
    return out


def train(
    kb: KnowledgeBase,
    at: date,
    horizon_days: int = int(YEAR_DAYS),
    grid: tuple[float, ...] = L2_GRID,
    progress: Callable[[str], None] | None = None,
) -> Training:
    """Fit on the training days before ``at`` with outcomes known on ``at``; choose the penalty first."""
    say = progress or (lambda _m: None)
    chosen = training_days(kb.epss_days, at)
    if not chosen:
        raise BluebenchError(
            f"no EPSS snapshot at least {MIN_LABEL_DAYS} days before {at}: nothing to learn from "
            "(give --epss-history with older snapshots, or a later --at)"
        )
    days: list[Day] = []
    for when in chosen:
        say(f"training day {when}: features and labels")
        days.append(day_set(kb, when, at, horizon_days))
    method = "forward" if len(days) > 1 else "folds"
    selection: list[dict[str, Any]] = []
    for l2 in grid:
        say(f"penalty {l2:g}: {method} validation")
        gains = _forward(days, at, l2) if method == "forward" else _folds(days[0], at, l2)
        selection.append({"l2": l2, "gains": gains, "mean_gain": float(np.mean(gains)) if gains else None})
    scored = [s for s in selection if s["mean_gain"] is not None]
    if not scored:
        raise BluebenchError(f"no KEV additions after any training day and by {at}: nothing to learn from")
    best = max(scored, key=lambda s: (s["mean_gain"], s["l2"]))
    say(f"final fit with penalty {best['l2']:g} on {len(days)} days")
    model = _fit(days, at, float(best["l2"]))
    summary = []
    for d in days:
        y, e = d.labels(at)
        summary.append(
            {"day": d.day.isoformat(), "candidates": len(y), "positives": int(y.sum()), "label_days": e}
        )
    return Training(model, summary, selection, method, at, horizon_days)


def horizon_end(day: date, horizon_days: int) -> date:
    return day + timedelta(days=horizon_days)
