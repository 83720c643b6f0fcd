"""Ingesting again adds nothing already stored: same file, same bytes elsewhere, a grown log."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from bluebench.events.quality import quality_report
from bluebench.events.workspace import Workspace
from bluebench.sources import InputFile, ReadOptions, discover
from logtext import evtx_copy, sshd_lines, syslog_time, write_lines

OPTS = ReadOptions(year=2024)


def count(ws: Workspace) -> int:
    return ws.event_count()


def distinct_ids(ws: Workspace) -> int:
    return int(ws.scalar('SELECT count(DISTINCT "event.id") FROM events'))


def test_same_file_twice(workspace: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "auth.log", sshd_lines())
    first = workspace.ingest([InputFile(path, "auth.log")], OPTS)
    assert first.events == len(sshd_lines())
    before = workspace.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall()
    second = workspace.ingest([InputFile(path, "auth.log")], OPTS)
    assert second.files[0].status == "duplicate" and second.events == 0
    assert second.files[0].error == "same content as auth.log"
    assert workspace.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall() == before
    assert workspace.scalar("SELECT count(*) FROM files") == 1  # no alias row for the same name


def test_same_file_twice_in_one_run(workspace: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "auth.log", sshd_lines())
    summary = workspace.ingest([InputFile(path, "auth.log"), InputFile(path, "auth.log")], OPTS)
    assert [f.status for f in summary.files] == ["ingested", "duplicate"]
    assert count(workspace) == distinct_ids(workspace) == len(sshd_lines())


def test_same_content_under_another_name(workspace: Workspace, tmp_path: Path) -> None:
    evtx = evtx_copy(tmp_path, "a.evtx")
    copy = tmp_path / "copy" / "b.evtx"
    copy.parent.mkdir()
    shutil.copy(evtx, copy)
    summary = workspace.ingest(discover([str(evtx), str(copy.parent)]), OPTS)
    assert [f.status for f in summary.files] == ["ingested", "duplicate"]
    assert summary.files[1].error == f"same content as {evtx}"
    assert count(workspace) == 72
    # The alias is remembered, so labels naming the copy still find the events.
    alias = workspace.con.execute(
        "SELECT path, duplicate_of FROM files WHERE reader = 'duplicate'"
    ).fetchall()
    assert alias == [(f"{copy.parent}/b.evtx", str(evtx))]


def test_grown_log_adds_only_new_lines(workspace: Workspace, tmp_path: Path) -> None:
    lines = sshd_lines()
    path = write_lines(tmp_path / "auth.log", lines)
    workspace.ingest([InputFile(path, "auth.log")], OPTS)
    before = workspace.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall()
    more = [
        f"{syslog_time(datetime(2024, 3, 3, 9, 0, i))} web1 sshd[3{i:03d}]: "
        f"Failed password for root from 203.0.113.8 port 4{i:04d} ssh2"
        for i in range(4)
    ]
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(more) + "\n")
    summary = workspace.ingest([InputFile(path, "auth.log")], OPTS)
    assert summary.files[0].status == "ingested" and summary.events == len(more)
    after = workspace.con.execute('SELECT * FROM events ORDER BY "log.record"').fetchall()
    assert after[: len(before)] == before
    assert count(workspace) == distinct_ids(workspace) == len(lines) + len(more)
    new_records = workspace.con.execute(
        'SELECT "log.record" FROM events ORDER BY 1 OFFSET ?', [len(lines)]
    ).fetchall()
    assert [r[0] for r in new_records] == list(range(len(lines) + 1, len(lines) + len(more) + 1))
    # Ingesting the grown file once more adds nothing.
    assert workspace.ingest([InputFile(path, "auth.log")], OPTS).events == 0
    assert count(workspace) == len(lines) + len(more)


def test_rescans_do_not_count_unreadable_files_again(workspace: Workspace, tmp_path: Path) -> None:
    """Four files that are not logs, scanned three times: four files not read, no record skipped."""
    folder = tmp_path / "logs"
    folder.mkdir()
    write_lines(folder / "auth.log", sshd_lines())
    for name, data in (
        ("notes.txt", b"meeting at ten\n"),
        ("blob.bin", bytes(range(256))),
        ("empty.log", b""),
    ):
        (folder / name).write_bytes(data)
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    for _ in range(3):
        summary = workspace.ingest(list(discover([str(folder)])), OPTS)
        assert sum(f.status in ("failed", "unrecognised") for f in summary.files) == 4, (
            "each run still says so"
        )
    report = quality_report(workspace.con)
    assert report.skipped_records == 0, "four files are not records, and not twelve"
    assert workspace.scalar("SELECT count(*) FROM skipped") == 4
    assert report.skipped_files == 4
    assert "4 files could not be read" in " ".join(report.findings())
    assert not any("records could not be read" in f for f in report.findings())


def test_a_changed_unreadable_file_is_recorded_again_under_its_new_content(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("first\n")
    workspace.ingest([InputFile(path, "notes.txt")], OPTS)
    path.write_text("second\n")
    workspace.ingest([InputFile(path, "notes.txt")], OPTS)
    fingerprints = workspace.con.execute("SELECT DISTINCT fingerprint FROM skipped").fetchall()
    assert len(fingerprints) == 2, "each content is its own skip"
    assert quality_report(workspace.con).skipped_files == 1, "but it is one file"
