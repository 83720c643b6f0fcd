"""Windows records whose fields sit in one text: SQL Server audit and OpenSSH for Windows.

The EVTX files are from EVTX-to-MITRE-Attack (CC0); see tests/data/evtx/README.md.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.sources import discover

DATA = Path(__file__).resolve().parents[1] / "data" / "evtx"
FILES = (
    "ID33205-SQL Server member added to server role.evtx",
    "ID33205-SQL Server local user created.evtx",
    "ID33205-SQL Server failed login with non existing accounts.evtx",
    "ID4-OpenSSH brutforce with valid users.evtx",
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("windows_text")
    for name in FILES:
        (folder / name).write_bytes(gzip.decompress((DATA / (name + ".gz")).read_bytes()))
    w = Workspace(folder / "ws")
    w.ingest(discover([str(folder / name) for name in FILES]))
    yield w
    w.close()


def _rows(ws: Workspace, file: str) -> list[dict[str, Any]]:
    cur = ws.con.execute(
        """SELECT * FROM events WHERE "log.file.path" LIKE '%' || ? ORDER BY "log.record" """, [file]
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_sql_server_audit_role_member_added(ws: Workspace) -> None:
    (row,) = _rows(ws, FILES[0])
    assert row["event.code"] == "33205" and row["winlog.channel"] == "Application"
    assert row["event.action"] == "group-member-added" and row["event.category"] == "iam"
    assert row["event.outcome"] == "success"
    assert (row["user.name"], row["user.domain"]) == ("admmig", "OFFSEC")
    assert (row["user.target.name"], row["group.name"]) == ("test-sql", "sysadmin")
    assert row["process.command_line"] == "ALTER SERVER ROLE [sysadmin] ADD MEMBER [test-sql]"


def test_sql_server_audit_login_created(ws: Workspace) -> None:
    (row,) = _rows(ws, FILES[1])
    assert row["event.action"] == "user-created" and row["user.target.name"] == "test-sql"
    assert row["process.command_line"].startswith("CREATE LOGIN [test-sql] WITH PASSWORD=N'******'")


def test_sql_server_failed_logins_feed_the_credential_detectors(ws: Workspace) -> None:
    rows = _rows(ws, FILES[2])
    assert len(rows) == 72 and {r["event.action"] for r in rows} == {"logon-failed"}
    assert {r["event.outcome"] for r in rows} == {"failure"}
    unknown = [r for r in rows if r["event.reason"] == "invalid user"]
    assert len(unknown) == 66 and {r["source.ip"] for r in unknown} == {"10.23.123.11"}
    sa = [r for r in rows if r["user.name"] == "sa"]
    assert {r["event.reason"] for r in sa} == {"password did not match that for the login provided"}
    alerts = run_detectors(ws.con, build_detectors(load_config(), ["user_enumeration"]))
    (a,) = [a for a in alerts if a.entities["host"] == "mssql01.offsec.lan"]
    assert "10.23.123.11 tried 20 account names that do not exist (66 attempts)" in a.reasons[0]


def test_openssh_for_windows_lines(ws: Workspace) -> None:
    rows = _rows(ws, FILES[3])
    failed = [r for r in rows if r["event.action"] == "logon-failed"]
    assert len(failed) == 5 and len(rows) == 7
    r = failed[0]
    assert (r["user.name"], r["source.ip"], r["source.port"]) == ("admmig", "10.23.23.9", 56605)
    assert (
        r["event.outcome"] == "failure"
        and r["process.name"] == "sshd"
        and r["event.category"] == "authentication"
    )
    # "Connection closed" and "Disconnecting" lines are kept without an action.
    assert [x["event.action"] for x in rows if x not in failed] == [None, None]
    alerts = run_detectors(ws.con, build_detectors(load_config(), ["brute_force"]))
    (a,) = [a for a in alerts if a.entities["user"] == "admmig"]
    assert a.techniques == ["T1110.001"] and a.event_count == 5
    assert "5 failed logons for 'admmig' from 10.23.23.9 (5) in 28 s" in a.reasons[0]
