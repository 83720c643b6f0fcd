"""Ranked findings and vulnerability evaluations kept in the workspace, in tables of their own.

Findings are not log events: they have no time of their own, no account or host in the
event sense, and a new scan replaces rather than adds to what a scanner said. They live in
``vuln_runs`` (one per ``vuln rank --store``), ``vuln_findings`` (the ranked findings of a
run, with reasons) and ``vuln_reports`` (each file read or refused). ``vuln_evaluations``
keeps each ``vuln evaluate --store`` result as JSON. The review UI shows the latest run;
people's decisions live in the review store, keyed by the findings' stable ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from bluebench.sources.scanners import Report
from bluebench.vuln.findings import RANKED_FINDING_SCHEMA, RankedFindings

SCHEMA_SQL = (
    """CREATE TABLE IF NOT EXISTS vuln_runs (
        id VARCHAR PRIMARY KEY, as_of DATE, created_at TIMESTAMP, epss_day DATE, horizon_days INTEGER,
        model VARCHAR, findings BIGINT, files BIGINT, refused BIGINT, meta JSON)""",
    """CREATE TABLE IF NOT EXISTS vuln_reports (
        run_id VARCHAR, file VARCHAR, scanner VARCHAR, findings BIGINT, cves BIGINT, skipped BIGINT, refused VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS vuln_findings AS SELECT ''::VARCHAR AS run_id, * FROM finding_shape WHERE false",
    """CREATE TABLE IF NOT EXISTS vuln_evaluations (
        id VARCHAR PRIMARY KEY, as_of DATE, created_at TIMESTAMP, result JSON)""",
)
DECISION_KEYS = {"Act": "act", "Attend": "attend", "Track*": "track_star", "Track": "track"}


@dataclass(frozen=True)
class Run:
    """One stored ranking run."""

    id: str
    at: date
    created_at: datetime
    epss_day: date
    horizon_days: int
    model: str
    findings: int
    files: int
    refused: int
    meta: dict[str, Any]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.register("finding_shape", RANKED_FINDING_SCHEMA.empty_table())
    try:
        for stmt in SCHEMA_SQL:
            con.execute(stmt)
    finally:
        con.unregister("finding_shape")


def has_tables(con: duckdb.DuckDBPyConnection, name: str = "vuln_runs") -> bool:
    rows = con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    return bool(rows)


def store_run(
    con: duckdb.DuckDBPyConnection,
    ranked: RankedFindings,
    reports: list[Report],
    at: date,
    epss_day: date,
    horizon_days: int,
    model: str,
    meta: dict[str, Any],
) -> str:
    """Keep a ranking run and its findings in one transaction; returns the run's id."""
    ensure_tables(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    run_id = hashlib.sha1(f"{now.isoformat()}|{at}|{len(reports)}".encode()).hexdigest()[:12]
    refused = sum(1 for r in reports if r.refused)
    con.execute("BEGIN")
    try:
        con.execute(
            "INSERT INTO vuln_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                at,
                now,
                epss_day,
                horizon_days,
                model,
                ranked.table.num_rows,
                len(reports),
                refused,
                json.dumps(meta, default=str),
            ],
        )
        if reports:  # DuckDB refuses an empty executemany
            con.executemany(
                "INSERT INTO vuln_reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, r.file, r.scanner, r.findings.num_rows, r.cves, len(r.skipped), r.refused]
                    for r in reports
                ],
            )
        rows = ranked.table.add_column(0, "run_id", pa.array([run_id] * ranked.table.num_rows, pa.string()))
        con.register("new_findings", rows)
        con.execute("INSERT INTO vuln_findings SELECT * FROM new_findings")
        con.unregister("new_findings")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return run_id


def latest_run(con: duckdb.DuckDBPyConnection) -> Run | None:
    """The newest stored run, or None when nothing was ranked with --store."""
    if not has_tables(con):
        return None
    row = con.execute(
        "SELECT id, as_of, created_at, epss_day, horizon_days, model, findings, files, refused, meta "
        "FROM vuln_runs ORDER BY created_at DESC, id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return Run(
        str(row[0]),
        row[1],
        row[2],
        row[3],
        int(row[4]),
        str(row[5]),
        int(row[6]),
        int(row[7]),
        int(row[8]),
        json.loads(row[9]) if row[9] else {},
    )


def load_findings(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """A run's findings, best first, as dicts (the review page shows a few hundred at most)."""
    return _rows(con, "SELECT * EXCLUDE (run_id) FROM vuln_findings WHERE run_id = ? ORDER BY rank", [run_id])


def load_finding(con: duckdb.DuckDBPyConnection, run_id: str, finding_id: str) -> dict[str, Any] | None:
    rows = _rows(
        con,
        "SELECT * EXCLUDE (run_id) FROM vuln_findings WHERE run_id = ? AND finding_id = ? ORDER BY rank LIMIT 1",
        [run_id, finding_id],
    )
    return rows[0] if rows else None


def run_reports(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    return _rows(
        con,
        "SELECT file, scanner, findings, cves, skipped, refused FROM vuln_reports WHERE run_id = ? ORDER BY file",
        [run_id],
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def store_evaluation(con: duckdb.DuckDBPyConnection, result: dict[str, Any]) -> str:
    """Keep an evaluation's JSON; returns its id."""
    ensure_tables(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    eid = hashlib.sha1(f"{now.isoformat()}|{result.get('at')}".encode()).hexdigest()[:12]
    con.execute(
        "INSERT INTO vuln_evaluations VALUES (?, ?, ?, ?)",
        [eid, result["at"], now, json.dumps(result, default=str)],
    )
    return eid


def stored_evaluations(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Evaluation id -> result, oldest first."""
    if not has_tables(con, "vuln_evaluations"):
        return {}
    rows = con.execute("SELECT id, result FROM vuln_evaluations ORDER BY created_at, id").fetchall()
    return {str(i): json.loads(r) for i, r in rows}
