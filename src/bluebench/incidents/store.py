"""Incidents in the workspace: the tables, the ``Incident`` record and ranked reads.

``load_incidents`` filters by review status without importing the review stage: the
caller passes ``status_filter`` as data, either a predicate on the incident id or a
collection of incident ids to keep (for example the ids the review store reports open).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

SCHEMA_SQL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS incidents (
        id VARCHAR PRIMARY KEY, title VARCHAR, risk DOUBLE, risk_parts JSON, severity VARCHAR,
        first_seen TIMESTAMP, last_seen TIMESTAMP, entities JSON, techniques VARCHAR[],
        tactics VARCHAR[], detectors VARCHAR[], alert_count INTEGER, event_count INTEGER)""",
    "CREATE TABLE IF NOT EXISTS incident_alerts (incident_id VARCHAR, alert_id VARCHAR)",
)

StatusFilter = Callable[[str], bool] | Collection[str]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the incident tables when a workspace has none yet."""
    for sql in SCHEMA_SQL:
        con.execute(sql)


@dataclass(frozen=True)
class Incident:
    """Alerts that belong together. ``risk`` runs 0..100, higher = more urgent; its parts add up to it."""

    id: str
    title: str
    risk: float
    risk_parts: dict[str, float]
    severity: str
    first_seen: datetime
    last_seen: datetime
    entities: dict[str, list[str]]
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    detectors: tuple[str, ...]
    alert_count: int
    event_count: int
    alert_ids: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of an incident (``bluebench incidents --json``)."""
        return {
            "id": self.id,
            "title": self.title,
            "risk": self.risk,
            "risk_parts": dict(self.risk_parts),
            "severity": self.severity,
            "first_seen": self.first_seen.isoformat() + "Z",
            "last_seen": self.last_seen.isoformat() + "Z",
            "entities": {k: list(v) for k, v in self.entities.items()},
            "techniques": list(self.techniques),
            "tactics": list(self.tactics),
            "detectors": list(self.detectors),
            "alert_count": self.alert_count,
            "event_count": self.event_count,
            "alert_ids": list(self.alert_ids),
        }


_COLUMNS = (
    "id, title, risk, risk_parts, severity, first_seen, last_seen, entities, techniques, tactics, "
    "detectors, alert_count, event_count"
)


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('incidents', 'incident_alerts') "
        "AND schema_name = current_schema()"
    ).fetchall()
    return int(rows[0][0]) == 2


def _incident(r: tuple[Any, ...], alert_ids: tuple[str, ...]) -> Incident:
    return Incident(
        id=r[0],
        title=r[1],
        risk=float(r[2]),
        risk_parts=json.loads(r[3]),
        severity=r[4],
        first_seen=r[5],
        last_seen=r[6],
        entities=json.loads(r[7]),
        techniques=tuple(r[8]),
        tactics=tuple(r[9]),
        detectors=tuple(r[10]),
        alert_count=int(r[11]),
        event_count=int(r[12]),
        alert_ids=alert_ids,
    )


def _keep(status_filter: StatusFilter | None) -> Callable[[str], bool] | None:
    if status_filter is None:
        return None
    if callable(status_filter):
        return status_filter
    ids = frozenset(status_filter)
    return ids.__contains__


def _alert_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, tuple[str, ...]]:
    # A join against the ids as a registered Arrow table, not list_contains(?, ...), which
    # compares every link with every id (10,000 incidents: 10^8 comparisons).
    con.register("_bb_incident_ids", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        rows = con.execute(
            """SELECT l.incident_id, list(l.alert_id ORDER BY a.first_seen, l.alert_id)
               FROM incident_alerts l JOIN _bb_incident_ids k ON k.id = l.incident_id
               LEFT JOIN alerts a ON a.id = l.alert_id
               GROUP BY l.incident_id"""
        ).fetchall()
    finally:
        con.unregister("_bb_incident_ids")
    return {r[0]: tuple(r[1]) for r in rows}


def load_incidents(
    con: duckdb.DuckDBPyConnection,
    *,
    status_filter: StatusFilter | None = None,
    detector: str | None = None,
    technique: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[Incident]:
    """Incidents ranked by risk (highest first), then first seen, then id; filters combine with AND.

    ``technique`` matches sub-techniques too (T1110 matches T1110.003); ``entity`` matches
    any user, host or source address case-insensitively; ``since``/``until`` keep
    incidents that overlap the interval.
    """
    if not _has_tables(con):
        return []
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if detector:
        where.append("list_contains(detectors, ?)")
        params.append(detector)
    if technique:
        where.append("len(list_filter(techniques, lambda t: t = ? OR starts_with(t, ? || '.'))) > 0")
        params.extend([technique, technique])
    if since is not None:
        where.append("last_seen >= ?")
        params.append(since)
    if until is not None:
        where.append("first_seen <= ?")
        params.append(until)
    if entity:
        where.append(
            "list_contains(list_transform(json_extract_string(entities, '$.*[*]'), lambda v: lower(v)), ?)"
        )
        params.append(entity.strip().lower())
    order = "ORDER BY risk DESC, first_seen, id"
    keep = _keep(status_filter)
    if keep is None:
        sql = f"SELECT {_COLUMNS} FROM incidents WHERE {' AND '.join(where)} {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = con.execute(sql, params).fetchall()
    else:
        # The status filter needs ids only: rank ids, keep some, then build whole rows for
        # those alone (fetching every column of 10,000 incidents costs ten times as much).
        ranked = con.execute(
            f"SELECT id FROM incidents WHERE {' AND '.join(where)} {order}", params
        ).fetchall()
        kept = [r[0] for r in ranked if keep(r[0])]
        if limit:
            kept = kept[: int(limit)]
        rows = []
        if kept:
            con.register("_bb_incident_keep", pa.table({"id": pa.array(kept, pa.string())}))
            try:
                rows = con.execute(
                    f"SELECT {_COLUMNS} FROM incidents WHERE id IN (SELECT id FROM _bb_incident_keep) {order}"
                ).fetchall()
            finally:
                con.unregister("_bb_incident_keep")
    ids = _alert_ids(con, [r[0] for r in rows]) if rows else {}
    return [_incident(r, ids.get(r[0], ())) for r in rows]


def load_incident(con: duckdb.DuckDBPyConnection, incident_id: str) -> Incident | None:
    """One incident with its alert ids, or None."""
    if not _has_tables(con):
        return None
    rows = con.execute(f"SELECT {_COLUMNS} FROM incidents WHERE id = ?", [incident_id]).fetchall()
    if not rows:
        return None
    return _incident(rows[0], _alert_ids(con, [incident_id]).get(incident_id, ()))


def incident_count(con: duckdb.DuckDBPyConnection) -> int:
    """Number of stored incidents (0 when grouping never ran)."""
    if not _has_tables(con):
        return 0
    return int(con.execute("SELECT count(*) FROM incidents").fetchall()[0][0])
