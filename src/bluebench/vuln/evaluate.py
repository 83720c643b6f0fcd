"""Judge a ranking forward in time: rank on a day, count which CVEs CISA added to KEV afterwards.

The candidates are the CVEs EPSS scores on the day that are not yet in KEV; a positive is one
the truth catalog (a later KEV) lists as added after the day and within the horizon. The
model is compared with EPSS alone and CVSS alone on the same candidates: average precision
and ROC-AUC with bootstrap intervals, coverage (share of the additions caught) and
efficiency (share of the chosen CVEs that were added) at 1%, 5% and 10% effort and at the
usual policies, each policy beside the model at the same effort.
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
from bluebench.sources.feeds import KevCatalog
from bluebench.stats import Rate
from bluebench.vuln.features import NAMES, build_features
from bluebench.vuln.knowledge import Ignored, KnowledgeBase
from bluebench.vuln.metrics import Estimate, Ranked, average_precision, bootstrap, interval, roc_auc, top
from bluebench.vuln.model import YEAR_DAYS
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.train import Training, train

EFFORTS: tuple[float, ...] = (0.01, 0.05, 0.10)
RANKERS: tuple[str, ...] = ("model", "EPSS alone", "CVSS alone")


@dataclass
class RankerResult:
    """One ranker's measures on the candidates."""

    name: str
    ap: Estimate
    auc: Estimate
    efforts: list[tuple[float, int, Rate, Rate]]  # effort, CVEs chosen, coverage, efficiency

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ap": self.ap.to_json(),
            "roc_auc": self.auc.to_json(),
            "efforts": [
                {"effort": e, "chosen": n, "coverage": c.to_json(), "efficiency": f.to_json()}
                for e, n, c, f in self.efforts
            ],
        }


@dataclass
class Policy:
    """A rule a team could apply (CVSS 7+), what it catches, and the model at the same effort."""

    name: str
    chosen: int
    coverage: Rate
    efficiency: Rate
    model_coverage: Rate
    model_efficiency: Rate

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "chosen": self.chosen,
            "coverage": self.coverage.to_json(),
            "efficiency": self.efficiency.to_json(),
            "model_coverage": self.model_coverage.to_json(),
            "model_efficiency": self.model_efficiency.to_json(),
        }


@dataclass
class Evaluation:
    """Everything ``vuln evaluate`` found, in the order it prints it."""

    at: date
    horizon_days: int
    judged_until: date
    truth: str
    candidates: int
    positives: int
    cvss_known: int
    rankers: list[RankerResult]
    ap_ratio: Estimate  # model AP / EPSS AP, paired resamples
    policies: list[Policy]
    expected: float  # the model's expected number of additions (calibration)
    model: dict[str, Any]
    ignored: list[Ignored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ranker(self, name: str) -> RankerResult:
        return next(r for r in self.rankers if r.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "horizon_days": self.horizon_days,
            "judged_until": self.judged_until.isoformat(),
            "truth": self.truth,
            "candidates": self.candidates,
            "positives": self.positives,
            "cvss_known": self.cvss_known,
            "rankers": [r.to_json() for r in self.rankers],
            "ap_ratio": self.ap_ratio.to_json(),
            "policies": [p.to_json() for p in self.policies],
            "expected": self.expected,
            "model": self.model,
            "ignored": [i.text() for i in self.ignored],
            "notes": self.notes,
        }


def _truth(truth: KevCatalog, cves: pa.Array, at: date, horizon_days: int) -> tuple[np.ndarray, date]:
    """Positives among ``cves`` (added after ``at``, within the horizon) and the last day the truth can tell."""
    t = truth.table
    last = max(d for d in [truth.released, pc.max(t["date_added"]).as_py() if t.num_rows else None] if d)
    until = min(at + timedelta(days=horizon_days), last)
    added = t.filter(
        pc.and_(
            pc.greater(t["date_added"], pa.scalar(at, pa.date32())),
            pc.less_equal(t["date_added"], pa.scalar(until, pa.date32())),
        )
    )
    y = pc.is_in(cves, value_set=added["cve"]).to_numpy(zero_copy_only=False).astype(np.float64)
    return y, until


def _ranker(name: str, scores: np.ndarray, y: np.ndarray) -> RankerResult:
    r = Ranked.of(scores)
    n = len(y)
    ap, ap_s = bootstrap(lambda w: average_precision(r, y, w), n)
    auc, auc_s = bootstrap(lambda w: roc_auc(r, y, w), n)
    efforts = []
    pos = int(y.sum())
    for e in EFFORTS:
        k = max(1, round(e * n))
        hit = int(y[top(r, k)].sum())
        efforts.append((e, k, Rate(hit, pos), Rate(hit, k)))
    return RankerResult(name, interval(ap, ap_s), interval(auc, auc_s), efforts)


def _ratio(model: np.ndarray, epss: np.ndarray, y: np.ndarray) -> Estimate:
    rm, re_ = Ranked.of(model), Ranked.of(epss)

    def ratio(w: np.ndarray | None) -> float | None:
        a, b = average_precision(rm, y, w), average_precision(re_, y, w)
        return None if a is None or not b else a / b

    value, resampled = bootstrap(ratio, len(y))
    return interval(value, resampled)


def _policies(y: np.ndarray, model: np.ndarray, epss: np.ndarray, cvss: np.ndarray) -> list[Policy]:
    rm = Ranked.of(model)
    pos = int(y.sum())
    rules = (
        ("CVSS 7+", cvss >= 7.0),
        ("CVSS 9+", cvss >= 9.0),
        ("EPSS 0.1+", epss >= 0.1),
        ("KEV or EPSS 0.1+", epss >= 0.1),  # no candidate is in KEV yet: the same CVEs as EPSS 0.1+
    )
    out = []
    for name, chosen in rules:
        n = int(chosen.sum())
        hit = int(y[chosen].sum())
        mhit = int(y[top(rm, n)].sum())
        out.append(Policy(name, n, Rate(hit, pos), Rate(hit, n), Rate(mhit, pos), Rate(mhit, n)))
    return out


def evaluate(
    kb: KnowledgeBase,
    at: date,
    truth: KevCatalog,
    horizon_days: int = int(YEAR_DAYS),
    model: LoadedModel | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Rank the candidates of ``at`` with a model trained on earlier days (or one given), judge on ``truth``."""
    say = progress or (lambda _m: None)
    training: Training | None = None
    if model is not None and model.trained_to > at:
        raise BluebenchError(
            f"{model.path}: this model saw KEV additions up to {model.trained_to}, after --at {at}; a forward "
            "test needs a model trained on earlier days (leave --model out and one is trained)"
        )
    if model is None:
        training = train(kb, at, horizon_days, progress=say)
    say(f"ranking the candidates of {at}")
    k = kb.at(at)
    f = build_features(k)
    candidate = pc.invert(pc.is_valid(f.facts["kev_added"])).to_numpy(zero_copy_only=False)
    X, offset = f.X[candidate], f.offset[candidate]
    fitted = training.model if training else model.model  # type: ignore[union-attr]
    scores = fitted.decision_function(X, offset)
    epss = f.facts["epss"].to_numpy(zero_copy_only=False).astype(np.float64)[candidate]
    cvss = np.nan_to_num(f.facts["cvss"].to_numpy(zero_copy_only=False).astype(np.float64), nan=-1.0)[
        candidate
    ]
    y, until = _truth(truth, f.cves.filter(pa.array(candidate)), at, horizon_days)
    if y.sum() == 0:
        raise BluebenchError(
            f"no candidate of {at} was added to KEV by {until} in {truth.file}: nothing to judge"
        )
    say("measuring (bootstrap)")
    rankers = [_ranker("model", scores, y), _ranker("EPSS alone", epss, y), _ranker("CVSS alone", cvss, y)]
    expected = float(fitted.predict_proba(X, offset, (until - at).days).sum())
    info: dict[str, Any] = (
        {
            "trained_to": at.isoformat(),
            "method": training.method,
            "l2": training.model.l2,
            "days": training.days,
            "intercept": fitted.intercept_,
            "weights": dict(zip(NAMES, fitted.coef_.tolist(), strict=True)),
        }
        if training
        else {"trained_to": model.trained_to.isoformat(), "file": model.path}  # type: ignore[union-attr]
    )
    notes = []
    if (until - at).days < horizon_days:
        notes.append(
            f"the truth catalog ends on {until}: {(until - at).days} of the {horizon_days} days are judged"
        )
    return Evaluation(
        at,
        horizon_days,
        until,
        truth.file,
        int(candidate.sum()),
        int(y.sum()),
        int((cvss >= 0).sum()),
        rankers,
        _ratio(scores, epss, y),
        _policies(y, scores, epss, cvss),
        expected,
        info,
        list(k.ignored),
        notes,
    )
