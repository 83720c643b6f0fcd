"""Rank CVEs by the chance CISA adds them to KEV within a year, each with its reasons.

A CVE already in KEV on the day scores 1 (exploitation is confirmed, not predicted) and is
named so in its reasons. Scores, ranks and reasons are computed over whole columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.vuln.features import NAMES, Features, build_features
from bluebench.vuln.knowledge import Ignored, Knowledge
from bluebench.vuln.model import YEAR_DAYS
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.reasons import reasons

RANKING_SCHEMA = pa.schema(
    [
        ("cve", pa.string()),
        ("rank", pa.int64()),
        ("score", pa.float64()),
        ("epss", pa.float64()),
        ("percentile", pa.float64()),
        ("cvss", pa.float64()),
        ("in_kev", pa.bool_()),
        ("reasons", pa.list_(pa.string())),
    ]
)


@dataclass
class Ranking:
    """Ranked CVEs (RANKING_SCHEMA, best first) and what the ranking used and left out."""

    table: pa.Table
    features: Features
    model: LoadedModel
    horizon_days: int
    ignored: list[Ignored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def scores(self) -> dict[str, float]:
        """CVE -> score (a lookup for findings; one dict over the ranked CVEs, not over all of EPSS)."""
        return dict(zip(self.table["cve"].to_pylist(), self.table["score"].to_pylist(), strict=True))


def score_features(f: Features, model: LoadedModel, horizon_days: int = int(YEAR_DAYS)) -> np.ndarray:
    """P(added to KEV within the horizon); 1 for CVEs already in KEV on the day."""
    p = model.model.predict_proba(f.X, f.offset, horizon_days)
    in_kev = pc.is_valid(f.facts["kev_added"]).to_numpy(zero_copy_only=False)
    return np.where(in_kev, 1.0, p)


def rank_cves(
    k: Knowledge, model: LoadedModel, cves: pa.Array | None = None, horizon_days: int = int(YEAR_DAYS)
) -> Ranking:
    """Every CVE EPSS scores on the day (or ``cves``), ranked best first with reasons."""
    f = build_features(k, cves)
    score = score_features(f, model, horizon_days)
    epss = f.facts["epss"].to_numpy(zero_copy_only=False).astype(np.float64)
    # Best first: score, then EPSS, then the id (so equal scores keep one order everywhere).
    order = np.lexsort((f.cves.to_numpy(zero_copy_only=False), -np.nan_to_num(epss, nan=-1.0), -score))
    contributions = model.model.contributions(f.X)
    age = NAMES.index("age")
    why = reasons(
        f.facts,
        contributions,
        NAMES,
        f.epss_day.isoformat(),
        f.before_day.isoformat() if f.before_day else "",
        k.exploits.day.isoformat() if k.exploits else "",
        float(np.median(contributions[:, age])) if len(contributions) else 0.0,
    )
    table = pa.table(
        {
            "cve": f.cves,
            "rank": pa.array(np.zeros(len(score), dtype=np.int64)),
            "score": pa.array(score),
            "epss": f.facts["epss"],
            "percentile": f.facts["percentile"],
            "cvss": f.facts["cvss"],
            "in_kev": pc.is_valid(f.facts["kev_added"]),
            "reasons": why,
        },
        schema=RANKING_SCHEMA,
    ).take(order)
    table = table.set_column(1, "rank", pa.array(np.arange(1, len(order) + 1, dtype=np.int64)))
    notes = []
    if model.trained_to > k.at:
        notes.append(
            f"the model saw KEV additions up to {model.trained_to}, after {k.at}: fine for ranking today, "
            "not for judging a ranking of that day (vuln evaluate trains one on earlier days)"
        )
    if k.stale_days > 14:
        notes.append(f"the EPSS snapshot is from {k.epss.day}, {k.stale_days} days before {k.at}")
    return Ranking(table, f, model, horizon_days, list(k.ignored), notes)
