"""Network records in the narrow flow table, the rest in the wide one: one events view, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.events import netflow, normalize, storage
from bluebench.events.netflow import FLOW_COLUMNS
from bluebench.events.workspace import Workspace
from bluebench.schema import EVENT_COLUMN_NAMES, EVENT_COLUMNS
from bluebench.sources import discover
from netlogs import argus_csv, conn, dns, ingest, write, zeek_json, zeek_tsv

AUTH = (
    "Mar  4 09:00:00 web1 sshd[41]: Failed password for root from 192.0.2.7 port 22 ssh2\n"
    "Mar  4 09:00:05 web1 sshd[41]: Accepted password for alice from 10.0.0.5 port 50000 ssh2\n"
)


def _logs() -> dict[str, str]:
    """One file of each network shape (Zeek TSV and JSON, Argus) and a Linux auth log."""
    flows = [conn(i * 60.0, "10.0.0.5", "192.0.2.7", 443, sport=50000 + i, service="ssl") for i in range(4)]
    ssl = [
        {"ts": 1709542800.0, "uid": "Cssl1", "id.orig_h": "10.0.0.5", "id.orig_p": 50000,
         "id.resp_h": "192.0.2.7", "id.resp_p": 443, "server_name": "example.org",
         "validation_status": "self signed certificate"},
    ]  # fmt: skip
    http = [
        {"ts": 1709542801.0, "uid": "Chttp1", "id.orig_h": "10.0.0.6", "id.orig_p": 50001,
         "id.resp_h": "198.51.100.9", "id.resp_p": 80, "host": "example.net", "user_agent": "curl/8.0",
         "method": "GET", "uri": "/a?b=<c>", "status_code": 200},
    ]  # fmt: skip
    argus = argus_csv(
        [("2024/03/04 09:00:00.000000", 1.5, "tcp", "10.0.0.7", 51000, "->", "203.0.113.4", 22, "S_RA",
          0, 0, 2, 120, 60, "flow=Background")]
    )  # fmt: skip
    return {
        "conn.log": zeek_tsv("conn", flows),
        "dns.log": zeek_tsv("dns", [dns(5.0, "10.0.0.5", "a.example.org", qtype="TXT")]),
        "ssl.log": zeek_json(ssl, path="ssl"),
        "http.log": zeek_json(http, path="http"),
        "flows.binetflow": argus,
        "auth.log": AUTH,
    }


def _rows(logs: Path, folder: Path) -> tuple[list[tuple[object, ...]], int]:
    """Every event of the files in ``logs`` as ``folder``'s workspace reads them, and how many are flows."""
    with Workspace(folder) as ws:
        assert not ws.ingest(discover([str(logs)])).had_problems
        assert [d[0] for d in ws.con.execute("SELECT * FROM events LIMIT 0").description] == list(
            EVENT_COLUMN_NAMES
        )
        flows = int(ws.scalar(f"SELECT count(*) FROM {storage.FLOW_STORE}"))
        return ws.con.execute('SELECT * FROM events ORDER BY "event.id"').fetchall(), flows


def test_network_records_go_to_the_flow_table_and_the_rest_to_the_wide_one(tmp_path: Path) -> None:
    with ingest(tmp_path, _logs()) as ws:
        by_table = {
            t: ws.con.execute(f'SELECT DISTINCT "event.dataset" FROM {t} ORDER BY 1').fetchall()
            for t in (storage.EVENT_STORE, storage.FLOW_STORE)
        }
        assert by_table[storage.FLOW_STORE] == [("argus",), ("zeek",), ("zeek-json",)]
        assert by_table[storage.EVENT_STORE] == [("authlog",)]
        flow_columns = [
            d[0] for d in ws.con.execute(f"SELECT * FROM {storage.FLOW_STORE} LIMIT 0").description
        ]
        assert flow_columns == [c for c, _, _ in FLOW_COLUMNS]
        assert len(flow_columns) < len(EVENT_COLUMNS) / 2, "a flow stores a third of the columns"


def test_the_events_view_reads_every_value_the_wide_table_alone_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same logs stored as before the flow table (every record in every column) read the same."""
    for name, text in _logs().items():
        write(tmp_path / "logs" / name, text)
    now, flows = _rows(tmp_path / "logs", tmp_path / "now")
    monkeypatch.setattr(storage, "FLOW_SHAPES", ())
    monkeypatch.setattr(netflow, "FLOW_COLUMNS", EVENT_COLUMNS)
    before, flows_before = _rows(tmp_path / "logs", tmp_path / "before")
    assert (len(now), flows, flows_before) == (4 + 1 + 1 + 1 + 1 + 2, 8, 0)
    assert now == before


def test_a_shape_that_fills_a_column_its_table_lacks_is_refused() -> None:
    """A value with nowhere to go is an error, never dropped."""
    with pytest.raises(ValueError, match=r"user\.name"):
        normalize._final_select({"user.name": "'x'"}, "SELECT 1 AS record", "zeek", FLOW_COLUMNS)


def test_every_column_a_network_log_fills_is_a_flow_column_or_an_alias_of_one() -> None:
    flow = {c for c, _, _ in FLOW_COLUMNS}
    aliases = set(netflow.FLOW_ALIASES)
    assert flow >= netflow.FILLED - aliases
    assert flow >= set(netflow.FLOW_ALIASES.values()) and not flow & aliases
    assert set(netflow.PROVENANCE) <= flow
    assert [c for c, _, _ in FLOW_COLUMNS] == [c for c in EVENT_COLUMN_NAMES if c in flow], "schema order"


def test_a_grown_conn_log_adds_only_its_new_records_to_the_flow_table(tmp_path: Path) -> None:
    """Re-reading a log that grew dedupes against the view: the old flows stay, the new are added once."""
    first = [conn(i * 60.0, "10.0.0.5", "192.0.2.7", 443, sport=50000 + i) for i in range(3)]
    log = write(tmp_path / "conn.log", zeek_tsv("conn", first, close=False))
    with Workspace(tmp_path / "ws") as ws:
        assert ws.ingest(discover([str(log)])).events == 3
        more = [conn(600.0 + i, "10.0.0.6", "198.51.100.9", 8443, sport=51000 + i) for i in range(2)]
        with log.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(zeek_tsv("conn", more, close=False).splitlines()[8:]) + "\n")
        assert ws.ingest(discover([str(log)])).events == 2
        assert ws.ingest(discover([str(log)])).events == 0, "read again: nothing added"
        stored = ws.con.execute(
            f'SELECT "destination.port", count(*) FROM {storage.FLOW_STORE} GROUP BY 1 ORDER BY 1'
        )
        assert stored.fetchall() == [(443, 3), (8443, 2)]
        assert ws.scalar(f"SELECT count(*) FROM {storage.EVENT_STORE}") == 0
        assert ws.scalar('SELECT count(DISTINCT "event.id") FROM events') == 5


def test_an_alias_that_holds_another_value_is_refused() -> None:
    """The view repeats source.ip as source.address; a log whose address differs cannot be stored so."""
    assert netflow.without_aliases({"source.ip": "src_ip", "source.address": "src_ip"}, "zeek") == {
        "source.ip": "src_ip"
    }
    with pytest.raises(ValueError, match=r"source\.address is not source\.ip"):
        netflow.without_aliases({"source.ip": "src_ip", "source.address": "host"}, "zeek")
