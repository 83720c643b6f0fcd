"""Ranked findings and evaluations kept in the workspace: one transaction per run, read back as stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from bluebench.events.workspace import Workspace
from bluebench.sources.scanners import read_report
from bluebench.vuln.findings import RANKED_FINDING_SCHEMA, RankedFindings
from bluebench.vuln.store import (
    latest_run,
    load_finding,
    load_findings,
    run_reports,
    store_evaluation,
    stored_evaluations,
)

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "vuln" / "reports" / "trivy-teamdojo.json"


def ranked(n: int) -> RankedFindings:
    rows = []
    for i in range(n):
        row: dict[str, object] = {name: None for name in RANKED_FINDING_SCHEMA.names}
        row.update(
            rank=i + 1, finding_id=f"f{i}", priority=1.0 / (i + 1), score=0.1, reasons=[f"r{i}"], cves=[]
        )
        rows.append(row)
    return RankedFindings(pa.Table.from_pylist(rows, schema=RANKED_FINDING_SCHEMA), 0.02, {})


def test_a_run_and_its_reports_read_back(tmp_path: Path) -> None:
    from bluebench.vuln.store import store_run

    report = read_report(SAMPLE)
    with Workspace(tmp_path / "ws", command="test") as ws:
        assert latest_run(ws.con) is None
        first = store_run(
            ws.con, ranked(3), [report], date(2025, 3, 23), date(2025, 3, 20), 365, "m.zip", {"k": 1}
        )
        run = latest_run(ws.con)
        assert run is not None and run.id == first
        assert (run.at, run.epss_day, run.findings, run.files, run.meta) == (
            date(2025, 3, 23),
            date(2025, 3, 20),
            3,
            1,
            {"k": 1},
        )
        assert [f["finding_id"] for f in load_findings(ws.con, first)] == ["f0", "f1", "f2"]
        assert load_finding(ws.con, first, "f1")["reasons"] == ["r1"]  # type: ignore[index]
        assert load_finding(ws.con, first, "nope") is None
        assert run_reports(ws.con, first)[0]["findings"] == report.findings.num_rows


def test_evaluations_are_kept_in_order(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws", command="test") as ws:
        assert stored_evaluations(ws.con) == {}
        a = store_evaluation(ws.con, {"at": "2024-06-30", "positives": 78})
        b = store_evaluation(ws.con, {"at": "2024-09-29", "positives": 66})
        got = stored_evaluations(ws.con)
        assert list(got) == [a, b] and got[b]["positives"] == 66
