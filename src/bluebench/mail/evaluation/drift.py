"""Drift month by month over the test part: recall, ham FPR and PSI of the main features per class.

A month calls for retraining when the score or a main feature shifts (PSI > 0.25 against
training mail of the same class and sources), or when a rate's whole 95% interval is past
its limit, so that one message in a small month does not call for it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import RenderableType

from bluebench.mail.evaluation.metrics import SCORE_BANDS, psi, rate_from_json
from bluebench.mail.evaluation.runs import Run
from bluebench.mail.features import FEATURE_INDEX, Extracted
from bluebench.mail.tables import rate_cell, table
from bluebench.mail.train import Labelled
from bluebench.stats import Rate

RULE = (
    "retrain when the score or a main feature shifts with PSI > 0.25 against training "
    "mail of the same class and sources (months with >= 30 messages of the class; the score in "
    "ten fixed probability bands, a feature in deciles of its training values), or when "
    "the 95% interval of recall lies below 0.90 or that of ham FPR above 0.01"
)
# Months with fewer messages than this and no alarm are left out of the terminal table.
SMALL_MONTH = 10


@dataclass(frozen=True)
class DriftMonth:
    """One month of the test part: counts, rates, PSI per class and feature, and why to retrain."""

    month: str
    counts: dict[str, int]
    recall: Rate | None
    fpr: Rate | None
    psi: dict[str, dict[str, float | None]]
    max_psi: float | None
    max_psi_of: str
    retrain: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"month": self.month, "counts": dict(self.counts)}
        if self.recall is not None:
            out["recall"] = self.recall.to_json()
        if self.fpr is not None:
            out["fpr"] = self.fpr.to_json()
        out["psi"] = {c: dict(per) for c, per in self.psi.items()}
        out["max_psi"] = {"value": self.max_psi, "what": self.max_psi_of}
        out["retrain"] = list(self.retrain)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DriftMonth:
        recall, fpr = d.get("recall"), d.get("fpr")
        return cls(
            d["month"],
            dict(d["counts"]),
            None if recall is None else rate_from_json(recall),
            None if fpr is None else rate_from_json(fpr),
            {c: dict(per) for c, per in d["psi"].items()},
            d["max_psi"]["value"],
            d["max_psi"]["what"],
            tuple(d["retrain"]),
        )

    @property
    def messages(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Drift:
    """The months of the test part, the features watched, the rule, and the first month it fired."""

    features: tuple[str, ...]
    rule: str
    months: tuple[DriftMonth, ...]
    first_retrain_month: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "rule": self.rule,
            "months": [m.to_json() for m in self.months],
            "first_retrain_month": self.first_retrain_month,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Drift:
        months = tuple(DriftMonth.from_json(m) for m in d["months"])
        return cls(tuple(d["features"]), d["rule"], months, d["first_retrain_month"])

    def render(self) -> list[RenderableType]:
        """Months with their rates and largest shift; why each alarm fired, under the table."""
        t = table(
            f"Drift, month by month over the test part. {self.rule}",
            "month",
            "counts",
            "recall",
            "ham FPR",
            "max PSI",
            wrap=(1,),
        )
        small = [m for m in self.months if m.messages < SMALL_MONTH and not m.retrain]
        for m in self.months:
            if m in small:
                continue
            counts = ", ".join(f"{k} {v}" for k, v in sorted(m.counts.items()))
            # the class on one line, the feature under it: a feature name is never cut
            where = "-" if m.max_psi is None else f"{m.max_psi:.2f} " + m.max_psi_of.replace(":", ":\n", 1)
            t.add_row(m.month, counts, rate_cell(m.recall, 2), rate_cell(m.fpr, 3), where)
        out: list[RenderableType] = [t]
        if small:
            out.append(
                f"({len(small)} months with fewer than {SMALL_MONTH} messages and no alarm are in the JSON only)"
            )
        out += [f"  retrain {m.month}: " + "; ".join(m.retrain) for m in self.months if m.retrain]
        out.append(
            "first month that would have needed retraining: "
            f"[bold]{self.first_retrain_month or 'none'}[/bold]"
        )
        return out


def _month_positions(data: Labelled, test_idx: np.ndarray) -> dict[str, list[int]]:
    """Positions in the test part of each dated month's messages."""
    months: dict[str, list[int]] = defaultdict(list)
    for pos, i in enumerate(test_idx):
        m = data.mails[i].month
        if m is not None:
            months[m].append(pos)
    return months


def _retrain_reasons(worst: tuple[float | None, str], recall: Rate | None, fpr: Rate | None) -> list[str]:
    """Why a month calls for retraining (see the module docstring); empty when it does not."""
    reasons = []
    if worst[0] is not None and worst[0] > 0.25:
        reasons.append(f"PSI {worst[0]:.2f} on {worst[1]}")
    # a rate counts only when its whole 95% interval is past the limit, so that one
    # message in a small month does not call for retraining
    rec_ci = None if recall is None else recall.interval
    if recall is not None and rec_ci and rec_ci[1] < 0.9:
        reasons.append(f"recall {recall.value:.2f} (95% interval below 0.90)")
    fpr_ci = None if fpr is None else fpr.interval
    if fpr is not None and fpr_ci and fpr_ci[0] > 0.01:
        reasons.append(f"ham FPR {fpr.value:.3f} (95% interval above 0.01)")
    return reasons


def drift(run: Run, ex: Sequence[Extracted], data: Labelled, train: np.ndarray, test: np.ndarray) -> Drift:
    """Month by month over the test part: counts, recall, FPR and PSI of the main features per class."""
    assert run.model is not None
    named = [n for n, _ in run.model.heaviest(200) if n in FEATURE_INDEX][:6]
    values = np.array([e.values for e in ex])
    labels = np.asarray(data.labels)
    sources = np.asarray(data.sources)
    test_idx = np.where(test)[0]
    months = _month_positions(data, test_idx)
    assert run.oof is not None
    train_scores = run.oof  # out-of-fold: in-sample training scores would fake a shift
    rows: list[DriftMonth] = []
    for month in sorted(months):
        sel = np.array(months[month])
        idx = test_idx[sel]
        lab = labels[idx]
        s = run.scores[sel]
        flag = s >= run.threshold
        phish, ham = lab == "phishing", lab == "ham"
        recall = Rate(int((flag & phish).sum()), int(phish.sum())) if phish.any() else None
        fpr = Rate(int((flag & ham).sum()), int(ham.sum())) if ham.any() else None
        shifts: dict[str, dict[str, float | None]] = {}
        for cls in ("phishing", "ham"):
            cur = idx[lab == cls]
            if len(cur) < 30:
                continue
            # reference: training mail of the same class *and the same sources*, so that a
            # month of one stream is not compared with a pool mixing other streams
            ref_mask = train & (labels == cls) & np.isin(sources, sources[cur])
            per = {"score": psi(train_scores[ref_mask[train]], s[lab == cls], edges=SCORE_BANDS)}
            for n in named:
                j = FEATURE_INDEX[n]
                per[n] = psi(values[ref_mask, j], values[cur, j])
            shifts[cls] = per
        worst = max(
            ((v, f"{c}:{k}") for c, d in shifts.items() for k, v in d.items() if v is not None),
            default=(None, ""),
        )
        reasons = _retrain_reasons(worst, recall, fpr)
        counts = dict(Counter(lab.tolist()))
        rows.append(DriftMonth(month, counts, recall, fpr, shifts, worst[0], worst[1], tuple(reasons)))
    first = next((m.month for m in rows if m.retrain), None)
    return Drift(("score", *named), RULE, tuple(rows), first)
