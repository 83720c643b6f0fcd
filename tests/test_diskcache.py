"""The caches' shared rules: atomic entries, bounded folders, one variable that turns them off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bluebench.diskcache import CACHE_ENV, cache_dir, keep_recent, mark_used, write_atomic, write_csv_atomic


def test_a_failed_write_leaves_neither_entry_nor_temporary(tmp_path: Path) -> None:
    target = tmp_path / "c" / "entry.json"

    def broken(p: Path) -> None:
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(target, broken)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_a_write_replaces_the_entry_whole(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    target.write_text("old")
    write_atomic(target, lambda p: p.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_the_most_recently_used_entries_and_their_companions_are_kept(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"e{i}.parquet").write_text(str(i))
        (tmp_path / f"e{i}.json").write_text(str(i))
        os.utime(tmp_path / f"e{i}.parquet", ns=(i * 10**9, i * 10**9))
    mark_used(tmp_path / "e0.parquet")  # read just now: newest
    keep_recent(tmp_path, ".parquet", 2, companions=(".json",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e0.json", "e0.parquet", "e4.json", "e4.parquet"]


def test_the_variable_names_the_folder_or_turns_caches_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir("sigma") == tmp_path / "sigma"
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir("sigma") is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("feeds") == tmp_path / "xdg" / "bluebench" / "feeds"


def test_a_csv_is_written_whole_with_only_its_columns(tmp_path: Path) -> None:
    target = tmp_path / "labels.csv"
    write_csv_atomic(target, ("sha256", "label"), [{"sha256": "ab", "label": "malicious", "note": "x"}])
    assert target.read_text(encoding="utf-8").splitlines() == ["sha256,label", "ab,malicious"]
    assert [p.name for p in tmp_path.iterdir()] == ["labels.csv"]
