"""Vulnerability facts: a stored `vuln evaluate --store` result and the latest ranking, recomputed from the workspace."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bluebench.events.workspace import Workspace
from bluebench.reports.binding import subject_of
from bluebench.reports.facts import FactError, FactResolver, collect_facts, open_workspace
from bluebench.reports.vulnfacts import slug
from bluebench.stats import Rate
from bluebench.vuln.findings import RANKED_FINDING_SCHEMA, RankedFindings
from bluebench.vuln.store import store_evaluation, store_run


def rate(k: int, n: int) -> dict[str, Any]:
    return {"k": k, "n": n, "value": k / n, "ci95": [0.0, 1.0]}  # a stored interval is never trusted


def evaluation(at: str, model_hits: int) -> dict[str, Any]:
    def ranker(name: str, ap: float, hits: int) -> dict[str, Any]:
        return {
            "name": name,
            "ap": {"value": ap, "ci95": [ap / 2, ap * 2]},
            "roc_auc": {"value": 0.8, "ci95": [0.7, 0.9]},
            "efforts": [
                {"effort": e, "chosen": 10, "coverage": rate(hits, 20), "efficiency": rate(hits, 10)}
                for e in (0.01, 0.05, 0.1)
            ],
        }

    return {
        "at": at,
        "positives": 20,
        "candidates": 1000,
        "ap_ratio": {"value": 3.0, "ci95": [1.5, 6.0]},
        "rankers": [
            ranker("model", 0.3, model_hits),
            ranker("EPSS alone", 0.1, 3),
            ranker("CVSS alone", 0.05, 2),
        ],
        "policies": [
            {
                "name": "CVSS 7+",
                "chosen": 100,
                "coverage": rate(5, 20),
                "efficiency": rate(5, 100),
                "model_coverage": rate(9, 20),
                "model_efficiency": rate(9, 100),
            }
        ],
    }


def test_stored_vulnerability_numbers_are_facts_recomputed_from_their_counts(tmp_path: Path) -> None:
    rows = []
    for i, decision in enumerate(["Act", "Track", "Track"]):
        row: dict[str, object] = {name: None for name in RANKED_FINDING_SCHEMA.names}
        row.update(
            rank=i + 1, finding_id=f"f{i}", priority=1.0, score=0.1, decision=decision, reasons=[], cves=[]
        )
        rows.append(row)
    with Workspace(tmp_path / "ws", command="test") as ws:
        store_evaluation(ws.con, evaluation("2024-06-30", 4))
        store_evaluation(ws.con, evaluation("2024-06-30", 7))  # the later one for a day is the fact
        ranked = RankedFindings(pa.Table.from_pylist(rows, schema=RANKED_FINDING_SCHEMA), 0.1, {})
        store_run(ws.con, ranked, [], date(2025, 3, 23), date(2025, 3, 23), 365, "m.zip", {})
    facts = collect_facts(tmp_path / "ws")
    cover = facts.get("vuln/eval/2024-06-30/rankers/model/coverage_1")
    assert cover is not None and cover.value == pytest.approx(7 / 20)
    low, high = Rate(7, 20).interval  # type: ignore[misc]
    assert (cover.low, cover.high) == (pytest.approx(low), pytest.approx(high))
    ratio = facts.get("vuln/eval/2024-06-30/ap_ratio")
    assert ratio is not None and (ratio.value, ratio.low, ratio.high) == (3.0, 1.5, 6.0)
    assert facts.get("vuln/eval/2024-06-30/policies/cvss_7/model_coverage").value == pytest.approx(9 / 20)  # type: ignore[union-attr]
    assert facts.get("vuln/findings/decision/act").value == 1  # type: ignore[union-attr]
    assert facts.get("vuln/findings/decision/track").value == 2  # type: ignore[union-attr]
    assert facts.get("vuln/findings/count").value == 3  # type: ignore[union-attr]
    assert subject_of("vuln/eval/2024-06-30/ap_ratio").name == "vuln"
    con = open_workspace(tmp_path / "ws", read_only=True)
    try:
        resolver = FactResolver(con, tmp_path / "ws", None)
        with pytest.raises(FactError):
            resolver.resolve("vuln/evaluations/nope/ap_ratio")
        eid = cover.source.split("/")[2]
        with pytest.raises(FactError):
            resolver.resolve(f"vuln/evaluations/{eid}/rankers/nobody/ap")
    finally:
        con.close()


def test_names_become_path_segments() -> None:
    assert [slug(n) for n in ("EPSS alone", "CVSS 7+", "KEV or EPSS 0.1+")] == [
        "epss_alone",
        "cvss_7",
        "kev_or_epss_0_1",
    ]


def test_a_workspace_without_vulnerability_results_has_no_vuln_facts(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws", command="test"):
        pass
    assert not [f for f in collect_facts(tmp_path / "ws") if f.key.startswith("vuln/")]
