"""Plain-text search over stored events and alerts, for the web UI's search box.

The text a user types is attacker-reachable (it may be pasted from a log), so it reaches
DuckDB only as a bound parameter: the SQL below is constant. ``%``, ``_`` and ``\\`` in the
text are escaped so they match themselves, not as LIKE wildcards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

MAX_QUERY = 200  # characters; a longer query is cut, not refused


@dataclass(frozen=True)
class EventHit:
    """One event whose raw record or main fields contain the text."""

    event_id: str
    timestamp: datetime | None
    code: str | None
    user: str | None
    host: str | None
    source_ip: str | None
    file: str
    record: int
    original: str | None


@dataclass(frozen=True)
class AlertHit:
    """One alert whose title, reasons or entities contain the text."""

    alert_id: str
    detector: str
    title: str
    severity: str
    score: float
    first_seen: datetime
    entities: dict[str, str]


def like_pattern(text: str) -> str:
    r"""'50%_x' -> '%50\%\_x%': a substring pattern for ``LIKE ... ESCAPE '\'``."""
    cut = text[:MAX_QUERY]
    return "%" + cut.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_events(con: duckdb.DuckDBPyConnection, text: str, limit: int = 50) -> list[EventHit]:
    """Events containing ``text`` (case-insensitive), newest first; empty text finds nothing."""
    if not text.strip():
        return []
    rows = con.execute(
        """SELECT "event.id", "@timestamp", "event.code", "user.name", "host.name", "source.ip",
                  "log.file.path", "log.record", "event.original"
           FROM events
           WHERE "event.original" ILIKE ?1 ESCAPE '\\' OR "user.name" ILIKE ?1 ESCAPE '\\'
              OR "host.name" ILIKE ?1 ESCAPE '\\' OR "source.ip" ILIKE ?1 ESCAPE '\\'
              OR "event.id" = ?2
           ORDER BY "@timestamp" DESC NULLS LAST, "log.file.path", "log.record"
           LIMIT ?3""",
        [like_pattern(text), text, int(limit)],
    ).fetchall()
    return [EventHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), r[8]) for r in rows]


def search_alerts(con: duckdb.DuckDBPyConnection, text: str, limit: int = 50) -> list[AlertHit]:
    """Alerts whose title, reasons, entities or id contain ``text`` (case-insensitive)."""
    if not text.strip():
        return []
    rows = con.execute(
        """SELECT id, detector, title, severity, score, first_seen, entities
           FROM alerts
           WHERE title ILIKE ?1 ESCAPE '\\' OR array_to_string(reasons, ' ') ILIKE ?1 ESCAPE '\\'
              OR CAST(entities AS VARCHAR) ILIKE ?1 ESCAPE '\\' OR id = ?2 OR detector = ?2
           ORDER BY score DESC, first_seen, id
           LIMIT ?3""",
        [like_pattern(text), text, int(limit)],
    ).fetchall()
    return [AlertHit(r[0], r[1], r[2], r[3], float(r[4]), r[5], json.loads(r[6])) for r in rows]
