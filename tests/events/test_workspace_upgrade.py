"""A workspace made before gains the new columns and the flow table on open, its events untouched."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bluebench.events.storage import ADDED_FROM, EVENT_STORE, FLOW_STORE
from bluebench.events.workspace import DB_NAME, Workspace
from bluebench.schema import EVENT_COLUMN_NAMES, EVENT_COLUMNS, EVENT_DATA_PREFIX, q
from bluebench.sources import discover
from netlogs import conn, write, zeek_tsv


def test_old_workspace_gains_the_new_columns_at_the_end(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    old = EVENT_COLUMNS[:ADDED_FROM]
    con = duckdb.connect(str(folder / DB_NAME))
    con.execute("CREATE TABLE events (" + ", ".join(f"{q(c)} {t}" for c, t, _ in old) + ")")
    con.execute(
        'INSERT INTO events ("event.id", "log.record", "event.original") VALUES (\'old\', 7, \'line\')'
    )
    con.close()
    with Workspace(folder) as ws:
        stored = [
            r[0]
            for r in ws.con.execute(
                f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{EVENT_STORE}'"
            ).fetchall()
        ]
        assert stored == list(EVENT_COLUMN_NAMES), "the old table, renamed, gained the columns in order"
        viewed = [d[0] for d in ws.con.execute("SELECT * FROM events LIMIT 0").description]
        assert viewed == list(EVENT_COLUMN_NAMES), "same names, same order as a new workspace"
        assert ws.con.execute('SELECT "log.record", "destination.ip" FROM events').fetchall() == [(7, None)]
        log = write(tmp_path / "conn.log", zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)]))
        (res,) = ws.ingest(discover([str(log)])).files
        assert res.events == 1
        assert ws.scalar('SELECT "destination.port" FROM events WHERE "event.code" = \'conn\'') == 443
        assert ws.scalar(f"SELECT count(*) FROM {FLOW_STORE}") == 1, "the new flow went to the flow table"
        assert ws.scalar(f"SELECT count(*) FROM {EVENT_STORE}") == 1, "the old row stayed where it was"


def test_old_workspace_gains_the_promoted_event_data_columns_filled(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    before = [c for c in EVENT_COLUMNS if not c[0].startswith(EVENT_DATA_PREFIX)]
    con = duckdb.connect(str(folder / DB_NAME))
    con.execute("CREATE TABLE events (" + ", ".join(f"{q(c)} {t}" for c, t, _ in before) + ")")
    data = '{"TargetUserName": " alice ", "IpAddress": "-", "ShareName": ""}'
    con.execute(
        'INSERT INTO events ("event.id", "event.dataset", "winlog.event_data") VALUES '
        "('w', 'winlogbeat', ?), ('z', 'zeek', '{\"TargetUserName\": \"x\"}'), ('n', 'winlogbeat', NULL)",
        [data],
    )
    con.close()
    with Workspace(folder) as ws:
        rows = ws.con.execute(
            'SELECT "event.id", "winlog.event_data.TargetUserName", "winlog.event_data.ShareName" '
            'FROM events ORDER BY "event.id"'
        ).fetchall()
        assert rows == [("n", None, None), ("w", "alice", None), ("z", None, None)]
        assert ws.scalar("SELECT count(*) FROM events_to_fill") == 0, "nothing left to fill"
    with Workspace(folder) as ws:  # opened again: nothing to do, nothing changed
        assert (
            ws.scalar('SELECT "winlog.event_data.TargetUserName" FROM events WHERE "event.id" = \'w\'')
            == "alice"
        )


def test_an_interrupted_fill_goes_on_at_the_next_open(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with Workspace(folder) as ws:
        ws.con.execute(
            f'INSERT INTO {EVENT_STORE} ("event.id", "event.dataset", "winlog.event_data") '
            "VALUES ('w', 'winlogbeat', '{\"LogonProcessName\": \"Advapi\"}')"
        )
        ws.con.execute("INSERT INTO events_to_fill VALUES ('winlog.event_data.LogonProcessName')")
    with Workspace(folder) as ws:
        assert ws.scalar('SELECT "winlog.event_data.LogonProcessName" FROM events') == "Advapi"
