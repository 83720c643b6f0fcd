"""Argus binetflow CSV: recognised by its header, states in Zeek's words, bad rows named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, detect_reader, discover
from netlogs import argus_csv, write

ROWS = [
    ("2013/10/21 13:22:59.340835", "3596.6", "tcp", "10.0.0.5", "60686", "  <?>", "192.0.2.7", "5222", "PA_PA", 0, 0, 448, 49634, 20000, "flow=Background"),
    ("2013/10/21 13:23:01.000000", "0.001", "tcp", "203.0.113.9", "4444", "   ->", "10.0.0.5", "23", "S_RA", 0, 0, 2, 120, 60, "flow=From-Botnet"),
    ("2013/10/21 13:23:02.000000", "0.0", "tcp", "203.0.113.9", "4445", "   ->", "10.0.0.5", "25", "S_", 0, 0, 1, 60, 60, ""),
    ("2013/10/21 13:23:03.000000", "0.2", "udp", "10.0.0.5", "53000", "  <->", "198.51.100.53", "53", "CON", 0, 0, 2, 200, 80, ""),
    ("2013/10/21 13:23:04.000000", "1.0", "icmp", "10.0.0.5", "0x0008", "  <->", "198.51.100.1", "0x0a00", "ECO", 0, 0, 2, 196, 98, ""),
    ("2013/10/21 13:23:05.000000", "0.0", "llc", "00:11:22:33:44:55", "0", "   ->", "00:11:22:33:44:66", "0", "INT", "", "", 1, 60, 60, ""),
]  # fmt: skip


def test_binetflow_rows_become_flows(workspace: Workspace, tmp_path: Path) -> None:
    log = write(tmp_path / "capture.binetflow", argus_csv(ROWS))
    assert detect_reader(log, ReadOptions()).name == "argus"  # type: ignore[union-attr]
    (res,) = workspace.ingest(discover([str(log)])).files
    assert (res.status, res.events, res.skipped) == ("ingested", len(ROWS), [])
    rows = workspace.con.execute(
        """SELECT "@timestamp", "source.ip", "source.port", "destination.ip", "destination.port",
                  "network.transport", "source.bytes", "destination.bytes", "zeek.connection.state",
                  "event.reason", "network.direction", "event.duration"
           FROM events ORDER BY "log.record" """
    ).fetchall()
    xmpp, rej, s0, dns, icmp, llc = rows
    assert xmpp[0] == datetime(2013, 10, 21, 13, 22, 59, 340835)
    assert xmpp[1:6] == ("10.0.0.5", 60686, "192.0.2.7", 5222, "tcp")
    assert (xmpp[6], xmpp[7]) == (20000, 29634)  # TotBytes - SrcBytes came back
    assert xmpp[8] == "S1" and xmpp[10] == "outbound" and xmpp[11] == 3_596_600_000_000
    assert rej[8] == "REJ" and rej[9] == "S_RA" and rej[10] == "inbound"
    assert s0[8] == "S0" and dns[8] == "SF"
    assert (icmp[2], icmp[4]) == (8, 0x0A00)  # Argus writes ICMP type/code as hex
    assert llc[1] is None and llc[3] is None, "MAC addresses are not IP addresses"


def test_labels_are_not_fields_and_short_rows_are_named(workspace: Workspace, tmp_path: Path) -> None:
    text = argus_csv(ROWS[:3]) + "2013/10/21 13:24:00.000000,0.1,tcp,10.0.0.5\n"
    (res,) = workspace.ingest(discover([str(write(tmp_path / "c.binetflow", text))])).files
    assert res.events == 3
    assert [(s.record, "columns where the header names 15" in s.reason) for s in res.skipped] == [(5, True)]
    cells = workspace.con.execute(
        """SELECT count(*) FROM events WHERE concat_ws('|', "event.reason", "event.action",
           "zeek.connection.state", "network.protocol") LIKE '%flow=%'"""
    ).fetchall()[0][0]
    assert cells == 0
