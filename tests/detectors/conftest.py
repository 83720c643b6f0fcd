"""Detector test helpers: events built from a compact description, stored straight into a workspace.

``EventRows`` lets a test say "alice logged on to ws1 from 10.0.0.5 at 09:00" in one call and
store the result in the ``events`` table of a temporary workspace, with stable event ids and
a synthetic file/record provenance, so evidence checks work as on ingested data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from bluebench.events.eventdata import event_data_fields_sql
from bluebench.events.storage import EVENT_STORE
from bluebench.events.workspace import Workspace
from bluebench.schema import EVENT_COLUMNS, q

# Short names a test may use instead of the event column names.
ALIASES = {
    "ts": "@timestamp",
    "user": "user.name",
    "domain": "user.domain",
    "host": "host.name",
    "src": "source.ip",
    "workstation": "source.address",
    "action": "event.action",
    "outcome": "event.outcome",
    "category": "event.category",
    "code": "event.code",
    "logon_type": "winlog.logon.type",
    "reason": "event.reason",
    "data": "winlog.event_data",
}
# Windows codes of the common actions, so rows look like what normalization produces.
ACTION_CODES = {
    "logon": "4624",
    "logon-failed": "4625",
    "explicit-credential-logon": "4648",
    "kerberos-tgt-request": "4768",
    "kerberos-service-ticket": "4769",
    "kerberos-preauth-failed": "4771",
    "ntlm-credential-validation": "4776",
    "special-privileges-assigned": "4672",
}
SYNTHETIC_FILE = "synthetic/events.jsonl"


class EventRows:
    """Rows of the ``events`` table, added one call per event and stored with ``insert``."""

    def __init__(self, file: str = SYNTHETIC_FILE) -> None:
        self.file = file
        self.rows: list[dict[str, Any]] = []

    def add(self, ts: datetime | str, **fields: Any) -> str:
        """Add one event; ``fields`` are event columns or ``ALIASES``; returns its event id."""
        row: dict[str, Any] = {ALIASES.get(k, k): v for k, v in fields.items()}
        row["@timestamp"] = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
        action = row.get("event.action")
        row.setdefault("event.code", ACTION_CODES.get(str(action)))
        row.setdefault("event.category", "authentication" if action in ACTION_CODES else None)
        row.setdefault("event.dataset", "synthetic")
        if "source.ip" in row and "source.address" not in row:
            row["source.address"] = row["source.ip"]
        if isinstance(row.get("winlog.event_data"), dict):
            row["winlog.event_data"] = json.dumps(row["winlog.event_data"])
        record = len(self.rows) + 1
        original = json.dumps({k: v for k, v in row.items()}, default=str, sort_keys=True)
        row["event.id"] = hashlib.md5(f"synthetic|{record}|{original}".encode()).hexdigest()
        row["event.original"] = original
        row["log.file.path"] = self.file
        row["log.record"] = record
        self.rows.append(row)
        return str(row["event.id"])

    def logon(self, ts: datetime | str, user: str, **fields: Any) -> str:
        """A successful logon (4624 unless ``action`` says otherwise)."""
        return self.add(ts, user=user, **{"action": "logon", "outcome": "success", **fields})

    def failure(self, ts: datetime | str, user: str, **fields: Any) -> str:
        """A failed logon (4625 unless ``action`` says otherwise)."""
        return self.add(ts, user=user, **{"action": "logon-failed", "outcome": "failure", **fields})

    def table(self, rows: list[dict[str, Any]] | None = None) -> pa.Table:
        """The rows (all, or the given subset) as an Arrow table with every event column."""
        rows = self.rows if rows is None else rows
        arrays = {}
        for name, typ, _ in EVENT_COLUMNS:
            values = [r.get(name) for r in rows]
            if typ == "TIMESTAMP":
                arrays[name] = pa.array(values, pa.timestamp("us"))
            elif typ in ("INTEGER", "BIGINT"):
                arrays[name] = pa.array(values, pa.int64())
            else:
                arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
        return pa.table(arrays)

    def insert(self, con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]] | None = None) -> int:
        """Store the rows (all, or the given subset) in the workspace's events; returns how many."""
        table = self.table(rows)
        # The promoted EventData columns are filled from the event data, as ingest fills them.
        promoted = event_data_fields_sql('CAST("winlog.event_data" AS JSON)')
        cols = ", ".join(promoted.get(c) or f"CAST({q(c)} AS {t})" for c, t, _ in EVENT_COLUMNS)
        con.register("synthetic_rows", table)
        try:
            con.execute(f"INSERT INTO {EVENT_STORE} SELECT {cols} FROM synthetic_rows")
        finally:
            con.unregister("synthetic_rows")
        return table.num_rows


@pytest.fixture
def event_rows() -> EventRows:
    """An empty ``EventRows`` builder."""
    return EventRows()


@pytest.fixture
def make_workspace(tmp_path: Path) -> Iterator[Callable[[EventRows], Workspace]]:
    """Store an ``EventRows`` in a fresh temporary workspace (one per call) and return it."""
    opened: list[Workspace] = []

    def make(rows: EventRows) -> Workspace:
        ws = Workspace(tmp_path / f"ws{len(opened)}")
        opened.append(ws)
        rows.insert(ws.con)
        return ws

    yield make
    for ws in opened:
        ws.close()
