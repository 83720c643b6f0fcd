"""Vulnerability facts: stored ``vuln evaluate --store`` results and the latest ``vuln rank --store`` run.

Sources (resolved by ``reports.facts.FactResolver`` under the ``vuln`` prefix):

==================================================  ==========================================
``vuln/evaluations/ID/rankers/R/ap|roc_auc``        a ranker's AP or ROC-AUC with its interval;
                                                    ``R`` is ``model``, ``epss_alone``, ``cvss_alone``
``vuln/evaluations/ID/rankers/R/coverage_E``        coverage (k of n additions) at ``E`` % effort
``vuln/evaluations/ID/rankers/R/efficiency_E``      efficiency (k of n chosen CVEs) at ``E`` %
``vuln/evaluations/ID/policies/P/F``                a policy (``cvss_7``, ``cvss_9``, ``epss_0_1``,
                                                    ``kev_or_epss_0_1``): ``coverage``, ``efficiency``,
                                                    ``model_coverage``, ``model_efficiency``, ``chosen``
``vuln/evaluations/ID/ap_ratio``                    model AP / EPSS AP, paired bootstrap interval
``vuln/evaluations/ID/positives|candidates``        additions judged, CVEs ranked
``vuln/findings/count|files|refused``               the latest stored ranking of findings
``vuln/findings/decision/D``                        its findings per decision (act, attend, track_star, track)
==================================================  ==========================================

Fact keys name an evaluation by its ranking day (``vuln/eval/2024-06-30/...``), the latest
stored for that day, so keys stay the same when ``vuln evaluate --store`` runs again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb

from bluebench.vuln.assets import DECISIONS
from bluebench.vuln.store import DECISION_KEYS, latest_run, stored_evaluations

POLICY_FIELDS = ("coverage", "efficiency", "model_coverage", "model_efficiency", "chosen")
RANKER_METRICS = ("ap", "roc_auc")


def slug(name: str) -> str:
    """'EPSS alone' -> 'epss_alone', 'CVSS 7+' -> 'cvss_7': a path segment a sentence can cite."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")


def _effort(e: float) -> str:
    return f"{100 * e:g}"


def node(con: duckdb.DuckDBPyConnection, parts: list[str]) -> tuple[Any, str]:
    """The stored value a ``vuln/...`` source names, and the unit it counts; KeyError when nothing does."""
    if parts[0] == "findings":
        return _findings(con, parts[1:])
    if parts[0] != "evaluations" or len(parts) < 3:
        raise KeyError("/".join(parts))
    ev = stored_evaluations(con)[parts[1]]
    rest = parts[2:]
    if rest[0] in ("ap_ratio", "positives", "candidates", "expected") and len(rest) == 1:
        return ev[rest[0]], "CVE"
    if rest[0] == "rankers" and len(rest) == 3:
        ranker = next(r for r in ev["rankers"] if slug(r["name"]) == rest[1])
        if rest[2] in RANKER_METRICS:
            return ranker[rest[2]], "CVE"
        what, _, effort = rest[2].rpartition("_")
        e = next(x for x in ranker["efforts"] if _effort(x["effort"]) == effort)
        return e[what], "CVE"
    if rest[0] == "policies" and len(rest) == 3 and rest[2] in POLICY_FIELDS:
        policy = next(p for p in ev["policies"] if slug(p["name"]) == rest[1])
        return policy[rest[2]], "CVE"
    raise KeyError("/".join(parts))


def _findings(con: duckdb.DuckDBPyConnection, p: list[str]) -> tuple[Any, str]:
    run = latest_run(con)
    if run is None:
        raise KeyError("no ranking of findings stored (vuln rank --store)")
    if p == ["count"]:
        return run.findings, "finding"
    if p in (["files"], ["refused"]):
        return getattr(run, p[0]), "file"
    by_key = {v: k for k, v in DECISION_KEYS.items()}
    if len(p) == 2 and p[0] == "decision" and p[1] in by_key:
        rows = con.execute(
            "SELECT count(*) FROM vuln_findings WHERE run_id = ? AND decision = ?", [run.id, by_key[p[1]]]
        ).fetchall()
        return int(rows[0][0]), "finding"
    raise KeyError("/".join(p))


def sources(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str]]:
    """(fact key, source) of every vulnerability number the workspace holds."""
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for eid, ev in stored_evaluations(con).items():  # oldest first: the last one per day wins
        latest[str(ev.get("at"))] = (eid, ev)
    for day, (eid, ev) in sorted(latest.items()):
        key, src = f"vuln/eval/{day}", f"vuln/evaluations/{eid}"
        for what in ("ap_ratio", "positives", "candidates"):
            yield f"{key}/{what}", f"{src}/{what}"
        for r in ev.get("rankers", []):
            name = slug(r["name"])
            for metric in RANKER_METRICS:
                yield f"{key}/rankers/{name}/{metric}", f"{src}/rankers/{name}/{metric}"
            for e in r.get("efforts", []):
                for what in ("coverage", "efficiency"):
                    leaf = f"rankers/{name}/{what}_{_effort(e['effort'])}"
                    yield f"{key}/{leaf}", f"{src}/{leaf}"
        for pol in ev.get("policies", []):
            for field in POLICY_FIELDS:
                leaf = f"policies/{slug(pol['name'])}/{field}"
                yield f"{key}/{leaf}", f"{src}/{leaf}"
    if latest_run(con) is not None:
        for what in ("count", "files", "refused"):
            yield f"vuln/findings/{what}", f"vuln/findings/{what}"
        for d in DECISIONS:
            yield f"vuln/findings/decision/{DECISION_KEYS[d]}", f"vuln/findings/decision/{DECISION_KEYS[d]}"
