"""Each kind of bad input: a message naming file and record, the skipped count in the summary,
the rest of the file and of the run stored, and what was stored before left untouched."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events import workspace as workspace_mod
from bluebench.events.workspace import IngestSummary, Workspace
from bluebench.sources import InputFile, ReadOptions, load_mapping
from bluebench.sources.authlog import AuthLogReader
from logtext import EVTX_RECORDS, corrupt_second_chunk, evtx_copy, otrf_line, sshd_lines, write_lines

YEAR = ReadOptions(year=2024)


def snapshot(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.con.execute('SELECT * FROM events ORDER BY "log.file.path", "log.record"').fetchall()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace that already holds one good log, to check nothing stored is touched."""
    w = Workspace(tmp_path / "ws")
    base = write_lines(tmp_path / "before.log", sshd_lines(host="old1"))
    summary = w.ingest([InputFile(base, "before.log")], ReadOptions(year=2024))
    assert summary.files[0].events == len(sshd_lines()) and not summary.had_problems
    yield w
    w.close()


@pytest.fixture
def good(tmp_path: Path) -> InputFile:
    """A clean file ingested in the same run as the bad one."""
    return InputFile(write_lines(tmp_path / "after.log", sshd_lines(host="new1")), "after.log")


def run(ws: Workspace, bad: InputFile, good: InputFile, options: ReadOptions = YEAR) -> IngestSummary:
    """Ingest bad then good; check the old events are unchanged and the good file is stored."""
    before = snapshot(ws)
    summary = ws.ingest([bad, good], options)
    after = snapshot(ws)
    old = {r[0] for r in before}
    assert [r for r in after if r[0] in old] == before, "events stored before were changed"
    res = {f.file: f for f in summary.files}
    assert res[good.display].status == "ingested"
    assert res[good.display].events == stored(ws, good.display) > 0
    return summary


def stored(ws: Workspace, path: str) -> int:
    return int(ws.scalar('SELECT count(*) FROM events WHERE "log.file.path" = ?', [path]))


def records(ws: Workspace, path: str) -> list[int]:
    rows = ws.con.execute(
        'SELECT "log.record" FROM events WHERE "log.file.path" = ? ORDER BY 1', [path]
    ).fetchall()
    return [r[0] for r in rows]


def logged(ws: Workspace, path: str) -> list[tuple[Any, ...]]:
    return ws.con.execute(
        "SELECT record, reason, kept FROM skipped WHERE file = ? ORDER BY record", [path]
    ).fetchall()


def test_corrupt_evtx_chunk(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    path = evtx_copy(tmp_path, "bad.evtx")
    corrupt_second_chunk(path)
    summary = run(ws, InputFile(path, "logs/bad.evtx"), good)
    res = summary.files[0]
    assert res.status == "ingested" and res.reader == "evtx"
    assert summary.skipped_records == 27 and summary.repaired_records == 0 and summary.had_problems
    assert str(res.skipped[0]).startswith(
        "logs/bad.evtx, record 28: lost in corrupt EVTX data after record 27"
    )
    assert records(ws, "logs/bad.evtx") == list(range(1, 28)) + list(range(55, EVTX_RECORDS + 1))
    assert [r[0] for r in logged(ws, "logs/bad.evtx")] == list(range(28, 55))
    assert ws.scalar("SELECT skipped FROM files WHERE path = 'logs/bad.evtx'") == 27


@pytest.mark.parametrize("bad_line", [3, 6], ids=["middle", "last-line-cut"])
def test_truncated_json_line(ws: Workspace, good: InputFile, tmp_path: Path, bad_line: int) -> None:
    lines = [otrf_line(i, user=f"user{i}") for i in range(1, 7)]
    lines[bad_line - 1] = lines[bad_line - 1][:50]
    path = tmp_path / "sec.json"
    path.write_text("\n".join(lines), encoding="utf-8")  # no final newline, as when cut mid-write
    summary = run(ws, InputFile(path, "sec.json"), good)
    res = summary.files[0]
    assert res.reader == "otrf" and res.events == 5
    assert summary.skipped_records == 1
    assert str(res.skipped[0]).startswith(f"sec.json, record {bad_line}: not valid JSON (truncated?)")
    assert records(ws, "sec.json") == [n for n in range(1, 7) if n != bad_line]
    assert logged(ws, "sec.json")[0][0] == bad_line


def test_non_utf8_json_line(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    lines = [otrf_line(i, user=f"user{i}").encode() for i in range(1, 6)]
    lines[1] = lines[1].replace(b"user2", b"us\xe9r2")
    path = tmp_path / "sec.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = run(ws, InputFile(path, "sec.json"), good)
    res = summary.files[0]
    assert res.events == 4 and summary.skipped_records == 1 and summary.repaired_records == 0
    assert str(res.skipped[0]).startswith("sec.json, record 2: not UTF-8 at byte")
    assert records(ws, "sec.json") == [1, 3, 4, 5]


def test_non_utf8_syslog_line_kept_and_repaired(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    lines = [ln.encode() for ln in sshd_lines(host="web9")]
    lines[3] = lines[3].replace(b"root", b"r\xf6ot")
    at = lines[3].index(b"\xf6")
    path = tmp_path / "auth.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = run(ws, InputFile(path, "auth.log"), good)
    res = summary.files[0]
    assert res.events == len(lines)  # nothing dropped
    assert summary.skipped_records == 0 and summary.repaired_records == 1
    assert not summary.had_problems
    assert str(res.skipped[0]) == f"auth.log, record 4: not UTF-8 at byte {at}; kept with U+FFFD"
    original = ws.scalar(
        """SELECT "event.original" FROM events WHERE "log.file.path" = 'auth.log' AND "log.record" = 4"""
    )
    assert "r\ufffdot" in original
    assert logged(ws, "auth.log") == [(4, f"not UTF-8 at byte {at}; kept with U+FFFD", True)]


def test_empty_file(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    summary = run(ws, InputFile(path, "empty.log"), good)
    res = summary.files[0]
    assert res.status == "failed" and res.error == "empty file" and res.events == 0
    assert summary.skipped_records == 0 and summary.had_problems
    assert logged(ws, "empty.log") == [(None, "empty file", False)]


def test_binary_file(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 64)
    summary = run(ws, InputFile(path, "blob.bin"), good)
    res = summary.files[0]
    assert res.status == "unrecognised" and res.reader is None and res.events == 0
    assert res.error is not None and res.error.startswith("not a recognised log format")
    assert summary.had_problems and stored(ws, "blob.bin") == 0
    assert logged(ws, "blob.bin")[0][1].startswith("not a recognised log format")


def test_zip_with_macos_junk(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    path = tmp_path / "mac.zip"
    lines = sshd_lines(host="mac1")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("auth.log", "\n".join(lines) + "\n")
        zf.writestr("__MACOSX/._auth.log", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
        zf.writestr("__MACOSX/", b"")
    summary = run(ws, InputFile(path, "mac.zip"), good)
    res = summary.files[0]
    # One data member: its events carry the zip's name.
    assert res.reader == "authlog" and res.events == len(lines) == stored(ws, "mac.zip")
    assert [str(s) for s in res.skipped] == ["mac.zip!__MACOSX/._auth.log: macOS metadata member ignored"]
    assert summary.skipped_records == 1


def test_gzip_auth_log(ws: Workspace, good: InputFile, tmp_path: Path) -> None:
    path = tmp_path / "auth.log.1.gz"
    lines = sshd_lines(host="gz1")
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    summary = run(ws, InputFile(path, "auth.log.1.gz"), good)
    res = summary.files[0]
    assert res.reader == "authlog" and res.events == len(lines) and res.skipped == []
    assert records(ws, "auth.log.1.gz") == list(range(1, len(lines) + 1))
    assert not summary.had_problems


MAPPING = """format = "csv"
[fields]
"@timestamp" = "time"
"user.name" = "account"
"event.outcome" = "result"
"event.action" = "action"
"source.ip" = "src"
"""


def test_csv_with_bad_row_and_mapping(ws: Workspace, tmp_path: Path) -> None:
    m = tmp_path / "map.toml"
    m.write_text(MAPPING, encoding="utf-8")
    opts = ReadOptions()
    opts.mapping_format, opts.mapping = load_mapping(m)
    bad = tmp_path / "vpn.csv"
    bad.write_text(
        "time,account,result,action,src\n"
        "2024-03-01T10:00:00Z,alice,failure,logon-failed,10.0.0.1\n"
        "2024-03-01T10:00:01Z,bob,failure\n"
        "2024-03-01T10:00:02Z,carol,success,logon,10.0.0.3\n",
        encoding="utf-8",
    )
    other = tmp_path / "vpn2.csv"
    other.write_text(
        "time,account,result,action,src\n2024-03-02T09:00:00Z,dave,success,logon,10.0.0.4\n", encoding="utf-8"
    )
    summary = run(ws, InputFile(bad, "vpn.csv"), InputFile(other, "vpn2.csv"), opts)
    res = summary.files[0]
    assert res.reader == "mapped-csv" and res.events == 2 and summary.skipped_records == 1
    assert str(res.skipped[0]) == "vpn.csv, record 3: bad CSV row: '2024-03-01T10:00:01Z,bob,failure'"
    rows = ws.con.execute(
        """SELECT "log.record", "user.name", "event.outcome", "source.ip" FROM events
           WHERE "log.file.path" = 'vpn.csv' ORDER BY 1"""
    ).fetchall()
    assert rows == [(2, "alice", "failure", "10.0.0.1"), (4, "carol", "success", "10.0.0.3")]


class FailingAuthLog(AuthLogReader):
    """Yields its first batch, then fails as a disk or parser error would."""

    def read(self, path: Path, display: str, skipped: list[Any], options: ReadOptions) -> Iterator[Any]:
        it = super().read(path, display, skipped, options)
        yield next(it)
        raise OSError(f"simulated read error in {display}")


@pytest.mark.parametrize("streaming", [False, True], ids=["small-file", "streamed-file"])
def test_failure_mid_file_stores_nothing_of_it(
    ws: Workspace, good: InputFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    path = write_lines(tmp_path / "mid.log", sshd_lines(host="mid1") * 5)
    failing = FailingAuthLog()
    real = workspace_mod.detect_reader
    monkeypatch.setattr(workspace_mod, "detect_reader", lambda p, o: failing if p == path else real(p, o))
    if streaming:
        monkeypatch.setattr(workspace_mod, "SMALL_FILE_BYTES", 0)
    opts = ReadOptions(year=2024, batch_bytes=256)  # several batches per file
    summary = run(ws, InputFile(path, "mid.log"), good, opts)
    res = summary.files[0]
    assert res.status == "failed" and res.events == 0
    assert res.error == "OSError: simulated read error in mid.log"
    assert stored(ws, "mid.log") == 0
    assert ws.scalar("SELECT count(*) FROM files WHERE path = 'mid.log'") == 0
    assert logged(ws, "mid.log") == [
        (None, "file not ingested: OSError: simulated read error in mid.log", False)
    ]
    # Once the cause is gone, the same file is read in full: the failure left no trace.
    monkeypatch.setattr(workspace_mod, "detect_reader", real)
    again = ws.ingest([InputFile(path, "mid.log")], opts)
    assert again.files[0].status == "ingested" and stored(ws, "mid.log") == 5 * len(sshd_lines())


def test_json_line_without_a_winlog_object_is_named_not_stored_empty(
    ws: Workspace, good: InputFile, tmp_path: Path
) -> None:
    event = {"@timestamp": "2024-03-01T10:00:00Z", "winlog": {"event_id": 4625, "channel": "Security"}}
    lines = [json.dumps(event), json.dumps({"@timestamp": "2024-03-01T10:00:01Z", "message": "heartbeat"})]
    lines.append(json.dumps(event | {"@timestamp": "2024-03-01T10:00:02Z"}))
    path = tmp_path / "beat.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(ws, InputFile(path, "beat.json"), good)
    res = summary.files[0]
    assert res.reader == "winlogbeat" and res.events == 2 and records(ws, "beat.json") == [1, 3]
    assert [str(s) for s in res.skipped] == [
        "beat.json, record 2: no event id, channel or provider where a winlogbeat event has them: "
        + repr(lines[1][:60])
    ]
    assert summary.had_problems
