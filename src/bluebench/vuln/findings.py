"""Rank scanner findings: each by the likeliest-exploited CVE it names, weighed by the asset it is on.

A finding naming several CVEs (a missing cumulative update) takes the highest chance among
them and names that CVE. A finding without a CVE cannot be scored by EPSS or the model; it
takes the day's median chance of CVEs whose CVSS falls in its severity band (measured on the
day, stated in its reasons), so it sits among CVE findings of its kind rather than at either
end. Everything is computed over columns; reasons are written for the findings' CVEs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sources.scanners import FINDING_SCHEMA, Report
from bluebench.vuln.assets import Asset, decision, find_asset
from bluebench.vuln.features import NAMES, build_features
from bluebench.vuln.knowledge import Knowledge
from bluebench.vuln.model import YEAR_DAYS
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.rank import score_features
from bluebench.vuln.reasons import reasons

TOP_SHARE = 0.01  # "Track*" for a chance in the day's top 1% of all scored CVEs
# Severity bands in CVSS terms (FIRST's qualitative scale), for findings without a CVE.
BANDS: dict[str, tuple[float, float]] = {
    "critical": (9.0, 10.0),
    "high": (7.0, 8.95),
    "medium": (4.0, 6.95),
    "low": (0.1, 3.95),
    "info": (0.0, 3.95),
}


@dataclass
class RankedFindings:
    """Findings best first with priority, decision and reasons; the day's measured reference points."""

    table: pa.Table
    top_threshold: float
    band_medians: dict[str, float]
    notes: list[str] = field(default_factory=list)


def _band_medians(scores: np.ndarray, cvss: np.ndarray, in_epss: np.ndarray) -> dict[str, float]:
    """The day's median chance per severity band, over EPSS-scored CVEs whose CVSS is known."""
    known = in_epss & ~np.isnan(cvss)
    overall = float(np.median(scores[in_epss])) if in_epss.any() else 0.0
    out = {"unknown": float(np.median(scores[known])) if known.any() else overall}
    for band, (lo, hi) in BANDS.items():
        m = known & (cvss >= lo) & (cvss <= hi)
        out[band] = float(np.median(scores[m])) if m.any() else out["unknown"]
    return out


def _band(severity: str | None, cvss: float | None) -> str:
    if cvss is not None and not np.isnan(cvss):
        for band, (lo, hi) in BANDS.items():
            if lo <= cvss <= hi:
                return band
    return severity if severity in BANDS else "unknown"


def rank_findings(
    reports: list[Report],
    k: Knowledge,
    model: LoadedModel,
    assets: dict[str, Asset] | None = None,
    horizon_days: int = int(YEAR_DAYS),
) -> RankedFindings:
    """The findings of ``reports`` ranked by priority (chance x asset weight), best first."""
    tables = [r.findings for r in reports if r.findings.num_rows]
    findings = pa.concat_tables(tables) if tables else FINDING_SCHEMA.empty_table()
    flat = pc.list_flatten(findings["cves"])
    parent = pc.list_parent_indices(findings["cves"]).to_numpy(zero_copy_only=False)
    wanted = pc.unique(flat)
    known = k.epss.table["cve"].combine_chunks()
    missing = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=known))) if len(wanted) else wanted
    everything = pa.concat_arrays([known, pa.array(missing, pa.string())])
    f = build_features(k, everything)
    scores = score_features(f, model, horizon_days)
    in_epss = pc.is_valid(f.facts["epss"]).to_numpy(zero_copy_only=False)
    cvss_all = f.facts["cvss"].to_numpy(zero_copy_only=False).astype(np.float64)
    threshold = float(np.quantile(scores[in_epss], 1 - TOP_SHARE)) if in_epss.any() else 1.0
    medians = _band_medians(scores, cvss_all, in_epss)
    # The findings' CVEs: rows of ``f`` they point at.
    row_of = pc.index_in(flat, value_set=f.cves).to_numpy(zero_copy_only=False)
    best_row = _best_rows(len(findings), parent, row_of, scores)
    sub = np.unique(best_row[best_row >= 0])
    why = _reasons_for(f, model, sub, k)
    return _assemble(findings, f, scores, best_row, sub, why, medians, threshold, assets or {})


def _best_rows(n: int, parent: np.ndarray, row_of: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per finding, the row (in the features) of its highest-scoring CVE; -1 for findings without one."""
    best = np.full(n, -1, dtype=np.int64)
    if len(parent) == 0:
        return best
    s = scores[row_of]
    order = np.lexsort((-s, parent))  # by finding, best CVE first
    first = np.r_[True, parent[order][1:] != parent[order][:-1]]
    best[parent[order][first]] = row_of[order][first]
    return best


def _reasons_for(f: object, model: LoadedModel, rows: np.ndarray, k: Knowledge) -> dict[int, list[str]]:
    from bluebench.vuln.features import Features

    assert isinstance(f, Features)
    if len(rows) == 0:
        return {}
    contributions = model.model.contributions(f.X)
    age_mid = float(np.median(contributions[:, NAMES.index("age")]))
    lists = reasons(
        f.facts.take(pa.array(rows)),
        contributions[rows],
        NAMES,
        f.epss_day.isoformat(),
        f.before_day.isoformat() if f.before_day else "",
        k.exploits.day.isoformat() if k.exploits else "",
        age_mid,
    ).to_pylist()
    return dict(zip(rows.tolist(), lists, strict=True))


RANKED_FINDING_SCHEMA = pa.schema(
    [
        ("rank", pa.int64()),
        ("finding_id", pa.string()),
        ("priority", pa.float64()),
        ("decision", pa.string()),
        ("cve", pa.string()),
        ("score", pa.float64()),
        ("epss", pa.float64()),
        ("cvss", pa.float64()),
        ("in_kev", pa.bool_()),
        ("asset", pa.string()),
        ("package", pa.string()),
        ("version", pa.string()),
        ("fixed_version", pa.string()),
        ("vuln_id", pa.string()),
        ("cves", pa.list_(pa.string())),
        ("severity", pa.string()),
        ("title", pa.string()),
        ("scanner", pa.string()),
        ("file", pa.string()),
        ("record", pa.int64()),
        ("criticality", pa.string()),
        ("internet_facing", pa.bool_()),
        ("owner", pa.string()),
        ("weight", pa.int64()),
        ("reasons", pa.list_(pa.string())),
    ]
)


def _assemble(
    findings: pa.Table,
    f: object,
    scores: np.ndarray,
    best_row: np.ndarray,
    sub: np.ndarray,
    why: dict[int, list[str]],
    medians: dict[str, float],
    threshold: float,
    assets: dict[str, Asset],
) -> RankedFindings:
    from bluebench.vuln.features import Features

    assert isinstance(f, Features)
    facts = f.facts.take(pa.array(sub)).to_pylist() if len(sub) else []
    fact_of = dict(zip(sub.tolist(), facts, strict=True))
    rows = findings.to_pylist()
    out: dict[str, list[object]] = {name: [] for name in RANKED_FINDING_SCHEMA.names}
    for i, row in enumerate(rows):
        r = int(best_row[i])
        fa = fact_of.get(r, {})
        asset = find_asset(assets, row["asset"])
        if r >= 0:
            score = float(scores[r])
            cve_reasons = list(why.get(r, []))
            others = len(row["cves"]) - 1
            if others:
                cve_reasons.append(
                    f"the finding names {others} more CVE{'s' if others > 1 else ''}, none likelier"
                )
        else:
            band = _band(row["severity"], row["cvss"])
            score = medians[band]
            span = BANDS.get(band)
            where = f"CVSS {span[0]:g}-{span[1]:g}" if span else "any CVSS"
            cve_reasons = [
                f"no CVE: the day's median chance of CVEs rated {band} ({where}), {score:.3g}, "
                f"from the scanner's {'CVSS' if row['cvss'] is not None else 'severity'}"
            ]
        verdict = _verdict(fa, r >= 0 and score >= threshold, asset)
        priority = score * asset.weight
        cvss = fa.get("cvss") if fa.get("cvss") is not None else row["cvss"]
        values = {
            "finding_id": row["finding_id"],
            "priority": priority,
            "decision": verdict,
            "cve": fa.get("cve"),
            "score": score,
            "epss": fa.get("epss"),
            "cvss": cvss,
            "in_kev": fa.get("kev_added") is not None,
            "asset": row["asset"],
            "package": row["package"],
            "version": row["version"],
            "fixed_version": row["fixed_version"],
            "vuln_id": row["vuln_id"],
            "cves": row["cves"],
            "severity": row["severity"],
            "title": row["title"],
            "scanner": row["scanner"],
            "file": row["file"],
            "record": row["record"],
            "criticality": asset.criticality,
            "internet_facing": asset.internet_facing,
            "owner": asset.owner,
            "weight": asset.weight,
            "reasons": [
                asset.reason(),
                f"priority = chance {score:.3g} x weight {asset.weight} = {priority:.3g}; {verdict}",
                *cve_reasons,
            ],
            "rank": 0,
        }
        for name, value in values.items():
            out[name].append(value)
    table = _ordered(pa.table(out, schema=RANKED_FINDING_SCHEMA))
    return RankedFindings(table, threshold, medians)


def _verdict(fa: dict[str, object], top: bool, asset: Asset) -> str:
    """The SSVC-style decision from what is known of the finding's CVE and the asset it is on."""
    automatable = fa.get("ssvc_automatable") == "yes" or (fa.get("av"), fa.get("pr"), fa.get("ui")) == (
        "N",
        "N",
        "N",
    )
    exploits = fa.get("exploits") or 0
    refs = fa.get("exploit_refs") or 0
    assert isinstance(exploits, int | float) and isinstance(refs, int | float)
    exploit = exploits > 0 or refs > 0 or fa.get("ssvc_exploitation") == "poc"
    return decision(
        fa.get("kev_added") is not None,
        fa.get("ssvc_exploitation") == "active",
        exploit,
        automatable,
        top,
        asset,
    )


def _ordered(table: pa.Table) -> pa.Table:
    """Best first: priority, then chance, then the finding's id so that ties keep one order."""
    order = np.lexsort(
        (
            table["finding_id"].to_numpy(zero_copy_only=False),
            -table["score"].to_numpy(),
            -table["priority"].to_numpy(),
        )
    )
    table = table.take(pa.array(order))
    return table.set_column(0, "rank", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
