"""The events a document cites, read back from the workspace: by event id or by stored selector.

A selector names the events of one alert, optionally only those with one event code and
action, so a sentence summarising 212 failed logons cites one short reference instead of 212
ids, and the reference still resolves to exactly those events. Timelines write citations with
these; ``verify`` resolves them again and recomputes what the sentence says from the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from bluebench.schema import q

# Columns whose values a sentence may name; each is checked against the cited events.
ENTITY_COLUMNS: tuple[str, ...] = (
    "user.name",
    "user.target.name",
    "host.name",
    "source.ip",
    "source.address",
    "destination.address",
    "service.name",
    "group.name",
    "process.name",
    "user.domain",
)
_COLUMNS: tuple[str, ...] = (
    "event.id",
    "@timestamp",
    "event.code",
    "event.action",
    "event.outcome",
    "event.category",
    *ENTITY_COLUMNS,
    "log.file.path",
    "log.record",
)
_SELECT = ", ".join(f"e.{q(c)}" for c in _COLUMNS)


@dataclass(frozen=True)
class Ev:
    """One cited event: when, what, who and where, and the file and record it came from."""

    id: str
    at: datetime | None
    code: str | None
    action: str | None
    outcome: str | None
    category: str | None
    entities: dict[str, str]
    file: str
    record: int

    @property
    def source(self) -> str | None:
        """The remote address as a person would name it: the IP, else the logged name."""
        return self.entities.get("source.ip") or self.entities.get("source.address")


@dataclass(frozen=True)
class Selector:
    """The events of one alert, optionally only those of one event code, action and outcome."""

    alert_id: str
    code: str | None = None
    action: str | None = None
    outcome: str | None = None
    filtered: bool = False

    def describe(self) -> str:
        """The definition text written after a citation label (``verify`` parses it back)."""
        text = f"events of alert {json.dumps(self.alert_id)}"
        if self.filtered:
            text += (
                f" with code {json.dumps(self.code)}, action {json.dumps(self.action)}"
                f" and outcome {json.dumps(self.outcome)}"
            )
        return text


def _row(r: Sequence[object]) -> Ev:
    n = len(ENTITY_COLUMNS)
    ents = {c: " ".join(str(v).split()) for c, v in zip(ENTITY_COLUMNS, r[6 : 6 + n], strict=True) if v}
    return Ev(
        id=str(r[0]),
        at=r[1] if isinstance(r[1], datetime) else None,
        code=None if r[2] is None else str(r[2]),
        action=None if r[3] is None else str(r[3]),
        outcome=None if r[4] is None else str(r[4]),
        category=None if r[5] is None else str(r[5]),
        entities=ents,
        file=str(r[6 + n]),
        record=int(r[7 + n]),  # type: ignore[call-overload]
    )


def events_by_id(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, Ev]:
    """The stored events among ``ids`` (ids not stored are simply absent)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    con.register("cited_ids", pa.table({"id": pa.array(wanted, pa.string())}))
    try:
        rows = con.execute(
            f'SELECT {_SELECT} FROM events e JOIN cited_ids c ON c.id = e."event.id"'
        ).fetchall()
    finally:
        con.unregister("cited_ids")
    return {r[0]: _row(r) for r in rows}


def events_of(con: duckdb.DuckDBPyConnection, sel: Selector) -> list[Ev]:
    """The events a selector names, in time order (empty when the alert is not stored)."""
    sql = (
        f"SELECT DISTINCT {_SELECT} FROM alert_events l "
        'JOIN events e ON e."event.id" = l.event_id WHERE l.alert_id = ?'
    )
    params: list[object] = [sel.alert_id]
    if sel.filtered:
        sql += (
            ' AND e."event.code" IS NOT DISTINCT FROM ? AND e."event.action" IS NOT DISTINCT FROM ?'
            ' AND e."event.outcome" IS NOT DISTINCT FROM ?'
        )
        params += [sel.code, sel.action, sel.outcome]
    sql += ' ORDER BY e."@timestamp", e."log.file.path", e."log.record"'
    return [_row(r) for r in con.execute(sql, params).fetchall()]


def events_of_alerts(con: duckdb.DuckDBPyConnection, alert_ids: Iterable[str]) -> dict[str, list[Ev]]:
    """Every evidence event of each alert in one query (a document citing many selectors)."""
    wanted = sorted(set(alert_ids))
    if not wanted:
        return {}
    con.register("cited_alerts", pa.table({"id": pa.array(wanted, pa.string())}))
    try:
        rows = con.execute(
            f"SELECT DISTINCT l.alert_id, {_SELECT} FROM alert_events l "
            'JOIN cited_alerts c ON c.id = l.alert_id JOIN events e ON e."event.id" = l.event_id '
            'ORDER BY l.alert_id, e."@timestamp", e."log.file.path", e."log.record"'
        ).fetchall()
    finally:
        con.unregister("cited_alerts")
    out: dict[str, list[Ev]] = {a: [] for a in wanted}
    for r in rows:
        out[str(r[0])].append(_row(r[1:]))
    return out


def select(events: list[Ev], sel: Selector) -> list[Ev]:
    """The events of ``sel`` among its alert's events (what :func:`events_of` would return)."""
    if not sel.filtered:
        return list(events)
    return [e for e in events if (e.code, e.action, e.outcome) == (sel.code, sel.action, sel.outcome)]


@dataclass(frozen=True)
class AlertInfo:
    """What a sentence may say about an alert: detector, title, techniques, score."""

    id: str
    detector: str
    title: str
    techniques: tuple[str, ...]
    score: float
    first_seen: datetime
    last_seen: datetime
    entities: tuple[tuple[str, str], ...] = ()


def alerts_by_id(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, AlertInfo]:
    """Stored alerts among ``ids``."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT id, detector, title, techniques, score, first_seen, last_seen, entities FROM alerts "
        "WHERE list_contains(?, id)",
        [wanted],
    ).fetchall()
    out = {}
    for r in rows:
        ents = json.loads(r[7]) if r[7] else {}
        pairs = tuple(sorted((str(k), str(v)) for k, v in ents.items())) if isinstance(ents, dict) else ()
        out[r[0]] = AlertInfo(r[0], r[1], r[2], tuple(r[3]), float(r[4]), r[5], r[6], pairs)
    return out


def alert_ids_of_events(con: duckdb.DuckDBPyConnection, event_ids: Iterable[str]) -> dict[str, set[str]]:
    """Event id -> the ids of the alerts it is evidence of, in one query."""
    wanted = sorted(set(event_ids))
    out: dict[str, set[str]] = {e: set() for e in wanted}
    if not wanted:
        return out
    con.register("cited_ids", pa.table({"id": pa.array(wanted, pa.string())}))
    try:
        rows = con.execute(
            "SELECT l.event_id, l.alert_id FROM alert_events l JOIN cited_ids c ON c.id = l.event_id"
        ).fetchall()
    finally:
        con.unregister("cited_ids")
    for e, a in rows:
        out[str(e)].add(str(a))
    return out


def alerts_of_events(con: duckdb.DuckDBPyConnection, event_ids: Iterable[str]) -> dict[str, AlertInfo]:
    """Alerts that have any of ``event_ids`` as evidence (where a cited event's technique comes from)."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    con.register("cited_ids", pa.table({"id": pa.array(wanted, pa.string())}))
    try:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT l.alert_id FROM alert_events l JOIN cited_ids c ON c.id = l.event_id"
            ).fetchall()
        ]
    finally:
        con.unregister("cited_ids")
    return alerts_by_id(con, ids)
