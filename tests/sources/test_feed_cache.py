"""Parsed CVE archives are kept on disk: the same bytes read again give the same records, without parsing."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from test_feeds import RECORD

from bluebench.sources.feeds import cache as feed_cache
from bluebench.sources.feeds import cverecords, epss
from bluebench.sources.feeds.cverecords import read_records
from bluebench.sources.limits import Limits


def write_archive(path: Path, records: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in records.items():
            info = tarfile.TarInfo(f"cves/{name}.json")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def record(cve: str) -> bytes:
    doc = json.loads(json.dumps(RECORD))
    doc["cveMetadata"]["cveId"] = cve
    return json.dumps(doc).encode()


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv(feed_cache.CACHE_ENV, str(home))
    return home


def test_the_same_archive_is_read_from_the_cache_with_its_skips(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = write_archive(tmp_path / "r.tar.gz", {"CVE-2024-1234": record("CVE-2024-1234"), "CVE-2024-2": b"{"})
    first = read_records(p)
    assert len(list((cache_home / "cve-records").glob("*.parquet"))) == 1

    def no_parse(*_: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(cverecords, "parse_records", no_parse)
    again = read_records(p)
    assert again.table.to_pylist() == first.table.to_pylist()
    assert [str(s) for s in again.skipped] == [str(s) for s in first.skipped] and len(first.skipped) == 1


def test_a_changed_archive_or_other_limits_parse_again(tmp_path: Path, cache_home: Path) -> None:
    p = write_archive(tmp_path / "r.tar.gz", {"CVE-2024-1234": record("CVE-2024-1234")})
    assert read_records(p).table["cve"].to_pylist() == ["CVE-2024-1234"]
    write_archive(p, {"CVE-2024-1234": record("CVE-2024-1234"), "CVE-2024-5678": record("CVE-2024-5678")})
    assert sorted(read_records(p).table["cve"].to_pylist()) == ["CVE-2024-1234", "CVE-2024-5678"]
    tiny = read_records(p, Limits(record_bytes=10))
    assert tiny.table.num_rows == 0 and len(tiny.skipped) == 2


def test_a_damaged_cache_entry_is_parsed_again_and_replaced(tmp_path: Path, cache_home: Path) -> None:
    p = write_archive(tmp_path / "r.tar.gz", {"CVE-2024-1234": record("CVE-2024-1234")})
    read_records(p)
    (entry,) = (cache_home / "cve-records").glob("*.parquet")
    entry.write_bytes(b"not parquet")
    assert read_records(p).table["cve"].to_pylist() == ["CVE-2024-1234"]
    assert entry.read_bytes()[:4] == b"PAR1"


def test_an_empty_cache_variable_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(feed_cache.CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    p = write_archive(tmp_path / "r.tar.gz", {"CVE-2024-1234": record("CVE-2024-1234")})
    assert read_records(p).table.num_rows == 1
    assert not (tmp_path / "xdg").exists() and feed_cache.cache_dir("cve-records") is None


def test_an_epss_snapshot_is_kept_with_its_day_model_and_skips(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "2024-06-30.csv"
    p.write_text(
        "#model_version:v2023.03.01,score_date:2024-06-30T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2024-1234,0.5,0.9\nnot-a-cve,0.1,0.1\n",
        encoding="utf-8",
    )
    first = epss.read_snapshot(p)

    def no_parse(*_: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(epss, "parse_snapshot", no_parse)
    again = epss.read_snapshot(p)
    assert (again.day, again.model, again.files) == (first.day, first.model, first.files)
    assert (
        again.table.to_pylist()
        == first.table.to_pylist()
        == [{"cve": "CVE-2024-1234", "epss": 0.5, "percentile": 0.9}]
    )
    assert [str(s) for s in again.skipped] == [str(s) for s in first.skipped] and len(first.skipped) == 1
    monkeypatch.undo()
    monkeypatch.setenv(feed_cache.CACHE_ENV, str(cache_home))
    p.write_text(p.read_text(encoding="utf-8").replace("0.5,0.9", "0.25,0.9"), encoding="utf-8")
    assert epss.read_snapshot(p).table["epss"].to_pylist() == [0.25]
