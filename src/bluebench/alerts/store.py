"""Alerts in the workspace: replaced per detector on each run, read back ranked with evidence."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from bluebench.schema import SEVERITIES, Alert, Evidence

SEVERITY_ORDER_SQL = (
    "CASE severity " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES)) + " END"
)


def save_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], detector_ids: Sequence[str]) -> None:
    """Replace the stored alerts of ``detector_ids`` with ``alerts`` in one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        ids = list(detector_ids)
        con.execute(
            "DELETE FROM alert_events WHERE alert_id IN (SELECT id FROM alerts WHERE list_contains(?, detector))",
            [ids],
        )
        con.execute("DELETE FROM alerts WHERE list_contains(?, detector)", [ids])
        unique: dict[str, Alert] = {}
        for a in alerts:
            unique.setdefault(a.id, a)
        if unique:
            rows = [
                [
                    a.id,
                    a.detector,
                    a.title,
                    a.severity,
                    a.score,
                    a.tactics,
                    a.techniques,
                    json.dumps(a.entities, sort_keys=True),
                    a.first_seen,
                    a.last_seen,
                    a.event_count,
                    a.reasons,
                    now,
                    a.confidence,
                ]
                for a in unique.values()
            ]
            con.executemany(
                """INSERT INTO alerts (id, detector, title, severity, score, tactics, techniques, entities,
                                      first_seen, last_seen, event_count, reasons, created_at, confidence)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            links = pa.table(
                {
                    "alert_id": [a.id for a in unique.values() for _ in a.event_ids],
                    "event_id": [e for a in unique.values() for e in a.event_ids],
                }
            )
            con.register("new_links", links)
            try:
                con.execute("INSERT INTO alert_events SELECT DISTINCT alert_id, event_id FROM new_links")
            finally:
                con.unregister("new_links")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def load_alerts(
    con: duckdb.DuckDBPyConnection,
    detector: str | None = None,
    min_severity: str | None = None,
    limit: int | None = None,
    ids: Sequence[str] | None = None,
) -> list[Alert]:
    """Stored alerts ranked by severity, then score, then time; evidence resolved to file and record.

    ``ids`` keeps only those alerts (an incident's), so a page never loads every alert.
    """
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if ids is not None:
        where.append("list_contains(?, id)")
        params.append(list(ids))
    if detector:
        where.append("detector = ?")
        params.append(detector)
    if min_severity:
        where.append(f"{SEVERITY_ORDER_SQL} >= ?")
        params.append(SEVERITIES.index(min_severity))
    sql = f"""SELECT id, detector, title, severity, score, tactics, techniques, entities,
                     first_seen, last_seen, event_count, reasons, confidence
              FROM alerts WHERE {" AND ".join(where)}
              ORDER BY {SEVERITY_ORDER_SQL} DESC, score DESC, first_seen, id"""
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, params).fetchall()
    alerts = [
        Alert(
            id=r[0],
            detector=r[1],
            title=r[2],
            severity=r[3],
            score=r[4],
            tactics=list(r[5]),
            techniques=list(r[6]),
            entities=json.loads(r[7]),
            first_seen=r[8],
            last_seen=r[9],
            event_count=r[10],
            reasons=list(r[11]),
            confidence=r[12],
        )
        for r in rows
    ]
    if alerts:
        ev = con.execute(
            """SELECT l.alert_id, e."event.id", e."log.file.path", e."log.record"
               FROM alert_events l JOIN events e ON e."event.id" = l.event_id
               WHERE list_contains(?, l.alert_id)
               ORDER BY l.alert_id, e."@timestamp", e."log.file.path", e."log.record" """,
            [[a.id for a in alerts]],
        ).fetchall()
        by_id = {a.id: a for a in alerts}
        for alert_id, event_id, file, record in ev:
            a = by_id[alert_id]
            if event_id not in a.event_ids:
                a.event_ids.append(event_id)
                a.evidence.append(Evidence(file, int(record)))
    return alerts


def alert_count(con: duckdb.DuckDBPyConnection) -> int:
    """Number of stored alerts."""
    rows = con.execute("SELECT count(*) FROM alerts").fetchall()
    return int(rows[0][0])
