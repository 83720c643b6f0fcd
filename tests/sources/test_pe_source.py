"""PE files through ingest: found by content, one event per file with its file.* fields, losses named."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, detect_reader, discover
from bluebench.sources.limits import Limits

BENIGN = Path(__file__).resolve().parents[2] / "data" / "samples" / "malware" / "benign-pe"
DLLS = sorted(BENIGN.glob("*.pyd"))


def _events(ws: Workspace) -> list[dict[str, object]]:
    rows = ws.con.execute(
        'SELECT "log.file.path", "log.record", "event.dataset", "event.category", "@timestamp", '
        '"winlog.event_data" FROM events ORDER BY 1'
    ).fetchall()
    return [
        {"file": f, "record": r, "dataset": d, "category": c, "ts": t, "data": json.loads(j)}
        for f, r, d, c, t, j in rows
    ]


def test_pe_files_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    renamed = tmp_path / "report.txt"
    renamed.write_bytes(DLLS[0].read_bytes())
    reader = detect_reader(renamed, ReadOptions())
    assert reader is not None and reader.name == "pe"
    text = tmp_path / "setup.exe"
    text.write_text("MZ is how this note starts, but it is no program\n" * 4)
    assert detect_reader(text, ReadOptions()) is None


def test_each_pe_file_is_one_event_with_its_hash_and_features(workspace: Workspace) -> None:
    summary = workspace.ingest(discover([str(BENIGN)]))
    assert summary.events == len(DLLS) and summary.skipped_records == 0
    events = _events(workspace)
    for ev, dll in zip(events, DLLS, strict=True):
        data = ev["data"]
        assert isinstance(data, dict)
        assert ev["dataset"] == "pe" and ev["category"] == "file" and ev["record"] == 1
        assert str(ev["file"]).endswith(dll.name) and ev["ts"] is not None
        assert data["file"]["hash"]["sha256"] == hashlib.sha256(dll.read_bytes()).hexdigest()
        assert data["file"]["pe"]["architecture"] == "x64"
        assert data["bluebench"]["pe_features"]["Machine"] == 0x8664


def test_broken_and_oversized_files_are_named_and_the_rest_stored(
    tmp_path: Path, workspace: Workspace
) -> None:
    data = DLLS[0].read_bytes()
    (tmp_path / "half.dll").write_bytes(data[: len(data) // 2])
    (tmp_path / "big.dll").write_bytes(DLLS[1].read_bytes())
    (tmp_path / "ok.dll").write_bytes(DLLS[2].read_bytes())
    limit = max(len(data), len(DLLS[2].read_bytes()))
    summary = workspace.ingest(discover([str(tmp_path)]), ReadOptions(limits=Limits(pe_bytes=limit)))
    skipped = [s for f in summary.files for s in f.skipped]
    assert [str(s.file).rsplit("/", 1)[-1] for s in skipped if not s.kept] == ["big.dll"]
    assert any("pe_bytes" in s.reason for s in skipped if not s.kept)
    kept = [s for s in skipped if s.kept]
    assert any("truncated" in s.reason for s in kept), "a cut file is stored and the cut named"
    assert summary.events == 2
    stored = workspace.con.execute("SELECT count(*) FROM skipped").fetchone()
    assert stored is not None and stored[0] >= 1


@pytest.mark.parametrize("members", [["a.pyd", "README.md", "b.pyd"]])
def test_pe_members_of_a_zip_are_read_and_other_members_named(
    tmp_path: Path, workspace: Workspace, members: list[str]
) -> None:
    archive = tmp_path / "wheel.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(members[0], DLLS[0].read_bytes())
        z.writestr(members[1], "# not a program\n")
        z.writestr(members[2], DLLS[1].read_bytes())
    summary = workspace.ingest(discover([str(archive)]))
    assert summary.events == 2
    files = {str(e["file"]) for e in _events(workspace)}
    assert files == {f"{archive}!a.pyd", f"{archive}!b.pyd"}
    skipped = [s for f in summary.files for s in f.skipped]
    assert [s.file for s in skipped] == [f"{archive}!README.md"]
    assert "not a PE file" in skipped[0].reason
