"""DNS name model evaluations kept in the workspace, so reports, ``verify`` and the drill can cite them.

``network dns-eval --store`` keeps each result's JSON (``DnsEvaluation.to_json``) in the
``network_dns_evaluations`` table; ``reports.netfacts`` recomputes every rate from its counts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import duckdb

SCHEMA_SQL = """CREATE TABLE IF NOT EXISTS network_dns_evaluations (
    id VARCHAR PRIMARY KEY, created_at TIMESTAMP, data VARCHAR, result JSON)"""


def store_dns_evaluation(con: duckdb.DuckDBPyConnection, result: dict[str, Any]) -> str:
    """Keep a DNS name model evaluation's JSON; returns its id."""
    con.execute(SCHEMA_SQL)
    now = datetime.now(UTC).replace(tzinfo=None)
    eid = hashlib.sha1(f"{now.isoformat()}|{result.get('data')}".encode()).hexdigest()[:12]
    con.execute(
        "INSERT INTO network_dns_evaluations VALUES (?, ?, ?, ?)",
        [eid, now, str(result.get("data", "")), json.dumps(result, default=str)],
    )
    return eid


def stored_dns_evaluations(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Evaluation id -> result, oldest first (empty when none was stored)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'network_dns_evaluations'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute("SELECT id, result FROM network_dns_evaluations ORDER BY created_at, id").fetchall()
    return {str(i): json.loads(r) for i, r in rows}
