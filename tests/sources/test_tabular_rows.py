"""Mapped CSV: a bad row is skipped by its line number and later rows keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.errors import ConfigError
from bluebench.sources import ReadOptions, load_mapping
from bluebench.sources.base import Skipped
from bluebench.sources.tabular import MappedCsvReader

MAPPING = """format = "csv"
[fields]
"@timestamp" = "time"
"user.name" = "account"
"event.outcome" = "result"
"source.ip" = "src"
"""

CSV = (
    b"\xef\xbb\xbftime,account,result,src\n"
    b"2024-03-01T10:00:00Z,alice,failure,10.0.0.1\n"
    b"2024-03-01T10:00:01Z,bob,failure\n"  # line 3: a column short
    b"\n"
    b"2024-03-01T10:00:02Z,carol,failure,10.0.0.3\n"
    b"2024-03-01T10:00:03Z,dave,failure,10.0.0.4,extra\n"  # line 6: a column too many
    b'2024-03-01T10:00:04Z,"erin, e",success,10.0.0.5\n'
    b"2024-03-01T10:00:05Z,fr\xffank,success,10.0.0.5\n"  # line 8: not UTF-8
    b"2024-03-01T10:00:06Z,grace,success,10.0.0.6"
)


def options(tmp_path: Path, text: str = MAPPING) -> ReadOptions:
    m = tmp_path / "map.toml"
    m.write_text(text, encoding="utf-8")
    opts = ReadOptions(batch_bytes=64)  # tiny blocks: rows cross block boundaries
    opts.mapping_format, opts.mapping = load_mapping(m)
    return opts


def test_bad_rows_named_by_line_and_rest_numbered(tmp_path: Path) -> None:
    path = tmp_path / "logins.csv"
    path.write_bytes(CSV)
    skipped: list[Skipped] = []
    rows: list[tuple[int, str]] = []
    for b in MappedCsvReader().read(path, "logins.csv", skipped, options(tmp_path)):
        rows.extend(
            zip(b.table.column("record").to_pylist(), b.table.column("account").to_pylist(), strict=True)
        )
    assert rows == [(2, "alice"), (5, "carol"), (7, "erin, e"), (9, "grace")]
    assert sorted((s.record, s.reason.split(":")[0]) for s in skipped) == [
        (3, "bad CSV row"),
        (6, "bad CSV row"),
        (8, "not UTF-8 at byte 23; record skipped"),
    ]
    assert all(s.file == "logins.csv" and not s.kept for s in skipped)


def test_mapped_column_missing_from_header(tmp_path: Path) -> None:
    path = tmp_path / "logins.csv"
    path.write_bytes(b"when,who\n2024-03-01T10:00:00Z,alice\n")
    with pytest.raises(ConfigError, match=r"logins.csv: mapped columns not in the CSV header"):
        list(MappedCsvReader().read(path, "logins.csv", [], options(tmp_path)))
