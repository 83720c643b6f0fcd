"""Each shape normalizes onto the same ECS-named columns, with provenance."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bluebench.events.eventdata import event_data_fields_sql
from bluebench.events.normalize import NORMALIZERS, normalize_sql
from bluebench.events.workspace import Workspace
from bluebench.schema import EVENT_DATA_FIELDS, q
from bluebench.sources import ReadOptions, discover


def _rows(ws: Workspace, where: str = "TRUE") -> list[dict[str, Any]]:
    cur = ws.con.execute(f'SELECT * FROM events WHERE {where} ORDER BY "log.record"')
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_sshd_lines_become_authentication_events(workspace: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(
        "Mar  3 08:00:01 web1 sshd[101]: Failed password for invalid user oracle from 192.0.2.9 port 4000 ssh2\n"
        "Mar  3 08:00:02 web1 sshd[102]: Accepted publickey for alice from 10.0.0.5 port 50000 ssh2\n"
        "Mar  3 08:00:03 web1 sshd[103]: Invalid user pi from 192.0.2.9 port 4001\n"
        "Mar  3 08:00:04 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls\n"
        "Mar  3 08:00:05 web1 sshd(pam_unix)[104]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.1  user=root\n"
        "Mar  3 08:00:06 web1 useradd[105]: new user: name=backdoor, UID=1001, GID=1001\n",
        encoding="utf-8",
    )
    ws = workspace
    ws.ingest(discover([str(log)]), ReadOptions(year=2024))
    rows = _rows(ws)
    assert [r["log.record"] for r in rows] == [1, 2, 3, 4, 5, 6]
    failed, ok, invalid, sudo, pam, useradd = rows
    assert failed["event.action"] == "logon-failed" and failed["event.outcome"] == "failure"
    assert failed["user.name"] == "oracle" and failed["source.ip"] == "192.0.2.9"
    assert failed["source.port"] == 4000 and failed["event.reason"] == "invalid user"
    assert failed["@timestamp"] == datetime(2024, 3, 3, 8, 0, 1)
    assert failed["host.name"] == "web1" and failed["process.pid"] == 101
    assert ok["event.action"] == "logon" and ok["event.outcome"] == "success" and ok["user.name"] == "alice"
    assert invalid["event.action"] == "invalid-user" and invalid["user.name"] == "pi"
    assert (
        sudo["event.action"] == "sudo" and sudo["user.name"] == "alice" and sudo["user.target.name"] == "root"
    )
    assert pam["event.action"] == "pam-auth-failure" and pam["user.name"] == "root"
    assert pam["source.ip"] == "198.51.100.1" and pam["process.name"] == "sshd"
    assert useradd["event.action"] == "user-created" and useradd["user.target.name"] == "backdoor"
    for r in rows:
        assert r["log.file.path"] == str(log) and r["event.dataset"] == "authlog"
        assert r["event.original"].startswith("Mar  3 08:00:0")


def test_syslog_year_puts_december_before_a_january_file_time(workspace: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "secure"
    log.write_text(
        "Dec 31 23:59:58 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2\n"
        "Jan  1 00:00:03 h sshd[2]: Failed password for root from 192.0.2.1 port 2 ssh2\n",
        encoding="utf-8",
    )
    jan = datetime(2025, 1, 2, 12, 0).timestamp()
    os.utime(log, (jan, jan))
    workspace.ingest(discover([str(log)]))
    stamps = [r["@timestamp"] for r in _rows(workspace)]
    assert stamps == [datetime(2024, 12, 31, 23, 59, 58), datetime(2025, 1, 1, 0, 0, 3)]


def test_winlogbeat_and_otrf_shapes_share_the_windows_mapping(workspace: Workspace, tmp_path: Path) -> None:
    data = {
        "TargetUserName": "alice",
        "TargetDomainName": "CORP",
        "IpAddress": "::ffff:10.1.2.3",
        "IpPort": "5000",
        "LogonType": "3",
        "Status": "0xc000006d",
        "SubStatus": "0xc000006a",
    }
    beat = {
        "@timestamp": "2024-03-03T08:00:00.123Z",
        "winlog": {
            "event_id": 4625,
            "channel": "Security",
            "computer_name": "dc1.corp",
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "event_data": data,
        },
    }
    otrf = {
        "EventID": 4625,
        "Channel": "Security",
        "Hostname": "dc1.corp",
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "TimeCreated": "2024-03-03 08:00:00.123",
        **data,
    }
    (tmp_path / "beat.json").write_text(json.dumps(beat) + "\n", encoding="utf-8")
    (tmp_path / "otrf.json").write_text(json.dumps(otrf) + "\n", encoding="utf-8")
    summary = workspace.ingest(discover([str(tmp_path / "beat.json"), str(tmp_path / "otrf.json")]))
    assert [f.reader for f in summary.files] == ["winlogbeat", "otrf"]
    rows = _rows(workspace)
    assert len(rows) == 2
    for r in rows:
        assert r["event.code"] == "4625" and r["event.action"] == "logon-failed"
        assert r["event.outcome"] == "failure" and r["event.category"] == "authentication"
        assert r["user.name"] == "alice" and r["user.domain"] == "CORP"
        assert r["source.ip"] == "10.1.2.3" and r["source.port"] == 5000
        assert r["winlog.logon.type"] == 3 and r["event.reason"] == "0xc000006a"
        assert r["host.name"] == "dc1.corp"
        assert r["@timestamp"] == datetime(2024, 3, 3, 8, 0, 0, 123000)
        assert r["log.record"] == 1
    assert {r["event.dataset"] for r in rows} == {"winlogbeat", "otrf"}


def test_bundled_evtx_keeps_record_ids_and_parses_system_fields(sample_workspace: Workspace) -> None:
    rows = sample_workspace.con.execute(
        """SELECT "event.code", "host.name", "log.record", "@timestamp", "winlog.channel"
           FROM events WHERE "event.dataset" = 'evtx' AND "log.file.path" LIKE '%Pass the hash.evtx'
           ORDER BY "log.record" """
    ).fetchall()
    assert rows, "the pass-the-hash sample should be ingested"
    assert all(r[0] and r[1] and r[3] is not None and r[4] for r in rows)
    assert [r[2] for r in rows] == sorted({r[2] for r in rows})


def test_session_opened_by_uid_only_names_no_acting_user(workspace: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(
        "Mar  3 08:00:01 web1 sshd[7]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)\n"
        "Mar  3 08:00:02 web1 su[8]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)\n",
        encoding="utf-8",
    )
    workspace.ingest(discover([str(log)]), ReadOptions(year=2024))
    first, second = _rows(workspace)
    assert first["event.action"] == "session-opened"
    assert first["user.name"] is None and first["user.target.name"] == "root"
    assert second["user.name"] == "alice" and second["user.target.name"] == "root"


def test_every_reader_has_a_normalizer() -> None:
    """The contract a new source keeps: its batches' shape names a registered normalizer."""
    from bluebench.sources import READERS

    assert {r.name for r in READERS} <= set(NORMALIZERS.names())
    with pytest.raises(ValueError, match="no normalizer"):
        normalize_sql("no-such-shape", {})


def test_promoted_event_data_columns_read_as_the_json_reads(workspace: Workspace, tmp_path: Path) -> None:
    """Every shape fills the promoted columns from its event data: text, trimmed, '-' and '' as NULL."""
    data = {
        "TargetUserName": " bob ",
        "IpAddress": "-",
        "ShareName": "",
        "LogonProcessName": "Advapi  ",
        "KeyLength": 0,
    }
    beat = {"@timestamp": "2024-03-03T08:00:00Z", "winlog": {"event_id": "4624", "event_data": data}}
    otrf = {"EventID": 4624, "Channel": "Security", "TimeCreated": "2024-03-03 08:00:00", **data}
    (tmp_path / "beat.json").write_text(json.dumps(beat) + "\n", encoding="utf-8")
    (tmp_path / "otrf.json").write_text(json.dumps(otrf) + "\n", encoding="utf-8")
    workspace.ingest(discover([str(tmp_path / "beat.json"), str(tmp_path / "otrf.json")]))
    fill = event_data_fields_sql('"winlog.event_data"')
    promoted = ", ".join(q(c) for c in fill)
    again = ", ".join(fill.values())
    for stored, read in workspace.con.execute(f"SELECT [{promoted}], [{again}] FROM events").fetchall():
        assert stored == read
    rows = workspace.con.execute(
        'SELECT "winlog.event_data.TargetUserName", "winlog.event_data.ShareName", "winlog.event_data.KeyLength", '
        '"winlog.event_data.LogonProcessName" FROM events'
    ).fetchall()
    assert rows == [("bob", None, "0", "Advapi")] * 2


def test_every_event_data_field_a_detector_reads_is_promoted() -> None:
    """No detector parses ``winlog.event_data`` JSON at query time for a field it filters on."""
    import re
    from importlib import resources

    read: set[str] = set()
    for f in resources.files("bluebench.detectors").iterdir():
        if f.name.endswith(".py"):
            read |= set(re.findall(r"""[^\w]ed\(\s*["'](\w+)["']""", f.read_text(encoding="utf-8")))
    assert len(read) > 40
    assert read <= set(EVENT_DATA_FIELDS), sorted(read - set(EVENT_DATA_FIELDS))
