"""The fast ingest path keeps its promises: a large file streamed through one query per file,
JSON read without a validity pass (and read again, checked, when a line is not JSON), ids
from the file's fingerprint that are unique and the same in any workspace."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events import workspace as workspace_mod
from bluebench.events.workspace import Workspace
from bluebench.schema import EVENT_COLUMN_NAMES
from bluebench.sources import InputFile, ReadOptions


def winlogbeat(second: int, user: str = "alice", code: str = "4625", **event_data: str) -> str:
    """One Winlogbeat 8 Security record as a JSON line."""
    data = {"TargetUserName": user, "TargetDomainName": "CORP", "IpAddress": "10.0.0.9", "LogonType": "3"}
    data.update(event_data)
    if code == "4625":
        data.update(Status="0xc000006d", SubStatus="0xc000006a")
    record: dict[str, Any] = {
        "@timestamp": f"2025-03-03T10:00:{second:02d}.000Z",
        "event": {"code": code},
        "winlog": {
            "channel": "Security",
            "computer_name": "DC01.corp.example.com",
            "event_id": code,
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "event_data": data,
        },
    }
    return json.dumps(record)


def cleared(second: int) -> str:
    """A 1102 as Winlogbeat writes it: UserData flattened, with its XML element name."""
    return json.dumps(
        {
            "@timestamp": f"2025-03-03T10:00:{second:02d}.000Z",
            "winlog": {
                "channel": "Security",
                "computer_name": "FS01.corp.example.com",
                "event_id": "1102",
                "provider_name": "Microsoft-Windows-Eventlog",
                "user_data": {
                    "SubjectUserName": "mallory",
                    "SubjectDomainName": "CORP",
                    "xml_name": "LogFileCleared",
                },
            },
        }
    )


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> ReadOptions:
    """Every file takes the streaming path, in batches of a few lines."""
    monkeypatch.setattr(workspace_mod, "SMALL_FILE_BYTES", 0)
    return ReadOptions(batch_bytes=600)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace(tmp_path / "ws")
    yield w
    w.close()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ids(ws: Workspace, path: str) -> list[str]:
    rows = ws.con.execute(
        'SELECT "event.id" FROM events WHERE "log.file.path" = ? ORDER BY "log.record"', [path]
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("small", [False, True], ids=["streamed", "small-file"])
def test_line_that_is_not_json_is_named_and_the_rest_stored(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: bool
) -> None:
    options = ReadOptions(batch_bytes=600)
    if not small:
        monkeypatch.setattr(workspace_mod, "SMALL_FILE_BYTES", 0)
    lines = [winlogbeat(i, user=f"user{i}") for i in range(1, 9)]
    lines[4] = lines[4][:70]  # cut mid-record
    raw = ("\n".join(lines) + "\n").encode().replace(b"user7", b"us\xe9r7")  # and one line not UTF-8
    path = tmp_path / "sec.ndjson"
    path.write_bytes(raw)
    res = ws.ingest([InputFile(path, "sec.ndjson")], options).files[0]
    assert res.status == "ingested" and res.reader == "winlogbeat" and res.events == 6
    reasons = sorted((s.record, s.reason[:16]) for s in res.skipped)
    assert reasons == [(5, "not valid JSON ("), (7, "not UTF-8 at byt")]  # each named once
    stored = ws.con.execute('SELECT "log.record" FROM events ORDER BY 1').fetchall()
    assert [r[0] for r in stored] == [1, 2, 3, 4, 6, 8]
    assert ws.scalar("SELECT skipped FROM files WHERE path = 'sec.ndjson'") == 2


def test_ids_are_unique_and_the_same_in_another_workspace(tmp_path: Path, streamed: ReadOptions) -> None:
    path = write(tmp_path / "a.ndjson", [winlogbeat(i) for i in range(1, 11)] * 2)  # repeated lines
    other = write(tmp_path / "b.ndjson", [winlogbeat(i) for i in range(1, 11)] + [winlogbeat(59)])
    first = Workspace(tmp_path / "one")
    first.ingest([InputFile(path, "a.ndjson"), InputFile(other, "b.ndjson")], streamed)
    a, b = ids(first, "a.ndjson"), ids(first, "b.ndjson")
    first.close()
    assert len(set(a)) == 20 and len(set(a) | set(b)) == 31  # identical lines, distinct records
    second = Workspace(tmp_path / "two")
    second.ingest([InputFile(path, "renamed/a.ndjson")], streamed)
    assert ids(second, "renamed/a.ndjson") == a  # the id follows the content, not the name
    second.close()


def test_zip_members_streamed_each_with_their_own_ids(
    ws: Workspace, tmp_path: Path, streamed: ReadOptions
) -> None:
    path = tmp_path / "logs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("dc1.ndjson", "\n".join(winlogbeat(i) for i in range(1, 6)) + "\n")
        zf.writestr("dc2.ndjson", "\n".join(winlogbeat(i) for i in range(1, 8)) + "\n")
    res = ws.ingest([InputFile(path, "logs.zip")], streamed).files[0]
    assert res.events == 12
    one, two = ids(ws, "logs.zip!dc1.ndjson"), ids(ws, "logs.zip!dc2.ndjson")
    assert len(one) == 5 and len(two) == 7 and not set(one) & set(two)


def test_grown_log_streamed_adds_only_new_lines(ws: Workspace, tmp_path: Path, streamed: ReadOptions) -> None:
    path = write(tmp_path / "sec.ndjson", [winlogbeat(i) for i in range(1, 6)])
    ws.ingest([InputFile(path, "sec.ndjson")], streamed)
    before = ws.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall()
    write(path, [winlogbeat(i) for i in range(1, 9)])
    summary = ws.ingest([InputFile(path, "sec.ndjson")], streamed)
    assert summary.files[0].status == "ingested" and summary.events == 3
    after = ws.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall()
    record = EVENT_COLUMN_NAMES.index("log.record")  # by name: columns are added at the end
    assert after[:5] == before and [r[record] for r in after] == list(range(1, 9))
    assert ws.scalar('SELECT count(DISTINCT "event.id") FROM events') == 8
    # A rotated log under the same name, different lines at the same numbers, is all new.
    write(path, [winlogbeat(i, user="bob") for i in range(1, 4)])
    assert ws.ingest([InputFile(path, "sec.ndjson")], streamed).events == 3
    assert ws.scalar('SELECT count(DISTINCT "event.id") FROM events') == ws.event_count() == 11


def test_flattened_user_data_gives_the_subject(ws: Workspace, tmp_path: Path, streamed: ReadOptions) -> None:
    path = write(tmp_path / "sec.ndjson", [winlogbeat(1), cleared(2)])
    ws.ingest([InputFile(path, "sec.ndjson")], streamed)
    row = ws.con.execute(
        """SELECT "event.action", "user.name", "user.domain", "host.name" FROM events
           WHERE "event.code" = '1102'"""
    ).fetchall()
    assert row == [("log-cleared", "mallory", "CORP", "FS01.corp.example.com")]


def test_values_that_need_parsing_are_read_like_plain_ones(ws: Workspace, tmp_path: Path) -> None:
    """Numbers, escaped strings and XML-style objects for the header fields."""
    record = json.loads(winlogbeat(3))
    record["winlog"]["event_id"] = 4625
    record["winlog"]["computer_name"] = {"#text": 'DC"\u00e91', "#attributes": {"x": 1}}
    record["winlog"]["channel"] = 'Sec"urity'
    path = write(tmp_path / "sec.ndjson", [json.dumps(record)])
    ws.ingest([InputFile(path, "sec.ndjson")])
    row = ws.con.execute('SELECT "event.code", "host.name", "winlog.channel" FROM events').fetchall()
    assert row == [("4625", 'DC"\u00e91', 'Sec"urity')]
